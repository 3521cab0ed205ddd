// Training on the tape: mini-batch SGD/Adam with softmax cross-entropy, a learning-rate schedule,
// deterministic shuffling and augmentation from a seed; and evaluation (accuracy, confusion matrix).
//
// Determinism: epoch e shuffles with a generator seeded from (seed, e) and augments from another, and
// step t draws dropout masks from (seed, t). A run resumed from the checkpoint of epoch e therefore
// continues exactly as the uninterrupted run (with the same thread count).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "nn/init.h"
#include "nn/model.h"
#include "nn/optim.h"

namespace gt::train {

using nn::LrSchedule;
using nn::Model;
using nn::Optimizer;
using nn::OptimizerOptions;

// epochs: the run's length, which the learning-rate schedule spans; batch: at least 2 and at most the
// dataset's size; seed: shuffling, augmentation and dropout (see above).
struct TrainConfig {
  int epochs = 10;
  int64_t batch = 128;
  uint64_t seed = 0;
  OptimizerOptions optimizer;
  LrSchedule schedule;
  data::Augment augment;
  std::string loss = "cross_entropy";  // cross_entropy (classes) | mse | huber (a regression table)
};

// Progress after each step: the running means of the epoch so far.
struct StepReport {
  int epoch;                      // 1-based
  int64_t step, steps_per_epoch;  // 1-based within the epoch
  double loss, accuracy;          // running means over this epoch's batches so far
  double samples_per_s, seconds;  // this epoch so far
};

// One finished epoch: mean loss and accuracy over its batches, time, throughput, and the lr of its last step.
struct EpochReport {
  int epoch;
  double loss, accuracy, seconds, samples_per_s, lr;
};

// class_accuracy(k): the fraction of class k's examples predicted as k (0 when it has none).
struct Evaluation {
  int64_t classes = 0, total = 0, correct = 0;
  std::vector<int64_t> confusion;  // classes x classes, row = true class, column = predicted
  double loss = 0;                 // mean cross-entropy (regression: mean squared error, standardised)
  double accuracy() const { return total ? double(correct) / double(total) : 0.0; }
  double class_accuracy(int64_t k) const;
  double balanced_accuracy() const;  // the mean of class_accuracy over the classes that occur
  double f1(int64_t k) const;        // 2 precision recall / (precision + recall) of class k (0 if undefined)
  double auc = -1;                   // two classes: ROC AUC of p(class 1) (ties count 1/2); -1 otherwise
  // A regression table, in the target's units (the model's output times scale plus mean).
  bool regression = false;
  double r2 = 0, mae = 0, rmse = 0;
};

// Trains trainable_parameters(m) on softmax cross-entropy, one run_epoch call per epoch.
class Trainer {
 public:
  // The dataset must outlive the trainer. Throws for a batch larger than the dataset.
  Trainer(Model& m, const data::Dataset& train, const TrainConfig& c);
  // One epoch; on_step after every batch. A loss that is NaN or Inf stops the run with an error that
  // names the first node whose output was not finite.
  EpochReport run_epoch(const std::function<void(const StepReport&)>& on_step = {});
  // Where the run stands (a checkpoint saves both): epochs completed, and the optimiser, whose
  // `steps` counts the steps taken (the schedule's and dropout's position).
  int epoch = 0;
  Optimizer optimizer;
  // floor(dataset size / batch): the examples left over at the end of the epoch's shuffled order are skipped.
  int64_t steps_per_epoch() const;

 private:
  Model& m_;
  const data::Dataset& data_;
  TrainConfig c_;
};

// Accuracy, loss and confusion matrix of the model (in evaluation mode) on a dataset; for a
// regression table R^2, MAE and RMSE in the target's units (y = output * scale + mean).
Evaluation evaluate(Model& m, const data::Dataset& d, int64_t batch = 200,
                    const std::function<void(int64_t done, int64_t total)>& progress = {}, double target_mean = 0,
                    double target_scale = 1);

}  // namespace gt::train
