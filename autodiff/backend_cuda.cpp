// The CUDA backend: the same interface as the CPU's (autodiff/backend.h), over kernels/cuda.
//
// - Every CUDA call is checked: a failure becomes a gt::Error that names the call, and the error
//   state is cleared so the next call does not inherit it.
// - Work is queued on the calling thread's current stream (autodiff/stream.h: StreamScope): a
//   model's own, or the default stream. Reads to the host wait for it.
// - Memory comes from a caching allocator: a block freed by a tensor goes back to a free list by
//   size and the next tensor of that size takes it, so a steady state (the same pass again, as IG's
//   batches) calls cudaMalloc no more. Each stream has its own lists: a block freed on one stream
//   may still be read by work queued there, so only that stream, which runs in order, reuses it at
//   once; another stream takes it only after an event makes it wait for that work. When the device
//   is full, the cache is released and the allocation tried once more; if it still fails, the error
//   names the layer and the size.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "autodiff/backend.h"
#include "autodiff/cuda_memory.h"
#include "autodiff/tape.h"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layout.h"
#include "kernels/cuda/norm.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/winograd.h"

namespace gt {
namespace {
using namespace cuda_backend_detail;

// The kernels take int sizes inside a tile; the products below must fit.
void fits_int(int64_t n, const char* what) {
  if (n > int64_t(INT32_MAX))
    throw Error(std::string(what) + ": a dimension of " + std::to_string(n) + " is too large for the CUDA kernels");
}

// The typed GPU address of a tensor handed to a kernel. A host tensor here is a caller's bug that a
// real GPU meets as an illegal address (or worse, silently, on the simulator, whose memory is the
// host's): it is an error that says so instead.
template <class T>
T* gpu(const Tensor& t) {
  if (t.device() != Device::cuda)
    throw Error(std::string("CUDA backend: a tensor ") + t.shape().str() +
                " in host memory was passed to a GPU kernel");
  return t.device_data<T>();
}
template <class T>
T* gpu_or_null(const Tensor& t) {  // an optional tensor (bias, scale): nullptr when undefined
  return t.defined() ? gpu<T>(t) : nullptr;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      cudaGetLastError();
      int runtime = 0;
      cudaRuntimeGetVersion(&runtime);
      const std::string hint = e == cudaErrorInsufficientDriver
                                   ? " (no NVIDIA driver here, or one older than CUDA " +
                                         std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10) +
                                         ", which this build needs)"
                                   : "";
      throw Error(std::string("no CUDA device: ") + cudaGetErrorString(e) + hint);
    }
    if (n == 0) throw Error("no CUDA device: the driver reports none");
    default_ = std::make_unique<CudaStream>(cache_, nullptr);
    // Kernel variants to time against the defaults (tools/gpu_check.sh): =0, the plain implicit GEMM
    // instead of Winograd, or 128x128 tiles only; =N, Winograd chunks of at most N MB of transforms.
    const auto off = [](const char* var) {
      const char* v = std::getenv(var);
      return v && std::string(v) == "0";
    };
    winograd_on_ = !off("GRADTRACE_CUDA_WINOGRAD");
    cuda::use_short_tiles(!off("GRADTRACE_CUDA_SHORT_TILES"));
    if (const char* mb = std::getenv("GRADTRACE_CUDA_WINOGRAD_CHUNK_MB"))
      cuda::set_winograd_chunk_bytes(size_t(std::max(0L, std::strtol(mb, nullptr, 10))) << 20);
  }

  void* allocate(size_t bytes) override { return cache_.get(bytes, stream()); }
  void* allocate_zeroed(size_t bytes) override {
    void* p = cache_.get(bytes, stream());
    check(cudaMemsetAsync(p, 0, bytes, stream()), "cudaMemsetAsync");
    return p;
  }
  void deallocate(void* p) override { cache_.put(p, stream()); }
  StreamPtr make_stream() override { return std::make_shared<CudaStream>(cache_, default_.get()); }
  void write(const Tensor& dst, const void* host) override {
    check(cudaMemcpyAsync(dst.raw(), host, bytes(dst), cudaMemcpyHostToDevice, stream()),
          "cudaMemcpyAsync (to the GPU)");
    check(cudaStreamSynchronize(stream()), "a copy to the GPU");  // host may be freed on return
  }
  void read(const Tensor& src, void* host) override {
    check(cudaMemcpyAsync(host, src.raw(), bytes(src), cudaMemcpyDeviceToHost, stream()),
          "cudaMemcpyAsync (to the host)");
    check(cudaStreamSynchronize(stream()), "the kernels before a copy to the host");
  }
  void synchronize() override { check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize"); }

  void fill(const Tensor& y, double v) override {
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      run(cuda::fill<T>(y.numel(), T(v), gpu<T>(y), stream()), "fill");
    });
  }
  bool all_finite(const Tensor& x) override {
    // A flag on the device, set by any element that is not finite: one number comes back, not x
    // (the tape checks every input gradient, 30 MB for IG's batch of 50 at 224 x 224).
    const Tensor flag = Tensor::zeros({1}, x.dtype(), x.device());
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::flag_nonfinite<T>(x.numel(), gpu<T>(x), gpu<T>(flag), stream()), "all_finite");
    });
    return flag.item() == 0;
  }
  void copy(const Tensor& src, const Tensor& dst) override {
    by_dtype(src, [&](auto a) {
      using A = decltype(a);
      by_dtype(dst, [&](auto b) {
        using B = decltype(b);
        run(cuda::convert<A, B>(src.numel(), gpu<A>(src), gpu<B>(dst), stream()), "copy");
      });
    });
  }
  void unary_forward(Unary op, const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::unary_forward<T>(op, x.numel(), gpu<T>(x), gpu<T>(y), stream()), "unary_forward");
    });
  }
  void unary_backward(Unary op, const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      run(cuda::unary_backward<T>(op, y.numel(), gpu<T>(y), gpu<T>(dy), gpu<T>(dx), stream()), "unary_backward");
    });
  }
  void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& y) override {
    by_dtype(a, [&](auto z) {
      using T = decltype(z);
      run(cuda::binary<T>(op, a.numel(), gpu<T>(a), gpu<T>(b), gpu<T>(y), stream()), "binary");
    });
  }
  void binary_broadcast(Binary op, const Tensor& a, const Tensor& b, const Tensor& y) override {
    const Broadcast4 g = broadcast_geometry(a.shape(), b.shape(), y.shape());
    by_dtype(a, [&](auto z) {
      using T = decltype(z);
      run(cuda::binary_broadcast<T>(op, g, gpu<T>(a), gpu<T>(b), gpu<T>(y), stream()), "binary_broadcast");
    });
  }
  void axpby(double a, const Tensor& x, double b, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::axpby<T>(x.numel(), T(a), gpu<T>(x), T(b), gpu<T>(y), stream()), "axpby");
    });
  }
  void affine(const Tensor& x, double a, double b, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::affine<T>(x.numel(), gpu<T>(x), T(a), T(b), gpu<T>(y), stream()), "affine");
    });
  }
  void clamp_forward(const Tensor& x, double lo, double hi, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::clamp_forward<T>(x.numel(), gpu<T>(x), T(lo), T(hi), gpu<T>(y), stream()), "clamp_forward");
    });
  }
  void clamp_backward(const Tensor& x, double lo, double hi, const Tensor& dy, const Tensor& dx) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::clamp_backward<T>(x.numel(), gpu<T>(x), T(lo), T(hi), gpu<T>(dy), gpu<T>(dx), stream()),
          "clamp_backward");
    });
  }
  void secant(const Tensor& a, const Tensor& y, const Tensor& y_ref, const Tensor& x, const Tensor& x_ref,
              const Tensor& fallback, double eps, const Tensor& out) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      const auto p = [](const Tensor& t) { return t.defined() ? gpu<T>(t) : nullptr; };
      run(cuda::secant<T>(x.numel(), p(a), gpu<T>(y), p(y_ref), gpu<T>(x), gpu<T>(x_ref), gpu<T>(fallback), T(eps),
                          gpu<T>(out), stream()),
          "secant");
    });
  }
  void bias_add(const Tensor& x, const Tensor& b, const Tensor& y) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::bias_add<T>(d.N, d.C, d.S, gpu<T>(x), gpu<T>(b), gpu<T>(y), stream()), "bias_add");
    });
  }
  void bias_grad(const Tensor& dy, const Tensor& db) override {
    const NCS d = ncs(dy);
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      run(cuda::bias_grad<T>(d.N, d.C, d.S, gpu<T>(dy), gpu<T>(db), stream()), "bias_grad");
    });
  }
  void reduce_axis(const Tensor& x, int64_t outer, int64_t len, int64_t inner, double scale, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::reduce_axis<T>(outer, len, inner, T(scale), gpu<T>(x), gpu<T>(y), stream()), "reduce_axis");
    });
  }
  void broadcast_axis(const Tensor& dy, int64_t outer, int64_t len, int64_t inner, double scale,
                      const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      run(cuda::broadcast_axis<T>(outer, len, inner, T(scale), gpu<T>(dy), gpu<T>(dx), stream()), "broadcast_axis");
    });
  }
  void optim_step(const OptimStep& o, const Tensor& p, const Tensor& g, const Tensor& m, const Tensor& v) override {
    by_dtype(p, [&](auto z) {
      using T = decltype(z);
      run(cuda::optim_step<T>(o, p.numel(), gpu<T>(p), gpu<T>(g), gpu<T>(m), gpu_or_null<T>(v), stream()),
          "optim_step");
    });
  }
  void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const Tensor& A, const Tensor& B,
            double beta, const Tensor& C) override {
    fits_int(std::max({M, N, K}), "gemm");
    by_dtype(A, [&](auto z) {
      using T = decltype(z);
      // IG's and SmoothGrad's small products on the default stream take no 256 MB workspace there
      const bool ws = cuda::gemm_needs_workspace(K);
      run(cuda::gemm<T>(ta, tb, M, N, K, T(alpha), gpu<T>(A), gpu<T>(B), T(beta), gpu<T>(C), ws ? workspace() : nullptr,
                        ws ? kWorkspace : 0, stream()),
          "gemm");
    });
  }
  void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                      const Tensor& scale, Act act, const Tensor& residual) override {
    if (residual.defined()) {  // the residual and the activation in an element-wise pass after the conv
      if (act == Act::relu6) throw Error("conv2d_forward: a residual with relu6 is not supported on cuda");
      conv2d_forward(g, x, w, b, y, scale, Act::none, Tensor());
      return binary(act == Act::relu ? Binary::add_relu : Binary::add, y, residual, y);
    }
    fits(g);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      const Epilogue<T> e(gpu_or_null<T>(b), gpu_or_null<T>(scale), act);
      if (winograd(g, false, sizeof(T)))
        run(cuda::winograd_forward<T>(g, gpu<T>(x), gpu<T>(w), e, gpu<T>(y), workspace(), kWorkspace, stream()),
            "conv2d_forward (Winograd)");
      else
        run(cuda::conv2d_forward<T>(g, gpu<T>(x), gpu<T>(w), e, gpu<T>(y), workspace(), kWorkspace, stream()),
            "conv2d_forward");
    });
  }
  void conv2d_epilogue_backward(const Tensor& dy, const Tensor& y, const Tensor& scale, Act act,
                                const Tensor& dz) override {
    const NCS d = ncs(y);
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      run(cuda::epilogue_backward<T>(Epilogue<T>(nullptr, gpu_or_null<T>(scale), act), d.N, d.C, d.S, gpu<T>(dy),
                                     gpu<T>(y), gpu<T>(dz), stream()),
          "conv2d_epilogue_backward");
    });
  }
  void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    fits(g);
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      if (winograd(g, true, sizeof(T)))
        run(cuda::winograd_backward_data<T>(g, gpu<T>(dy), gpu<T>(w), gpu<T>(dx), workspace(), kWorkspace, stream()),
            "conv2d_backward_data (Winograd)");
      else
        run(cuda::conv2d_backward_data<T>(g, gpu<T>(dy), gpu<T>(w), gpu<T>(dx), workspace(), kWorkspace, stream()),
            "conv2d_backward_data");
    });
  }
  void conv2d_backward_weight(const ConvGeom& g, const Tensor& x, const Tensor& dy, const Tensor& dw) override {
    fits(g);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::conv2d_backward_weight<T>(g, gpu<T>(x), gpu<T>(dy), gpu<T>(dw), workspace(), kWorkspace, stream()),
          "conv2d_backward_weight");
    });
  }
  void maxpool_forward(const PoolGeom& g, const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::maxpool_forward<T>(g, gpu<T>(x), gpu<T>(y), stream()), "maxpool_forward");
    });
  }
  void maxpool_backward(const PoolGeom& g, const Tensor& x, const Tensor& dy, const Tensor& dx) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::maxpool_backward<T>(g, gpu<T>(x), gpu<T>(dy), gpu<T>(dx), stream()), "maxpool_backward");
    });
  }
  void avgpool_forward(const PoolGeom& g, const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::avgpool_forward<T>(g, gpu<T>(x), gpu<T>(y), stream()), "avgpool_forward");
    });
  }
  void avgpool_backward(const PoolGeom& g, const Tensor& dy, const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      run(cuda::avgpool_backward<T>(g, gpu<T>(dy), gpu<T>(dx), stream()), "avgpool_backward");
    });
  }
  void bn_stats(const Tensor& x, const Tensor& mean, const Tensor& var) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::bn_stats<T>(d.N, d.C, d.S, gpu<T>(x), gpu<T>(mean), gpu<T>(var), stream()), "bn_stats");
    });
  }
  void bn_forward(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& gamma, const Tensor& beta,
                  const Tensor& y) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::bn_forward<T>(d.N, d.C, d.S, gpu<T>(x), gpu<T>(mean), gpu<T>(invstd), gpu<T>(gamma), gpu<T>(beta),
                              gpu<T>(y), stream()),
          "bn_forward");
    });
  }
  void bn_backward(const Tensor& x, const Tensor& dy, const Tensor& mean, const Tensor& invstd, const Tensor& gamma,
                   bool training, const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) override {
    const NCS d = ncs(x);
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::bn_backward<T>(d.N, d.C, d.S, gpu<T>(x), gpu<T>(dy), gpu<T>(mean), gpu<T>(invstd), gpu<T>(gamma),
                               training, gpu_or_null<T>(dx), gpu_or_null<T>(dgamma), gpu_or_null<T>(dbeta), stream()),
          "bn_backward");
    });
  }
  void softmax_forward(const Tensor& x, bool log, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::softmax_forward<T>(x.dim(0), x.numel() / x.dim(0), log, gpu<T>(x), gpu<T>(y), stream()),
          "softmax_forward");
    });
  }
  void softmax_backward(const Tensor& y, const Tensor& dy, bool log, const Tensor& dx) override {
    by_dtype(y, [&](auto z) {
      using T = decltype(z);
      run(cuda::softmax_backward<T>(y.dim(0), y.numel() / y.dim(0), log, gpu<T>(y), gpu<T>(dy), gpu<T>(dx), stream()),
          "softmax_backward");
    });
  }
  double nll_forward(const Tensor& logp, const std::vector<int32_t>& labels) override {
    const Tensor lab = upload_labels(labels);
    double r = 0;
    by_dtype(logp, [&](auto z) {
      using T = decltype(z);
      const Tensor loss = Tensor::empty({1}, logp.dtype(), Device::cuda);
      run(cuda::nll_forward<T>(logp.dim(0), logp.dim(1), gpu<T>(logp), static_cast<const int32_t*>(lab.raw()),
                               gpu<T>(loss), stream()),
          "nll_forward");
      T v;
      read(loss, &v);
      r = double(v);
    });
    return r;
  }
  void nll_backward(const std::vector<int32_t>& labels, double dloss, const Tensor& dlogp) override {
    const Tensor lab = upload_labels(labels);
    by_dtype(dlogp, [&](auto z) {
      using T = decltype(z);
      run(cuda::nll_backward<T>(dlogp.dim(0), dlogp.dim(1), static_cast<const int32_t*>(lab.raw()), T(dloss),
                                gpu<T>(dlogp), stream()),
          "nll_backward");
    });
  }
  void pad(const Tensor& x, const Pads& p, double value, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::pad<T>(x.dim(0) * x.dim(1), x.dim(2), x.dim(3), p.top, p.bottom, p.left, p.right, T(value), gpu<T>(x),
                       gpu<T>(y), stream()),
          "pad");
    });
  }
  void pad_backward(const Tensor& dy, const Pads& p, const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      run(cuda::pad_backward<T>(dx.dim(0) * dx.dim(1), dx.dim(2), dx.dim(3), p.top, p.bottom, p.left, p.right,
                                gpu<T>(dy), gpu<T>(dx), stream()),
          "pad_backward");
    });
  }
  void insert_channels(const Tensor& src, int64_t offset, const Tensor& dst) override {
    const NCS s = ncs(src), d = ncs(dst);
    by_dtype(src, [&](auto z) {
      using T = decltype(z);
      run(cuda::insert_channels<T>(s.N, s.C, s.S, gpu<T>(src), d.C, offset, gpu<T>(dst), stream()), "insert_channels");
    });
  }
  void gather_strided(const Tensor& x, const Broadcast4& g, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::gather_strided<T>(g, gpu<T>(x), gpu<T>(y), stream()), "gather_strided");
    });
  }
  void extract_channels(const Tensor& dst_grad, int64_t offset, const Tensor& src_grad) override {
    const NCS s = ncs(src_grad), d = ncs(dst_grad);
    by_dtype(src_grad, [&](auto z) {
      using T = decltype(z);
      run(cuda::extract_channels<T>(s.N, s.C, s.S, gpu<T>(dst_grad), d.C, offset, gpu<T>(src_grad), stream()),
          "extract_channels");
    });
  }
  void resize_bilinear(const Tensor& x, const Tensor& y) override {
    by_dtype(x, [&](auto z) {
      using T = decltype(z);
      run(cuda::resize_bilinear<T>(x.dim(0) * x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3), gpu<T>(x), gpu<T>(y),
                                   stream()),
          "resize_bilinear");
    });
  }
  void resize_bilinear_backward(const Tensor& dy, const Tensor& dx) override {
    by_dtype(dy, [&](auto z) {
      using T = decltype(z);
      run(cuda::resize_bilinear_backward<T>(dx.dim(0) * dx.dim(1), dx.dim(2), dx.dim(3), dy.dim(2), dy.dim(3),
                                            gpu<T>(dy), gpu<T>(dx), stream()),
          "resize_bilinear_backward");
    });
  }

 private:
  // Winograd for the 3x3 stride-1 convolutions it applies to, unless GRADTRACE_CUDA_WINOGRAD=0 (to
  // time the implicit GEMM against it: tools/gpu_check.sh).
  bool winograd(const ConvGeom& g, bool backward, size_t elem) const {
    return winograd_on_ && cuda::winograd_applicable(g, backward, kWorkspace, elem);
  }

  // The thread's current stream (a model's, or the default) and its workspace.
  CudaStream& current() {
    const StreamPtr& s = current_stream();
    return s ? static_cast<CudaStream&>(*s) : *default_;
  }
  cudaStream_t stream() { return current().get(); }
  void* workspace() { return current().workspace(); }
  static size_t bytes(const Tensor& t) { return size_t(t.numel()) * dtype_size(t.dtype()); }
  // A kernel's launch status: a failure is reported under the op's name, with the layer.
  static void run(cudaError_t e, const char* op) { check(e, op_context(op).c_str()); }
  // The implicit GEMMs' sizes (kernels/cuda/conv.cu): images x pixels, channels x taps.
  static void fits(const ConvGeom& g) {
    fits_int(g.N * std::max(g.H * g.W, g.Ho * g.Wo), "conv2d");
    fits_int(std::max(g.C, g.O) * g.kh * g.kw, "conv2d");
  }
  Tensor upload_labels(const std::vector<int32_t>& labels) {
    // int32 labels travel as float32-sized elements (the same 4 bytes; the kernels read them as int32).
    Tensor t = Tensor::empty({int64_t(labels.size())}, DType::f32, Device::cuda);
    check(cudaMemcpyAsync(t.raw(), labels.data(), labels.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream()),
          "cudaMemcpyAsync (labels)");
    return t;
  }
  Cache cache_;
  std::unique_ptr<CudaStream> default_;
  bool winograd_on_ = true;
};

}  // namespace

Backend& cuda_backend() {
  // Made on first use; a machine without a GPU gets the constructor's "no CUDA device" error each time.
  // Never destroyed: tensors that outlive main's scope may still hand their blocks back.
  static CudaBackend* b = nullptr;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (!b) b = new CudaBackend();
  return *b;
}

}  // namespace gt
