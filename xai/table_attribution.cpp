#include "xai/table_attribution.h"

#include "autodiff/ops.h"

namespace gt::xai {

std::vector<double> baseline_row(const data::TableSchema& s, const std::string& kind) {
  if (kind != "mean" && kind != "median" && kind != "zero")
    throw InvalidArgument("--baseline must be mean, median or zero, got '" + kind + "'");
  std::vector<double> b(size_t(s.width()), 0.0);
  if (kind == "zero") return b;
  for (const data::TableColumn& f : s.features) {
    if (!f.categorical)
      b[size_t(f.offset)] = kind == "mean" ? 0.0 : (f.fill - f.mean) / f.scale;
    else if (kind == "mean")
      std::copy(f.frequencies.begin(), f.frequencies.end(), b.begin() + f.offset);
    else
      b[size_t(f.offset + f.fill_category)] = 1;
  }
  return b;
}

TableAttribution table_attribution(nn::Model& m, const data::TableSchema& s, const std::vector<double>& x,
                                   int64_t target, const std::string& method, const std::vector<double>& baseline,
                                   const IgOptions& ig) {
  const int64_t W = s.width();
  if (int64_t(x.size()) != W) throw InvalidArgument("table attribution: the row has the wrong width");
  const DType dtype = model_dtype(m);
  // F: the logits, or a regression's output in the target's units (y = out * scale + mean)
  const bool regress = s.task == "regress";
  const Model f = [&](const Tensor& in) {
    const Tensor out = m(in);
    return regress ? ops::add_scalar(ops::mul_scalar(out, s.target_scale), s.target_mean) : out;
  };
  const Target t{regress ? 0 : target, false};
  const Tensor xt = Tensor::from_vector({1, W}, x, dtype);
  TableAttribution r;
  Tensor a;
  if (method == "saliency") {
    a = saliency(f, xt, t.index);
  } else if (method == "gradxinput") {
    a = gradxinput(f, xt, t);
  } else if (method == "ig") {
    const IgResult g = integrated_gradients(f, xt, Tensor::from_vector({1, W}, baseline, dtype), t, ig);
    a = g.attribution;
    r.f_x = g.f_x, r.f_baseline = g.f_baseline, r.delta = g.delta;
  } else {
    throw InvalidArgument("table attribution: unknown method '" + method + "' (saliency, gradxinput or ig)");
  }
  r.columns = a.to_vector_f64();
  for (const data::TableColumn& c : s.features) {
    double sum = 0;
    for (int64_t j = c.offset; j < c.offset + c.width(); ++j) sum += r.columns[size_t(j)];
    r.features.push_back(sum);
  }
  return r;
}

}  // namespace gt::xai
