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
