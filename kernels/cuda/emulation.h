// Host emulation of the CUDA kernels (kernels/cuda/launch.cuh): while on, the kernel functions run
// their element functions on the host over host pointers, and launch nothing. For tests on machines
// without a GPU (tests/test_cuda_emulated.cpp); never on in gradtrace itself.
#pragma once

namespace gt::cuda {

void set_host_emulation(bool on);

}  // namespace gt::cuda
