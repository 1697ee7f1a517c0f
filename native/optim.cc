// The flat-buffer loops of a training update that are not products: plain SGD's step
// (src/core/optim.ts, p ← p − lr·g) and the trainer's check that a buffer is all finite
// (src/train/trainer.ts), sgdStep / allFinite of the `Kernels` interface. Elementwise, so split
// over the pool in any way with the same results; SGD repeats TypeScript's arithmetic exactly
// (in double, the product and the difference each rounded once, stored as the dtype).
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx2,fma")
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gemm.h"
#include "napi-args.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;

namespace {

// Below this many elements the loop stays on the calling thread.
constexpr int64_t PARALLEL_MIN = 1 << 16;
constexpr int64_t PART = 1 << 14;  // elements a part (a multiple of every vector width)

template <typename F>
struct Step { F* p; const F* g; double lr; int64_t n; };

template <typename F>
void sgd_part(void* ctx, int k) {
  const Step<F>& s = *static_cast<Step<F>*>(ctx);
  const int64_t i0 = k * PART, i1 = std::min(s.n, i0 + PART);
  F* __restrict p = s.p;
  const F* __restrict g = s.g;
  const double lr = s.lr;
  for (int64_t i = i0; i < i1; i++) p[i] = (F)((double)p[i] - lr * (double)g[i]);
}

template <typename F>
struct Check { const F* a; int64_t n; int* bad; };

template <typename F>
void finite_part(void* ctx, int k) {
  const Check<F>& c = *static_cast<Check<F>*>(ctx);
  const int64_t i0 = k * PART, i1 = std::min(c.n, i0 + PART);
  // x·0 is 0 for every finite x and NaN for ±Inf and NaN: the sum stays 0 exactly when all are finite.
  F s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = i0;
  for (; i + 4 <= i1; i += 4) { s0 += c.a[i] * 0; s1 += c.a[i + 1] * 0; s2 += c.a[i + 2] * 0; s3 += c.a[i + 3] * 0; }
  for (; i < i1; i++) s0 += c.a[i] * 0;
  if (!(s0 + s1 + s2 + s3 == 0)) c.bad[k] = 1;
}

void over(int64_t n, void (*fn)(void*, int), void* ctx) {
  const int parts = (int)((n + PART - 1) / PART);
  if (parts <= 1 || n < PARALLEL_MIN || rnnk::get_threads() <= 1) {
    for (int k = 0; k < parts; k++) fn(ctx, k);
  } else {
    rnnk::run_parallel(parts, fn, ctx);
  }
}

}  // namespace

// sgdStep(p, g, lr): p[i] -= lr·g[i] over all of p (g at least as long, the same dtype).
napi_value SgdStep(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr p, g;
  double lr = 0;
  if (argc != 3 || !get_arr(env, a[0], &p) || !get_arr(env, a[1], &g) || napi_get_value_double(env, a[2], &lr) != napi_ok ||
      p.type != g.type || (p.type != napi_float32_array && p.type != napi_float64_array) || g.length < p.length) {
    return fail(env, "sgdStep: arguments");
  }
  if (p.type == napi_float32_array) {
    Step<float> s{(float*)p.data, (const float*)g.data, lr, (int64_t)p.length};
    over(s.n, &sgd_part<float>, &s);
  } else {
    Step<double> s{(double*)p.data, (const double*)g.data, lr, (int64_t)p.length};
    over(s.n, &sgd_part<double>, &s);
  }
  return nullptr;
}

// allFinite(a): true when no element of a is ±Inf or NaN.
napi_value AllFinite(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr x;
  if (argc != 1 || !get_arr(env, a[0], &x) || (x.type != napi_float32_array && x.type != napi_float64_array)) {
    return fail(env, "allFinite: arguments");
  }
  const int64_t n = (int64_t)x.length, parts = (n + PART - 1) / PART;
  thread_local std::vector<int> bad;
  bad.assign((size_t)std::max<int64_t>(parts, 1), 0);
  if (x.type == napi_float32_array) {
    Check<float> c{(const float*)x.data, n, bad.data()};
    over(n, &finite_part<float>, &c);
  } else {
    Check<double> c{(const double*)x.data, n, bad.data()};
    over(n, &finite_part<double>, &c);
  }
  const bool ok = std::none_of(bad.begin(), bad.end(), [](int b) { return b != 0; });
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}
