// gradtrace train: trains a model on Fashion-MNIST or an image folder, on gradtrace's own tape.
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "cli/cli.h"
#include "io/hdf5.h"
#include "nn/init.h"
#include "train/loop.h"
#include "train/training.h"
#include "weights/format.h"

namespace gt::cli {
namespace {
const char* kHelp =
    "usage: gradtrace train --dataset fashion-mnist|folder:DIR --out FILE.h5 [options]\n"
    "       gradtrace train --dataset csv:FILE --target COLUMN --out FILE.h5 [options]\n"
    "       gradtrace train --resume CHECKPOINT.h5 [--out FILE.h5]\n"
    "\n"
    "Trains a classifier with mini-batch SGD or Adam on softmax cross-entropy, and writes it in\n"
    "gradtrace's weights format (class names and preprocessing inside), ready for classify, saliency,\n"
    "gradcam, ig, counterfactual and report. After every epoch it prints the validation accuracy and\n"
    "writes a checkpoint (atomically: an interrupted run leaves the last complete one intact).\n"
    "\n"
    "data:\n"
    "  --dataset D      fashion-mnist (Debian's dataset-fashion-mnist; fashion-mnist:DIR elsewhere)\n"
    "                   or folder:DIR (DIR/<class name>/*.png|jpg)\n"
    "  --val F          the fraction of the training data held out for validation (default: 0 for\n"
    "                   fashion-mnist, which validates on its test split; 0.2 for folders)\n"
    "  --size S         folder images are resized to SxS (default 32); fashion-mnist is 28\n"
    "  --channels 1|3   folder images as gray or RGB (default 3)\n"
    "  --strict         an unreadable image in a folder is an error (default: skipped, counted)\n"
    "  --limit N        train on the first N examples only (quick experiments)\n"
    "  --augment LIST   flip,crop (default), flip, crop or none: random left-right flips and random\n"
    "                   crops from the image padded by --pad pixels (default 2)\n"
    "\n"
    "tables (--dataset csv:FILE: a header row; ',' ';' or tab; quotes; missing values as empty, NA or ?):\n"
    "  --target COLUMN  the column to predict\n"
    "  --task T         classify or regress (default: classify for text or a few integer values)\n"
    "  --categorical L, --numeric L   columns (comma list) read as categories or numbers, overriding the\n"
    "                   inferred types; --drop L leaves columns out\n"
    "  --val F, --test F  the validation and test fractions of the rows (default 0.1 and 0.2; stratified\n"
    "                   by class, from --seed); numbers are standardised and categories one-hot encoded\n"
    "                   on the training rows, missing values filled with the median or most frequent\n"
    "  --model M        mlp (default: dense layers with ReLU and dropout) or linear (logistic\n"
    "                   regression; for --task regress least squares, fitted exactly)\n"
    "  --hidden L       the mlp's hidden widths (default 64,32); --dropout P (default 0.1)\n"
    "  --loss L         regression: mse (default) or huber\n"
    "\n"
    "model and optimisation:\n"
    "  --model NAME     fashion_cnn (default) or a zoo model (trained from scratch)\n"
    "  --from FILE      transfer learning: fine-tune this model (any --weights file: .keras, .h5, .onnx,\n"
    "                   .tflite, gradtrace's .h5, random:ARCH) with a fresh classifier for the dataset's\n"
    "                   classes; the data is resized to its input (--preprocess, --size as for --weights)\n"
    "  --freeze-until L with --from: keep the layers up to and including L fixed (no gradient is computed\n"
    "                   for their weights; their batch norms keep their statistics); see gradtrace layers\n"
    "  --new-head N     with --from: the new classifier's class count, which must be the dataset's\n"
    "  --alpha A        width multiplier (default 1)\n"
    "  --epochs N       default 10\n"
    "  --batch B        mini-batch size (default 128)\n"
    "  --optimizer O    sgd (momentum, the default) or adam\n"
    "  --lr LR          base learning rate (default 0.05 for sgd, 0.001 for adam)\n"
    "  --momentum M     sgd momentum (default 0.9)\n"
    "  --weight-decay WD L2 weight decay (default 5e-4)\n"
    "  --schedule S     cosine (default), step or constant\n"
    "  --step-size N    step schedule: epochs between decays (default epochs/3); --gamma G (0.1)\n"
    "  --seed S         fixes initialisation, shuffling, augmentation and dropout (default 0)\n"
    "\n"
    "output:\n"
    "  --out FILE.h5    the trained weights\n"
    "  --checkpoint FILE written after every epoch (default: OUT with .ckpt.h5)\n"
    "  --resume FILE    continue a run from its checkpoint, with the settings it was started with\n" GT_FLAG_THREADS
        GT_FLAG_DEVICE
    "\n"
    "On a terminal a progress bar shows epoch, step, loss, accuracy, samples/s and the time left;\n"
    "otherwise one line per epoch. The same seed and thread count give the same weights.\n";

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

struct Interrupted {};

// The training flags (saved in a checkpoint; a resumed run takes them from there).
const char* kRunFlags[] = {
    "--dataset",      "--val",       "--size",         "--channels", "--limit",       "--augment", "--pad",
    "--model",        "--alpha",     "--epochs",       "--batch",    "--optimizer",   "--lr",      "--momentum",
    "--schedule",     "--step-size", "--weight-decay", "--gamma",    "--seed",        "--strict",  "--from",
    "--freeze-until", "--new-head",  "--target",       "--task",     "--categorical", "--numeric", "--drop",
    "--test",         "--hidden",    "--dropout",      "--loss"};

std::string fmt_time(double s) {
  const long t = std::lround(std::max(0.0, s));
  char b[32];
  std::snprintf(b, sizeof b, "%ld:%02ld", t / 60, t % 60);
  return b;
}
}  // namespace

namespace {
// The model (a fresh one, a pretrained one to fine-tune, or a checkpoint's) and the data, which a
// pretrained model sizes (d is loaded here).
std::unique_ptr<nn::Model> model_and_data(train::RunSettings& r, const std::string& resume, const ImportOptions& io,
                                          long new_head, train::TrainData& d) {
  std::unique_ptr<nn::Model> m;
  if (resume.empty() && !r.from.empty()) m = train::load_base_model(r, io);  // it sets the data's size
  d = train::load_train_data(r);
  if (new_head && new_head != d.train.classes())
    throw UsageError("--new-head " + std::to_string(new_head) + ": the dataset has " +
                     std::to_string(d.train.classes()) + " classes");
  if (!resume.empty()) {
    m = load_weights(resume);
    if (!r.freeze_until.empty()) nn::freeze_until(*m, r.freeze_until);
  } else if (m) {
    train::prepare_transfer(*m, r, d.train);
  } else {
    m = train::make_trainable_model(r, d);
  }
  return m;
}

// evaluate() with a regression table's scale, so that RMSE and MAE are in the target's units.
train::Evaluation evaluate_data(nn::Model& m, const train::TrainData& d, const data::Dataset& on) {
  const double mean = d.table ? d.table->schema.target_mean : 0, scale = d.table ? d.table->schema.target_scale : 1;
  return train::evaluate(m, on, 200, {}, mean, scale);
}

// A table's held-out test rows, once training is done: accuracy (or R^2 and RMSE).
void print_table_test(nn::Model& m, const train::TrainData& d) {
  if (d.table->test.empty()) return;
  const train::Evaluation e = evaluate_data(m, d, data::table_dataset(*d.table, d.table->test, "test"));
  if (e.regression)
    std::printf("test: R2 %.4f  RMSE %.4g  MAE %.4g  (%lld rows)\n", e.r2, e.rmse, e.mae, (long long)e.total);
  else
    std::printf("test: accuracy %.2f%%  balanced accuracy %.2f%%  (%lld rows)\n", 100 * e.accuracy(),
                100 * e.balanced_accuracy(), (long long)e.total);
}

// The progress bar on a terminal, redrawn after every step.
void show_progress(const train::StepReport& s, int epochs, int epochs_left) {
  const int width = 24;
  const int fill = int(width * s.step / s.steps_per_epoch);
  const double per_step = s.seconds / double(s.step);
  const double eta =
      per_step * double(s.steps_per_epoch - s.step) + per_step * double(s.steps_per_epoch) * (epochs_left - 1);
  std::fprintf(stderr, "\repoch %d/%d [%s%s] %lld/%lld loss %.4f acc %.2f%% %.0f samples/s ETA %s ", s.epoch, epochs,
               std::string(size_t(fill), '=').c_str(), std::string(size_t(width - fill), ' ').c_str(),
               (long long)s.step, (long long)s.steps_per_epoch, s.loss, 100 * s.accuracy, s.samples_per_s,
               fmt_time(eta).c_str());
  std::fflush(stderr);
}

// One line per finished epoch, with the validation accuracy (a regression table: RMSE and R^2).
void print_epoch(const train::EpochReport& e, const train::Evaluation& v, int epochs, const std::string& val_name) {
  if (v.regression)
    std::printf("epoch %d/%d  loss %.4f  %s RMSE %.4g  R2 %.4f  lr %.3g  %.1f s  %.0f samples/s\n", e.epoch, epochs,
                e.loss, val_name.c_str(), v.rmse, v.r2, e.lr, e.seconds, e.samples_per_s);
  else
    std::printf("epoch %d/%d  loss %.4f  train acc %.2f%%  %s acc %.2f%%  lr %.3g  %.1f s  %.0f samples/s\n", e.epoch,
                epochs, e.loss, 100 * e.accuracy, val_name.c_str(), 100 * v.accuracy(), e.lr, e.seconds,
                e.samples_per_s);
}

// A new run's settings from its flags (kRunFlags).
train::RunSettings read_run_flags(Args& a) {
  train::RunSettings r;
  r.dataset = a.get("--dataset", "");
  r.strict = a.flag("--strict");
  r.size = a.get_int("--size", 32, 8, 1024);
  r.channels = a.get_int("--channels", 3, 1, 3);
  r.limit = a.get_int("--limit", 0, 0, 1L << 40);
  r.augment = a.get("--augment", "flip,crop");
  r.pad = a.get_int("--pad", 2, 0, 64);
  const bool table = r.dataset.rfind("csv:", 0) == 0;
  r.model = a.get("--model", table ? "mlp" : "fashion_cnn");
  r.target = a.get("--target", "");
  r.task = a.get("--task", "");
  r.categorical = a.get("--categorical", "");
  r.numeric = a.get("--numeric", "");
  r.drop = a.get("--drop", "");
  r.test = a.get_double("--test", 0.2, 0, 0.9);
  r.hidden = a.get("--hidden", "64,32");
  r.dropout = a.get_double("--dropout", 0.1, 0, 0.95);
  r.config.loss = a.get("--loss", table ? "mse" : "cross_entropy");
  if (!table && (a.given("--target") || a.given("--hidden") || a.given("--loss")))
    throw UsageError("--target, --hidden and --loss go with a table: --dataset csv:FILE");
  if (table && r.target.empty()) throw UsageError("--target COLUMN is required with --dataset csv:FILE");
  if (r.config.loss != "mse" && r.config.loss != "huber" && r.config.loss != "cross_entropy")
    throw UsageError("--loss must be mse or huber, got '" + r.config.loss + "'");
  r.alpha = a.get_double("--alpha", 1.0, 1e-3, 16);
  r.config.epochs = int(a.get_int("--epochs", 10, 1, 100000));
  r.config.batch = a.get_int("--batch", 128, 1, 1L << 30);
  r.config.optimizer.kind = a.get("--optimizer", "sgd");
  r.config.optimizer.lr = a.get_double("--lr", r.config.optimizer.kind == "adam" ? 0.001 : 0.05, 1e-12, 1e3);
  r.config.optimizer.momentum = a.get_double("--momentum", 0.9, 0, 0.9999);
  r.config.optimizer.weight_decay = a.get_double("--weight-decay", 5e-4, 0, 1);
  r.config.schedule.kind = a.get("--schedule", "cosine");
  r.step_size_epochs = a.get_int("--step-size", std::max(1, r.config.epochs / 3), 1, 100000);
  r.config.schedule.gamma = a.get_double("--gamma", 0.1, 0, 1);
  r.config.seed = uint64_t(a.get_int("--seed", 0, 0, 1L << 62));
  r.val = a.given("--val") ? a.get_double("--val", 0, 0, 0.9) : -1;
  r.from = a.get("--from", "");
  r.freeze_until = a.get("--freeze-until", "");
  if (r.from.empty() && (a.given("--freeze-until") || a.given("--new-head")))
    throw UsageError("--freeze-until and --new-head go with --from MODEL");
  if (!r.from.empty() && a.given("--model"))
    throw UsageError("give --from (fine-tune) or --model (from scratch), not both");
  return r;
}
}  // namespace

int run_train(int argc, char** argv) {
  Args a(argc, argv, 2, {"--help", "--strict"});
  if (a.flag("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string resume = a.get("--resume", "");
  train::RunSettings r;
  if (!resume.empty()) {
    for (const char* f : kRunFlags)
      if (a.given(f))
        throw UsageError(std::string(f) +
                         " cannot be changed on --resume: the run continues with the settings saved in " + resume);
    r = train::read_run_settings(resume);
  } else {
    r = read_run_flags(a);
  }
  std::string out = a.get("--out", resume.empty() ? "" : train::resume_default_out(resume));
  std::string ckpt = a.get("--checkpoint", "");
  apply_threads(a);
  const Device dev = apply_device(a);
  const ImportOptions io = import_flags(a);
  const long new_head = a.get_int("--new-head", 0, 0, 100000);
  a.finish();
  if (resume.empty()) {
    if (r.dataset.empty()) throw UsageError("--dataset is required (fashion-mnist or folder:DIR)");
    if (out.empty()) throw UsageError("--out FILE.h5 is required");
    train::check_run_settings(r);
  }
  if (ckpt.empty()) ckpt = resume.empty() ? train::checkpoint_path(out) : resume;
  r.config.augment.flip = r.augment.find("flip") != std::string::npos;
  r.config.augment.pad = r.augment.find("crop") != std::string::npos ? r.pad : 0;

  train::TrainData d;
  std::unique_ptr<nn::Model> m = model_and_data(r, resume, io, new_head, d);
  if (d.table && r.model == "linear" && d.table->schema.task == "regress") {
    train::fit_least_squares(*m, *d.table);  // the exact minimum: no epochs to run
    std::printf("fitted linear regression by least squares on %lld rows of %s\n", (long long)d.train.size(),
                d.train.source.c_str());
    print_table_test(*m, d);
    save_weights(*m, out);
    std::printf("wrote %s\n", out.c_str());
    return 0;
  }
  m->to(dev);
  r.config.schedule.step_size = r.step_size_epochs * (d.train.size() / r.config.batch);
  train::Trainer trainer(*m, d.train, r.config);
  if (!resume.empty()) train::read_trainer_state(resume, trainer);
  if (trainer.epoch >= r.config.epochs)
    throw Error("checkpoint " + resume + " has finished all " + std::to_string(r.config.epochs) + " epochs already");

  std::printf("training %s (%lld parameters) on %s: %lld examples, %s; %s %s; %d epochs of %lld steps (batch %lld)\n",
              m->info.arch.c_str(), (long long)train::parameter_count(*m), d.train.source.c_str(),
              (long long)d.train.size(),
              d.train.targets.empty() ? (std::to_string(d.train.classes()) + " classes").c_str() : "a numeric target",
              r.config.optimizer.kind.c_str(), r.config.schedule.kind.c_str(), r.config.epochs,
              (long long)trainer.steps_per_epoch(), (long long)r.config.batch);
  if (trainer.epoch > 0)
    std::printf("resuming after epoch %d (step %lld) from %s\n", trainer.epoch, (long long)trainer.optimizer.steps,
                resume.c_str());
  std::fflush(stdout);

  const bool tty = isatty(fileno(stderr));
  g_interrupted = 0;
  auto previous = std::signal(SIGINT, on_sigint);
  double done_secs = 0;
  try {
    while (trainer.epoch < r.config.epochs) {
      const int epochs_left = r.config.epochs - trainer.epoch;
      const train::EpochReport e = trainer.run_epoch([&](const train::StepReport& s) {
        if (g_interrupted) throw Interrupted{};
        if (tty) show_progress(s, r.config.epochs, epochs_left);
      });
      if (tty) std::fputs("\r\033[K", stderr);
      done_secs += e.seconds;
      print_epoch(e, evaluate_data(*m, d, d.val), r.config.epochs, d.val_name);
      std::fflush(stdout);
      train::write_checkpoint(*m, trainer, r, ckpt);
    }
  } catch (const Interrupted&) {
    std::signal(SIGINT, previous);
    if (tty) std::fputc('\n', stderr);
    std::fprintf(stderr, "interrupted during epoch %d; ", trainer.epoch + 1);
    if (trainer.epoch > 0)
      std::fprintf(stderr, "the checkpoint of epoch %d is %s; continue with: gradtrace train --resume %s\n",
                   trainer.epoch, ckpt.c_str(), ckpt.c_str());
    else
      std::fprintf(stderr, "no epoch was completed, so there is no checkpoint\n");
    return 130;
  }
  std::signal(SIGINT, previous);
  if (d.table) print_table_test(*m, d);
  save_weights(*m, out);
  std::printf("wrote %s (%.1f s of training); checkpoint %s\n", out.c_str(), done_secs, ckpt.c_str());
  return 0;
}

}  // namespace gt::cli
