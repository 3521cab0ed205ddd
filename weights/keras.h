// Keras applications .h5 weight files, loaded directly (the files Keras keeps in ~/.keras/models,
// and what model.save_weights('x.h5') writes). Layout: root attribute `layer_names`; one group per
// layer with attribute `weight_names`; each weight at <layer>/<weight name>, in Keras layouts:
//   conv kernel (kh, kw, in, out), depthwise kernel (kh, kw, in, multiplier), dense kernel (in, out),
//   batch norm gamma, beta, moving_mean, moving_variance.
// Both namings are understood: nested ("conv1_conv/kernel:0") and old flat ("block1_conv1_W_1:0").
#pragma once
#include <memory>
#include <string>

#include "nn/model.h"

namespace gt {

bool is_keras_file(const std::string& path);
// Identifies the architecture from the layer names (or takes `arch` when given) and loads it.
// dtype float64 keeps double-precision files exact (the peer tests compare in double).
std::unique_ptr<nn::Model> load_keras(const std::string& path, const std::string& arch = "", DType dtype = DType::f32);
namespace h5 {
class File;
}
std::unique_ptr<nn::Model> load_keras(const h5::File& f, const std::string& arch = "", DType dtype = DType::f32);

}  // namespace gt
