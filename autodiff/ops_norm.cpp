// Batch normalisation. x: (N,C,...) -> y: same; gamma, beta, running_mean, running_var: (C).
#include "autodiff/op_util.h"
#include "autodiff/ops.h"

namespace gt::ops {
using namespace detail;

//   xhat = (x - mu) * invstd,  invstd = 1/sqrt(var + eps),  y = gamma * xhat + beta
// Inference: mu, var are the running statistics (constants), so dx = dy * gamma * invstd.
// Training: mu, var are the batch statistics (functions of x), which adds two terms:
//   dx = gamma * invstd / M * (M dy - sum dy - xhat sum(dy xhat)),   M = N * H * W
//   dgamma = sum dy xhat,  dbeta = sum dy
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, double eps, bool training, double momentum) {
  const char* op = "batch_norm";
  defined(op, x, "x");
  check(x.ndim() >= 2, op, "x must be (N,C,...), got " + x.shape().str());
  const int64_t C = x.dim(1);
  const Shape cs{C};
  for (auto [t, name] :
       {std::pair{&gamma, "gamma"}, {&beta, "beta"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}}) {
    same_kind(op, x, *t, "x", name);
    check(t->shape() == cs, op,
          std::string(name) + " " + t->shape().str() + " does not match the " + std::to_string(C) + " channels of x " +
              x.shape().str());
  }
  check(eps > 0, op, "eps must be > 0");
  const int64_t M = x.numel() / C;
  check(!training || M > 1, op, "training needs more than one value per channel, x is " + x.shape().str());
  Tensor mean = running_mean, var = running_var;
  if (training) {
    mean = empty_as(x, cs);
    var = empty_as(x, cs);
    be(x).bn_stats(x, mean, var);
    // running = (1 - m) running + m * batch, with the unbiased batch variance
    be(x).axpby(momentum, mean, 1.0 - momentum, running_mean);
    be(x).axpby(momentum * double(M) / double(M - 1), var, 1.0 - momentum, running_var);
  }
  // 1 / sqrt(var + eps), where x is: on a GPU a trip to the host would wait for all queued work.
  Tensor var_eps = empty_as(x, cs), invstd = empty_as(x, cs);
  be(x).affine(var, 1.0, eps, var_eps);
  be(x).unary_forward(Unary::rsqrt, var_eps, invstd);
  Tensor y = Tensor::empty_like(x);
  be(x).bn_forward(x, mean, invstd, gamma, beta, y);
  // x is kept only when the backward needs it: for the batch statistics or for dgamma. A frozen
  // network in inference (saliency on ResNet) then keeps no copy of its BN inputs.
  const bool keep_x = training || gamma.requires_grad();
  return record(op, {x, gamma, beta}, y, {keep_x ? x : Tensor(), mean.detach(), invstd, gamma.detach()},
                [training](BackwardContext& c) {
                  const Tensor &x = c.saved(0), &mean = c.saved(1), &invstd = c.saved(2), &gamma = c.saved(3);
                  if (!x.defined()) {  // inference, frozen gamma: dx = dy * gamma * invstd
                    if (c.needs(1))
                      throw Error("backward of batch_norm [" + c.node.layer +
                                  "]: gamma did not require a gradient during the forward pass");
                    Tensor dx = Tensor::empty_like(c.dy);
                    const Tensor zero = Tensor::zeros_like(mean);
                    be(dx).bn_forward(c.dy, zero, invstd, gamma, zero, dx);  // (dy - 0) * invstd * gamma + 0
                    if (c.needs(0)) c.set(0, dx);
                    if (c.needs(2)) {
                      Tensor db = Tensor::empty_like(gamma);
                      be(db).bias_grad(c.dy, db);
                      c.set(2, db);
                    }
                    return;
                  }
                  Tensor dx = c.needs(0) ? Tensor::empty_like(x) : Tensor();
                  Tensor dgamma = c.needs(1) ? Tensor::empty_like(gamma) : Tensor();
                  Tensor dbeta = c.needs(2) ? Tensor::empty_like(gamma) : Tensor();
                  be(x).bn_backward(x, c.dy, mean, invstd, gamma, training, dx, dgamma, dbeta);
                  c.set(0, dx);
                  c.set(1, dgamma);
                  c.set(2, dbeta);
                });
}

}  // namespace gt::ops
