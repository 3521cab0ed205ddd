// The CPU backend: unwraps tensors into raw pointers and sizes and calls kernels/cpu, choosing the
// float or double instantiation from the dtype.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "autodiff/backend.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layout.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/pool.h"

namespace gt {
namespace {

// The typed host data of t, or nullptr for an undefined (optional) tensor.
template <class T>
T* ptr(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

class CpuBackend final : public Backend {
 public:
  CpuBackend() {
#if defined(__GLIBC__)
    // A pass over a network allocates and frees the same activation sizes again and again. By
    // default glibc maps large blocks fresh from the kernel and returns freed heap tops beyond
    // 64 MB, so each reuse pays one page fault per 4 KB (10% of ResNet50's Integrated Gradients).
    // Blocks up to glibc's largest threshold (32 MB) come from the heap, and freed memory stays there
    // for the next pass; the peak resident size is unchanged.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  }
  void* allocate(size_t bytes) override {
    void* p = std::aligned_alloc(64, std::max<size_t>(64, (bytes + 63) / 64 * 64));
    if (!p) throw std::bad_alloc();
    return p;
  }
  void* allocate_zeroed(size_t bytes) override {
    void* p = std::calloc(std::max<size_t>(64, bytes), 1);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p) override { std::free(p); }
  void write(const Tensor& dst, const void* host) override {
    std::memcpy(dst.raw(), host, static_cast<size_t>(dst.numel()) * dtype_size(dst.dtype()));
  }
  void read(const Tensor& src, void* host) override {
    std::memcpy(host, src.raw(), static_cast<size_t>(src.numel()) * dtype_size(src.dtype()));
  }
  void fill(const Tensor& y, double v) override {
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      cpu::fill<T>(y.numel(), T(v), y.data<T>());
    });
  }
  bool all_finite(const Tensor& x) override {
    return by_dtype(x, [&](auto z) {
      using T = decltype(z);
      return cpu::all_finite<T>(x.numel(), x.data<T>());
    });
  }
  void copy(const Tensor& src, const Tensor& dst) override {
    by_dtype(src, [&](auto a) {
      using A = decltype(a);
      by_dtype(dst, [&](auto b) {
        using B = decltype(b);
        cpu::convert<A, B>(src.numel(), src.data<A>(), dst.data<B>());
      });
    });
  }
  void unary_forward(Unary op, const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::unary_forward<T>(op, x.numel(), x.data<T>(), y.data<T>());
    });
  }
  void unary_backward(Unary op, const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      cpu::unary_backward<T>(op, y.numel(), y.data<T>(), dy.data<T>(), dx.data<T>());
    });
  }
  void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& y) override {
    by_dtype(a, [&](auto z) {
      using T = decltype(z);
      cpu::binary<T>(op, a.numel(), a.data<T>(), b.data<T>(), y.data<T>());
    });
  }
  void binary_broadcast(Binary op, const Tensor& a, const Tensor& b, const Tensor& y) override {
    const Broadcast4 g = broadcast_geometry(a.shape(), b.shape(), y.shape());
    by_dtype(a, [&](auto z) {
      using T = decltype(z);
      cpu::binary_broadcast<T>(op, g, a.data<T>(), b.data<T>(), y.data<T>());
    });
  }
  void axpby(double a, const Tensor& x, double b, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::axpby<T>(x.numel(), T(a), x.data<T>(), T(b), y.data<T>());
    });
  }
  void affine(const Tensor& x, double a, double b, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::affine<T>(x.numel(), x.data<T>(), T(a), T(b), y.data<T>());
    });
  }
  void clamp_forward(const Tensor& x, double lo, double hi, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::clamp_forward<T>(x.numel(), x.data<T>(), T(lo), T(hi), y.data<T>());
    });
  }
  void clamp_backward(const Tensor& x, double lo, double hi, const Tensor& dy, const Tensor& dx) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::clamp_backward<T>(x.numel(), x.data<T>(), T(lo), T(hi), dy.data<T>(), dx.data<T>());
    });
  }
  void secant(const Tensor& a, const Tensor& y, const Tensor& y_ref, const Tensor& x, const Tensor& x_ref,
              const Tensor& fallback, double eps, const Tensor& out) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      const auto p = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
      cpu::secant<T>(x.numel(), p(a), y.data<T>(), p(y_ref), x.data<T>(), x_ref.data<T>(), fallback.data<T>(), T(eps),
                     out.data<T>());
    });
  }
  void bias_add(const Tensor& x, const Tensor& b, const Tensor& y) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::bias_add<T>(d.N, d.C, d.S, x.data<T>(), b.data<T>(), y.data<T>());
    });
  }
  void bias_grad(const Tensor& dy, const Tensor& db) override {
    const NCS d = ncs(dy);
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      cpu::bias_grad<T>(d.N, d.C, d.S, dy.data<T>(), db.data<T>());
    });
  }
  void reduce_axis(const Tensor& x, int64_t outer, int64_t len, int64_t inner, double scale, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::reduce_axis<T>(outer, len, inner, T(scale), x.data<T>(), y.data<T>());
    });
  }
  void broadcast_axis(const Tensor& dy, int64_t outer, int64_t len, int64_t inner, double scale,
                      const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      cpu::broadcast_axis<T>(outer, len, inner, T(scale), dy.data<T>(), dx.data<T>());
    });
  }
  void optim_step(const OptimStep& s, const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v) override {
    by_dtype(p, [&](auto z) {
      using T = decltype(z);
      cpu::optim_step<T>(s, p.numel(), p.data<T>(), g.data<T>(), m.data<T>(), ptr<T>(v));
    });
  }
  void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const Tensor& A, const Tensor& B,
            double beta, const Tensor& C) override {
    by_dtype(A, [&](auto z) {
      using T = decltype(z);
      cpu::gemm<T>(ta, tb, M, N, K, T(alpha), A.data<T>(), B.data<T>(), T(beta), C.data<T>());
    });
  }
  void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                      const Tensor& scale, Act act, const Tensor& residual) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::conv2d_forward<T>(g, x.data<T>(), w.data<T>(), Epilogue<T>(ptr<T>(b), ptr<T>(scale), act, ptr<T>(residual)),
                             y.data<T>());
    });
  }
  void conv2d_epilogue_backward(const Tensor& dy, const Tensor& y, const Tensor& scale, Act act,
                                const Tensor& dz) override {
    const NCS d = ncs(y);
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      cpu::epilogue_backward<T>(Epilogue<T>(nullptr, ptr<T>(scale), act), d.N, d.C, d.S, dy.data<T>(), y.data<T>(),
                                dz.data<T>());
    });
  }
  void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      cpu::conv2d_backward_data<T>(g, dy.data<T>(), w.data<T>(), dx.data<T>());
    });
  }
  void conv2d_backward_weight(const ConvGeom& g, const Tensor& x, const Tensor& dy, const Tensor& dw) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::conv2d_backward_weight<T>(g, x.data<T>(), dy.data<T>(), dw.data<T>());
    });
  }
  void maxpool_forward(const PoolGeom& g, const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::maxpool_forward<T>(g, x.data<T>(), y.data<T>());
    });
  }
  void maxpool_backward(const PoolGeom& g, const Tensor& x, const Tensor& dy, const Tensor& dx) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::maxpool_backward<T>(g, x.data<T>(), dy.data<T>(), dx.data<T>());
    });
  }
  void avgpool_forward(const PoolGeom& g, const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::avgpool_forward<T>(g, x.data<T>(), y.data<T>());
    });
  }
  void avgpool_backward(const PoolGeom& g, const Tensor& dy, const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      cpu::avgpool_backward<T>(g, dy.data<T>(), dx.data<T>());
    });
  }
  void bn_stats(const Tensor& x, const Tensor& mean, const Tensor& var) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::bn_stats<T>(d.N, d.C, d.S, x.data<T>(), mean.data<T>(), var.data<T>());
    });
  }
  void bn_forward(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma, const Tensor& beta,
                  const Tensor& y) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::bn_forward<T>(d.N, d.C, d.S, x.data<T>(), mean.data<T>(), invstd.data<T>(), gamma.data<T>(), beta.data<T>(),
                         y.data<T>());
    });
  }
  void bn_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                   bool training, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::bn_backward<T>(d.N, d.C, d.S, x.data<T>(), dy.data<T>(), mean.data<T>(), invstd.data<T>(), gamma.data<T>(),
                          training, ptr<T>(dx), ptr<T>(dgamma), ptr<T>(dbeta));
    });
  }
  void softmax_forward(const Tensor& x, bool log, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::softmax_forward<T>(x.dim(0), x.numel() / x.dim(0), log, x.data<T>(), y.data<T>());
    });
  }
  void softmax_backward(const Tensor& y, const Tensor& dy, bool log, const Tensor& dx) override {
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      cpu::softmax_backward<T>(y.dim(0), y.numel() / y.dim(0), log, y.data<T>(), dy.data<T>(), dx.data<T>());
    });
  }
  double nll_forward(const Tensor& logp, const std::vector<int32_t>& labels) override {
    double r = 0;
    by_dtype(logp, [&](auto z) {
      using T = decltype(z);
      r = cpu::nll_forward<T>(logp.dim(0), logp.dim(1), logp.data<T>(), labels.data());
    });
    return r;
  }
  void nll_backward(const std::vector<int32_t>& labels, double dloss, const Tensor& dlogp) override {
    by_dtype(dlogp, [&](auto z) {
      using T = decltype(z);
      cpu::nll_backward<T>(dlogp.dim(0), dlogp.dim(1), labels.data(), T(dloss), dlogp.data<T>());
    });
  }
  void pad(const Tensor& x, const Pads& p, double value, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::pad<T>(x.dim(0) * x.dim(1), x.dim(2), x.dim(3), p.top, p.bottom, p.left, p.right, T(value), x.data<T>(),
                  y.data<T>());
    });
  }
  void pad_backward(const Tensor& dy, const Pads& p, const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      cpu::pad_backward<T>(dx.dim(0) * dx.dim(1), dx.dim(2), dx.dim(3), p.top, p.bottom, p.left, p.right, dy.data<T>(),
                           dx.data<T>());
    });
  }
  void insert_channels(const Tensor& src, int64_t offset, const Tensor& dst) override {
    const NCS s = ncs(src), d = ncs(dst);
    by_dtype(src, [&](auto z) {
      using T = decltype(z);
      cpu::insert_channels<T>(s.N, s.C, s.S, src.data<T>(), d.C, offset, dst.data<T>());
    });
  }
  void gather_strided(const Tensor& x, const Broadcast4& g, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::gather_strided<T>(g, x.data<T>(), y.data<T>());
    });
  }
  void extract_channels(const Tensor& dst_grad, int64_t offset, const Tensor& src_grad) override {
    const NCS s = ncs(src_grad), d = ncs(dst_grad);
    by_dtype(src_grad, [&](auto z) {
      using T = decltype(z);
      cpu::extract_channels<T>(s.N, s.C, s.S, dst_grad.data<T>(), d.C, offset, src_grad.data<T>());
    });
  }
  void resize_bilinear(const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      cpu::resize_bilinear<T>(x.dim(0) * x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3), x.data<T>(), y.data<T>());
    });
  }
  void resize_bilinear_backward(const Tensor& dy, const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      cpu::resize_bilinear_backward<T>(dx.dim(0) * dx.dim(1), dx.dim(2), dx.dim(3), dy.dim(2), dy.dim(3), dy.data<T>(),
                                       dx.data<T>());
    });
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend b;
  return b;
}

Backend& backend(Device d) { return d == Device::cpu ? cpu_backend() : cuda_backend(); }

}  // namespace gt
