// The built-in explain methods, in help order. Each entry is defined in its method's file; a new
// method adds its declaration and one line here.
#include "xai/method.h"

namespace gt::xai {

Method saliency_entry();         // xai/saliency.cpp
Method gradxinput_entry();       // xai/saliency.cpp
Method smoothgrad_entry();       // xai/saliency.cpp
Method ig_entry();               // xai/integrated_gradients.cpp
Method gradcam_entry();          // xai/gradcam.cpp
Method gradcampp_entry();        // xai/gradcam.cpp
Method guided_backprop_entry();  // xai/gradcam.cpp
Method guided_gradcam_entry();   // xai/gradcam.cpp
Method deconvnet_entry();        // xai/gradcam.cpp
Method hirescam_entry();         // xai/cam_family.cpp
Method xgradcam_entry();         // xai/cam_family.cpp
Method layercam_entry();         // xai/cam_family.cpp
Method eigencam_entry();         // xai/cam_family.cpp
Method eigengradcam_entry();     // xai/cam_family.cpp
Method scorecam_entry();         // xai/cam_family.cpp
Method ablationcam_entry();      // xai/cam_family.cpp
Method occlusion_entry();        // xai/occlusion.cpp
Method lime_entry();             // xai/surrogate.cpp
Method kernelshap_entry();       // xai/surrogate.cpp
Method lrp_entry();              // xai/lrp.cpp
Method deeplift_entry();         // xai/deeplift.cpp
Method deeplift_shap_entry();    // xai/deeplift.cpp

std::vector<Method> builtin_methods() {
  return {
      saliency_entry(),    gradxinput_entry(),      smoothgrad_entry(),     ig_entry(),           gradcam_entry(),
      gradcampp_entry(),   guided_backprop_entry(), guided_gradcam_entry(), deconvnet_entry(),    hirescam_entry(),
      xgradcam_entry(),    layercam_entry(),        eigencam_entry(),       eigengradcam_entry(), scorecam_entry(),
      ablationcam_entry(), occlusion_entry(),       lime_entry(),           kernelshap_entry(),   lrp_entry(),
      deeplift_entry(),    deeplift_shap_entry(),
  };  // the trailing comma keeps one entry a line
}

}  // namespace gt::xai
