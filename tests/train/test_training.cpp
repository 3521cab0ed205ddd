// Training: the IDX reader (with corrupt files), the optimisers and a training step of fashion_cnn
// against PyTorch (tests/fixtures/torch_train.h5, tests/fixture_gen/make_train_fixtures.py), a short training run
// that must learn, determinism from the seed, the NaN stop, and the image-folder loader.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autodiff/ops.h"
#include "autodiff/tape.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "io/hdf5.h"
#include "render/viz.h"
#include "tests/test_util.h"
#include "train/loop.h"
#include "weights/format.h"

using namespace gt;
namespace fs = std::filesystem;

namespace {
const std::string kFixture = std::string(GT_FIXTURES_DIR) + "/torch_train.h5";

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("gradtrace_test_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, size_t count) {
  std::vector<uint8_t> b{0, 0, 0x08, uint8_t(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
  for (size_t i = 0; i < count; ++i) b.push_back(uint8_t(i * 7));
  return b;
}

void write_file(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), long(b.size()));
}

void write_gz(const fs::path& p, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, b.data(), unsigned(b.size())) == int(b.size()));
  gzclose(f);
}

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The error of read_idx for this file; it must name the file.
std::string idx_error(const fs::path& p) {
  try {
    data::read_idx(p.string());
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(p.string()) != std::string::npos);
    return msg;
  }
  FAIL("read_idx accepted " << p);
  return "";
}

using test::max_diff;

// Two classes of 12x12 gray images: a bright horizontal or a bright vertical bar at a random place,
// on noise. Learnable by a small CNN within a few epochs, impossible by chance.
data::Dataset bars(int64_t n, uint64_t seed) {
  data::Dataset d;
  d.source = "bars";
  d.channels = 1;
  d.height = d.width = 12;
  d.class_names = {"horizontal", "vertical"};
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = int32_t(i % 2);
    const int64_t at = 2 + int64_t(rng() % 8);
    for (int64_t y = 0; y < 12; ++y)
      for (int64_t x = 0; x < 12; ++x) {
        const bool bar = label == 0 ? y == at : x == at;
        d.pixels.push_back(uint8_t((bar ? 180 : 0) + rng() % 60));
      }
    d.labels.push_back(label);
  }
  return d;
}

std::unique_ptr<nn::Model> small_cnn(const data::Dataset& d, uint64_t seed) {
  nn::ModelOptions o;
  o.classes = d.classes();
  o.input_size = d.height;
  o.channels = d.channels;
  o.alpha = 0.25;
  auto m = nn::make_model("fashion_cnn", o);
  nn::init_parameters(*m, seed);
  return m;
}
}  // namespace

TEST_CASE("IDX reader: plain and gzip files, and every kind of corrupt file", "[training]") {
  const fs::path d = temp_dir("idx");
  const auto good = idx_bytes({3, 2, 2}, 12);
  write_file(d / "plain.idx", good);
  write_gz(d / "good.gz", good);
  for (const char* name : {"plain.idx", "good.gz"}) {
    const data::IdxArray a = data::read_idx((d / name).string());
    CHECK(a.dims == std::vector<int64_t>{3, 2, 2});
    REQUIRE(a.bytes.size() == 12);
    CHECK(a.bytes[5] == 35);
  }
  CHECK(idx_error(d / "missing.gz").find("cannot open") != std::string::npos);
  write_gz(d / "magic.gz", {1, 2, 8, 1, 0, 0, 0, 1, 5});
  CHECK(idx_error(d / "magic.gz").find("magic") != std::string::npos);
  write_gz(d / "type.gz", {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});
  CHECK(idx_error(d / "type.gz").find("unsigned byte") != std::string::npos);
  auto short_data = idx_bytes({3, 2, 2}, 11);
  write_gz(d / "short.gz", short_data);
  CHECK(idx_error(d / "short.gz").find("claims 12 elements, the file holds 11") != std::string::npos);
  write_gz(d / "long.gz", idx_bytes({3, 2, 2}, 13));
  CHECK(idx_error(d / "long.gz").find("after the last element") != std::string::npos);
  write_gz(d / "header.gz", {0, 0, 8, 3, 0, 0});
  CHECK(idx_error(d / "header.gz").find("header is truncated") != std::string::npos);
  write_gz(d / "huge.gz", {0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  CHECK(idx_error(d / "huge.gz").find("more than 4 GiB") != std::string::npos);
  // A gzip file cut short, and one with a damaged byte in its deflate data or its CRC.
  auto big = idx_bytes({4000}, 4000);
  write_gz(d / "big.gz", big);
  const auto gz = read_file(d / "big.gz");
  write_file(d / "cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + long(gz.size() / 2)));
  CHECK(idx_error(d / "cut.gz").find("truncated") != std::string::npos);
  auto crc = gz;
  crc[crc.size() - 6] ^= 0xFF;  // the CRC32 sits in the last 8 bytes (CRC, then the length)
  write_file(d / "crc.gz", crc);
  CHECK(idx_error(d / "crc.gz").find("corrupt") != std::string::npos);
  auto flipped = gz;
  for (size_t i = 20; i < 40; ++i) flipped[i] ^= 0x5A;
  write_file(d / "flipped.gz", flipped);
  idx_error(d / "flipped.gz");  // corrupt deflate data, or a decoded stream whose CRC does not match
  fs::remove_all(d);
}

TEST_CASE("Fashion-MNIST: a missing directory names the apt-get package", "[training]") {
  try {
    data::load_fashion_mnist("/nonexistent/fashion", "test");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("apt-get install dataset-fashion-mnist") != std::string::npos);
    CHECK(std::string(e.what()).find("/nonexistent/fashion") != std::string::npos);
  }
}

TEST_CASE("optimisers: SGD (momentum, weight decay), plain SGD and Adam match PyTorch step by step", "[training]") {
  const h5::File f(kFixture, h5::File::Mode::read);
  for (const char* name : {"sgd_momentum", "sgd_plain", "adam"}) {
    const std::string g = std::string("optim/") + name;
    Tensor p = f.read(g + "/p0", DType::f64);
    const Tensor grads = f.read(g + "/g", DType::f64), after = f.read(g + "/after", DType::f64);
    nn::OptimizerOptions o;
    o.kind = std::string(name) == "adam" ? "adam" : "sgd";
    o.lr = o.kind == "adam" ? 0.01 : 0.1;
    o.momentum = std::string(name) == "sgd_momentum" ? 0.9 : 0.0;
    o.weight_decay = std::string(name) == "sgd_plain" ? 0.0 : 0.01;
    nn::Optimizer opt({{"p", &p}}, o);
    const int64_t n = p.numel();
    const auto gv = grads.to_vector_f64(), av = after.to_vector_f64();
    for (int t = 0; t < 5; ++t) {
      p.set_grad(Tensor::from_vector(p.shape(), std::vector<double>(gv.begin() + t * n, gv.begin() + (t + 1) * n)));
      opt.step();
      CHECK_FALSE(p.grad().defined());  // cleared for the next step
      const Tensor want =
          Tensor::from_vector(p.shape(), std::vector<double>(av.begin() + t * n, av.begin() + (t + 1) * n));
      INFO(name << " step " << t + 1);
      CHECK(max_diff(p, want) < 1e-12);
    }
  }
}

TEST_CASE("learning-rate schedules", "[training]") {
  nn::LrSchedule s;
  CHECK(s.at(0.1, 0, 100) == Approx(0.1));
  CHECK(s.at(0.1, 50, 100) == Approx(0.05));
  CHECK(s.at(0.1, 100, 100) == Approx(0.0).margin(1e-15));
  s.kind = "step";
  s.step_size = 10;
  CHECK(s.at(0.1, 9, 100) == Approx(0.1));
  CHECK(s.at(0.1, 25, 100) == Approx(0.001));
}

TEST_CASE("a fashion_cnn training step matches PyTorch: logits, loss, every gradient, running statistics",
          "[training]") {
  nn::ModelOptions o;
  o.alpha = 0.25;
  auto m = nn::make_model("fashion_cnn", o);
  load_parameters(*m, kFixture, DType::f64);
  const h5::File f(kFixture, h5::File::Mode::read);
  const Tensor x = f.read("ref/x", DType::f64);
  std::vector<int32_t> labels;
  for (double v : f.read("ref/labels", DType::f64).to_vector_f64()) labels.push_back(int32_t(v));
  m->train(true, 0);
  m->find("dropout")->training = false;  // PyTorch's masks are not ours
  const auto params = nn::trainable_parameters(*m);
  for (auto& [name, p] : params) p->set_requires_grad(true);
  Tape tape;
  TapeGuard guard(tape);
  const Tensor logits = (*m)(x);
  const Tensor loss = ops::cross_entropy(logits, labels);
  tape.backward(loss);
  std::printf("fashion_cnn step vs torch: logits %.1e loss %.1e", max_diff(logits, f.read("ref/logits", DType::f64)),
              max_diff(loss, f.read("ref/loss", DType::f64)));
  CHECK(max_diff(logits, f.read("ref/logits", DType::f64)) < 1e-10);
  CHECK(max_diff(loss, f.read("ref/loss", DType::f64)) < 1e-12);
  double worst = 0;
  for (auto& [name, p] : params) {
    INFO(name);
    const Tensor want = f.read("ref/grad/" + name, DType::f64);
    REQUIRE(p->grad().defined());
    const double d = max_diff(p->grad(), want);
    worst = std::max(worst, d);
    CHECK(d < 1e-10);
  }
  for (const char* bn : {"conv1_bn", "conv2_bn", "conv3_bn"})
    for (const char* stat : {"running_mean", "running_var"}) {
      INFO(bn << "/" << stat);
      const std::string name = std::string(bn) + "/" + stat;
      Tensor* t = nullptr;
      for (auto& [n, p] : m->named_parameters())
        if (n == name) t = p;
      REQUIRE(t);
      CHECK(max_diff(*t, f.read("ref/after/" + name, DType::f64)) < 1e-12);
    }
  std::printf(", gradients %.1e\n", worst);
}

TEST_CASE("dropout and batch norm switch with the mode: evaluation is deterministic", "[training]") {
  const data::Dataset d = bars(8, 1);
  auto m = small_cnn(d, 3);
  std::mt19937_64 rng(0);
  std::vector<int32_t> labels;
  const Tensor x = data::make_batch(d, std::vector<int64_t>{0, 1, 2, 3}.data(), 4, {}, rng, labels);
  NoGradGuard no_grad;
  const Tensor e1 = (*m)(x), e2 = (*m)(x);
  CHECK(max_diff(e1, e2) == 0);
  m->train(true, 1);
  const Tensor t1 = (*m)(x);
  m->train(true, 2);
  const Tensor t2 = (*m)(x);
  CHECK(max_diff(t1, t2) > 0);  // other dropout masks
  CHECK(max_diff(t1, e1) > 0);  // batch statistics and dropout
  m->train(false);
  const Tensor e3 = (*m)(x);
  CHECK(max_diff(e3, e1) > 0);  // training updated the running statistics
  CHECK(max_diff((*m)(x), e3) == 0);
}

TEST_CASE("training on a small dataset: the loss falls and the accuracy rises far above chance", "[training]") {
  const data::Dataset train = bars(256, 1), test = bars(200, 2);
  auto m = small_cnn(train, 7);
  train::TrainConfig c;
  c.epochs = 4;
  c.batch = 32;
  c.seed = 5;
  c.optimizer.lr = 0.05;
  c.augment.flip = true;
  c.augment.pad = 1;
  const double before = train::evaluate(*m, test).accuracy();
  train::Trainer t(*m, train, c);
  std::vector<double> losses;
  for (int e = 0; e < c.epochs; ++e) losses.push_back(t.run_epoch().loss);
  const train::Evaluation after = train::evaluate(*m, test);
  std::printf("bars: loss per epoch %.3f %.3f %.3f %.3f; test accuracy %.1f%% -> %.1f%%\n", losses[0], losses[1],
              losses[2], losses[3], 100 * before, 100 * after.accuracy());
  CHECK(losses.back() < 0.5 * losses.front());
  CHECK(after.accuracy() > 0.9);
  CHECK(after.total == 200);
  int64_t sum = 0;
  for (int64_t v : after.confusion) sum += v;
  CHECK(sum == 200);
}

TEST_CASE("training is deterministic from the seed, and a resumed run continues exactly", "[training]") {
  const data::Dataset train = bars(128, 1);
  train::TrainConfig c;
  c.epochs = 2;
  c.batch = 32;
  c.seed = 11;
  c.augment.flip = true;
  c.augment.pad = 1;
  auto run = [&](int epochs_now, nn::Model& m, train::Trainer& t) {
    for (int e = 0; e < epochs_now; ++e) t.run_epoch();
    return m.named_parameters();
  };
  auto a = small_cnn(train, 1), b = small_cnn(train, 1);
  train::Trainer ta(*a, train, c), tb(*b, train, c);
  run(2, *a, ta);
  {
    auto a2 = small_cnn(train, 1);
    train::Trainer t2(*a2, train, c);
    run(2, *a2, t2);
    for (size_t i = 0; i < a->named_parameters().size(); ++i) {
      INFO("same seed: " << a->named_parameters()[i].first);
      CHECK(max_diff(*a->named_parameters()[i].second, *a2->named_parameters()[i].second) == 0);
    }
  }
  run(1, *b, tb);
  // "resume" b in a fresh model and trainer from its state after one epoch (what a checkpoint holds)
  auto r = small_cnn(train, 99);
  for (size_t i = 0; i < r->named_parameters().size(); ++i)
    *r->named_parameters()[i].second = b->named_parameters()[i].second->clone();
  train::Trainer tr(*r, train, c);
  tr.epoch = tb.epoch;
  tr.optimizer.steps = tb.optimizer.steps;
  for (size_t i = 0; i < tr.optimizer.state().size(); ++i)
    *tr.optimizer.state()[i].second = tb.optimizer.state()[i].second->clone();
  tr.run_epoch();
  const auto pa = a->named_parameters(), pr = r->named_parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(max_diff(*pa[i].second, *pr[i].second) == 0);
  }
}

TEST_CASE("a loss that turns NaN stops training and names the first node that was not finite", "[training]") {
  const data::Dataset train = bars(64, 1);
  auto m = small_cnn(train, 1);
  // A NaN in the classifier's weights: every node before it stays finite. (A NaN in a conv weight
  // can vanish in the forward pass, where max pooling drops it; the backward's own check then stops
  // at the node whose gradient turned NaN.)
  auto* fc = dynamic_cast<nn::Dense*>(m->find("fc"));
  REQUIRE(fc);
  std::vector<float> w = fc->weight.to_vector();
  w[3] = NAN;
  fc->weight = Tensor::from_vector(fc->weight.shape(), w);
  train::TrainConfig c;
  c.epochs = 1;
  c.batch = 16;
  train::Trainer t(*m, train, c);
  try {
    t.run_epoch();
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("loss is NaN") != std::string::npos);
    CHECK(msg.find("came from linear [fc]") != std::string::npos);
  }
}

TEST_CASE("a batch larger than the dataset is an error that names both", "[training]") {
  const data::Dataset train = bars(20, 1);
  auto m = small_cnn(train, 1);
  train::TrainConfig c;
  c.batch = 64;
  try {
    train::Trainer t(*m, train, c);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("batch size 64 is larger than the dataset bars (20 examples)") !=
          std::string::npos);
  }
}

TEST_CASE("image folders: classes from subfolders, unreadable images counted, empty classes refused", "[training]") {
  const fs::path d = temp_dir("folder");
  Image img;
  img.width = img.height = 10;
  img.rgb.assign(300, 200);
  for (const char* cls : {"cats", "dogs"}) {
    fs::create_directories(d / cls);
    for (int i = 0; i < 5; ++i) viz::write_png((d / cls / (std::to_string(i) + ".png")).string(), img);
  }
  std::ofstream(d / "dogs" / "broken.jpg") << "not a jpeg";
  std::string warning;
  data::FolderOptions o;
  o.size = 8;
  data::Dataset ds = data::load_image_folder(d.string(), o, [&](const std::string& w) { warning = w; });
  CHECK(ds.size() == 10);
  CHECK(ds.class_names == std::vector<std::string>{"cats", "dogs"});
  CHECK(ds.pixels.size() == size_t(10 * 3 * 8 * 8));
  CHECK(warning.find("skipped 1 unreadable image") != std::string::npos);
  CHECK(warning.find("broken.jpg") != std::string::npos);
  o.strict = true;
  CHECK_THROWS_WITH(data::load_image_folder(d.string(), o, {}), Catch::Contains("broken.jpg"));
  const auto [tr, va] = data::split_validation(ds, 0.2, 1);
  CHECK(tr.size() == 8);
  CHECK(va.size() == 2);
  fs::create_directories(d / "empty");
  CHECK_THROWS_WITH(data::load_image_folder(d.string(), {}, {}), Catch::Contains("empty: no images"));
  fs::remove_all(d);
}

TEST_CASE("Fashion-MNIST: a slice trains above chance in seconds", "[training]") {
  const std::string dir = data::fashion_mnist_dir();
  if (!fs::is_directory(dir)) {
    WARN("skipped: " << dir << " is absent (apt-get install dataset-fashion-mnist)");
    return;
  }
  const data::Dataset all = data::load_fashion_mnist(dir, "test");
  CHECK(all.size() == 10000);
  std::vector<int64_t> first(2000), last(1000);
  for (int64_t i = 0; i < 2000; ++i) first[size_t(i)] = i;
  for (int64_t i = 0; i < 1000; ++i) last[size_t(i)] = 9000 + i;
  const data::Dataset train = all.subset(first, "slice"), test = all.subset(last, "held out");
  nn::ModelOptions o;
  o.alpha = 0.5;
  auto m = nn::make_model("fashion_cnn", o);
  nn::init_parameters(*m, 0);
  train::TrainConfig c;
  c.epochs = 2;
  c.batch = 64;
  train::Trainer t(*m, train, c);
  const double l1 = t.run_epoch().loss, l2 = t.run_epoch().loss;
  const double acc = train::evaluate(*m, test).accuracy();
  std::printf("fashion-mnist slice: loss %.3f -> %.3f, held-out accuracy %.1f%%\n", l1, l2, 100 * acc);
  CHECK(l2 < l1);
  CHECK(acc > 0.6);
}
