// From an image to a model's input: resize, then the preprocessing the weights were trained with.
#pragma once
#include <string>

#include "autodiff/tensor.h"
#include "image/image.h"
#include "nn/model.h"

namespace gt {

// resize: "squash" = the whole image bilinearly to HxW (Keras' load_img with a target size);
//         "crop"   = the shorter side to H/0.875 (256 for 224), then the centre HxW (torchvision's eval).
// The filter is a triangle (bilinear) whose support widens when shrinking, as PIL's BILINEAR resize,
// so every source pixel contributes. Returns (1,3,H,W) in [0, 255].
Tensor resize_image(const Image& img, int64_t H, int64_t W, const std::string& resize);
// ITU-R BT.601 luminance of an RGB value (the "gray" preprocessing, gray image folders).
template <class T>
T luminance(T r, T g, T b) {
  return T(0.299) * r + T(0.587) * g + T(0.114) * b;
}
// mode: "tf" x/127.5 - 1;  "caffe" RGB->BGR minus the ImageNet BGR means;
//       "torch" (x/255 - mean) / std;  "none" unchanged; "gray" the luminance / 255 (one channel),
//       "gray255" the luminance in 0..255.
Tensor preprocess(const Tensor& rgb255, const std::string& mode);
// The inverse of preprocess: model-input values back to RGB pixel values (not clamped); gray gives
// the gray value in all three channels.
Tensor deprocess(const Tensor& x, const std::string& mode);
// Gaussian blur of (N,C,H,W), per channel, separable, edges repeated: the 'blur' IG baseline.
Tensor gaussian_blur(const Tensor& x, double sigma);
// True for an --image that names an .h5 tensor file rather than a picture.
bool is_tensor_input(const std::string& path);
// --image: an image file, or an .h5 file whose dataset `input` [1,C,H,W] is used as it is; as dtype
// (an .h5 input is read in it, not rounded through float32).
Tensor load_input(const std::string& path, const nn::ModelInfo& info, const std::string& resize = "",
                  DType dtype = DType::f32);
// The dataset `input` of an open .h5 file, checked to be [1,C,H,W] with the model's C.
namespace h5 {
class File;
}
Tensor tensor_input(const h5::File& f, const nn::ModelInfo& info, DType dtype = DType::f32);

}  // namespace gt
