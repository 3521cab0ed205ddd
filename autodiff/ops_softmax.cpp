// Softmax, log-softmax and the cross-entropy loss, row-wise over x: (N,K).
#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt::ops {
using namespace detail;

namespace {
// y = softmax(x) or log softmax(x) per row
//   softmax:     dx = y * (dy - sum_k dy*y)
//   log-softmax: dx = dy - softmax(x) * sum_k dy
Tensor softmax_op(const char* op, const Tensor& x, bool log) {
  rank(op, x, 2, "x");
  check(x.dim(1) >= 1, op, "no classes in x " + x.shape().str());
  Tensor y = Tensor::empty_like(x);
  be(x).softmax_forward(x, log, y);
  return record(op, {x}, y, {y.detach()}, [log](BackwardContext& c) {
    Tensor dx = Tensor::empty_like(c.dy);
    be(dx).softmax_backward(c.saved(0), c.dy, log, dx);
    c.set(0, dx);
  });
}

// loss = -1/N sum_n logp[n, label_n];  dlogp[n,k] = -dloss/N [k == label_n]
Tensor nll(const Tensor& logp, const std::vector<int32_t>& labels) {
  const char* op = "nll";
  const int64_t N = logp.dim(0), K = logp.dim(1);
  check(static_cast<int64_t>(labels.size()) == N, op,
        std::to_string(labels.size()) + " labels for a batch of " + std::to_string(N) + " (logits " +
            logp.shape().str() + ")");
  for (int32_t l : labels)
    check(l >= 0 && l < K, op, "label " + std::to_string(l) + " outside [0, " + std::to_string(K) + ")");
  Tensor y = Tensor::full({1}, be(logp).nll_forward(logp, labels), logp.dtype(), logp.device());
  const Shape s = logp.shape();
  return record(op, {logp}, y, {}, [labels, s](BackwardContext& c) {
    Tensor d = empty_as(c.dy, s);
    be(d).nll_backward(labels, c.dy.item(), d);
    c.set(0, d);
  });
}
}  // namespace

Tensor softmax(const Tensor& x) { return softmax_op("softmax", x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_op("log_softmax", x, true); }

// Cross-entropy as log-softmax followed by the negative log-likelihood: two nodes, each with its own
// simple backward rule; together dlogits = (softmax - onehot) / N.
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels) {
  rank("cross_entropy", logits, 2, "logits");
  return nll(log_softmax(logits), labels);
}

}  // namespace gt::ops
