// What `gradtrace train` and `gradtrace eval` share: a run's settings (saved in checkpoints), the
// datasets they name, and the checkpoint file (our weights format plus the optimiser's state).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/table.h"
#include "train/loop.h"
#include "weights/import.h"

namespace gt::train {

struct RunSettings {
  std::string dataset, model = "fashion_cnn", augment = "flip,crop";
  std::string from, freeze_until;  // transfer learning: the pretrained model, the last layer kept fixed
  double val = -1;                 // -1: the default (fashion-mnist: its test split; folders: 0.2)
  int64_t size = 32, channels = 3, limit = 0, pad = 2, step_size_epochs = 1;
  double alpha = 1.0;
  bool strict = false;
  // A table (--dataset csv:FILE): the column to predict, the task, columns forced to a type or left
  // out (comma lists), the test fraction, and the mlp's hidden widths and dropout.
  std::string target, task, categorical, numeric, drop, hidden = "64,32";
  double test = 0.2, dropout = 0.1;
  train::TrainConfig config;
};
// Usage errors for settings that cannot work (unknown optimizer, schedule, augmentation, dataset).
void check_run_settings(const RunSettings& r);

struct TrainData {
  data::Dataset train, val;
  std::string val_name;                // "test" or "validation"
  std::shared_ptr<data::Table> table;  // a CSV table: all of it, encoded, with its schema and split
};
TrainData load_train_data(const RunSettings& r);
// --dataset for evaluation: fashion-mnist's test split, or every image of a folder.
data::Dataset load_eval_data(const std::string& dataset, const nn::ModelInfo& info, bool strict);

// A model with fresh weights for the dataset: its class names, channels and input size, pixel/255
// input; for a table, an mlp or linear model of its encoded rows that carries the schema.
std::unique_ptr<nn::Model> make_trainable_model(const RunSettings& r, const TrainData& d);
// train/table_training.cpp: a CSV table's training data (notes: imputation, dropped columns), and
// linear regression fitted exactly: the least-squares solution, in double, of the training rows.
TrainData load_table_data(const RunSettings& r, const std::function<void(const std::string&)>& note);
std::unique_ptr<nn::Model> make_table_model(const RunSettings& r, const TrainData& d);
void fit_least_squares(nn::Model& m, const data::Table& t);
// Transfer learning: the pretrained model of r.from (a weights file of any kind gradtrace reads; `io`
// for what an imported file does not say), which fixes the data's size and channels (r.size,
// r.channels); then, once the data is loaded, a fresh classifier for its classes and the layers up
// to r.freeze_until frozen.
std::unique_ptr<nn::Model> load_base_model(RunSettings& r, const ImportOptions& io);
void prepare_transfer(nn::Model& m, const RunSettings& r, const data::Dataset& train);
int64_t parameter_count(nn::Model& m);

std::string checkpoint_path(const std::string& out);      // model.h5 -> model.ckpt.h5
std::string resume_default_out(const std::string& ckpt);  // model.ckpt.h5 -> model.h5
void write_checkpoint(nn::Model& m, train::Trainer& t, const RunSettings& r, const std::string& path);
RunSettings read_run_settings(const std::string& ckpt);
// Puts the trainer where the checkpoint's run stood: epochs completed, steps taken, moments.
void read_trainer_state(const std::string& ckpt, train::Trainer& t);

}  // namespace gt::train
