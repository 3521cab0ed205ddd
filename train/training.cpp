#include "train/training.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "io/hdf5.h"
#include "nn/init.h"
#include "weights/format.h"
#include "weights/load.h"

namespace gt::train {

void check_run_settings(const RunSettings& r) {
  try {
    data::parse_dataset(r.dataset);
    nn::check_model_name(r.model);
  } catch (const Error& e) {
    throw InvalidArgument(e.what());
  }
  const auto& o = r.config.optimizer.kind;
  if (o != "sgd" && o != "adam") throw InvalidArgument("--optimizer must be sgd or adam, got '" + o + "'");
  const auto& s = r.config.schedule.kind;
  if (s != "cosine" && s != "step" && s != "constant")
    throw InvalidArgument("--schedule must be cosine, step or constant, got '" + s + "'");
  if (r.augment != "flip,crop" && r.augment != "crop,flip" && r.augment != "flip" && r.augment != "crop" &&
      r.augment != "none")
    throw InvalidArgument("--augment must be flip,crop, flip, crop or none, got '" + r.augment + "'");
  if (r.channels != 1 && r.channels != 3) throw InvalidArgument("--channels must be 1 or 3");
}

namespace {
data::Dataset limited(data::Dataset d, int64_t limit) {
  if (limit <= 0 || limit >= d.size()) return d;
  std::vector<int64_t> idx(static_cast<size_t>(limit));
  for (int64_t i = 0; i < limit; ++i) idx[size_t(i)] = i;
  return d.subset(idx, d.source + " (first " + std::to_string(limit) + ")");
}

void warn(const std::string& s) { std::fprintf(stderr, "warning: %s\n", s.c_str()); }
void note(const std::string& s) { std::fprintf(stderr, "note: %s\n", s.c_str()); }
}  // namespace

TrainData load_train_data(const RunSettings& r) {
  const data::DatasetSpec spec = data::parse_dataset(r.dataset);
  TrainData t;
  const uint64_t split_seed = r.config.seed + 1;
  if (spec.kind == "csv") return load_table_data(r, note);
  if (spec.kind == "fashion-mnist") {
    const std::string dir = data::fashion_mnist_dir(spec.dir);
    data::Dataset train = limited(data::load_fashion_mnist(dir, "train"), r.limit);
    if (r.val > 0) {
      auto [tr, va] = data::split_validation(train, r.val, split_seed);
      t = {std::move(tr), std::move(va), "validation", nullptr};
    } else {
      t = {std::move(train), data::load_fashion_mnist(dir, "test"), "test", nullptr};
    }
  } else {
    data::FolderOptions fo;
    fo.size = r.size;
    fo.channels = r.channels;
    fo.strict = r.strict;
    data::Dataset all = limited(data::load_image_folder(spec.dir, fo, warn), r.limit);
    auto [tr, va] = data::split_validation(all, r.val < 0 ? 0.2 : r.val, split_seed);
    if (va.size() == 0) throw Error("image folder " + spec.dir + ": too few images for a validation split (--val)");
    t = {std::move(tr), std::move(va), "validation", nullptr};
  }
  return t;
}

data::Dataset load_eval_data(const std::string& dataset, const nn::ModelInfo& info, bool strict) {
  data::DatasetSpec spec;
  try {
    spec = data::parse_dataset(dataset);
  } catch (const Error& e) {
    throw InvalidArgument(e.what());
  }
  if (spec.kind == "fashion-mnist") return data::load_fashion_mnist(data::fashion_mnist_dir(spec.dir), "test");
  data::FolderOptions fo;
  fo.size = info.input_h;
  fo.channels = info.channels;
  fo.strict = strict;
  return data::load_image_folder(spec.dir, fo, warn);
}

std::unique_ptr<nn::Model> make_trainable_model(const RunSettings& r, const TrainData& d) {
  if (d.table) return make_table_model(r, d);
  const data::Dataset& train = d.train;
  nn::ModelOptions o;
  o.classes = train.classes();
  o.input_size = train.height;
  o.channels = train.channels;
  o.alpha = r.alpha;
  if (r.model != "fashion_cnn" && train.channels != 3)
    throw InvalidArgument("--model " + r.model + " takes RGB input; use --channels 3 (or --model fashion_cnn)");
  auto m = nn::make_model(r.model, o);
  m->info.variant = "gradtrace";
  m->info.preprocessing = train.channels == 1 ? "gray" : "unit";
  m->info.resize = "squash";
  m->info.labels = "custom";
  m->info.class_names = train.class_names;
  nn::init_parameters(*m, r.config.seed);
  return m;
}

std::unique_ptr<nn::Model> load_base_model(RunSettings& r, const ImportOptions& io) {
  auto m = load_model(r.from, "", Device::cpu, DType::f32, io);
  if (m->info.input_h != m->info.input_w || !m->info.include_top)
    throw InvalidArgument("--from " + r.from + ": a classifier with a square input is needed");
  r.size = m->info.input_h;
  r.channels = m->info.channels;
  return m;
}

void prepare_transfer(nn::Model& m, const RunSettings& r, const data::Dataset& train) {
  nn::replace_classifier(m, train.classes(), r.config.seed);
  m.info.labels = "custom";
  m.info.class_names = train.class_names;
  if (!r.freeze_until.empty()) nn::freeze_until(m, r.freeze_until);
}

int64_t parameter_count(nn::Model& m) {
  int64_t n = 0;
  for (auto& [name, t] : nn::trainable_parameters(m)) n += t->numel();
  return n;
}

std::string checkpoint_path(const std::string& out) {
  const bool h5 = out.size() > 3 && out.compare(out.size() - 3, 3, ".h5") == 0;
  return (h5 ? out.substr(0, out.size() - 3) : out) + ".ckpt.h5";
}

std::string resume_default_out(const std::string& ckpt) {
  const std::string suffix = ".ckpt.h5";
  if (ckpt.size() > suffix.size() && ckpt.compare(ckpt.size() - suffix.size(), suffix.size(), suffix) == 0)
    return ckpt.substr(0, ckpt.size() - suffix.size()) + ".h5";
  return ckpt + ".final.h5";
}

// The run's settings and position are root attributes named train_*, the optimiser's moments datasets
// under optimizer/ (weights/FORMAT.md). A checkpoint is also a weights file: eval and classify read it.
void write_checkpoint(nn::Model& m, train::Trainer& t, const RunSettings& r, const std::string& path) {
  save_weights(m, path, [&](h5::File& f) {
    const auto& c = r.config;
    f.set_attr("train_dataset", r.dataset);
    f.set_attr("train_model", r.model);
    f.set_attr("train_augment", r.augment);
    f.set_attr("train_from", r.from);
    f.set_attr("train_freeze_until", r.freeze_until);
    f.set_attr("train_optimizer", c.optimizer.kind);
    f.set_attr("train_schedule", c.schedule.kind);
    f.set_attr("train_loss", c.loss);
    const std::pair<const char*, const std::string*> table[] = {
        {"train_target", &r.target},   {"train_task", &r.task}, {"train_categorical", &r.categorical},
        {"train_numeric", &r.numeric}, {"train_drop", &r.drop}, {"train_hidden", &r.hidden}};
    for (const auto& [name, v] : table) f.set_attr(name, *v);
    const std::pair<const char*, double> nums[] = {{"train_val", r.val},
                                                   {"train_size", double(r.size)},
                                                   {"train_channels", double(r.channels)},
                                                   {"train_limit", double(r.limit)},
                                                   {"train_pad", double(r.pad)},
                                                   {"train_step_size", double(r.step_size_epochs)},
                                                   {"train_alpha", r.alpha},
                                                   {"train_test", r.test},
                                                   {"train_dropout", r.dropout},
                                                   {"train_strict", r.strict ? 1.0 : 0.0},
                                                   {"train_epochs", double(c.epochs)},
                                                   {"train_batch", double(c.batch)},
                                                   {"train_seed", double(c.seed)},
                                                   {"train_lr", c.optimizer.lr},
                                                   {"train_momentum", c.optimizer.momentum},
                                                   {"train_weight_decay", c.optimizer.weight_decay},
                                                   {"train_gamma", c.schedule.gamma},
                                                   {"train_epoch", double(t.epoch)},
                                                   {"train_step", double(t.optimizer.steps)}};
    for (const auto& [name, v] : nums) f.set_attr(name, v);
    for (auto& [name, s] : t.optimizer.state()) f.write("optimizer/" + name, *s);
  });
}

RunSettings read_run_settings(const std::string& ckpt) {
  const h5::File f(ckpt, h5::File::Mode::read);
  if (!f.has_attr("train_epoch"))
    throw Error(
        "checkpoint " + ckpt +
        ": not a training checkpoint (no train_* attributes); --resume takes the .ckpt.h5 file that train writes");
  RunSettings r;
  r.dataset = f.attr_string("train_dataset");
  r.model = f.attr_string("train_model");
  r.augment = f.attr_string("train_augment");
  if (f.has_attr("train_from"))
    r.from = f.attr_string("train_from"), r.freeze_until = f.attr_string("train_freeze_until");
  r.config.optimizer.kind = f.attr_string("train_optimizer");
  r.config.schedule.kind = f.attr_string("train_schedule");
  if (f.has_attr("train_target")) {  // a table's run
    r.config.loss = f.attr_string("train_loss");
    r.target = f.attr_string("train_target"), r.task = f.attr_string("train_task");
    r.categorical = f.attr_string("train_categorical"), r.numeric = f.attr_string("train_numeric");
    r.drop = f.attr_string("train_drop"), r.hidden = f.attr_string("train_hidden");
    r.test = f.attr_double("train_test"), r.dropout = f.attr_double("train_dropout");
  }
  r.val = f.attr_double("train_val");
  r.size = std::lround(f.attr_double("train_size"));
  r.channels = std::lround(f.attr_double("train_channels"));
  r.limit = std::llround(f.attr_double("train_limit"));
  r.pad = std::lround(f.attr_double("train_pad"));
  r.step_size_epochs = std::lround(f.attr_double("train_step_size"));
  r.alpha = f.attr_double("train_alpha");
  r.strict = f.attr_double("train_strict") != 0;
  r.config.epochs = int(std::lround(f.attr_double("train_epochs")));
  r.config.batch = std::llround(f.attr_double("train_batch"));
  r.config.seed = uint64_t(std::llround(f.attr_double("train_seed")));
  r.config.optimizer.lr = f.attr_double("train_lr");
  r.config.optimizer.momentum = f.attr_double("train_momentum");
  r.config.optimizer.weight_decay = f.attr_double("train_weight_decay");
  r.config.schedule.gamma = f.attr_double("train_gamma");
  return r;
}

void read_trainer_state(const std::string& ckpt, train::Trainer& t) {
  const h5::File f(ckpt, h5::File::Mode::read);
  t.epoch = int(std::lround(f.attr_double("train_epoch")));
  t.optimizer.steps = std::llround(f.attr_double("train_step"));
  for (auto& [name, s] : t.optimizer.state()) {
    const std::string path = "optimizer/" + name;
    if (!f.has(path)) throw Error("checkpoint " + ckpt + ": missing dataset " + path);
    Tensor v = f.read(path, s->dtype());
    if (v.shape() != s->shape())
      throw Error("checkpoint " + ckpt + ", dataset " + path + ": expected shape " + s->shape().str() + ", found " +
                  v.shape().str());
    *s = v;
  }
}

}  // namespace gt::train
