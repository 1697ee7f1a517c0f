// Softmax cross-entropy over rows of logits (torch.nn.CrossEntropyLoss before its mean): the loss
// sum and count, and the gradient d(sum)/dy; softmaxCrossEntropy of the `Kernels` interface
// (src/core/kernels.ts), whose reference loop it repeats, in double whatever the dtype. Rows are
// split across the pool in fixed blocks whose partial sums are added in order, so the sum does
// not depend on the number of threads.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "gemm.h"
#include "napi-args.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;

namespace {

constexpr int BLOCK = 64;  // rows per block (and per task)

template <typename F>
struct Job {
  const F* y;         // [rows, C]
  const int32_t* lab; // [rows], −1: no label
  F* dy;              // [rows, C] or null
  int rows, C;
  double* sums;       // per block
  int* counts;        // per block
};

template <typename F>
void block(const Job<F>& j, int k) {
  const int r0 = k * BLOCK, r1 = std::min(j.rows, r0 + BLOCK), C = j.C;
  double sum = 0;
  int count = 0;
  for (int r = r0; r < r1; r++) {
    const F* y = j.y + (int64_t)r * C;
    F* dy = j.dy ? j.dy + (int64_t)r * C : nullptr;
    const int c = j.lab[r];
    if (c < 0) {
      if (dy) for (int q = 0; q < C; q++) dy[q] = 0;
      continue;
    }
    double m = -INFINITY;
    for (int q = 0; q < C; q++) if ((double)y[q] > m) m = y[q];
    double z = 0;
    for (int q = 0; q < C; q++) z += std::exp((double)y[q] - m);
    const double lse = m + std::log(z);
    sum += lse - (double)y[c];
    count++;
    if (dy) {
      for (int q = 0; q < C; q++) dy[q] = (F)std::exp((double)y[q] - lse);
      dy[c] = (F)((double)dy[c] - 1);
    }
  }
  j.sums[k] = sum;
  j.counts[k] = count;
}

template <typename F>
void run(const F* y, const int32_t* lab, F* dy, int rows, int C, double* out) {
  const int parts = (rows + BLOCK - 1) / BLOCK;
  std::vector<double> sums(parts);
  std::vector<int> counts(parts);
  Job<F> j{y, lab, dy, rows, C, sums.data(), counts.data()};
  if (parts <= 1 || rnnk::get_threads() <= 1 || (int64_t)rows * C < (1 << 14)) {
    for (int k = 0; k < parts; k++) block(j, k);
  } else {
    rnnk::run_parallel(parts, [](void* p, int k) { block(*static_cast<Job<F>*>(p), k); }, &j);
  }
  double s = 0;
  int64_t n = 0;
  for (int k = 0; k < parts; k++) { s += sums[k]; n += counts[k]; }
  out[0] = s;
  out[1] = (double)n;
}

}  // namespace

// softmaxCrossEntropy(y, yOff, labels, labOff, rows, C, dy | null, dyOff, out[2])
napi_value SoftmaxCrossEntropy(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr y, lab, dy, out;
  napi_valuetype t;
  napi_typeof(env, a[6], &t);
  const bool hasDy = t != napi_null && t != napi_undefined;
  if (argc != 9 || !get_arr(env, a[0], &y) || !get_arr(env, a[2], &lab) || !get_arr(env, a[8], &out) ||
      (hasDy && !get_arr(env, a[6], &dy)) || lab.type != napi_int32_array || out.type != napi_float64_array || out.length < 2 ||
      (y.type != napi_float32_array && y.type != napi_float64_array) || (hasDy && dy.type != y.type)) {
    return fail(env, "softmaxCrossEntropy: arguments");
  }
  const int64_t yo = i32(env, a[1]), lo = i32(env, a[3]), rows = i32(env, a[4]), C = i32(env, a[5]), dyo = hasDy ? i32(env, a[7]) : 0;
  if (yo < 0 || lo < 0 || rows < 0 || C <= 0 || dyo < 0 || (size_t)(yo + rows * C) > y.length || (size_t)(lo + rows) > lab.length ||
      (hasDy && (size_t)(dyo + rows * C) > dy.length)) {
    return fail(env, "softmaxCrossEntropy: out of bounds");
  }
  const int32_t* l = (const int32_t*)lab.data + lo;
  for (int64_t r = 0; r < rows; r++) if (l[r] >= C) return fail(env, "softmaxCrossEntropy: a label is outside the classes");
  if (y.type == napi_float32_array) {
    run((const float*)y.data + yo, l, hasDy ? (float*)dy.data + dyo : nullptr, (int)rows, (int)C, (double*)out.data);
  } else {
    run((const double*)y.data + yo, l, hasDy ? (double*)dy.data + dyo : nullptr, (int)rows, (int)C, (double*)out.data);
  }
  return nullptr;
}
