// Parameters for training: which ones a run updates, and fresh deterministic values for them.
#pragma once
#include <cstdint>

#include "nn/model.h"
#include "nn/optim.h"

namespace gt::nn {

// The parameters a training run updates: every named parameter except batch norm's running
// statistics and those of frozen layers; of one layer ("weight", "bias") or of a model ("conv1/weight", ...).
ParamList trainable_parameters(Layer& l);
ParamList trainable_parameters(Model& m);
// Fresh weights for training, deterministic from the seed: conv kernels He-uniform
// (bound sqrt(6 / fan_in)), dense layers U(+-1/sqrt(fan_in)) as PyTorch's default, biases 0, batch
// norm gamma 1, beta 0, running mean 0, variance 1.
void init_parameters(Model& m, uint64_t seed);
// The same for one layer (a Conv2d, Dense or BatchNorm; false for any other kind, left as it is), on
// the device its parameters are on. The model's cached batch-norm folds must then be dropped
// (Model::parameters_changed).
// torch_reset: as PyTorch's reset_parameters instead (what Quantus's randomisation tests call): conv
// and dense weights and biases U(+-1/sqrt(fan_in)); batch norms as above.
enum class Init { training, torch_reset };
bool init_layer(Layer& l, uint64_t seed, Init scheme = Init::training);

// Transfer learning. replace_classifier gives the model a fresh classifier with `classes` outputs:
// its last layer with parameters, a Dense or a Conv2d (a 1x1 classifier conv), re-made with that many
// outputs and initialised as init_parameters does. freeze_until freezes every layer from the first up
// to and including `layer` (Layer::frozen); an unknown name throws with the closest ones. Returns the
// number of layers frozen.
void replace_classifier(Model& m, int64_t classes, uint64_t seed);
int freeze_until(Model& m, const std::string& layer);

// A generator for (seed, stream, index): streams keep initialisation, shuffling, augmentation and
// dropout apart (splitmix64's finaliser).
uint64_t mix(uint64_t seed, uint64_t stream, uint64_t i);

}  // namespace gt::nn
