// The SPEC §10 head losses, headLoss of the `Kernels` interface (src/core/kernels.ts): −log p of
// the gaussian, Student-t and negative binomial likelihoods from the head's raw outputs
// (native/likelihoods.h, four cells at a time), or the pinball loss of quantile regression
// (pinballCell of src/core/heads/quantile.ts, here), summed over the present target cells, with
// d(sum)/dy. Each cell repeats its TypeScript reference operation for operation, in double
// whatever the dtype, rounding to float only where TypeScript stores into a Float32Array; the one
// difference is exp, log and log1p (native/vmath.h, about an ulp from V8's), which is what makes
// the likelihoods cheap. Rows are summed in blocks of LOSS_BLOCK (src/core/heads/head.ts), a
// block's cells in order, the blocks' sums added in order, as the reference does, so the pool's
// threads (a block each at a time) give the same sum at any number of them.
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
#include "likelihoods.h"
#include "napi-args.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;
using namespace rnnk::heads;

namespace {

constexpr int64_t LOSS_BLOCK = 64;
// Below this many cells the loop stays on the calling thread: waking the pool costs more.
constexpr int64_t PARALLEL_MIN_CELLS = 2048;
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
