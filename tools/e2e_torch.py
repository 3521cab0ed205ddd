"""What a PyTorch user runs instead of one gradtrace command: load a torchvision model's weights, read
a photo, explain the top class, write the map as a PNG. tools/bench_e2e.sh times it from process start.

    python3 tools/e2e_torch.py saliency|gradcam|ig ARCH STATE_DICT.pth IMAGE OUT.png [THREADS]

saliency: max over channels of |d logit / d x|; gradcam: ReLU of the gradient-weighted last conv block
(VGG16 features[29], ResNet50 layer4), upsampled bilinearly; ig: 50 midpoint steps from a black image,
batches of 10, summed |.| over channels. ImageNet preprocessing at 224x224.
"""
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

method, arch, weights, image, out = sys.argv[1:6]
torch.set_num_threads(int(sys.argv[6]) if len(sys.argv) > 6 else 2)
m = getattr(torchvision.models, arch)()
m.load_state_dict(torch.load(weights))
m.eval()
for p in m.parameters():
    p.requires_grad_(False)
img = Image.open(image).convert("RGB").resize((224, 224), Image.BILINEAR)
x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)[None]
x = (x - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
with torch.no_grad():
    target = int(m(x).argmax())

if method == "saliency":
    x.requires_grad_(True)
    m(x)[0, target].backward()
    heat = x.grad[0].abs().amax(0)
elif method == "gradcam":
    layer = m.features[29] if arch.startswith("vgg") else m.layer4
    kept = {}

    def keep(mod, inputs, output):  # the activation, and its gradient once backward reaches it
        kept["a"] = output
        output.register_hook(lambda g: kept.update(g=g))

    layer.register_forward_hook(keep)
    x.requires_grad_(True)
    m(x)[0, target].backward()
    a, g = kept["a"][0], kept["g"][0]
    cam = torch.relu((g.mean((1, 2))[:, None, None] * a).sum(0))
    heat = torch.nn.functional.interpolate(cam[None, None], size=(224, 224), mode="bilinear", align_corners=False)[0, 0]
elif method == "ig":
    steps, total = 50, torch.zeros_like(x)
    for s0 in range(0, steps, 10):
        alphas = (torch.arange(s0, s0 + 10, dtype=torch.float32) + 0.5) / steps
        xs = (alphas[:, None, None, None] * x).requires_grad_(True)
        m(xs)[:, target].sum().backward()
        total += xs.grad.sum(0, keepdim=True)
    heat = (x * total / steps)[0].abs().sum(0)
else:
    sys.exit("unknown method " + method)
heat = heat.detach()
heat = (heat - heat.min()) / (heat.max() - heat.min() + 1e-12)
Image.fromarray((heat.numpy() * 255).astype(np.uint8)).save(out)
