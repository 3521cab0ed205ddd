#!/usr/bin/env python3
"""The conv layer shapes of a torchvision model, for `gradtrace bench conv --layers FILE`.

usage: /usr/bin/python3 tools/conv_shapes.py MODEL [SIZE] > shapes.txt     (MODEL: vgg16, resnet50, inception_v3, ...)

One line per distinct shape: C H W O KH KW STRIDE PADH PADW COUNT (input channels and size at batch 1,
output channels, kernel, stride, padding, how many layers have it). Grouped and depthwise convolutions
are left out (bench conv times dense ones). Random weights; nothing is downloaded."""
import collections
import sys

import torch
import torchvision

name = sys.argv[1]
kw = {'aux_logits': False, 'init_weights': False} if name == 'inception_v3' else {}
model = getattr(torchvision.models, name)(**kw).eval()
size = int(sys.argv[2]) if len(sys.argv) > 2 else (299 if name == 'inception_v3' else 224)
shapes = collections.Counter()


def record(mod, inputs, _):
    x = inputs[0]
    if mod.groups == 1 and mod.stride[0] == mod.stride[1] and isinstance(mod.padding, tuple):
        shapes[(x.shape[1], x.shape[2], x.shape[3], mod.out_channels, *mod.kernel_size, mod.stride[0],
                *mod.padding)] += 1


for m in model.modules():
    if isinstance(m, torch.nn.Conv2d):
        m.register_forward_hook(record)
with torch.no_grad():
    model(torch.zeros(1, 3, size, size))
print(f'# {name} at {size}x{size}: C H W O KH KW STRIDE PADH PADW COUNT')
for shape, count in shapes.items():
    print(*shape, count)
