// The three likelihoods of SPEC §10 cell by cell, four cells at a time, for headLoss
// (native/heads.cc, which packs the cells into a Chunk and runs a pass over it). Each pass
// repeats its TypeScript reference (nllRaw in src/core/heads/gaussian.ts, student-t.ts,
// negative-binomial.ts, with special.ts's lgammaHalfShift) operation for operation, in double;
// the one difference is exp, log and log1p (native/vmath.h, about an ulp from V8's).
//
// Include after `#pragma GCC optimize("fp-contract=off")` and `#pragma GCC target("avx2,fma")`:
// a fused a·b + c rounds once where TypeScript rounds twice.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "special.h"
#include "vmath.h"

namespace rnnk {
namespace heads {

using vmath::I;
using vmath::splat;
using vmath::V;

// Present cells packed for one vector pass (a multiple of 4).
constexpr int CHUNK = 256;

// The constants as TypeScript computes them: Math.log(Math.sqrt(2π)) and ½·Math.log(π).
constexpr double LOG_SQRT_2PI = 0.9189385332046727;
constexpr double HALF_LOG_PI = 0.5723649429247001;

// A run of present cells of one row of y: the first one's first parameter at y[off], its cells
// at a[k][at … at + len) of the chunk.
struct Run {
  int64_t off;
  int at, len;
};

// One vector pass's cells: raw parameters a[k] and target t in; the loss and d(loss)/da[k] out;
// the runs they were copied from, in order.
struct Chunk {
  alignas(32) double a[3][CHUNK];
  alignas(32) double t[CHUNK];
  alignas(32) double loss[CHUNK];
  alignas(32) double g[3][CHUNK];
  Run runs[CHUNK];
};

inline V load(const double* p) { return *reinterpret_cast<const V*>(p); }
inline void store(double* p, V v) { *reinterpret_cast<V*>(p) = v; }

// softplus(x) and its derivative (src/core/heads/softplus.ts) from one exp: torch's threshold 20.
struct Softplus {
  V v, g;
};
inline Softplus softplus_v(V x) {
  const V z = vmath::exp_v(x);
  const I above = x > splat(20);
  return {above ? x : vmath::log1p_v(z), above ? splat(1) : z / (z + splat(1))};
}

// special.ts estrin10: Σ c[k]·rᵏ for k < 10, in its order.
inline V estrin10(const double* c, V r) {
  const V r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const V p03 = (splat(c[0]) + splat(c[1]) * r) + (splat(c[2]) + splat(c[3]) * r) * r2;
  const V p47 = (splat(c[4]) + splat(c[5]) * r) + (splat(c[6]) + splat(c[7]) * r) * r2;
  return (p03 + p47 * r4) + (splat(c[8]) + splat(c[9]) * r) * r8;
}

// special.ts lgammaHalfShift, four lanes at a time and in its order of operations:
// lgamma(x) − lgamma(x + ½) + log(scale) into d0, ψ(x) − ψ(x + ½) into d1. The shift is computed
// in every lane and kept in those below 10 (y = x + 0 is x).
inline void lgamma_half_shift_v(V x, V scale, V& d0, V& d1) {
  using special::HALF_SHIFT;
  using special::HALF_SHIFT_D;
  V H[5], T[5], Pn[5], Q[5];
  for (int i = 0; i < 5; i++) {
    const V ta = x + splat(2 * i), tb = x + splat(2 * i + 1), ha = ta + splat(0.5), hb = tb + splat(0.5), qa = ta * ha, qb = tb * hb;
    H[i] = ha * hb;
    T[i] = ta * tb;
    Pn[i] = qa + qb;
    Q[i] = qa * qb;
  }
  const V p01 = Pn[0] * Q[1] + Pn[1] * Q[0], q01 = Q[0] * Q[1];
  const V p23 = Pn[2] * Q[3] + Pn[3] * Q[2], q23 = Q[2] * Q[3];
  const V p03 = p01 * q23 + p23 * q01, q03 = q01 * q23;
  const I shift = x < splat(10);
  const V num = shift ? ((H[0] * H[1]) * (H[2] * H[3])) * H[4] : splat(1);
  const V den = shift ? ((T[0] * T[1]) * (T[2] * T[3])) * T[4] : splat(1);
  const V dNum = shift ? splat(-0.5) * (p03 * Q[4] + Pn[4] * q03) : splat(0), dDen = shift ? q03 * Q[4] : splat(1);
  const V y = shift ? x + splat(10) : x, iy = splat(1) / y, r = iy * iy;
  const V s = estrin10(HALF_SHIFT, r), ds = estrin10(HALF_SHIFT_D, r);
  d0 = vmath::log_v(scale * (num / (den * (V)_mm256_sqrt_pd((__m256d)y)))) - s * iy;
  d1 = dNum / dDen + (ds * r - splat(0.5) * iy);
}

// gaussian.ts nllRaw: μ = a₀, σ = softplus(a₁).
struct Gaussian {
  static constexpr int P = 2;
  static void pass(Chunk& c, int n) {
    for (int i = 0; i < n; i += 4) {
      const V mu = load(c.a[0] + i), y = load(c.t + i);
      const Softplus s = softplus_v(load(c.a[1] + i));
      const V sigma = s.v, d = y - mu, var = sigma * sigma;
      store(c.g[0] + i, -d / var);
      store(c.g[1] + i, (splat(1) / sigma - (d * d) / (var * sigma)) * s.g);
      store(c.loss + i, (d * d) / (splat(2) * var) + vmath::log_v(sigma) + splat(LOG_SQRT_2PI));
    }
  }
};

// student-t.ts nllRaw: μ = a₀, σ = softplus(a₁), ν = 2 + softplus(a₂).
struct StudentT {
  static constexpr int P = 3;
  static void pass(Chunk& c, int n) {
    for (int i = 0; i < n; i += 4) {
      const V mu = load(c.a[0] + i), y = load(c.t + i);
      const Softplus s1 = softplus_v(load(c.a[1] + i)), s2 = softplus_v(load(c.a[2] + i));
      const V sigma = s1.v, nu = splat(2) + s2.v;
      const V z = (y - mu) / sigma, z2 = z * z, l = vmath::log1p_v(z2 / nu);
      V shift0, shift1;
      lgamma_half_shift_v(splat(0.5) * nu, sigma * (V)_mm256_sqrt_pd((__m256d)nu), shift0, shift1);
      const V w = (nu + splat(1)) / (nu + z2);
      store(c.g[0] + i, -(w * z) / sigma);
      store(c.g[1] + i, ((splat(1) - w * z2) / sigma) * s1.g);
      const V dnu = splat(0.5) * l - (splat(0.5) * w * z2) / nu + splat(0.5) / nu + splat(0.5) * shift1;
      store(c.g[2] + i, dnu * s2.g);
      store(c.loss + i, splat(0.5) * (nu + splat(1)) * l + (shift0 + splat(HALF_LOG_PI)));
    }
  }
};

// negative-binomial.ts: lgamma(k + 1), from a table for k < 1024 (NaN off the whole numbers
// there, as a Float64Array read at a fractional or negative index gives).
struct LogFactorial {
  double table[1024];
  LogFactorial() {
    for (int k = 0; k < 1024; k++) table[k] = special::lgamma(k + 1);
  }
  double operator()(double k) const {
    if (k < 1024) return (k >= 0 && k == std::floor(k)) ? table[(int)k] : NAN;
    return special::lgamma(k + 1);
  }
};
inline const LogFactorial log_factorial;

// Where negative-binomial.ts's rises leave the product of the factors r + j: a count of 16 or
// more, or r past 1e18.
constexpr double SMALL_COUNT = 16, PRODUCT_MAX_R = 1e18;

// negative-binomial.ts rises off the product path — a count of 16 or more, or r past 1e18 — one
// lane at a time: lgamma(r + k) − lgamma(r) − lgamma(k + 1) into d0, ψ(r + k) − ψ(r) into d1.
inline void rises_off_product(double r, double k, double& d0, double& d1) {
  if (k >= SMALL_COUNT) {
    d0 = special::lgamma(r + k) - special::lgamma(r) - log_factorial(k);
    d1 = special::digamma(r + k) - special::digamma(r);
    return;
  }
  double s = 0, q = 0;
  for (double j = 0; j < k; j++) {
    s += std::log(r + j);
    q += 1 / (r + j);
  }
  d0 = s - log_factorial(k);
  d1 = q;
}

// negative-binomial.ts nllRaw: μ = softplus(a₀), α = softplus(a₁), count k; the rises by the
// product P(r) = Π_{j<k} (r + j) and P′ four lanes at a time, the rare lanes off that path one by
// one.
struct NegativeBinomial {
  static constexpr int P = 2;
  static void pass(Chunk& c, int n) {
    for (int i = 0; i < n; i += 4) {
      const V k = load(c.t + i);
      const Softplus s0 = softplus_v(load(c.a[0] + i)), s1 = softplus_v(load(c.a[1] + i));
      const V mu = s0.v, alpha = s1.v;
      const V am = alpha * mu, l1 = vmath::log1p_v(am), r = splat(1) / alpha;
      const int steps = (int)std::min(SMALL_COUNT, std::max(std::max(k[0], k[1]), std::max(k[2], k[3])));
      V p = splat(1), dp = splat(0), f = splat(1);
      for (int j = 0; j < steps; j++) {
        const I m = splat(j) < k;
        const V t = r + splat(j);
        dp = m ? dp * t + p : dp;
        p = m ? p * t : p;
        f = m ? f * splat(j + 1) : f;
      }
      V rise0 = vmath::log_v(p / f), rise1 = dp / p;
      const int off = _mm256_movemask_pd((__m256d)((k >= splat(SMALL_COUNT)) | (r > splat(PRODUCT_MAX_R))));
      for (int q = 0; off != 0 && q < 4; q++) {
        if (off >> q & 1) rises_off_product(r[q], k[q], rise0[q], rise1[q]);
      }
      store(c.g[0] + i, ((mu - k) / (mu * (splat(1) + am))) * s0.g);
      const V dlogp = r * r * l1 - mu / (alpha * (splat(1) + am)) + k / alpha - (k * mu) / (splat(1) + am) - r * r * rise1;
      store(c.g[1] + i, -dlogp * s1.g);
      const V logP = k == splat(0) ? splat(0) : k * (vmath::log_v(am) - l1);
      store(c.loss + i, r * l1 - logP - rise0);
    }
  }
};

}  // namespace heads
}  // namespace rnnk
