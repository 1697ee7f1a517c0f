// The SPEC §10 head losses, headLoss of the `Kernels` interface (src/core/kernels.ts): −log p of
// the gaussian, Student-t and negative binomial likelihoods from the head's raw outputs, or the
// pinball loss of quantile regression, summed over the present target cells, with d(sum)/dy.
//
// Each cell repeats its TypeScript reference (nllRaw in src/core/heads/gaussian.ts,
// student-t.ts, negative-binomial.ts; pinballCell in quantile.ts) operation for operation, in
// double whatever the dtype, rounding to float only where TypeScript stores into a Float32Array;
// the one difference is exp, log and log1p, four cells at a time here (native/vmath.h, about an
// ulp from V8's), which is what makes the likelihoods cheap. Rows are summed in blocks of
// LOSS_BLOCK (src/core/heads/head.ts), a block's cells in order, the blocks' sums added in order,
// as the reference does, so the pool's threads (a block each at a time) give the same sum at any
// number of them.
//
// No FMA contraction of the TypeScript arithmetic: a fused a·b + c rounds once where TypeScript
// rounds twice. (vmath.h's own FMAs are explicit.)
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx2,fma")
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gemm.h"
#include "napi-args.h"
#include "special.h"
#include "vmath.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;
using rnnk::vmath::I;
using rnnk::vmath::splat;
using rnnk::vmath::V;

namespace {

constexpr int64_t LOSS_BLOCK = 64;
// Below this many cells the loop stays on the calling thread: waking the pool costs more.
constexpr int64_t PARALLEL_MIN_CELLS = 2048;
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
  const V z = rnnk::vmath::exp_v(x);
  const I above = x > splat(20);
  return {above ? x : rnnk::vmath::log1p_v(z), above ? splat(1) : z / (z + splat(1))};
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
  using rnnk::special::HALF_SHIFT;
  using rnnk::special::HALF_SHIFT_D;
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
  d0 = rnnk::vmath::log_v(scale * (num / (den * (V)_mm256_sqrt_pd((__m256d)y)))) - s * iy;
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
      store(c.loss + i, (d * d) / (splat(2) * var) + rnnk::vmath::log_v(sigma) + splat(LOG_SQRT_2PI));
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
      const V z = (y - mu) / sigma, z2 = z * z, l = rnnk::vmath::log1p_v(z2 / nu);
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
    for (int k = 0; k < 1024; k++) table[k] = rnnk::special::lgamma(k + 1);
  }
  double operator()(double k) const {
    if (k < 1024) return (k >= 0 && k == std::floor(k)) ? table[(int)k] : NAN;
    return rnnk::special::lgamma(k + 1);
  }
};
const LogFactorial log_factorial;

// Where negative-binomial.ts's rises leave the product of the factors r + j: a count of 16 or
// more, or r past 1e18.
constexpr double SMALL_COUNT = 16, PRODUCT_MAX_R = 1e18;

// negative-binomial.ts nllRaw for one cell off the product path, with the library's exp, log and
// log1p: its loss, and d/da₀, d/da₁ into g0, g1.
double negative_binomial_cell(double a0, double a1, double k, double& g0, double& g1) {
  const double z0 = std::exp(a0), z1 = std::exp(a1);
  const double mu = a0 > 20 ? a0 : std::log1p(z0), alpha = a1 > 20 ? a1 : std::log1p(z1);
  const double sg0 = a0 > 20 ? 1 : z0 / (z0 + 1), sg1 = a1 > 20 ? 1 : z1 / (z1 + 1);
  const double am = alpha * mu, l1 = std::log1p(am), r = 1 / alpha;
  double rise0, rise1;
  if (k >= SMALL_COUNT) {
    rise0 = rnnk::special::lgamma(r + k) - rnnk::special::lgamma(r) - log_factorial(k);
    rise1 = rnnk::special::digamma(r + k) - rnnk::special::digamma(r);
  } else if (r > PRODUCT_MAX_R) {
    double s = 0, q = 0;
    for (double j = 0; j < k; j++) {
      s += std::log(r + j);
      q += 1 / (r + j);
    }
    rise0 = s - log_factorial(k);
    rise1 = q;
  } else {
    double p = 1, dp = 0, f = 1;
    for (double j = 0; j < k; j++) {
      const double t = r + j;
      dp = dp * t + p;
      p *= t;
      f *= j + 1;
    }
    rise0 = std::log(p / f);
    rise1 = dp / p;
  }
  g0 = ((mu - k) / (mu * (1 + am))) * sg0;
  const double dlogp = r * r * l1 - mu / (alpha * (1 + am)) + k / alpha - (k * mu) / (1 + am) - r * r * rise1;
  g1 = -dlogp * sg1;
  const double logP = k == 0 ? 0 : k * (std::log(am) - l1);
  return r * l1 - logP - rise0;
}

// negative-binomial.ts nllRaw: μ = softplus(a₀), α = softplus(a₁), count k; rises by the product
// P(r) = Π_{j<k} (r + j) and P′ four lanes at a time, the rare cells off that path one by one.
struct NegativeBinomial {
  static constexpr int P = 2;
  static void pass(Chunk& c, int n) {
    for (int i = 0; i < n; i += 4) {
      const V k = load(c.t + i);
      const Softplus s0 = softplus_v(load(c.a[0] + i)), s1 = softplus_v(load(c.a[1] + i));
      const V mu = s0.v, alpha = s1.v;
      const V am = alpha * mu, l1 = rnnk::vmath::log1p_v(am), r = splat(1) / alpha;
      const int steps = (int)std::min(SMALL_COUNT, std::max(std::max(k[0], k[1]), std::max(k[2], k[3])));
      V p = splat(1), dp = splat(0), f = splat(1);
      for (int j = 0; j < steps; j++) {
        const I m = splat(j) < k;
        const V t = r + splat(j);
        dp = m ? dp * t + p : dp;
        p = m ? p * t : p;
        f = m ? f * splat(j + 1) : f;
      }
      const V rise0 = rnnk::vmath::log_v(p / f), rise1 = dp / p;
      store(c.g[0] + i, ((mu - k) / (mu * (splat(1) + am))) * s0.g);
      const V dlogp = r * r * l1 - mu / (alpha * (splat(1) + am)) + k / alpha - (k * mu) / (splat(1) + am) - r * r * rise1;
      store(c.g[1] + i, -dlogp * s1.g);
      const V logP = k == splat(0) ? splat(0) : k * (rnnk::vmath::log_v(am) - l1);
      store(c.loss + i, r * l1 - logP - rise0);
      const int off = _mm256_movemask_pd((__m256d)((k >= splat(SMALL_COUNT)) | (r > splat(PRODUCT_MAX_R))));
      if (off == 0) continue;
      for (int q = 0; q < 4; q++) {
        if (off >> q & 1) {
          c.loss[i + q] = negative_binomial_cell(c.a[0][i + q], c.a[1][i + q], c.t[i + q], c.g[0][i + q], c.g[1][i + q]);
        }
      }
    }
  }
};

template <typename F>
struct Job {
  const F* y;        // [rows, P·O]
  const double* v;   // [.., O], target row tOff + r for row r; NaN: absent
  F* dy;             // [rows, P·O] or null
  int64_t O, tOff, r0, r1;
  const double* qs;  // quantile levels (pinball), else null
  const double* qg;  // per level, d(cell)/dŷ when e = 0 (or NaN), e > 0, e < 0 (pinball)
  int Q;
  double* sums;      // per block
  int64_t* counts;   // per block
};

// head.ts cellLossSum's walk over block b, cell by cell: rows [r0 + b·LOSS_BLOCK, …), their cells
// in order; an absent cell's P gradients set to 0, a present one handed to visit(off, t) (off: its
// first parameter in y). Returns the present cells.
template <typename F, typename Visit>
int64_t each_cell(const Job<F>& j, int b, int64_t P, Visit visit) {
  const int64_t b0 = j.r0 + (int64_t)b * LOSS_BLOCK, b1 = std::min(j.r1, b0 + LOSS_BLOCK), O = j.O;
  int64_t count = 0;
  for (int64_t r = b0; r < b1; r++) {
    for (int64_t o = 0; o < O; o++) {
      const double t = j.v[(j.tOff + r) * O + o];
      const int64_t off = r * P * O + o;
      if (std::isnan(t)) {
        if (j.dy) for (int64_t k = 0; k < P; k++) j.dy[off + k * O] = 0;
        continue;
      }
      visit(off, t);
      count++;
    }
  }
  return count;
}

// Block b of a likelihood (head.ts cellLossSum): its present cells copied into chunks a run of a
// row at a time (a row's cells hold each parameter contiguously), each chunk one vector pass, the
// chunk's losses added to the block's sum in cell order and its gradients copied back run by run.
template <typename F, typename H>
void likelihood_block(const Job<F>& j, int b) {
  const int64_t b0 = j.r0 + (int64_t)b * LOSS_BLOCK, b1 = std::min(j.r1, b0 + LOSS_BLOCK), O = j.O, P = H::P;
  Chunk c;
  int n = 0, runs = 0;
  double sum = 0;
  int64_t count = 0;
  const auto flush = [&] {
    const int padded = (n + 3) & ~3;
    for (int i = n; i < padded; i++) {  // harmless values for the unused lanes
      for (int k = 0; k < P; k++) c.a[k][i] = 0;
      c.t[i] = 0;
    }
    H::pass(c, padded);
    for (int i = 0; i < n; i++) sum += c.loss[i];
    if (j.dy) {
      for (int q = 0; q < runs; q++) {
        const Run& run = c.runs[q];
        for (int64_t k = 0; k < P; k++) {
          F* d = j.dy + run.off + k * O;
          const double* g = c.g[k] + run.at;
          for (int i = 0; i < run.len; i++) d[i] = (F)g[i];
        }
      }
    }
    n = runs = 0;
  };
  for (int64_t r = b0; r < b1; r++) {
    const double* t = j.v + (j.tOff + r) * O;
    const int64_t row = r * P * O;
    for (int64_t o = 0; o < O;) {
      if (std::isnan(t[o])) {
        if (j.dy) for (int64_t k = 0; k < P; k++) j.dy[row + k * O + o] = 0;
        o++;
        continue;
      }
      int64_t e = o + 1;
      while (e < O && e - o < CHUNK - n && !std::isnan(t[e])) e++;
      const int len = (int)(e - o);
      for (int64_t k = 0; k < P; k++) {
        const F* y = j.y + row + k * O + o;
        double* a = c.a[k] + n;
        for (int i = 0; i < len; i++) a[i] = y[i];
      }
      for (int i = 0; i < len; i++) c.t[n + i] = t[o + i];
      c.runs[runs++] = {row + o, n, len};
      n += len;
      count += len;
      o = e;
      if (n == CHUNK) flush();
    }
  }
  if (n > 0) flush();
  j.sums[b] = sum;
  j.counts[b] = count;
}

// Block b of a quantile head: quantile.ts pinballCell per cell, without a branch on the sign of
// the error (random signs would mispredict half the time). Math.max of q·e and (q − 1)·e as
// std::max (the two differ only in the sign of a zero, which adding to the cell's sum from +0
// cannot show); the gradient picked from the three that pinballGrad(q, e)/Q can be.
template <typename F>
void pinball_block(const Job<F>& j, int b) {
  const int64_t O = j.O, Q = j.Q;
  double sum = 0;
  j.counts[b] = each_cell(j, b, Q, [&](int64_t off, double t) {
    double cell = 0;
    for (int64_t k = 0; k < Q; k++) {
      const double q = j.qs[k], e = t - (double)j.y[off + k * O];
      cell += std::max((q - 1) * e, q * e);
      if (j.dy) j.dy[off + k * O] = (F)j.qg[3 * k + (e > 0) + 2 * (e < 0)];
    }
    sum += cell / (double)Q;
  });
  j.sums[b] = sum;
}

// Block sums of the call and the pinball's gradients, kept between calls: no allocation per
// window once grown.
thread_local std::vector<double> block_sums, pinball_grads;
thread_local std::vector<int64_t> block_counts;

template <typename F>
void run(void (*block)(const Job<F>&, int), Job<F> j, double* out) {
  const int parts = (int)((j.r1 - j.r0 + LOSS_BLOCK - 1) / LOSS_BLOCK);
  if (block_sums.size() < (size_t)parts) {
    block_sums.resize(parts);
    block_counts.resize(parts);
  }
  j.sums = block_sums.data();
  j.counts = block_counts.data();
  if (parts <= 1 || rnnk::get_threads() <= 1 || (j.r1 - j.r0) * j.O < PARALLEL_MIN_CELLS) {
    for (int b = 0; b < parts; b++) block(j, b);
  } else {
    struct Task {
      void (*block)(const Job<F>&, int);
      const Job<F>* j;
    } task{block, &j};
    rnnk::run_parallel(parts, [](void* p, int b) { const Task& t = *static_cast<Task*>(p); t.block(*t.j, b); }, &task);
  }
  double s = 0;
  int64_t n = 0;
  for (int b = 0; b < parts; b++) {
    s += j.sums[b];
    n += j.counts[b];
  }
  out[0] = s;
  out[1] = (double)n;
}

enum Kind { GAUSSIAN = 0, STUDENT_T = 1, NEGATIVE_BINOMIAL = 2, QUANTILES = 3 };

template <typename F>
void dispatch(int kind, const Job<F>& j, double* out) {
  switch (kind) {
    case GAUSSIAN: run(&likelihood_block<F, Gaussian>, j, out); break;
    case STUDENT_T: run(&likelihood_block<F, StudentT>, j, out); break;
    case NEGATIVE_BINOMIAL: run(&likelihood_block<F, NegativeBinomial>, j, out); break;
    default: run(&pinball_block<F>, j, out); break;
  }
}

bool present(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t != napi_null && t != napi_undefined;
}

}  // namespace

// headLoss(kind, qs | null, y, values, O, tOff, r0, r1, dy | null, out[2]); kind: Kind.
napi_value HeadLoss(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value a[10];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 10) return fail(env, "headLoss: 10 arguments");
  const int kind = i32(env, a[0]);
  const bool hasQs = present(env, a[1]), hasDy = present(env, a[8]);
  Arr qs, y, v, dy, out;
  if (kind < GAUSSIAN || kind > QUANTILES || hasQs != (kind == QUANTILES) || (hasQs && !get_arr(env, a[1], &qs)) ||
      !get_arr(env, a[2], &y) || !get_arr(env, a[3], &v) || (hasDy && !get_arr(env, a[8], &dy)) || !get_arr(env, a[9], &out) ||
      (hasQs && (qs.type != napi_float64_array || qs.length == 0)) || v.type != napi_float64_array ||
      out.type != napi_float64_array || out.length < 2 || (y.type != napi_float32_array && y.type != napi_float64_array) ||
      (hasDy && dy.type != y.type)) {
    return fail(env, "headLoss: arguments");
  }
  const int64_t P = kind == QUANTILES ? (int64_t)qs.length : kind == STUDENT_T ? 3 : 2;
  const int64_t O = i32(env, a[4]), tOff = i32(env, a[5]), r0 = i32(env, a[6]), r1 = i32(env, a[7]);
  if (O <= 0 || tOff < 0 || r0 < 0 || r1 < r0 || (r1 > r0 && ((size_t)(r1 * P * O) > y.length || (size_t)((tOff + r1) * O) > v.length ||
      (hasDy && (size_t)(r1 * P * O) > dy.length)))) {
    return fail(env, "headLoss: out of bounds");
  }
  const double* q = hasQs ? (const double*)qs.data : nullptr;
  if (hasQs) {  // quantile.ts pinballGrad(q, e) / Q for e = 0 (or NaN), e > 0, e < 0
    pinball_grads.resize(3 * P);
    for (int64_t k = 0; k < P; k++) {
      pinball_grads[3 * k] = (0.5 - q[k]) / (double)P;
      pinball_grads[3 * k + 1] = -q[k] / (double)P;
      pinball_grads[3 * k + 2] = (1 - q[k]) / (double)P;
    }
  }
  const double* qg = hasQs ? pinball_grads.data() : nullptr;
  const double* vals = (const double*)v.data;
  if (y.type == napi_float32_array) {
    dispatch(kind, Job<float>{(const float*)y.data, vals, hasDy ? (float*)dy.data : nullptr, O, tOff, r0, r1, q, qg, (int)P, nullptr, nullptr},
             (double*)out.data);
  } else {
    dispatch(kind, Job<double>{(const double*)y.data, vals, hasDy ? (double*)dy.data : nullptr, O, tOff, r0, r1, q, qg, (int)P, nullptr, nullptr},
             (double*)out.data);
  }
  return nullptr;
}

// vmath(fn, x, out): out[i] = exp (fn 0), log (1) or log1p (2) of x[i] by vmath.h, four at a
// time (the tail in a padded vector); for its tests.
napi_value Vmath(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr x, out;
  const int fn = argc == 3 ? i32(env, a[0]) : -1;
  if (fn < 0 || fn > 2 || !get_arr(env, a[1], &x) || !get_arr(env, a[2], &out) || x.type != napi_float64_array ||
      out.type != napi_float64_array || out.length < x.length) {
    return fail(env, "vmath: arguments");
  }
  const double* xs = (const double*)x.data;
  double* ys = (double*)out.data;
  for (size_t i = 0; i < x.length; i += 4) {
    alignas(32) double lane[4] = {0, 0, 0, 0};
    const size_t n = std::min<size_t>(4, x.length - i);
    for (size_t q = 0; q < n; q++) lane[q] = xs[i + q];
    const V v = load(lane);
    store(lane, fn == 0 ? rnnk::vmath::exp_v(v) : fn == 1 ? rnnk::vmath::log_v(v) : rnnk::vmath::log1p_v(v));
    for (size_t q = 0; q < n; q++) ys[i + q] = lane[q];
  }
  return nullptr;
}
