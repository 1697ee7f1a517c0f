// The SPEC §10 head losses, headLoss of the `Kernels` interface (src/core/kernels.ts): −log p of
// the gaussian, Student-t and negative binomial likelihoods from the head's raw outputs
// (native/likelihoods.h, four cells at a time on AVX2, eight on AVX-512: heads512.cc), or the
// pinball loss of quantile regression (pinballCell of src/core/heads/quantile.ts, here), or the
// point model's squared error (heads/point.ts), summed
// over the present target cells, with d(sum)/dy. Each cell repeats its TypeScript reference
// operation for operation, in double whatever the dtype, rounding to float only where TypeScript
// stores into a Float32Array; the one difference is exp, log and log1p (native/vmath.h, about an
// ulp from V8's), which is what makes the likelihoods cheap. Rows are summed in blocks of LOSS_BLOCK (src/core/heads/head.ts), a
// block's cells in order, the blocks' sums added in order, as the reference does, so the pool's
// threads (a block each at a time) give the same sum at any number of them.
//
// No FMA contraction of the TypeScript arithmetic: a fused a·b + c rounds once where TypeScript
// rounds twice. (vmath.h's own FMAs are explicit.)
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx2,fma")
#include <immintrin.h>
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gemm.h"
#include "likelihoods.h"
#include "napi-args.h"
#include "special.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;
using namespace rnnk::heads;

namespace rnnk {
namespace heads {

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
static const LogFactorial log_factorial;

void rises_off_product(double r, double k, double* d) {
  if (k >= SMALL_COUNT) {
    d[0] = special::lgamma(r + k) - special::lgamma(r) - log_factorial(k);
    d[1] = special::digamma(r + k) - special::digamma(r);
    return;
  }
  double s = 0, q = 0;
  for (double j = 0; j < k; j++) {
    s += std::log(r + j);
    q += 1 / (r + j);
  }
  d[0] = s - log_factorial(k);
  d[1] = q;
}

}  // namespace heads
}  // namespace rnnk

namespace {

// AVX2's four doubles (vmath.h's S).
struct Avx2 {
  typedef double V __attribute__((vector_size(32)));
  typedef int64_t I __attribute__((vector_size(32)));
  typedef uint64_t U __attribute__((vector_size(32)));
  static constexpr int L = 4;
  static V fma(V a, V b, V c) { return (V)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c); }
  static V round(V a) { return (V)_mm256_round_pd((__m256d)a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V floor(V a) { return (V)_mm256_floor_pd((__m256d)a); }
  static V min(V a, V b) { return (V)_mm256_min_pd((__m256d)a, (__m256d)b); }
  static V max(V a, V b) { return (V)_mm256_max_pd((__m256d)a, (__m256d)b); }
  static V sqrt(V a) { return (V)_mm256_sqrt_pd((__m256d)a); }
  static int bits(I m) { return _mm256_movemask_pd((__m256d)m); }
};

constexpr int64_t LOSS_BLOCK = 64;
// Below this many cells the loop stays on the calling thread: waking the pool costs more.
constexpr int64_t PARALLEL_MIN_CELLS = 2048;

// One call's arguments, shared by its blocks.
template <typename F>
struct Job {
  const F* y;        // [rows, P·O]
  const double* v;   // [.., O], target row tOff + r for row r; NaN: absent
  F* dy;             // [rows, P·O] or null
  int64_t O, tOff, r0, r1;
  const double* qs;  // quantile levels (pinball), else null
  const double* qg;  // per level, d(cell)/dŷ when e = 0 (or NaN), e > 0, e < 0 (pinball)
  int Q;
  void (*pass)(Chunk& c, int n);  // a likelihood's vector pass, for the ISA in use
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
template <typename F, int P>
void likelihood_block(const Job<F>& j, int b) {
  const int64_t b0 = j.r0 + (int64_t)b * LOSS_BLOCK, b1 = std::min(j.r1, b0 + LOSS_BLOCK), O = j.O;
  Chunk c;
  int n = 0, runs = 0;
  double sum = 0;
  int64_t count = 0;
  const auto flush = [&] {
    const int padded = (n + 7) & ~7;  // whole vectors of either ISA
    for (int i = n; i < padded; i++) {  // harmless values for the unused lanes
      for (int k = 0; k < P; k++) c.a[k][i] = 0;
      c.t[i] = 0;
    }
    j.pass(c, padded);
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

// Block b of the point model (loss-reference.ts "mse"): d = y − t, d² added in cell order, dy = 2d.
template <typename F>
void mse_block(const Job<F>& j, int b) {
  double sum = 0;
  j.counts[b] = each_cell(j, b, 1, [&](int64_t off, double t) {
    const double d = (double)j.y[off] - t;
    if (j.dy) j.dy[off] = (F)(2 * d);
    sum += d * d;
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

enum Kind { GAUSSIAN = 0, STUDENT_T = 1, NEGATIVE_BINOMIAL = 2, QUANTILES = 3, MSE = 4 };

// The likelihoods' passes on AVX-512 where the GEMM uses it (the CPU has it, RNN_GEMM_ISA does not
// say avx2): the same bits, twice the cells an instruction.
template <typename F>
void dispatch(int kind, Job<F> j, double* out) {
  const bool wide = rnnk::gemm_isa_avx512();
  switch (kind) {
    case GAUSSIAN:
      j.pass = wide ? &gaussian512 : &Gaussian<Avx2>::pass;
      run(&likelihood_block<F, Gaussian<Avx2>::P>, j, out);
      break;
    case STUDENT_T:
      j.pass = wide ? &student_t512 : &StudentT<Avx2>::pass;
      run(&likelihood_block<F, StudentT<Avx2>::P>, j, out);
      break;
    case NEGATIVE_BINOMIAL:
      j.pass = wide ? &negative_binomial512 : &NegativeBinomial<Avx2>::pass;
      run(&likelihood_block<F, NegativeBinomial<Avx2>::P>, j, out);
      break;
    case MSE: run(&mse_block<F>, j, out); break;
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
  if (kind < GAUSSIAN || kind > MSE || hasQs != (kind == QUANTILES) || (hasQs && !get_arr(env, a[1], &qs)) ||
      !get_arr(env, a[2], &y) || !get_arr(env, a[3], &v) || (hasDy && !get_arr(env, a[8], &dy)) || !get_arr(env, a[9], &out) ||
      (hasQs && (qs.type != napi_float64_array || qs.length == 0)) || v.type != napi_float64_array ||
      out.type != napi_float64_array || out.length < 2 || (y.type != napi_float32_array && y.type != napi_float64_array) ||
      (hasDy && dy.type != y.type)) {
    return fail(env, "headLoss: arguments");
  }
  const int64_t P = kind == QUANTILES ? (int64_t)qs.length : kind == STUDENT_T ? 3 : kind == MSE ? 1 : 2;
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
    dispatch(kind, Job<float>{(const float*)y.data, vals, hasDy ? (float*)dy.data : nullptr, O, tOff, r0, r1, q, qg, (int)P, nullptr, nullptr, nullptr},
             (double*)out.data);
  } else {
    dispatch(kind, Job<double>{(const double*)y.data, vals, hasDy ? (double*)dy.data : nullptr, O, tOff, r0, r1, q, qg, (int)P, nullptr, nullptr, nullptr},
             (double*)out.data);
  }
  return nullptr;
}

// vmath(fn, x, out): out[i] = exp (fn 0), log (1) or log1p (2) of x[i] by vmath.h for the ISA in
// use, a vector at a time (the tail in a padded one); for its tests.
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
  if (rnnk::gemm_isa_avx512()) vmath512(fn, (const double*)x.data, (double*)out.data, x.length);
  else vmath_lanes<Avx2>(fn, (const double*)x.data, (double*)out.data, x.length);
  return nullptr;
}
