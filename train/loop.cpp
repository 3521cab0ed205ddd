#include "train/loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "image/preprocess.h"

namespace gt::train {
using nn::mix;
using nn::trainable_parameters;
namespace {
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The predicted class of each row of logits (N,K).
std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const std::vector<float> v = logits.to_vector();
  const int64_t N = logits.dim(0), K = logits.dim(1);
  std::vector<int64_t> pred(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    pred[size_t(n)] = std::max_element(v.begin() + n * K, v.begin() + (n + 1) * K) - (v.begin() + n * K);
  return pred;
}

// Runs the batch again with a hook on every op and names the first whose output is not finite.
std::string first_non_finite(Model& m, const Tensor& x) {
  Tape tape;
  TapeGuard guard(tape);
  NoGradGuard no_grad;
  std::string first;
  tape.add_forward_hook("", "", [&](const std::string& op, const std::string& layer, const Tensor& out) {
    if (first.empty() && !out.all_finite()) first = op + " [" + layer + "]";
    return out;
  });
  m(x);
  return first.empty() ? "the loss (cross_entropy)" : first;
}

// Throws gt::Error unless the dataset's images (or table rows) and classes are what the model takes.
void check_fits(const Model& m, const data::Dataset& d) {
  if (d.features || m.info.features) {
    const int64_t outputs = d.targets.empty() ? d.classes() : 1;
    if (d.features != m.info.features || outputs != m.info.classes)
      throw Error("dataset " + d.source + " has rows of " + std::to_string(d.features) + " columns and " +
                  std::to_string(outputs) + " outputs, the model " + m.info.arch + " takes " +
                  std::to_string(m.info.features) + " and gives " + std::to_string(m.info.classes));
    return;
  }
  if (d.channels != m.info.channels || d.height != m.info.input_h || d.width != m.info.input_w)
    throw Error("dataset " + d.source + " holds " + std::to_string(d.channels) + "x" + std::to_string(d.height) + "x" +
                std::to_string(d.width) + " images, the model " + m.info.arch + " takes " +
                std::to_string(m.info.channels) + "x" + std::to_string(m.info.input_h) + "x" +
                std::to_string(m.info.input_w));
  if (d.classes() != m.info.classes)
    throw Error("dataset " + d.source + " has " + std::to_string(d.classes()) + " classes, the model " + m.info.arch +
                " " + std::to_string(m.info.classes));
}
// A batch from make_batch (the pixels / 255) as the model takes its input: a model trained here
// takes exactly that (unit, gray); a pretrained one being fine-tuned its own preprocessing.
Tensor model_input(const Tensor& unit, const std::string& mode) {
  if (mode == "unit" || mode == "gray" || unit.ndim() == 2) return unit;  // (2-D: a table's encoded rows)
  Tensor pixels = unit.clone();
  float* p = pixels.data<float>();
  for (int64_t i = 0; i < pixels.numel(); ++i) p[i] *= 255.0f;
  return mode == "none" || mode == "gray255" ? pixels : preprocess(pixels, mode);
}
// The standardised regression targets of rows idx[0..B) as (B,1); undefined for a class dataset.
Tensor target_batch(const data::Dataset& d, const int64_t* idx, int64_t B) {
  if (d.targets.empty()) return {};
  Tensor y = Tensor::empty({B, 1});
  for (int64_t b = 0; b < B; ++b) y.data<float>()[b] = d.targets[size_t(idx[b])];
  return y;
}

// The loss to minimise: softmax cross-entropy over the classes, or for a regression table's one
// output the mean squared error or the Huber loss (delta 1, on standardised targets):
//   huber(d) = d^2 / 2 for |d| <= 1, |d| - 1/2 beyond  =  c (d - c / 2)  with c = clamp(d, -1, 1).
Tensor loss_of(const Tensor& out, const std::vector<int32_t>& labels, const Tensor& y, const std::string& kind) {
  if (!y.defined()) return ops::cross_entropy(out, labels);
  const Tensor d = ops::sub(out, y);
  if (kind == "huber") {
    const Tensor c = ops::clamp(d, -1, 1);
    return ops::mean(ops::mul(c, ops::sub(d, ops::mul_scalar(c, 0.5))));
  }
  return ops::mean(ops::mul(d, d));
}

// ROC AUC: the probability that a random positive scores above a random negative (ties 1/2), from
// the ranks of the scores (Mann-Whitney U).
double roc_auc(const std::vector<std::pair<float, int>>& scored) {
  std::vector<std::pair<float, int>> v = scored;
  std::sort(v.begin(), v.end());
  double pos = 0, rank_sum = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j].first == v[i].first) ++j;
    const double mid_rank = 0.5 * double(i + 1 + j);  // the mean of ranks i+1 .. j
    for (size_t k = i; k < j; ++k)
      if (v[k].second) pos += 1, rank_sum += mid_rank;
    i = j;
  }
  const double neg = double(v.size()) - pos;
  return pos > 0 && neg > 0 ? (rank_sum - pos * (pos + 1) / 2) / (pos * neg) : -1;
}
}  // namespace

double Evaluation::balanced_accuracy() const {
  double sum = 0;
  int64_t present = 0;
  for (int64_t k = 0; k < classes; ++k) {
    int64_t n = 0;
    for (int64_t j = 0; j < classes; ++j) n += confusion[size_t(k * classes + j)];
    if (n) sum += class_accuracy(k), ++present;
  }
  return present ? sum / double(present) : 0.0;
}

double Evaluation::f1(int64_t k) const {
  int64_t predicted = 0, actual = 0;
  for (int64_t j = 0; j < classes; ++j)
    predicted += confusion[size_t(j * classes + k)], actual += confusion[size_t(k * classes + j)];
  const auto tp = double(confusion[size_t(k * classes + k)]);
  return predicted + actual ? 2 * tp / double(predicted + actual) : 0.0;
}

double Evaluation::class_accuracy(int64_t k) const {
  int64_t n = 0;
  for (int64_t j = 0; j < classes; ++j) n += confusion[size_t(k * classes + j)];
  return n ? double(confusion[size_t(k * classes + k)]) / double(n) : 0.0;
}

Trainer::Trainer(Model& m, const data::Dataset& train, const TrainConfig& c)
    : optimizer(trainable_parameters(m), c.optimizer), m_(m), data_(train), c_(c) {
  if (c.batch < 2)
    throw Error("training: the batch size must be at least 2 (batch norm needs a batch), got " +
                std::to_string(c.batch));
  if (c.batch > train.size())
    throw Error("training: batch size " + std::to_string(c.batch) + " is larger than the dataset " + train.source +
                " (" + std::to_string(train.size()) + " examples)");
  check_fits(m, train);
}

int64_t Trainer::steps_per_epoch() const { return data_.size() / c_.batch; }  // the remainder waits a turn

EpochReport Trainer::run_epoch(const std::function<void(const StepReport&)>& on_step) {
  const int epoch = this->epoch + 1;
  const int64_t B = c_.batch, steps = steps_per_epoch(), total = steps * c_.epochs;
  std::vector<int64_t> order(size_t(data_.size()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 shuffle_rng(mix(c_.seed, 2, uint64_t(epoch))), augment_rng(mix(c_.seed, 3, uint64_t(epoch)));
  std::shuffle(order.begin(), order.end(), shuffle_rng);
  for (auto& [name, p] : trainable_parameters(m_)) p->set_requires_grad(true);
  const auto t0 = Clock::now();
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<int32_t> labels;
    const Tensor x = model_input(data::make_batch(data_, &order[size_t(s * B)], B, c_.augment, augment_rng, labels),
                                 m_.info.preprocessing);
    m_.train(true, mix(c_.seed, 4, uint64_t(optimizer.steps)));
    Tape tape;
    TapeGuard guard(tape);
    const Tensor logits = m_(x);
    const Tensor loss = loss_of(logits, labels, target_batch(data_, &order[size_t(s * B)], B), c_.loss);
    const double l = loss.item();
    if (!std::isfinite(l))
      throw Error("training stopped: the loss is " + std::string(std::isnan(l) ? "NaN" : "Inf") + " at epoch " +
                  std::to_string(epoch) + ", step " + std::to_string(s + 1) +
                  "; the first non-finite value came from " + first_non_finite(m_, x) + " (try a smaller --lr)");
    tape.backward(loss);
    optimizer.lr = c_.schedule.at(c_.optimizer.lr, optimizer.steps, total);
    optimizer.step();
    loss_sum += l;
    if (!labels.empty()) {
      const std::vector<int64_t> pred = argmax_rows(logits);
      for (int64_t n = 0; n < B; ++n) correct += pred[size_t(n)] == labels[size_t(n)];
    }
    if (on_step) {
      const double secs = since(t0);
      on_step({epoch, s + 1, steps, loss_sum / double(s + 1), double(correct) / double((s + 1) * B),
               double((s + 1) * B) / secs, secs});
    }
  }
  m_.train(false);
  this->epoch = epoch;
  const double secs = since(t0);
  return {epoch, loss_sum / double(steps), double(correct) / double(steps * B),
          secs,  double(steps * B) / secs, optimizer.lr};
}

Evaluation evaluate(Model& m, const data::Dataset& d, int64_t batch,
                    const std::function<void(int64_t, int64_t)>& progress, double target_mean, double target_scale) {
  check_fits(m, d);
  const bool was_training = m.training();
  m.train(false);
  NoGradGuard no_grad;
  Evaluation e;
  e.regression = !d.targets.empty();
  e.classes = d.classes();
  e.confusion.assign(size_t(e.classes * e.classes), 0);
  std::mt19937_64 unused(0);
  double loss_sum = 0, abs_sum = 0, sq_sum = 0, y_sum = 0, yy_sum = 0;
  std::vector<std::pair<float, int>> scored;  // two classes: (p(class 1), label)
  for (int64_t start = 0; start < d.size(); start += batch) {
    const int64_t B = std::min(batch, d.size() - start);
    std::vector<int64_t> idx(static_cast<size_t>(B));
    std::iota(idx.begin(), idx.end(), start);
    std::vector<int32_t> labels;
    const Tensor out = m(model_input(data::make_batch(d, idx.data(), B, {}, unused, labels), m.info.preprocessing));
    const Tensor y = target_batch(d, idx.data(), B);
    loss_sum += loss_of(out, labels, y, "mse").item() * double(B);
    if (e.regression) {  // in the target's units
      const std::vector<float> o = out.to_vector(), t = y.to_vector();
      for (int64_t n = 0; n < B; ++n) {
        const double p = o[size_t(n)] * target_scale + target_mean, v = t[size_t(n)] * target_scale + target_mean;
        abs_sum += std::abs(p - v), sq_sum += (p - v) * (p - v), y_sum += v, yy_sum += v * v;
      }
    } else {
      const std::vector<int64_t> pred = argmax_rows(out);
      const std::vector<float> p = e.classes == 2 ? ops::softmax(out).to_vector() : std::vector<float>();
      for (int64_t n = 0; n < B; ++n) {
        ++e.confusion[size_t(labels[size_t(n)] * e.classes + pred[size_t(n)])];
        e.correct += pred[size_t(n)] == labels[size_t(n)];
        if (!p.empty()) scored.emplace_back(p[size_t(2 * n + 1)], labels[size_t(n)]);
      }
    }
    e.total += B;
    if (progress) progress(e.total, d.size());
  }
  if (e.total) {
    const auto N = double(e.total);
    e.loss = loss_sum / N;
    e.mae = abs_sum / N;
    e.rmse = std::sqrt(sq_sum / N);
    const double ss_tot = yy_sum - y_sum * y_sum / N;  // sum of (y - mean y)^2
    e.r2 = ss_tot > 0 ? 1 - sq_sum / ss_tot : 0.0;
  }
  if (e.classes == 2) e.auc = roc_auc(scored);
  m.train(was_training);
  return e;
}

}  // namespace gt::train
