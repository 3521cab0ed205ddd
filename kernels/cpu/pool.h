// Max and average pooling (NCHW). Backward rules overwrite dx.
#pragma once
#include "kernels/params.h"

namespace gt::cpu {

template <class T>
void maxpool_forward(const PoolGeom& g, const T* x, T* y);
// Routes dy to the first maximum of each window (recomputed from x, so nothing is stored).
template <class T>
void maxpool_backward(const PoolGeom& g, const T* x, const T* dy, T* dx);
template <class T>
void avgpool_forward(const PoolGeom& g, const T* x, T* y);
template <class T>
void avgpool_backward(const PoolGeom& g, const T* dy, T* dx);

}  // namespace gt::cpu
