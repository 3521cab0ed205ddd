#!/work/venv-gradcam/bin/python
"""The CAM family from pytorch-grad-cam itself (PyPI grad-cam 1.5.7), on the narrow torchvision-layout
networks and inputs of make_captum_fixtures.py: tests/fixtures/gradcam_family.h5.

    /usr/bin/python3 -m venv --system-site-packages /work/venv-gradcam     # Debian's torch 1.13, numpy 1.24
    /work/venv-gradcam/bin/pip install --no-deps grad-cam==1.5.7 ttach
    /work/venv-gradcam/bin/pip install opencv-python-headless "numpy<2" tqdm "scikit-learn<1.6"
    /work/venv-gradcam/bin/python tests/fixture_gen/gradcam_family.py

The networks are read back from tests/fixtures/torch_vgg16_narrow.h5 and torch_resnet50_narrow.h5
(float64 in torch), the inputs and targets from tests/fixtures/captum_<arch>.h5; the layers are
VGG16's features[29] (the last conv's ReLU: block5_conv3, 4x4) and ResNet50's layer4
(conv5_block3_out, 2x2), in the root attributes <arch>_layer and <arch>_target. For each method, `<arch>/<method>` [h,w] float64 is pytorch-grad-cam's map
at the layer's resolution before its ReLU, min-max normalisation and resize: the method's own
`get_cam_image` on the activations and gradients its hooks caught (grad-cam has no public raw output).
Eigen-CAM's and EigenGrad-CAM's sign is LAPACK's (pytorch-grad-cam issue #315): compare up to it.

With --full DIR (tests/peers/peer_cam.sh, by hand): full-size torchvision VGG16 and ResNet50 with
random weights, calibrated as torch_reference.py does in float64, then run in float32 (Score-CAM and
Ablation-CAM take a pass per channel: hours in float64 with torch 1.13 on 2 cores): DIR/<arch>_weights.h5
(gradtrace's format), DIR/<arch>_cams.h5 with `input` [1,3,224,224], the same per-method maps and the
root attributes target (281) and layer.
"""
import os
import sys

import h5py
import numpy as np
import pytorch_grad_cam
import torch
from pytorch_grad_cam import AblationCAM, EigenCAM, EigenGradCAM, GradCAM, HiResCAM, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_captum_fixtures import FIX, load_ours, narrow_vgg16, no_inplace_relu  # noqa: E402
from make_model_fixtures import NarrowResNet50  # noqa: E402

METHODS = {"gradcam": GradCAM, "hirescam": HiResCAM, "xgradcam": XGradCAM, "layercam": LayerCAM,
           "eigencam": EigenCAM, "eigengradcam": EigenGradCAM, "scorecam": ScoreCAM,
           "ablationcam": AblationCAM}


def raw_map(cls, model, layer, x, target):
    """The method's map before ReLU and normalisation, as BaseCAM.forward computes it."""
    cam = cls(model=model, target_layers=[layer])
    out = cam.activations_and_grads(x)
    targets = [ClassifierOutputTarget(target)]
    grads = None
    if cam.uses_gradients:
        model.zero_grad()
        sum(t(o) for t, o in zip(targets, out)).backward(retain_graph=True)
        grads = cam.activations_and_grads.gradients[0].numpy()
    acts = cam.activations_and_grads.activations[0].numpy()
    raw = cam.get_cam_image(x, layer, targets, acts, grads, False)
    cam.activations_and_grads.release()
    return np.asarray(raw[0], dtype=np.float64)


def full_size(out, archs):
    """The full-size check's references (see the docstring)."""
    import torchvision
    from torch_reference import CAM_LAYERS, TARGET, calibrate, convert
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for arch in archs.split(","):
        m = getattr(torchvision.models, arch)().double().eval()
        x = torch.rand(1, 3, 224, 224, dtype=torch.float64) * 2 - 1
        calibrate(m, x)
        convert(arch, m.state_dict(), os.path.join(out, f"{arch}_weights.h5"))
        no_inplace_relu(m)
        m, x = m.float(), x.float()
        module, ours = CAM_LAYERS[arch]
        with h5py.File(os.path.join(out, f"{arch}_cams.h5"), "w") as f:
            f["input"] = x.numpy()
            f.attrs["target"], f.attrs["layer"] = TARGET, ours
            for name, cls in METHODS.items():
                f[name] = raw_map(cls, m, m.get_submodule(module), x.clone(), TARGET)
                print(f"{arch} {name}: {f[name].shape}", flush=True)


def main():
    assert pytorch_grad_cam.__file__
    if "--full" in sys.argv:
        return full_size(sys.argv[sys.argv.index("--full") + 1], os.environ.get("GT_CAM_ARCHS", "vgg16,resnet50"))
    vgg = narrow_vgg16().double().eval()
    load_ours(vgg, "vgg16", os.path.join(FIX, "torch_vgg16_narrow.h5"))
    resnet = NarrowResNet50().double().eval()
    load_ours(resnet, "resnet50", os.path.join(FIX, "torch_resnet50_narrow.h5"))
    no_inplace_relu(resnet)
    nets = {"vgg16": (vgg, vgg.features[29], "block5_conv3"), "resnet50": (resnet, resnet.layer4, "conv5_block3_out")}
    with h5py.File(os.path.join(FIX, "gradcam_family.h5"), "w") as f:
        f.attrs["grad_cam_version"] = "1.5.7"
        f.attrs["torch_version"] = str(torch.__version__)
        for arch, (m, layer, ours) in nets.items():
            with h5py.File(os.path.join(FIX, f"captum_{arch}.h5"), "r") as c:
                x = torch.from_numpy(c["input"][()].astype(np.float64))
                target = int(c.attrs["target"])
            g = f.create_group(arch)
            f.attrs[f"{arch}_target"], f.attrs[f"{arch}_layer"] = target, ours  # gradtrace's names
            for name, cls in METHODS.items():
                raw = raw_map(cls, m, layer, x.clone(), target)
                g[name] = raw
                print(f"{arch} {name:13s} {raw.shape} max {raw.max():.4g} min {raw.min():.4g}")


if __name__ == "__main__":
    main()
