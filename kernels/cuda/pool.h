// Max and average pooling on the GPU (NCHW): the CUDA twins of kernels/cpu/pool.h. The backward
// passes gather (each input pixel sums what its windows send it), so no atomics are needed and the
// results are the same run to run.
#pragma once
#include <cuda_runtime_api.h>

#include "kernels/params.h"

namespace gt::cuda {

template <class T>
cudaError_t maxpool_forward(const PoolGeom& g, const T* x, T* y, cudaStream_t s);
// dy goes to the first maximum of each window, in the window's row-major order (recomputed from x).
template <class T>
cudaError_t maxpool_backward(const PoolGeom& g, const T* x, const T* dy, T* dx, cudaStream_t s);
template <class T>
cudaError_t avgpool_forward(const PoolGeom& g, const T* x, T* y, cudaStream_t s);
template <class T>
cudaError_t avgpool_backward(const PoolGeom& g, const T* dy, T* dx, cudaStream_t s);

}  // namespace gt::cuda
