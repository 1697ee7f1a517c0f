// The three likelihoods of SPEC §10 cell by cell, a vector of cells at a time, for headLoss
// (native/heads.cc, which packs the cells into a Chunk and runs a pass over it). Each pass
// repeats its TypeScript reference (nllRaw in src/core/heads/gaussian.ts, student-t.ts,
// negative-binomial.ts, with special.ts's lgammaHalfShift) operation for operation, in double;
// the one difference is exp, log and log1p (native/vmath.h, about an ulp from V8's). Written over
// S, the vector ISA of vmath.h: heads.cc instantiates them for AVX2, heads512.cc for AVX-512, and
// a lane's result is the same on either.
//
// Include after `#pragma GCC optimize("fp-contract=off")` and the ISA's `#pragma GCC target`: a
// fused a·b + c rounds once where TypeScript rounds twice.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "vmath.h"

namespace rnnk {
namespace heads {

using vmath::splat;

// Present cells packed for one vector pass (a multiple of every ISA's lanes).
constexpr int CHUNK = 256;

// The constants as TypeScript computes them: Math.log(Math.sqrt(2π)) and ½·Math.log(π).
constexpr double LOG_SQRT_2PI = 0.9189385332046727;
constexpr double HALF_LOG_PI = 0.5723649429247001;

// special.ts HALF_SHIFT and HALF_SHIFT_D (lgammaHalfShift's series), as TypeScript prints them
// (shortest round trip, so the same doubles).
constexpr double HALF_SHIFT[10] = {
    -0.125, 0.005208333333333333, -0.0015625, 0.0011858258928571428, -0.001681857638888889,
    0.0038341175426136365, -0.012819730318509616, 0.059100405375162764, -0.359287374159869, 2.784861777958117,
};
constexpr double HALF_SHIFT_D[10] = {
    -0.125, 0.015625, -0.0078125, 0.00830078125, -0.01513671875,
    0.04217529296875, -0.166656494140625, 0.8865060806274414, -6.107885360717773, 52.912373781204224,
};

// A run of present cells of one row of y: the first one's first parameter at y[off], its cells
// at a[k][at … at + len) of the chunk.
struct Run {
  int64_t off;
  int at, len;
};

// One vector pass's cells: raw parameters a[k] and target t in; the loss and d(loss)/da[k] out;
// the runs they were copied from, in order.
struct Chunk {
  alignas(64) double a[3][CHUNK];
  alignas(64) double t[CHUNK];
  alignas(64) double loss[CHUNK];
  alignas(64) double g[3][CHUNK];
  Run runs[CHUNK];
};

// A vector of the chunk at p (aligned: p is a multiple of the lanes into an array).
template <typename S> inline typename S::V load(const double* p) { return *reinterpret_cast<const typename S::V*>(p); }
template <typename S> inline void store(double* p, typename S::V v) { *reinterpret_cast<typename S::V*>(p) = v; }

// softplus(x) and its derivative (src/core/heads/softplus.ts) from one exp: torch's threshold 20.
template <typename S> struct Softplus {
  typename S::V v, g;
};
template <typename S> inline Softplus<S> softplus_v(typename S::V x) {
  using V = typename S::V;
  const V z = vmath::exp_v<S>(x);
  const typename S::I above = x > splat<S>(20);
  return {above ? x : vmath::log1p_v<S>(z), above ? splat<S>(1) : z / (z + splat<S>(1))};
}

// special.ts estrin10: Σ c[k]·rᵏ for k < 10, in its order.
template <typename S> inline typename S::V estrin10(const double* c, typename S::V r) {
  using V = typename S::V;
  const V r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const V p03 = (splat<S>(c[0]) + splat<S>(c[1]) * r) + (splat<S>(c[2]) + splat<S>(c[3]) * r) * r2;
  const V p47 = (splat<S>(c[4]) + splat<S>(c[5]) * r) + (splat<S>(c[6]) + splat<S>(c[7]) * r) * r2;
  return (p03 + p47 * r4) + (splat<S>(c[8]) + splat<S>(c[9]) * r) * r8;
}

// special.ts lgammaHalfShift, a vector at a time and in its order of operations: lgamma(x) −
// lgamma(x + ½) + log(scale) into d0, ψ(x) − ψ(x + ½) into d1. The shift is computed in every lane
// and kept in those below 10 (y = x + 0 is x).
template <typename S> inline void lgamma_half_shift_v(typename S::V x, typename S::V scale, typename S::V& d0, typename S::V& d1) {
  using V = typename S::V;
  V H[5], T[5], Pn[5], Q[5];
  for (int i = 0; i < 5; i++) {
    const V ta = x + splat<S>(2 * i), tb = x + splat<S>(2 * i + 1), ha = ta + splat<S>(0.5), hb = tb + splat<S>(0.5);
    const V qa = ta * ha, qb = tb * hb;
    H[i] = ha * hb;
    T[i] = ta * tb;
    Pn[i] = qa + qb;
    Q[i] = qa * qb;
  }
  const V p01 = Pn[0] * Q[1] + Pn[1] * Q[0], q01 = Q[0] * Q[1];
  const V p23 = Pn[2] * Q[3] + Pn[3] * Q[2], q23 = Q[2] * Q[3];
  const V p03 = p01 * q23 + p23 * q01, q03 = q01 * q23;
  const typename S::I shift = x < splat<S>(10);
  const V num = shift ? ((H[0] * H[1]) * (H[2] * H[3])) * H[4] : splat<S>(1);
  const V den = shift ? ((T[0] * T[1]) * (T[2] * T[3])) * T[4] : splat<S>(1);
  const V dNum = shift ? splat<S>(-0.5) * (p03 * Q[4] + Pn[4] * q03) : splat<S>(0), dDen = shift ? q03 * Q[4] : splat<S>(1);
  const V y = shift ? x + splat<S>(10) : x, iy = splat<S>(1) / y, r = iy * iy;
  const V s = estrin10<S>(HALF_SHIFT, r), ds = estrin10<S>(HALF_SHIFT_D, r);
  d0 = vmath::log_v<S>(scale * (num / (den * S::sqrt(y)))) - s * iy;
  d1 = dNum / dDen + (ds * r - splat<S>(0.5) * iy);
}

// gaussian.ts nllRaw: μ = a₀, σ = softplus(a₁).
template <typename S> struct Gaussian {
  static constexpr int P = 2;
  static void pass(Chunk& c, int n) {
    using V = typename S::V;
    for (int i = 0; i < n; i += S::L) {
      const V mu = load<S>(c.a[0] + i), y = load<S>(c.t + i);
      const Softplus<S> s = softplus_v<S>(load<S>(c.a[1] + i));
      const V sigma = s.v, d = y - mu, var = sigma * sigma;
      store<S>(c.g[0] + i, -d / var);
      store<S>(c.g[1] + i, (splat<S>(1) / sigma - (d * d) / (var * sigma)) * s.g);
      store<S>(c.loss + i, (d * d) / (splat<S>(2) * var) + vmath::log_v<S>(sigma) + splat<S>(LOG_SQRT_2PI));
    }
  }
};

// student-t.ts nllRaw: μ = a₀, σ = softplus(a₁), ν = 2 + softplus(a₂).
template <typename S> struct StudentT {
  static constexpr int P = 3;
  static void pass(Chunk& c, int n) {
    using V = typename S::V;
    for (int i = 0; i < n; i += S::L) {
      const V mu = load<S>(c.a[0] + i), y = load<S>(c.t + i);
      const Softplus<S> s1 = softplus_v<S>(load<S>(c.a[1] + i)), s2 = softplus_v<S>(load<S>(c.a[2] + i));
      const V sigma = s1.v, nu = splat<S>(2) + s2.v;
      const V z = (y - mu) / sigma, z2 = z * z, l = vmath::log1p_v<S>(z2 / nu);
      V shift0, shift1;
      lgamma_half_shift_v<S>(splat<S>(0.5) * nu, sigma * S::sqrt(nu), shift0, shift1);
      const V w = (nu + splat<S>(1)) / (nu + z2);
      store<S>(c.g[0] + i, -(w * z) / sigma);
      store<S>(c.g[1] + i, ((splat<S>(1) - w * z2) / sigma) * s1.g);
      const V dnu = splat<S>(0.5) * l - (splat<S>(0.5) * w * z2) / nu + splat<S>(0.5) / nu + splat<S>(0.5) * shift1;
      store<S>(c.g[2] + i, dnu * s2.g);
      store<S>(c.loss + i, splat<S>(0.5) * (nu + splat<S>(1)) * l + (shift0 + splat<S>(HALF_LOG_PI)));
    }
  }
};

// Where negative-binomial.ts's rises leave the product of the factors r + j: a count of 16 or
// more, or r past 1e18.
constexpr double SMALL_COUNT = 16, PRODUCT_MAX_R = 1e18;

// negative-binomial.ts rises off the product path — a count of 16 or more, or r past 1e18 — for
// one lane: lgamma(r + k) − lgamma(r) − lgamma(k + 1) into d[0], ψ(r + k) − ψ(r) into d[1]. In
// heads.cc, compiled for AVX2 alone (it is no template: one definition for every ISA's pass).
void rises_off_product(double r, double k, double* d);

// negative-binomial.ts nllRaw: μ = softplus(a₀), α = softplus(a₁), count k; the rises by the
// product P(r) = Π_{j<k} (r + j) and P′ a vector at a time, the rare lanes off that path one by
// one.
template <typename S> struct NegativeBinomial {
  static constexpr int P = 2;
  static void pass(Chunk& c, int n) {
    using V = typename S::V;
    using I = typename S::I;
    for (int i = 0; i < n; i += S::L) {
      const V k = load<S>(c.t + i);
      const Softplus<S> s0 = softplus_v<S>(load<S>(c.a[0] + i)), s1 = softplus_v<S>(load<S>(c.a[1] + i));
      const V mu = s0.v, alpha = s1.v;
      const V am = alpha * mu, l1 = vmath::log1p_v<S>(am), r = splat<S>(1) / alpha;
      double kmax = 0;
      for (int q = 0; q < S::L; q++) kmax = std::max(kmax, k[q]);
      const int steps = (int)std::min(SMALL_COUNT, kmax);
      V p = splat<S>(1), dp = splat<S>(0), f = splat<S>(1);
      for (int j = 0; j < steps; j++) {
        const I m = splat<S>(j) < k;
        const V t = r + splat<S>(j);
        dp = m ? dp * t + p : dp;
        p = m ? p * t : p;
        f = m ? f * splat<S>(j + 1) : f;
      }
      V rise0 = vmath::log_v<S>(p / f), rise1 = dp / p;
      const int off = S::bits((k >= splat<S>(SMALL_COUNT)) | (r > splat<S>(PRODUCT_MAX_R)));
      for (int q = 0; off != 0 && q < S::L; q++) {
        if (!(off >> q & 1)) continue;
        double d[2];
        rises_off_product(r[q], k[q], d);
        rise0[q] = d[0];
        rise1[q] = d[1];
      }
      store<S>(c.g[0] + i, ((mu - k) / (mu * (splat<S>(1) + am))) * s0.g);
      const V dlogp = r * r * l1 - mu / (alpha * (splat<S>(1) + am)) + k / alpha - (k * mu) / (splat<S>(1) + am) - r * r * rise1;
      store<S>(c.g[1] + i, -dlogp * s1.g);
      const V logP = k == splat<S>(0) ? splat<S>(0) : k * (vmath::log_v<S>(am) - l1);
      store<S>(c.loss + i, r * l1 - logP - rise0);
    }
  }
};

// y[i] = exp (fn 0), log (1) or log1p (2) of x[i], a vector at a time, the tail in a padded one:
// native/heads.cc's vmath, for vmath.h's tests.
template <typename S> void vmath_lanes(int fn, const double* x, double* y, size_t n) {
  for (size_t i = 0; i < n; i += S::L) {
    alignas(64) double lane[S::L] = {};
    const size_t m = std::min<size_t>(S::L, n - i);
    for (size_t q = 0; q < m; q++) lane[q] = x[i + q];
    const typename S::V v = load<S>(lane);
    store<S>(lane, fn == 0 ? vmath::exp_v<S>(v) : fn == 1 ? vmath::log_v<S>(v) : vmath::log1p_v<S>(v));
    for (size_t q = 0; q < m; q++) y[i + q] = lane[q];
  }
}

// The passes and vmath_lanes compiled for AVX-512 (heads512.cc): the same operations eight lanes at
// a time.
void gaussian512(Chunk& c, int n);
void student_t512(Chunk& c, int n);
void negative_binomial512(Chunk& c, int n);
void vmath512(int fn, const double* x, double* y, size_t n);

}  // namespace heads
}  // namespace rnnk
