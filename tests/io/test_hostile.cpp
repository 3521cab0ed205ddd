// Hostile files (tests/corpus/, made by tests/fixture_gen/make_hostile_files.py): a tensor that claims 2^40
// elements in a .tflite, 10^12 floats in an .h5. Each must be refused with a one-line error naming the
// file and the tensor, within 100 ms, having allocated less than 100 MB. The load runs in a child
// process so that its peak memory can be measured on its own (getrusage of the child).
#include <hdf5.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>

#include "image/preprocess.h"
#include "io/hdf5.h"
#include "io/limits.h"
#include "weights/format.h"
#include "weights/keras.h"
#include "weights/tflite.h"

using namespace gt;
using Catch::Matchers::Contains;

namespace {
const std::string kCorpus = std::string(GT_FIXTURES_DIR) + "/../corpus/";

struct Outcome {
  std::string error;    // the gt::Error's message ("" when the file loaded)
  double ms = 0;        // the load's wall time
  double grown_mb = 0;  // the child's peak resident memory over what it had before the load
};

long resident_kb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

Outcome in_child(const std::function<void()>& load) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    const long before = resident_kb();
    const auto t0 = std::chrono::steady_clock::now();
    try {
      load();
    } catch (const Error& e) {
      msg = e.what();
    } catch (...) {
      _exit(3);  // anything but a gt::Error is a failure
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const std::string out = std::to_string(ms) + " " + std::to_string(before) + "\n" + msg;
    if (write(fds[1], out.data(), out.size()) != ssize_t(out.size())) _exit(4);
    _exit(0);
  }
  close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  rusage use{};
  REQUIRE(wait4(pid, &status, 0, &use) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  Outcome o;
  long before = 0;
  std::sscanf(got.c_str(), "%lf %ld", &o.ms, &before);
  o.error = got.substr(got.find('\n') + 1);
  o.grown_mb = double(use.ru_maxrss - before) / 1024.0;
  return o;
}

void refused_quickly(const std::string& file, const std::string& tensor, const std::function<void()>& load) {
  const Outcome o = in_child(load);
  INFO(file << ": " << o.error << " (" << o.ms << " ms, +" << o.grown_mb << " MB)");
  CHECK_THAT(o.error, Contains(file) && Contains(tensor) && Contains("claims"));
  CHECK(o.error.find('\n') == std::string::npos);
  CHECK(o.ms < 100);
  CHECK(o.grown_mb < 100);
}
}  // namespace

TEST_CASE("hostile files: a .tflite tensor of 2^40 elements is refused at once, without allocating it") {
  const std::string f = kCorpus + "tflite/claims_2e40_elements.tflite";
  refused_quickly(f, "[1024x1024x1024x1024]", [&] { tflite::load(f); });
}

TEST_CASE("hostile files: an .h5 dataset of 10^12 floats is refused at once (weights, Keras, input tensor)") {
  const std::string w = kCorpus + "weights_h5/claims_1e12_floats.h5";
  refused_quickly(w, "conv1/weight [1000000x1000000]", [&] { load_weights(w); });
  const std::string k = kCorpus + "keras_h5/claims_huge_kernel.h5";
  refused_quickly(k, "predictions/predictions/kernel:0", [&] { load_keras(k); });
  const std::string x = kCorpus + "input_h5/claims_1e12_floats.h5";
  nn::ModelInfo info;
  info.channels = 1;
  refused_quickly(x, "input", [&] { load_input(x, info); });
}

TEST_CASE("the per-tensor limit: sizes that overflow, negative dimensions, and the ceiling itself") {
  CHECK(claimed_bytes("f", "t", {2, 3}, 4) == 24);
  CHECK_THROWS_WITH(claimed_bytes("f", "t", {int64_t(1) << 40, int64_t(1) << 40}, 4), Contains("over the limit"));
  CHECK_THROWS_WITH(claimed_bytes("f", "t", {3, -1}, 4), Contains("negative"));
  const uint64_t limit = max_tensor_bytes();
  CHECK(claimed_bytes("f", "t", {int64_t(limit / 4)}, 4) == limit);
  CHECK_THROWS_WITH(claimed_bytes("f", "t", {int64_t(limit / 4) + 1}, 4), Contains("f: tensor t"));
}

// h5::File reads a file whole, in a child, through its hard links: a link to another file (which
// libhdf5 would open) or a soft link is not followed, and what is read is what was written.
TEST_CASE("hdf5: files are read through their hard links only, values and attributes exactly as written") {
  char dir[] = "/tmp/gradtrace_links_XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string other = std::string(dir) + "/other.h5", path = std::string(dir) + "/links.h5";
  const Tensor x = Tensor::uniform(Shape({2, 3, 4}), -1, 1, 7);
  {
    h5::File f(other, h5::File::Mode::write);
    f.write("secret", x);
    f.commit();
    h5::File g(path, h5::File::Mode::write);
    g.write("g/x", x);
    g.set_attr("n", 3.5);
    g.set_attr("s", std::string("text"));
    g.commit();
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(id >= 0);
  CHECK(H5Lcreate_soft("/g/x", id, "soft", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  CHECK(H5Lcreate_external(other.c_str(), "/secret", id, "ext", H5P_DEFAULT, H5P_DEFAULT) >= 0);
  H5Fclose(id);

  const h5::File f(path, h5::File::Mode::read);
  CHECK(f.members("/") == std::vector<std::string>{"g"});
  CHECK(f.members("/g") == std::vector<std::string>{"x"});
  CHECK(f.has("g"));
  CHECK(f.has("/g/x"));
  CHECK(f.has("g/x/"));
  CHECK(!f.has("ext"));
  CHECK(!f.has("soft"));
  CHECK_THROWS_WITH(f.read("ext"), Contains("no such dataset"));
  CHECK_THROWS_WITH(f.members("g/x"), Contains("no such group"));
  const Tensor r32 = f.read("g/x"), r64 = f.read("g/x", DType::f64);
  REQUIRE(r32.shape() == x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    CHECK(r32.data<float>()[i] == x.data<float>()[i]);
    CHECK(r64.data<double>()[i] == double(x.data<float>()[i]));
  }
  CHECK(f.attr_double("n") == 3.5);
  CHECK(f.attr_string("s") == "text");
  CHECK_THROWS_WITH(f.attr_double("s"), Contains("not numeric"));
  CHECK_THROWS_WITH(f.attr_string("missing"), Contains("no root attribute 'missing'"));
  std::remove(other.c_str()), std::remove(path.c_str()), rmdir(dir);
}

TEST_CASE("hdf5: datasets stored whole are read from the file itself, the others from the snapshot, all as written") {
  char dir[] = "/tmp/gradtrace_offsets_XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string path = std::string(dir) + "/mixed.h5";
  const Tensor x = Tensor::uniform(Shape({3, 5}), -1, 1, 11);
  std::vector<double> want(15);
  for (int i = 0; i < 15; ++i) want[size_t(i)] = double(x.data<float>()[i]);
  {
    h5::File f(path, h5::File::Mode::write);
    f.write("f32", x);  // contiguous float32: read by offset
    f.store_as(DType::f64);
    f.write("f64", x);  // contiguous float64: read by offset
    f.commit();
  }
  // Stored otherwise, through the snapshot: big-endian floats, integers, chunks.
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(id >= 0);
  const hsize_t dims[2] = {3, 5}, chunk[2] = {2, 2};
  const hid_t space = H5Screate_simple(2, dims, nullptr), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 2, chunk);
  std::vector<int32_t> ints(15);
  for (int i = 0; i < 15; ++i) ints[size_t(i)] = i - 7;
  const auto put = [&](const char* name, hid_t type, hid_t plist, hid_t mem, const void* data) {
    const hid_t d = H5Dcreate2(id, name, type, space, H5P_DEFAULT, plist, H5P_DEFAULT);
    CHECK(H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
  };
  put("be32", H5T_IEEE_F32BE, H5P_DEFAULT, H5T_NATIVE_DOUBLE, want.data());
  put("i32", H5T_STD_I32LE, H5P_DEFAULT, H5T_NATIVE_INT32, ints.data());
  put("chunked", H5T_IEEE_F32LE, dcpl, H5T_NATIVE_DOUBLE, want.data());
  H5Pclose(dcpl), H5Sclose(space), H5Fclose(id);

  const h5::File f(path, h5::File::Mode::read);
  for (const char* name : {"f32", "f64", "be32", "chunked"})
    for (DType t : {DType::f32, DType::f64}) {
      INFO(name << " as " << to_string(t));
      const std::vector<double> got = f.read(name, t).to_vector_f64();
      REQUIRE(got.size() == 15);
      for (size_t i = 0; i < 15; ++i) CHECK(got[i] == want[i]);  // float32 values: exact either way
    }
  const std::vector<double> got = f.read("i32", DType::f64).to_vector_f64();
  for (size_t i = 0; i < 15; ++i) CHECK(got[i] == double(ints[i]));
  // The contiguous ones are read from the file when asked for: a file cut short since is an error
  // for them, and the others come from the snapshot still.
  REQUIRE(truncate(path.c_str(), 0) == 0);
  CHECK_THROWS_WITH(f.read("f32"), Contains("dataset f32: cannot read its data (the file changed?)"));
  CHECK(f.read("be32").to_vector_f64() == want);
  std::remove(path.c_str()), rmdir(dir);
}

TEST_CASE("hdf5: a dataset whose data lies outside the file, or on another's, is refused in one line") {
  for (const auto& [name, why] : std::vector<std::pair<std::string, std::string>>{
           {"data_outside_file.h5", "dataset output/weight: its data (64 bytes at offset 13688) lies outside the file"},
           {"data_overlaps.h5", "the data of datasets output/bias and output/weight overlap"}}) {
    INFO(name);
    CHECK_THROWS_WITH(load_weights(kCorpus + "weights_h5/" + name), Contains(why));
  }
}
