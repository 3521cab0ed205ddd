// Keras model files from disk: the .keras zip (Debian's libzip, read from memory with limits like the
// HDF5 sandbox's), the .h5 model file, and the graph model they make (keras_model.h).
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io/hdf5.h"
#include "io/limits.h"
#include "weights/keras_model.h"

namespace gt::keras_import {
namespace {

// A member's bytes, refused above `limit` whatever its header claims (a zip bomb inflates past it).
std::string member(zip_t* z, const std::string& name, uint64_t limit, const std::string& where) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(z, name.c_str(), 0, &st) != 0) throw Error(where + ": the archive has no " + name);
  if ((st.valid & ZIP_STAT_SIZE) && st.size > limit)
    throw Error(where + ": " + name + " inflates to " + human_bytes(double(st.size)) + ", over the limit of " +
                human_bytes(double(limit)));
  zip_file_t* f = zip_fopen(z, name.c_str(), 0);
  if (!f) throw Error(where + ": cannot open " + name + " in the archive (" + zip_strerror(z) + ")");
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const zip_int64_t n = zip_fread(f, buf, sizeof buf);
    if (n < 0) {
      const std::string why = zip_file_strerror(f);
      zip_fclose(f);
      throw Error(where + ": " + name + " is damaged (" + why + ")");
    }
    if (n == 0) break;
    if (out.size() + uint64_t(n) > limit) {
      zip_fclose(f);
      throw Error(where + ": " + name + " inflates past the limit of " + human_bytes(double(limit)));
    }
    out.append(buf, size_t(n));
  }
  zip_fclose(f);
  return out;
}

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

// A preprocessing layer anywhere in the config: the model scales its pixels itself.
bool preprocesses(const std::string& config) {
  return config.find("\"Rescaling\"") != std::string::npos || config.find("\"Normalization\"") != std::string::npos;
}

}  // namespace

Archive read_archive(const std::vector<uint8_t>& bytes, const std::string& name) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
  zip_t* z = src ? zip_open_from_source(src, ZIP_RDONLY, &err) : nullptr;
  if (!z) {
    const std::string why = zip_error_strerror(&err);
    if (src) zip_source_free(src);
    zip_error_fini(&err);
    throw Error(name + ": not a .keras file (not a zip archive: " + why + ")");
  }
  Archive a;
  try {
    if (zip_get_num_entries(z, 0) > 10000) throw Error(name + ": the archive has over 10000 members");
    a.config = member(z, "config.json", uint64_t(64) << 20, name);
    a.weights_h5 = member(z, "model.weights.h5", max_tensor_bytes() + (uint64_t(64) << 20), name);
  } catch (...) {
    zip_close(z);
    throw;
  }
  zip_close(z);
  zip_error_fini(&err);
  return a;
}

std::unique_ptr<nn::Model> load(const std::string& path, const ImportOptions& o, DType dtype) {
  std::string config;
  std::unique_ptr<h5::File> file;
  WeightFile w;
  if (ends_with(path, ".keras")) {
    const Archive a = read_archive(read_file(path, uint64_t(1) << 32, "Keras file " + path), path);
    // The weights are HDF5: read like any .h5, by libhdf5 in the sandbox, from a private temporary file.
    const std::filesystem::path tmp =
        std::filesystem::temp_directory_path() / ("gradtrace_keras_" + std::to_string(::getpid()) + "_weights.h5");
    std::ofstream(tmp, std::ios::binary).write(a.weights_h5.data(), std::streamsize(a.weights_h5.size()));
    try {
      file = std::make_unique<h5::File>(tmp.string(), h5::File::Mode::read);
    } catch (...) {
      std::filesystem::remove(tmp);
      throw;
    }
    std::filesystem::remove(tmp);
    config = a.config;
    w.numbered = w.keras3 = true;
  } else {
    file = std::make_unique<h5::File>(path, h5::File::Mode::read);
    if (!is_model_file(*file))
      throw Error(path + ": not a Keras model file (no model_config: weights alone need the architecture)");
    config = file->attr_string("model_config");
    w.keras3 = file->has_attr("keras_version") && file->attr_string("keras_version").rfind("3.", 0) == 0;
  }
  w.file = file.get();
  nn::GraphSpec spec = read_graph(config, w, path);
  strip_final_softmax(spec);
  return finish_import(std::make_unique<nn::GraphModel>(std::move(spec), dtype), path, "keras", o,
                       preprocesses(config) ? "none" : "", "");
}

}  // namespace gt::keras_import
