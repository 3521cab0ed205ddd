// Depthwise convolution: y[n, o, oy, ox] = sum_{i,j} w[o, i, j] xp[n, o/m, s*oy + i*dh, s*ox + j*dw],
// xp the input zero-padded by (pt, pl), m the channel multiplier. Written here for one stride s; the
// code has one per axis (sr, sc), which may differ.
//
// Polyphase planes. The padded plane is split into s*s planes by row and column parity mod s:
//   Q[(a, b)][r][c] = xp[s*r + a][s*c + b],   each He x We,  He = ceil(Hp / s), We = ceil(Wp / s),
// stored one after another in one buffer. Tap (i, j) then reads plane ((i*dh) % s, (j*dw) % s) at
// row oy + (i*dh)/s and column ox + (j*dw)/s: a stride-1 read. On the flat index f = oy*We + ox
// every tap is a constant offset, so each tap is one vectorised pass over all Ho*We outputs,
//   acc[f] += w[i, j] * Q[f + offset(i, j)],
// of which the Wo columns of each We-wide row are kept. Small planes (7x7, 14x14) fill whole
// vectors this way, where a row at a time leaves most lanes idle, and no tap needs a bounds test.
// The weight gradient is the same reads as a dot product: dw[i, j] = sum_f dyg[f] Q[f + offset(i, j)],
// dyg being dy on the We-wide grid with zeros in the unused columns.
//
// Data gradient, by the parity (a, b) of the padded input position:
//   dxp[s*r + a][s*c + b] = sum_{(i*dh)%s = a, (j*dw)%s = b} w[i, j] dy[r - (i*dh)/s][c - (j*dw)/s],
// a correlation of dy, zero-padded by R = max (i*dh)/s rows on top and Cq = max (j*dw)/s columns on
// the left, with that parity's taps at offsets (R - (i*dh)/s, Cq - (j*dw)/s): again constant offsets
// on a flat grid, one pass per tap, and one strided write of each dx value.
#include "kernels/cpu/depthwise.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/epilogue.h"
#include "kernels/cpu/gather.h"

namespace gt::cpu {
namespace {

// dst[k * ds] = src[k * ss] for k < n, one of the strides 1. Stride 2 (the common one) reads with
// gather_stride2's vector permutes and writes with a constant-stride loop.
template <class T>
void strided_copy(const T* src, int64_t ss, T* dst, int64_t ds, int64_t n) {
  if (ss == 1 && ds == 1)
    std::memcpy(dst, src, sizeof(T) * size_t(n));
  else if (ss == 2)
    gather_stride2(src, n, dst);
  else if (ds == 2)
    for (int64_t k = 0; k < n; ++k) dst[2 * k] = src[k];
  else
    for (int64_t k = 0; k < n; ++k) dst[k * ds] = src[k * ss];
}

// The polyphase layout of one padded input plane (see the top of the file), for strides sr x sc:
// sr*sc planes of He x We, plane (a, b) at index a*sc + b.
struct Phases {
  int64_t sr, sc, He, We;
  explicit Phases(const ConvGeom& g)
      : sr(g.sh), sc(g.sw), He((g.H + g.pt + g.pb + sr - 1) / sr), We((g.W + g.pl + g.pr + sc - 1) / sc) {}
  int64_t size() const { return sr * sc * He * We; }
  // The offset of each tap (i, j), row-major, in the buffer, relative to the output's flat index
  // oy*We + ox.
  std::vector<int64_t> offsets(const ConvGeom& g) const {
    std::vector<int64_t> off;
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t ri = i * g.dh, cj = j * g.dw;
        off.push_back((((ri % sr) * sc + cj % sc) * He + ri / sr) * We + cj / sc);
      }
    return off;
  }
  // The flat output grid's length: Ho rows of We, the last one cut at Wo.
  int64_t grid(const ConvGeom& g) const { return (g.Ho - 1) * We + g.Wo; }
  // Writes the plane x (H x W) into buf at offset (pt, pl). Only those positions: the padding is
  // never written, so a buffer zeroed once serves every plane of a call.
  template <class T>
  void fill(const ConvGeom& g, const T* x, T* buf) const {
    for (int64_t b = 0; b < sc; ++b) {  // the columns of parity b: x0, x0 + sc, ...
      const int64_t x0 = ((b - g.pl) % sc + sc) % sc;
      if (x0 >= g.W) continue;
      const int64_t n = (g.W - x0 + sc - 1) / sc, col = b * He * We + (x0 + g.pl) / sc;
      for (int64_t y = 0, ra = g.pt % sr, rq = g.pt / sr; y < g.H; ++y) {  // padded row y + pt = rq*sr + ra
        strided_copy(x + y * g.W + x0, sc, buf + (ra * sc * He + rq) * We + col, 1, n);  // plane (ra, b), row rq
        if (++ra == sr) ra = 0, ++rq;
      }
    }
  }
};

// acc[f] (+)= sum over taps of w[tap] * src[f + off[tap]],  f < nf. The first tap sets acc unless add.
// In blocks of kBlock outputs, so that a large plane's accumulators stay in L1 over all the taps.
constexpr int64_t kBlock = 1024;
template <class T>
void correlate(const T* src, const std::vector<int64_t>& off, const std::vector<T>& wt, int64_t nf, T* acc, bool add) {
  for (int64_t f0 = 0; f0 < nf; f0 += kBlock) {
    const int64_t nb = std::min(kBlock, nf - f0);
    T* __restrict a = acc + f0;
    for (size_t t = 0; t < off.size(); ++t) {
      const T* __restrict s = src + off[t] + f0;
      const T wv = wt[t];
      if (t == 0 && !add) {
#pragma omp simd
        for (int64_t f = 0; f < nb; ++f) a[f] = wv * s[f];
      } else {
#pragma omp simd
        for (int64_t f = 0; f < nb; ++f) a[f] += wv * s[f];
      }
    }
  }
}

}  // namespace

template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const Epilogue<T>& e, T* y) {
  const int64_t m = g.O / g.C, HW = g.H * g.W, P = g.Ho * g.Wo, khw = g.kh * g.kw;
  const Phases ph(g);
  const std::vector<int64_t> off = ph.offsets(g);
  const int64_t nf = ph.grid(g);
#pragma omp parallel
  {
    std::vector<T> buf(static_cast<size_t>(ph.size()), T(0)), acc(static_cast<size_t>(nf)),
        wt(static_cast<size_t>(khw));
    int64_t filled = -1;  // the input plane in buf (a multiplier m > 1 reuses it)
#pragma omp for schedule(static)
    for (int64_t no = 0; no < g.N * g.O; ++no) {
      const int64_t n = no / g.O, o = no % g.O, plane = n * g.C + o / m;
      if (plane != filled) ph.fill(g, x + plane * HW, buf.data());
      filled = plane;
      std::copy(w + o * khw, w + (o + 1) * khw, wt.begin());
      correlate(buf.data(), off, wt, nf, acc.data(), false);
      const T b = e.initial_bias() ? e.initial_bias()[o] : T(0);
      T* yp = y + no * P;
      for (int64_t oy = 0; oy < g.Ho; ++oy)
        for (int64_t ox = 0; ox < g.Wo; ++ox) yp[oy * g.Wo + ox] = acc[size_t(oy * ph.We + ox)] + b;
      if (!e.only_bias()) apply_epilogue(e.after_initial_bias(), o, yp, P);
    }
  }
}

template <class T>
void depthwise_backward_data(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const int64_t m = g.O / g.C, HW = g.H * g.W, P = g.Ho * g.Wo, khw = g.kh * g.kw, sr = g.sh, sc = g.sw;
  const int64_t R = g.dh * (g.kh - 1) / sr, Cq = g.dw * (g.kw - 1) / sc;
  const Phases ph(g);
  const int64_t Dh = ph.He + R, Dw = ph.We + Cq, nf = (ph.He - 1) * Dw + ph.We;
  // Per parity (a, b): its taps and their offsets into the padded dy.
  std::vector<std::vector<int64_t>> taps(size_t(sr * sc)), off(size_t(sr * sc));
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t ri = i * g.dh, cj = j * g.dw, par = (ri % sr) * sc + cj % sc;
      taps[size_t(par)].push_back(i * g.kw + j);
      off[size_t(par)].push_back((R - ri / sr) * Dw + (Cq - cj / sc));
    }
#pragma omp parallel
  {
    std::vector<T> D(static_cast<size_t>(m * Dh * Dw), T(0)), acc(static_cast<size_t>(nf)), wt;
#pragma omp for schedule(static)
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
      const int64_t n = nc / g.C, c = nc % g.C;
      for (int64_t q = 0; q < m; ++q)  // dy of each output channel of c, placed at (R, Cq); the border stays 0
        for (int64_t oy = 0; oy < g.Ho; ++oy)
          std::memcpy(D.data() + (q * Dh + R + oy) * Dw + Cq, dy + (n * g.O + c * m + q) * P + oy * g.Wo,
                      sizeof(T) * size_t(g.Wo));
      T* dxp = dx + nc * HW;
      for (int64_t par = 0; par < sr * sc; ++par) {
        const int64_t a = par / sc, b = par % sc;
        if (taps[size_t(par)].empty()) std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t q = 0; q < m; ++q) {
          const int64_t o = c * m + q;
          wt.clear();
          for (int64_t t : taps[size_t(par)]) wt.push_back(w[o * khw + t]);
          if (!wt.empty()) correlate(D.data() + q * Dh * Dw, off[size_t(par)], wt, nf, acc.data(), q > 0);
        }
        // padded position (sr*r + a, sc*cc + b) is dx's (sr*r + a - pt, sc*cc + b - pl)
        int64_t r0, r1, c0, c1;
        valid_range(a - g.pt, sr, g.H, ph.He, r0, r1);
        valid_range(b - g.pl, sc, g.W, ph.We, c0, c1);
        for (int64_t r = r0; r < r1; ++r)
          strided_copy(acc.data() + r * Dw + c0, 1, dxp + (sr * r + a - g.pt) * g.W + sc * c0 + b - g.pl, sc, c1 - c0);
      }
    }
  }
}

template <class T>
void depthwise_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const int64_t m = g.O / g.C, HW = g.H * g.W, P = g.Ho * g.Wo, khw = g.kh * g.kw;
  const Phases ph(g);
  const std::vector<int64_t> off = ph.offsets(g);
  const int64_t nf = ph.grid(g);
#pragma omp parallel
  {
    std::vector<T> buf(static_cast<size_t>(ph.size()), T(0)), dyg(static_cast<size_t>(nf), T(0));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < g.O; ++o) {
      T* dwp = dw + o * khw;
      std::fill(dwp, dwp + khw, T(0));
      for (int64_t n = 0; n < g.N; ++n) {
        ph.fill(g, x + (n * g.C + o / m) * HW, buf.data());
        for (int64_t oy = 0; oy < g.Ho; ++oy)  // the unused columns of dyg stay 0
          std::memcpy(dyg.data() + oy * ph.We, dy + (n * g.O + o) * P + oy * g.Wo, sizeof(T) * size_t(g.Wo));
        for (int64_t t = 0; t < khw; ++t) {
          const T* __restrict src = buf.data() + off[size_t(t)];
          T sum = 0;
#pragma omp simd reduction(+ : sum)
          for (int64_t f = 0; f < nf; ++f) sum += dyg[size_t(f)] * src[f];
          dwp[t] += sum;
        }
      }
    }
  }
}

#define GT_INSTANTIATE(T)                                                                          \
  template void depthwise_forward<T>(const ConvGeom&, const T*, const T*, const Epilogue<T>&, T*); \
  template void depthwise_backward_data<T>(const ConvGeom&, const T*, const T*, T*);               \
  template void depthwise_backward_weight<T>(const ConvGeom&, const T*, const T*, T*);
GT_INSTANTIATE(float)
GT_INSTANTIATE(double)

}  // namespace gt::cpu
