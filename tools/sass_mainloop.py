#!/usr/bin/env python3
"""The main loop of each tile kernel in compiled CUDA objects, counted from the SASS.

    tools/sass_mainloop.py build/CMakeFiles/gradtrace_cuda_kernels.dir/kernels/cuda/*.cu.o [--filter TEXT]

For every float kernel whose name contains TEXT (default: tiled_gemm_kernel<float) it prints the
instructions in its largest loop and how many are FFMAs. An SM issues one instruction per clock per
scheduler and each FFMA needs one issue slot, so FFMA / all is the most of the fp32 peak that loop can
reach: the integer work of the implicit-GEMM gathers shows up here before any GPU is run.

Needs cuobjdump and nvdisasm (a CUDA toolkit's bin/, or on any machine, from PyPI:
nvidia-cuda-cuobjdump and nvidia-cuda-nvdisasm, with their bin/ on PATH). A development aid only.
"""
import argparse
import collections
import re
import shutil
import subprocess
import sys


def kernels(obj):
    sass = subprocess.run(["cuobjdump", "-sass", obj], capture_output=True, text=True, check=True).stdout
    for part in re.split(r"\n\s*Function : ", sass)[1:]:
        name, body = part.split("\n", 1)
        ins = [(int(a, 16), t) for a, t in re.findall(r"/\*([0-9a-f]{4,})\*/\s+(.*?);", body)]
        yield name, ins


def main_loop(ins):
    """The instructions between the longest backward branch and its target."""
    best = (0, 0)
    for addr, text in ins:
        m = re.search(r"\bBRA\b.*?0x([0-9a-f]+)", text)
        if m and int(m.group(1), 16) < addr and addr - int(m.group(1), 16) > best[1] - best[0]:
            best = (int(m.group(1), 16), addr)
    ops = collections.Counter()
    for addr, text in ins:
        if best[0] <= addr <= best[1]:
            ops[re.sub(r"^@!?U?P\w+\s+", "", text).split()[0].split(".")[0]] += 1
    return ops


def short(demangled):
    """void tiled_gemm_kernel<float, gt::cuda::TileShape<64, 128>, gt::cuda::Op<...>, gt::cuda::SliceStore<float> >(...)
    -> Op<...> 64x128 (split-K slices)"""
    s = re.sub(r"gt::cuda::|\(anonymous namespace\)::", "", demangled).split("(")[0]
    s = s.replace("void tiled_gemm_kernel<float, ", "", 1).replace("<float, ", "<").replace("<float>", "")
    tile = re.match(r"TileShape<(\d+), (\d+)>, ", s)
    if tile:
        s = s[tile.end():]
    depth, cut = 0, len(s)
    for i, ch in enumerate(s):  # the Op: up to the first comma outside its brackets
        depth += (ch == "<") - (ch == ">")
        if ch == "," and depth == 0:
            cut = i
            break
    shape = f" {tile.group(1)}x{tile.group(2)}" if tile else ""
    return s[:cut] + shape + (" (split-K slices)" if "SliceStore" in s else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("objects", nargs="+")
    ap.add_argument("--filter", default="tiled_gemm_kernel<float")
    args = ap.parse_args()
    for tool in ("cuobjdump", "nvdisasm"):
        if not shutil.which(tool):
            sys.exit(f"sass_mainloop: no {tool} on PATH (a CUDA toolkit's bin/, or pip nvidia-cuda-{tool[:9]})")
    print(f"{'loop':>5} {'FFMA':>5} {'share':>6}  kernel")
    for obj in args.objects:
        for name, ins in kernels(obj):
            demangled = subprocess.run(["c++filt", name], capture_output=True, text=True).stdout.strip()
            if args.filter not in demangled:
                continue
            ops = main_loop(ins)
            total = sum(ops.values())
            if total:
                print(f"{total:5d} {ops['FFMA']:5d} {ops['FFMA'] / total:6.0%}  {short(demangled)}")


if __name__ == "__main__":
    main()
