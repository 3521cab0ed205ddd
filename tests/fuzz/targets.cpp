#include "tests/fuzz/targets.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "data/csv.h"
#include "data/idx.h"
#include "data/table.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "io/hdf5.h"
#include "nn/model.h"
#include "weights/format.h"
#include "weights/keras.h"
#include "weights/keras_model.h"
#include "weights/onnx.h"
#include "weights/tflite.h"

namespace gt::fuzz {
namespace {

// The bytes as a file of this process's own (the readers that take a path open it).
struct TempFile {
  std::string path;
  TempFile(const uint8_t* d, size_t n, const char* ext) {
    static int k = 0;
    path = "/tmp/gradtrace_fuzz_" + std::to_string(getpid()) + "_" + std::to_string(k++) + ext;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw Error("fuzz: cannot write " + path);
    std::fwrite(d, 1, n, f);
    std::fclose(f);
  }
  ~TempFile() { std::remove(path.c_str()); }
};

nn::ModelInfo three_channels() {
  nn::ModelInfo info;
  info.channels = 3;
  return info;
}

void tflite_model(const uint8_t* d, size_t n) {
  tflite::load(tflite::File(std::vector<uint8_t>(d, d + n), "fuzz.tflite"));
}

// HDF5: from disk (libhdf5 in a child, which sends back a snapshot), or opened in memory in this process.
void weights_h5(const uint8_t* d, size_t n) { load_weights(TempFile(d, n, ".h5").path); }
void weights_h5_here(const uint8_t* d, size_t n) { load_weights(h5::File("fuzz.h5", d, n)); }
void keras_h5(const uint8_t* d, size_t n) { load_keras(TempFile(d, n, ".h5").path); }
void keras_h5_here(const uint8_t* d, size_t n) { load_keras(h5::File("fuzz.h5", d, n)); }
void input_h5(const uint8_t* d, size_t n) { load_input(TempFile(d, n, ".h5").path, three_channels()); }
void input_h5_here(const uint8_t* d, size_t n) { tensor_input(h5::File("fuzz.h5", d, n), three_channels()); }

// A snapshot (h5::File::SnapshotBytes) is what a file, however hostile, becomes before gradtrace's own
// process parses anything of it: these fuzz our snapshot parser and the readers, without libhdf5.
// The input is a snapshot and the file its data ranges point into: the snapshot's length (8 bytes,
// little-endian), the snapshot, then the file's bytes, held in memory (memfd) for the reader's pread.
h5::File snapshot(const uint8_t* d, size_t n) {
  uint64_t len = 0;
  const size_t head = std::min<size_t>(n, 8);
  std::memcpy(&len, d, head);
  len = std::min<uint64_t>(len, n - head);
  const int fd = memfd_create("fuzz.h5", MFD_CLOEXEC);
  for (size_t at = head + size_t(len); fd >= 0 && at < n;) {
    const ssize_t w = write(fd, d + at, n - at);
    if (w <= 0) break;
    at += size_t(w);
  }
  return h5::File("fuzz.h5", h5::File::SnapshotBytes{std::string(d + head, d + head + len), fd});
}
void weights_snap(const uint8_t* d, size_t n) { load_weights(snapshot(d, n)); }
void keras_snap(const uint8_t* d, size_t n) { load_keras(snapshot(d, n)); }
void input_snap(const uint8_t* d, size_t n) { tensor_input(snapshot(d, n), three_channels()); }

// Images: stb_image in a child process, or in this one.
void image(const uint8_t* d, size_t n) { decode_image(std::vector<uint8_t>(d, d + n), "fuzz.png"); }
void image_here(const uint8_t* d, size_t n) { decode_image_in_process(std::vector<uint8_t>(d, d + n), "fuzz.png"); }

// An ONNX model: parsed, built and run once (the dry run that sizes its output), as --weights reads it.
void onnx_model(const uint8_t* d, size_t n) {
  ImportOptions o;
  o.preprocess = "none";
  onnx_import::load(TempFile(d, n, ".onnx").path, o);
}

// A Keras model config (model_config / config.json) without weights, built into a graph; and a .keras
// zip's members (its weights HDF5 goes through the HDF5 targets).
void keras_config(const uint8_t* d, size_t n) {
  nn::GraphModel g(keras_import::read_graph(std::string(d, d + n), {}, "fuzz.json"));
}
void keras_zip(const uint8_t* d, size_t n) {
  const keras_import::Archive a = keras_import::read_archive(std::vector<uint8_t>(d, d + n), "fuzz.keras");
  nn::GraphModel g(keras_import::read_graph(a.config, {}, "fuzz.keras"));
}

// A CSV table as `--dataset csv:FILE --target LAST_COLUMN` reads it: parsed, typed, split and encoded;
// then its schema through JSON (as a weights file stores it) encodes the first row again.
void csv(const uint8_t* d, size_t n) {
  const data::Csv c = data::parse_csv(std::string(d, d + n), "fuzz.csv");
  data::TableOptions o;
  o.target = c.header.back();
  const data::Table t = data::build_table(c, o, [](const std::string&) {});
  const data::TableSchema s = data::TableSchema::from_json(t.schema.to_json(), "fuzz.h5");
  std::vector<std::string> row;
  for (const auto& column : c.columns) row.push_back(column[0]);
  std::vector<double> x(size_t(s.width()));
  data::encode_row(
      s, row, x.data(), [](const std::string&) {}, "row 1");
}

// The IDX reader (zlib's gzread) opens a path.
void idx(const uint8_t* d, size_t n) { data::read_idx(TempFile(d, n, ".idx.gz").path); }

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"tflite", tflite_model, tflite_model},
                                          {"weights_h5", weights_h5, weights_h5_here},
                                          {"keras_h5", keras_h5, keras_h5_here},
                                          {"input_h5", input_h5, input_h5_here},
                                          {"weights_snap", weights_snap, weights_snap},
                                          {"keras_snap", keras_snap, keras_snap},
                                          {"input_snap", input_snap, input_snap},
                                          {"image", image, image_here},
                                          {"idx", idx, idx},
                                          {"onnx", onnx_model, onnx_model},
                                          {"keras_config", keras_config, keras_config},
                                          {"keras_zip", keras_zip, keras_zip},
                                          {"csv", csv, csv}};
  return all;
}

const Target* find_target(const std::string& name) {
  for (const Target& t : targets())
    if (name == t.name) return &t;
  return nullptr;
}

std::string run_target(const Target& t, const uint8_t* data, size_t size, bool in_process) {
  try {
    (in_process ? t.fuzz : t.run)(data, size);
  } catch (const Error& e) {
    const std::string m = e.what();
    return m.empty() ? "(empty message)" : m;
  }
  return "";
}

}  // namespace gt::fuzz
