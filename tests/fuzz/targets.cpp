#include "tests/fuzz/targets.h"

#include <unistd.h>

#include <cstdio>

#include "data/idx.h"
#include "nn/model.h"
#include "weights/format.h"
#include "weights/hdf5.h"
#include "weights/image.h"
#include "weights/keras.h"
#include "weights/preprocess.h"
#include "weights/tflite.h"

namespace gt::fuzz {
namespace {

void tflite_model(const uint8_t* d, size_t n) {
  const tflite::File f(std::vector<uint8_t>(d, d + n), "fuzz.tflite");
  tflite::load(f);
}

// HDF5 opens the bytes as an in-memory file image (the way the embedded weights are read).
void weights_h5(const uint8_t* d, size_t n) { load_weights(h5::File("fuzz.h5", d, n)); }
void keras_h5(const uint8_t* d, size_t n) { load_keras(h5::File("fuzz.h5", d, n)); }
void input_h5(const uint8_t* d, size_t n) {
  nn::ModelInfo info;
  info.channels = 3;
  tensor_input(h5::File("fuzz.h5", d, n), info);
}

// The image as gradtrace reads it (stb_image in a child process), and the decoder itself in this
// process, which is what the fuzzer runs so that it sees stb_image's coverage.
void image(const uint8_t* d, size_t n) { decode_image(std::vector<uint8_t>(d, d + n), "fuzz.png"); }
void image_decoder(const uint8_t* d, size_t n) { decode_image_in_process(std::vector<uint8_t>(d, d + n), "fuzz.png"); }

// The IDX reader opens a path (gzip or plain): the bytes go to a file of this process's own.
void idx(const uint8_t* d, size_t n) {
  static const std::string path = "/tmp/gradtrace_fuzz_" + std::to_string(getpid()) + ".idx.gz";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  std::fwrite(d, 1, n, f);
  std::fclose(f);
  try {
    data::read_idx(path);
  } catch (...) {
    std::remove(path.c_str());
    throw;
  }
  std::remove(path.c_str());
}

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"tflite", tflite_model}, {"weights_h5", weights_h5}, {"keras_h5", keras_h5},
                                          {"input_h5", input_h5},   {"image", image},           {"image_decoder", image_decoder},
                                          {"idx", idx}};
  return all;
}

const Target* find_target(const std::string& name) {
  for (const Target& t : targets())
    if (name == t.name) return &t;
  return nullptr;
}

std::string run_target(const Target& t, const uint8_t* data, size_t size) {
  try {
    t.run(data, size);
  } catch (const Error& e) {
    const std::string m = e.what();
    return m.empty() ? "(empty message)" : m;
  }
  return "";
}

}  // namespace gt::fuzz
