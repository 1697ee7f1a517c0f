// N-API binding of the kernels: the JavaScript side passes typed arrays and element offsets,
// exactly the `Kernels` interface of src/core/kernels.ts.
#include <node_api.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>

#include "gates.h"
#include "gemm.h"
#include "napi-args.h"
#include "steps.h"

// native/format.cc
napi_value FormatRows(napi_env env, napi_callback_info info);
// native/csv.cc
napi_value ScanRows(napi_env env, napi_callback_info info);
// native/embedding.cc
napi_value GatherRows(napi_env env, napi_callback_info info);
napi_value ScatterAddRows(napi_env env, napi_callback_info info);
// native/loss.cc
napi_value SoftmaxCrossEntropy(napi_env env, napi_callback_info info);
// native/cpu-napi.cc
napi_value CpuTuning(napi_env env, napi_callback_info info);
// native/heads.cc
napi_value HeadLoss(napi_env env, napi_callback_info info);
napi_value SgdStep(napi_env env, napi_callback_info info);
napi_value AllFinite(napi_env env, napi_callback_info info);
napi_value Vmath(napi_env env, napi_callback_info info);

namespace {

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;

// gemm(transA, transB, M, N, K, out, outOff, a, aOff, b, bOff, acc)
napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 12) return fail(env, "gemm: 12 arguments");
  const bool ta = i32(env, a[0]) != 0, tb = i32(env, a[1]) != 0;
  const int M = i32(env, a[2]), N = i32(env, a[3]), K = i32(env, a[4]);
  Arr o, x, y;
  if (!get_arr(env, a[5], &o) || !get_arr(env, a[7], &x) || !get_arr(env, a[9], &y)) return fail(env, "gemm: typed arrays");
  const int64_t oo = i32(env, a[6]), xo = i32(env, a[8]), yo = i32(env, a[10]);
  const bool acc = i32(env, a[11]) != 0;
  if (M < 0 || N < 0 || K < 0 || oo < 0 || xo < 0 || yo < 0) return fail(env, "gemm: negative size");
  if (o.type != x.type || o.type != y.type) return fail(env, "gemm: mixed dtypes");
  if ((size_t)(oo + (int64_t)M * N) > o.length || (size_t)(xo + (int64_t)M * K) > x.length || (size_t)(yo + (int64_t)K * N) > y.length) {
    return fail(env, "gemm: out of bounds");
  }
  if (o.type == napi_float32_array) {
    rnnk::gemm<float>(ta, tb, M, N, K, (const float*)x.data + xo, (const float*)y.data + yo, (float*)o.data + oo, acc);
  } else if (o.type == napi_float64_array) {
    rnnk::gemm<double>(ta, tb, M, N, K, (const double*)x.data + xo, (const double*)y.data + yo, (double*)o.data + oo, acc);
  } else {
    return fail(env, "gemm: Float32Array or Float64Array");
  }
  return nullptr;
}

// activate(act, buf, off, n)
napi_value Activate(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  const int act = i32(env, a[0]);
  Arr b;
  if (argc != 4 || !get_arr(env, a[1], &b)) return fail(env, "activate: arguments");
  const int64_t off = i32(env, a[2]), n = i32(env, a[3]);
  if (off < 0 || n < 0 || (size_t)(off + n) > b.length) return fail(env, "activate: out of bounds");
  if (b.type == napi_float32_array) rnnk::activate<float>(act, (float*)b.data + off, n);
  else rnnk::activate<double>(act, (double*)b.data + off, n);
  return nullptr;
}

// activateBackward(act, dpre, dpreOff, dh, dhOff, dnext, s, sOff, n)
napi_value ActivateBackward(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr dp, dh, dn, s;
  if (argc != 9 || !get_arr(env, a[1], &dp) || !get_arr(env, a[3], &dh) || !get_arr(env, a[5], &dn) || !get_arr(env, a[6], &s)) {
    return fail(env, "activateBackward: arguments");
  }
  const int act = i32(env, a[0]);
  const int64_t dpo = i32(env, a[2]), dho = i32(env, a[4]), so = i32(env, a[7]), n = i32(env, a[8]);
  if (dpo < 0 || dho < 0 || so < 0 || n < 0 || (size_t)(dpo + n) > dp.length || (size_t)(dho + n) > dh.length
      || (size_t)n > dn.length || (size_t)(so + n) > s.length) {
    return fail(env, "activateBackward: out of bounds");
  }
  if (dp.type == napi_float32_array) {
    rnnk::activate_backward<float>(act, (float*)dp.data + dpo, (const float*)dh.data + dho, (const float*)dn.data, (const float*)s.data + so, n);
  } else {
    rnnk::activate_backward<double>(act, (double*)dp.data + dpo, (const double*)dh.data + dho, (const double*)dn.data, (const double*)s.data + so, n);
  }
  return nullptr;
}

struct PackedHandle {
  rnnk::Packed<float> f;
  rnnk::Packed<double> d;
  bool is_f32 = true;
};

napi_value CreatePacked(napi_env env, napi_callback_info) {
  auto* p = new PackedHandle();
  napi_value r;
  napi_create_external(env, p, [](napi_env, void* data, void*) { delete static_cast<PackedHandle*>(data); }, nullptr, &r);
  return r;
}

PackedHandle* get_packed(napi_env env, napi_value v) {
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok) return nullptr;
  return static_cast<PackedHandle*>(data);
}

// pack(handle, b, bOff, K, N, trans)
napi_value Pack(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  PackedHandle* p = argc == 6 ? get_packed(env, a[0]) : nullptr;
  Arr b;
  if (!p || !get_arr(env, a[1], &b)) return fail(env, "pack: arguments");
  const int64_t off = i32(env, a[2]), K = i32(env, a[3]), N = i32(env, a[4]);
  const bool trans = i32(env, a[5]) != 0;
  if (off < 0 || K < 0 || N < 0 || (size_t)(off + K * N) > b.length) return fail(env, "pack: out of bounds");
  p->is_f32 = b.type == napi_float32_array;
  if (p->is_f32) rnnk::pack<float>(p->f, trans, (const float*)b.data + off, (int)K, (int)N);
  else rnnk::pack<double>(p->d, trans, (const double*)b.data + off, (int)K, (int)N);
  return nullptr;
}

// gemmPacked(out, outOff, a, aOff, handle, M, acc)
napi_value GemmPacked(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value a[7];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr o, x;
  PackedHandle* p = argc == 7 ? get_packed(env, a[4]) : nullptr;
  if (!p || !get_arr(env, a[0], &o) || !get_arr(env, a[2], &x)) return fail(env, "gemmPacked: arguments");
  const int64_t oo = i32(env, a[1]), xo = i32(env, a[3]), M = i32(env, a[5]);
  const bool acc = i32(env, a[6]) != 0;
  const bool f32 = o.type == napi_float32_array;
  if (o.type != x.type || f32 != p->is_f32) return fail(env, "gemmPacked: mixed dtypes");
  const int64_t K = f32 ? p->f.K : p->d.K, N = f32 ? p->f.N : p->d.N;
  if (oo < 0 || xo < 0 || M < 0 || (size_t)(oo + M * N) > o.length || (size_t)(xo + M * K) > x.length) return fail(env, "gemmPacked: out of bounds");
  if (f32) rnnk::gemm_packed<float>((int)M, (const float*)x.data + xo, p->f, (float*)o.data + oo, acc);
  else rnnk::gemm_packed<double>((int)M, (const double*)x.data + xo, p->d, (double*)o.data + oo, acc);
  return nullptr;
}

// addRows(out, outOff, v, rows, N) / sumRows(out, a, aOff, rows, N)
napi_value AddRows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr o, v;
  if (argc != 5 || !get_arr(env, a[0], &o) || !get_arr(env, a[2], &v) || o.type != v.type) return fail(env, "addRows: arguments");
  const int64_t off = i32(env, a[1]), rows = i32(env, a[3]), n = i32(env, a[4]);
  if (off < 0 || rows < 0 || n < 0 || (size_t)(off + rows * n) > o.length || (size_t)n > v.length) return fail(env, "addRows: out of bounds");
  if (o.type == napi_float32_array) rnnk::add_rows<float>((float*)o.data + off, (const float*)v.data, rows, n);
  else rnnk::add_rows<double>((double*)o.data + off, (const double*)v.data, rows, n);
  return nullptr;
}

napi_value SumRows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr o, x;
  if (argc != 5 || !get_arr(env, a[0], &o) || !get_arr(env, a[1], &x) || o.type != x.type) return fail(env, "sumRows: arguments");
  const int64_t off = i32(env, a[2]), rows = i32(env, a[3]), n = i32(env, a[4]);
  if (off < 0 || rows < 0 || n < 0 || (size_t)(off + rows * n) > x.length || (size_t)n > o.length) return fail(env, "sumRows: out of bounds");
  if (o.type == napi_float32_array) rnnk::sum_rows<float>((float*)o.data, (const float*)x.data + off, rows, n);
  else rnnk::sum_rows<double>((double*)o.data, (const double*)x.data + off, rows, n);
  return nullptr;
}

// mulMask(out, outOff, a, aOff, m, mOff, n, acc)
napi_value MulMask(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr o, x, m;
  if (argc != 8 || !get_arr(env, a[0], &o) || !get_arr(env, a[2], &x) || !get_arr(env, a[4], &m) || o.type != x.type || o.type != m.type) {
    return fail(env, "mulMask: arguments");
  }
  const int64_t oo = i32(env, a[1]), xo = i32(env, a[3]), mo = i32(env, a[5]), n = i32(env, a[6]);
  const bool acc = i32(env, a[7]) != 0;
  if (oo < 0 || xo < 0 || mo < 0 || n < 0 || (size_t)(oo + n) > o.length || (size_t)(xo + n) > x.length || (size_t)(mo + n) > m.length) {
    return fail(env, "mulMask: out of bounds");
  }
  if (o.type == napi_float32_array) rnnk::mul_mask<float>((float*)o.data + oo, (const float*)x.data + xo, (const float*)m.data + mo, n, acc);
  else rnnk::mul_mask<double>((double*)o.data + oo, (const double*)x.data + xo, (const double*)m.data + mo, n, acc);
  return nullptr;
}

// ---- fused gate kernels (gates.cc) -------------------------------------------------------

// An array argument and the element range [off, off + n) a kernel will touch in it.
struct Span {
  const Arr* a;
  int64_t off, n;
};

// True when every range is non-negative and inside its array, and all arrays share one dtype.
bool spans_ok(std::initializer_list<Span> spans) {
  const napi_typedarray_type t = spans.begin()->a->type;
  if (t != napi_float32_array && t != napi_float64_array) return false;
  for (const Span& s : spans) {
    if (s.a->type != t || s.off < 0 || s.n < 0 || (size_t)(s.off + s.n) > s.a->length) return false;
  }
  return true;
}

template <typename T>
T* at(const Arr& a, int64_t off) { return static_cast<T*>(a.data) + off; }

// Runs f(T{}) with T the array's element type (float or double); returns what f returns.
template <typename F>
bool with_dtype(const Arr& a, F&& f) {
  return a.type == napi_float32_array ? f(float{}) : f(double{});
}

// An optional array argument: null (or undefined) leaves *out empty and *has false.
bool get_opt_arr(napi_env env, napi_value v, Arr* out, bool* has) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  *has = t != napi_null && t != napi_undefined;
  return !*has || get_arr(env, v, out);
}

// lstmForward(g, gOff, cs, cPrevOff, cOff, tanhC, tcOff, hs, hOff, B, H): g [B,4H] at gOff;
// c_{t-1}, c_t in cs; tanh(c_t) in tanhC; h_t in hs — each [B,H] at its offset.
napi_value LstmForward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value a[11];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr g, cs, tc, hs;
  if (argc != 11 || !get_arr(env, a[0], &g) || !get_arr(env, a[2], &cs) || !get_arr(env, a[5], &tc) || !get_arr(env, a[7], &hs)) {
    return fail(env, "lstmForward: arguments");
  }
  const int64_t go = i32(env, a[1]), cpo = i32(env, a[3]), co = i32(env, a[4]), tco = i32(env, a[6]), ho = i32(env, a[8]);
  const int B = i32(env, a[9]), H = i32(env, a[10]);
  const int64_t BH = (int64_t)B * H;
  if (B < 0 || H < 0 || !spans_ok({{&g, go, 4 * BH}, {&cs, cpo, BH}, {&cs, co, BH}, {&tc, tco, BH}, {&hs, ho, BH}})) {
    return fail(env, "lstmForward: out of bounds or mixed dtypes");
  }
  with_dtype(g, [&](auto tag) {
    using T = decltype(tag);
    rnnk::lstm_forward<T>(at<T>(g, go), at<T>(cs, cpo), at<T>(cs, co), at<T>(tc, tco), at<T>(hs, ho), B, H);
    return true;
  });
  return nullptr;
}

// lstmBackward(dG, g, gOff, cs, cPrevOff, tanhC, dh, gradOut | null, tOff, dhNext, dcNext, B, H):
// dG, g [B,4H] at gOff; c_{t-1} in cs at cPrevOff; tanhC, dh, gradOut [B,H] at tOff;
// dhNext, dcNext [B,H] at 0.
napi_value LstmBackward(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr dg, g, cs, tc, dh, gout, dhn, dcn;
  bool has_gout = false;
  if (argc != 13 || !get_arr(env, a[0], &dg) || !get_arr(env, a[1], &g) || !get_arr(env, a[3], &cs) || !get_arr(env, a[5], &tc)
      || !get_arr(env, a[6], &dh) || !get_opt_arr(env, a[7], &gout, &has_gout) || !get_arr(env, a[9], &dhn) || !get_arr(env, a[10], &dcn)) {
    return fail(env, "lstmBackward: arguments");
  }
  const int64_t go = i32(env, a[2]), cpo = i32(env, a[4]), to = i32(env, a[8]);
  const int B = i32(env, a[11]), H = i32(env, a[12]);
  const int64_t BH = (int64_t)B * H;
  if (B < 0 || H < 0 || !spans_ok({{&dg, go, 4 * BH}, {&g, go, 4 * BH}, {&cs, cpo, BH}, {&tc, to, BH}, {&dh, to, BH},
                                   {&dhn, 0, BH}, {&dcn, 0, BH}, {has_gout ? &gout : &dg, has_gout ? to : go, BH}})) {
    return fail(env, "lstmBackward: out of bounds or mixed dtypes");
  }
  with_dtype(dg, [&](auto tag) {
    using T = decltype(tag);
    rnnk::lstm_backward<T>(at<T>(dg, go), at<T>(g, go), at<T>(cs, cpo), at<T>(tc, to), at<T>(dh, to),
                           has_gout ? at<T>(gout, to) : nullptr, at<T>(dhn, 0), at<T>(dcn, 0), B, H);
    return true;
  });
  return nullptr;
}

// gruForward(gi, gh, gOff, hs, hPrevOff, hOff, B, H): gi, gh [B,3H] at gOff; h_{t-1}, h_t in hs.
napi_value GruForward(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value a[8];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr gi, gh, hs;
  if (argc != 8 || !get_arr(env, a[0], &gi) || !get_arr(env, a[1], &gh) || !get_arr(env, a[3], &hs)) return fail(env, "gruForward: arguments");
  const int64_t go = i32(env, a[2]), hpo = i32(env, a[4]), ho = i32(env, a[5]);
  const int B = i32(env, a[6]), H = i32(env, a[7]);
  const int64_t BH = (int64_t)B * H;
  if (B < 0 || H < 0 || !spans_ok({{&gi, go, 3 * BH}, {&gh, go, 3 * BH}, {&hs, hpo, BH}, {&hs, ho, BH}})) {
    return fail(env, "gruForward: out of bounds or mixed dtypes");
  }
  with_dtype(gi, [&](auto tag) {
    using T = decltype(tag);
    rnnk::gru_forward<T>(at<T>(gi, go), at<T>(gh, go), at<T>(hs, hpo), at<T>(hs, ho), B, H);
    return true;
  });
  return nullptr;
}

// gruBackward(dGI, dGH, gi, gh, gOff, hs, hPrevOff, dh, gradOut | null, tOff, dhNext, B, H):
// dGI, dGH, gi, gh [B,3H] at gOff; h_{t-1} in hs at hPrevOff; dh, gradOut [B,H] at tOff; dhNext [B,H] at 0.
napi_value GruBackward(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr dgi, dgh, gi, gh, hs, dh, gout, dhn;
  bool has_gout = false;
  if (argc != 13 || !get_arr(env, a[0], &dgi) || !get_arr(env, a[1], &dgh) || !get_arr(env, a[2], &gi) || !get_arr(env, a[3], &gh)
      || !get_arr(env, a[5], &hs) || !get_arr(env, a[7], &dh) || !get_opt_arr(env, a[8], &gout, &has_gout) || !get_arr(env, a[10], &dhn)) {
    return fail(env, "gruBackward: arguments");
  }
  const int64_t go = i32(env, a[4]), hpo = i32(env, a[6]), to = i32(env, a[9]);
  const int B = i32(env, a[11]), H = i32(env, a[12]);
  const int64_t BH = (int64_t)B * H;
  if (B < 0 || H < 0 || !spans_ok({{&dgi, go, 3 * BH}, {&dgh, go, 3 * BH}, {&gi, go, 3 * BH}, {&gh, go, 3 * BH}, {&hs, hpo, BH},
                                   {&dh, to, BH}, {&dhn, 0, BH}, {has_gout ? &gout : &dh, to, BH}})) {
    return fail(env, "gruBackward: out of bounds or mixed dtypes");
  }
  with_dtype(dgi, [&](auto tag) {
    using T = decltype(tag);
    rnnk::gru_backward<T>(at<T>(dgi, go), at<T>(dgh, go), at<T>(gi, go), at<T>(gh, go), at<T>(hs, hpo),
                          at<T>(dh, to), has_gout ? at<T>(gout, to) : nullptr, at<T>(dhn, 0), B, H);
    return true;
  });
  return nullptr;
}

// ---- a layer's recurrence over a window (steps.cc) -----------------------------------------

// The packed W_hhᵀ of a handle, checked against the buffers' dtype and the product's shape.
template <typename T>
const rnnk::Packed<T>* packed_as(PackedHandle* p, int K, int N);
template <>
const rnnk::Packed<float>* packed_as<float>(PackedHandle* p, int K, int N) {
  return p && p->is_f32 && p->f.K == K && p->f.N == N ? &p->f : nullptr;
}
template <>
const rnnk::Packed<double>* packed_as<double>(PackedHandle* p, int K, int N) {
  return p && !p->is_f32 && p->d.K == K && p->d.N == N ? &p->d : nullptr;
}

// The optional recurrent-dropout pair (mask [B,H], R [T,B,H]): both given or both null.
bool get_mask(napi_env env, napi_value vm, napi_value vr, Arr* m, Arr* r, bool* has) {
  bool hm = false, hr = false;
  if (!get_opt_arr(env, vm, m, &hm) || !get_opt_arr(env, vr, r, &hr) || hm != hr) return false;
  *has = hm;
  return true;
}

// Runs f(tag, pk) with the handle's W_hh, packed as op [K, N], in the dtype of `a`; fails,
// naming the call, when the handle holds another shape or dtype.
template <typename F>
napi_value with_packed(napi_env env, const Arr& a, PackedHandle* p, int K, int N, const char* call, F&& f) {
  const bool ran = with_dtype(a, [&](auto tag) {
    const auto* pk = packed_as<decltype(tag)>(p, K, N);
    if (pk) f(tag, *pk);
    return pk != nullptr;
  });
  if (ran) return nullptr;
  const std::string msg = std::string(call) + ": packed W_hh does not match";
  return fail(env, msg.c_str());
}

// elmanSteps(act, S, packed, bIh | null, bHh | null, T, B, H, mask | null, R | null)
napi_value ElmanSteps(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value a[10];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr S, bih, bhh, m, R;
  bool has_bi = false, has_bh = false, has_m = false;
  PackedHandle* p = argc == 10 ? get_packed(env, a[2]) : nullptr;
  if (!p || !get_arr(env, a[1], &S) || !get_opt_arr(env, a[3], &bih, &has_bi) || !get_opt_arr(env, a[4], &bhh, &has_bh)
      || !get_mask(env, a[8], a[9], &m, &R, &has_m)) {
    return fail(env, "elmanSteps: arguments");
  }
  const int act = i32(env, a[0]), steps = i32(env, a[5]), B = i32(env, a[6]), H = i32(env, a[7]);
  const int64_t BH = (int64_t)B * H;
  if (steps < 0 || B < 0 || H < 0 || !spans_ok({{&S, 0, (steps + 1) * BH}, {has_bi ? &bih : &S, 0, has_bi ? H : 0}, {has_bh ? &bhh : &S, 0, has_bh ? H : 0},
                                            {has_m ? &m : &S, 0, has_m ? BH : 0}, {has_m ? &R : &S, 0, has_m ? steps * BH : 0}})) {
    return fail(env, "elmanSteps: out of bounds or mixed dtypes");
  }
  return with_packed(env, S, p, H, H, "elmanSteps", [&](auto tag, const auto& pk) {
    using T = decltype(tag);
    rnnk::elman_steps<T>(act, at<T>(S, 0), pk, has_bi ? at<T>(bih, 0) : nullptr, has_bh ? at<T>(bhh, 0) : nullptr, steps, B, H,
                         has_m ? at<T>(m, 0) : nullptr, has_m ? at<T>(R, 0) : nullptr);
  });
}

// lstmSteps(G, Hs, Cs, tanhC, packed, bIh | null, bHh | null, T, B, H, mask | null, R | null)
napi_value LstmSteps(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value a[12];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr G, Hs, Cs, tc, bih, bhh, m, R;
  bool has_bi = false, has_bh = false, has_m = false;
  PackedHandle* p = argc == 12 ? get_packed(env, a[4]) : nullptr;
  if (!p || !get_arr(env, a[0], &G) || !get_arr(env, a[1], &Hs) || !get_arr(env, a[2], &Cs) || !get_arr(env, a[3], &tc)
      || !get_opt_arr(env, a[5], &bih, &has_bi) || !get_opt_arr(env, a[6], &bhh, &has_bh) || !get_mask(env, a[10], a[11], &m, &R, &has_m)) {
    return fail(env, "lstmSteps: arguments");
  }
  const int steps = i32(env, a[7]), B = i32(env, a[8]), H = i32(env, a[9]);
  const int64_t BH = (int64_t)B * H;
  if (steps < 0 || B < 0 || H < 0 || !spans_ok({{&G, 0, 4 * steps * BH}, {&Hs, 0, (steps + 1) * BH}, {&Cs, 0, (steps + 1) * BH}, {&tc, 0, steps * BH},
                                            {has_bi ? &bih : &G, 0, has_bi ? 4 * (int64_t)H : 0}, {has_bh ? &bhh : &G, 0, has_bh ? 4 * (int64_t)H : 0},
                                            {has_m ? &m : &G, 0, has_m ? BH : 0}, {has_m ? &R : &G, 0, has_m ? steps * BH : 0}})) {
    return fail(env, "lstmSteps: out of bounds or mixed dtypes");
  }
  return with_packed(env, G, p, H, 4 * H, "lstmSteps", [&](auto tag, const auto& pk) {
    using T = decltype(tag);
    rnnk::lstm_steps<T>(at<T>(G, 0), at<T>(Hs, 0), at<T>(Cs, 0), at<T>(tc, 0), pk, has_bi ? at<T>(bih, 0) : nullptr,
                        has_bh ? at<T>(bhh, 0) : nullptr, steps, B, H, has_m ? at<T>(m, 0) : nullptr, has_m ? at<T>(R, 0) : nullptr);
  });
}

// gruSteps(GI, GH, Hs, packed, bIh | null, bHh | null, T, B, H, mask | null, R | null)
napi_value GruSteps(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value a[11];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr GI, GH, Hs, bih, bhh, m, R;
  bool has_bi = false, has_bh = false, has_m = false;
  PackedHandle* p = argc == 11 ? get_packed(env, a[3]) : nullptr;
  if (!p || !get_arr(env, a[0], &GI) || !get_arr(env, a[1], &GH) || !get_arr(env, a[2], &Hs) || !get_opt_arr(env, a[4], &bih, &has_bi)
      || !get_opt_arr(env, a[5], &bhh, &has_bh) || !get_mask(env, a[9], a[10], &m, &R, &has_m)) {
    return fail(env, "gruSteps: arguments");
  }
  const int steps = i32(env, a[6]), B = i32(env, a[7]), H = i32(env, a[8]);
  const int64_t BH = (int64_t)B * H;
  if (steps < 0 || B < 0 || H < 0 || !spans_ok({{&GI, 0, 3 * steps * BH}, {&GH, 0, 3 * steps * BH}, {&Hs, 0, (steps + 1) * BH},
                                            {has_bi ? &bih : &GI, 0, has_bi ? 3 * (int64_t)H : 0}, {has_bh ? &bhh : &GI, 0, has_bh ? 3 * (int64_t)H : 0},
                                            {has_m ? &m : &GI, 0, has_m ? BH : 0}, {has_m ? &R : &GI, 0, has_m ? steps * BH : 0}})) {
    return fail(env, "gruSteps: out of bounds or mixed dtypes");
  }
  return with_packed(env, GI, p, H, 3 * H, "gruSteps", [&](auto tag, const auto& pk) {
    using T = decltype(tag);
    rnnk::gru_steps<T>(at<T>(GI, 0), at<T>(GH, 0), at<T>(Hs, 0), pk, has_bi ? at<T>(bih, 0) : nullptr, has_bh ? at<T>(bhh, 0) : nullptr,
                       steps, B, H, has_m ? at<T>(m, 0) : nullptr, has_m ? at<T>(R, 0) : nullptr);
  });
}

// elmanBackSteps(act, S, dh, gradOut | null, dpre, dnext, packed, T, B, H, mask | null)
napi_value ElmanBackSteps(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value a[11];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr S, dh, go, dp, dn, m;
  bool has_go = false, has_m = false;
  PackedHandle* p = argc == 11 ? get_packed(env, a[6]) : nullptr;
  if (!p || !get_arr(env, a[1], &S) || !get_arr(env, a[2], &dh) || !get_opt_arr(env, a[3], &go, &has_go) || !get_arr(env, a[4], &dp)
      || !get_arr(env, a[5], &dn) || !get_opt_arr(env, a[10], &m, &has_m)) {
    return fail(env, "elmanBackSteps: arguments");
  }
  const int act = i32(env, a[0]), steps = i32(env, a[7]), B = i32(env, a[8]), H = i32(env, a[9]);
  const int64_t BH = (int64_t)B * H, TBH = steps * BH;
  if (steps < 0 || B < 0 || H < 0 || !spans_ok({{&S, 0, TBH + BH}, {&dh, 0, TBH}, {has_go ? &go : &S, 0, has_go ? TBH : 0}, {&dp, 0, TBH},
                                            {&dn, 0, BH}, {has_m ? &m : &S, 0, has_m ? BH : 0}})) {
    return fail(env, "elmanBackSteps: out of bounds or mixed dtypes");
  }
  return with_packed(env, S, p, H, H, "elmanBackSteps", [&](auto tag, const auto& pk) {
    using T = decltype(tag);
    rnnk::elman_back_steps<T>(act, at<T>(S, 0), at<T>(dh, 0), has_go ? at<T>(go, 0) : nullptr, at<T>(dp, 0), at<T>(dn, 0), pk,
                              steps, B, H, has_m ? at<T>(m, 0) : nullptr);
  });
}

// lstmBackSteps(G, Cs, tanhC, dh, gradOut | null, dG, dhNext, dcNext, packed, T, B, H, mask | null)
napi_value LstmBackSteps(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr G, Cs, tc, dh, go, dG, dhn, dcn, m;
  bool has_go = false, has_m = false;
  PackedHandle* p = argc == 13 ? get_packed(env, a[8]) : nullptr;
  if (!p || !get_arr(env, a[0], &G) || !get_arr(env, a[1], &Cs) || !get_arr(env, a[2], &tc) || !get_arr(env, a[3], &dh)
      || !get_opt_arr(env, a[4], &go, &has_go) || !get_arr(env, a[5], &dG) || !get_arr(env, a[6], &dhn) || !get_arr(env, a[7], &dcn)
      || !get_opt_arr(env, a[12], &m, &has_m)) {
    return fail(env, "lstmBackSteps: arguments");
  }
  const int steps = i32(env, a[9]), B = i32(env, a[10]), H = i32(env, a[11]);
  const int64_t BH = (int64_t)B * H, TBH = steps * BH;
  if (steps < 0 || B < 0 || H < 0 || !spans_ok({{&G, 0, 4 * TBH}, {&Cs, 0, TBH}, {&tc, 0, TBH}, {&dh, 0, TBH}, {has_go ? &go : &G, 0, has_go ? TBH : 0},
                                            {&dG, 0, 4 * TBH}, {&dhn, 0, BH}, {&dcn, 0, BH}, {has_m ? &m : &G, 0, has_m ? BH : 0}})) {
    return fail(env, "lstmBackSteps: out of bounds or mixed dtypes");
  }
  return with_packed(env, G, p, 4 * H, H, "lstmBackSteps", [&](auto tag, const auto& pk) {
    using T = decltype(tag);
    rnnk::lstm_back_steps<T>(at<T>(G, 0), at<T>(Cs, 0), at<T>(tc, 0), at<T>(dh, 0), has_go ? at<T>(go, 0) : nullptr, at<T>(dG, 0),
                             at<T>(dhn, 0), at<T>(dcn, 0), pk, steps, B, H, has_m ? at<T>(m, 0) : nullptr);
  });
}

// gruBackSteps(GI, GH, Hs, dh, gradOut | null, dGI, dGH, dhNext, dhR, packed, T, B, H, mask | null)
napi_value GruBackSteps(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value a[14];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr GI, GH, Hs, dh, go, dGI, dGH, dhn, dhR, m;
  bool has_go = false, has_m = false;
  PackedHandle* p = argc == 14 ? get_packed(env, a[9]) : nullptr;
  if (!p || !get_arr(env, a[0], &GI) || !get_arr(env, a[1], &GH) || !get_arr(env, a[2], &Hs) || !get_arr(env, a[3], &dh)
      || !get_opt_arr(env, a[4], &go, &has_go) || !get_arr(env, a[5], &dGI) || !get_arr(env, a[6], &dGH) || !get_arr(env, a[7], &dhn)
      || !get_arr(env, a[8], &dhR) || !get_opt_arr(env, a[13], &m, &has_m)) {
    return fail(env, "gruBackSteps: arguments");
  }
  const int steps = i32(env, a[10]), B = i32(env, a[11]), H = i32(env, a[12]);
  const int64_t BH = (int64_t)B * H, TBH = steps * BH;
  if (steps < 0 || B < 0 || H < 0 || !spans_ok({{&GI, 0, 3 * TBH}, {&GH, 0, 3 * TBH}, {&Hs, 0, TBH}, {&dh, 0, TBH}, {has_go ? &go : &GI, 0, has_go ? TBH : 0},
                                            {&dGI, 0, 3 * TBH}, {&dGH, 0, 3 * TBH}, {&dhn, 0, BH}, {&dhR, 0, has_m ? BH : 0},
                                            {has_m ? &m : &GI, 0, has_m ? BH : 0}})) {
    return fail(env, "gruBackSteps: out of bounds or mixed dtypes");
  }
  return with_packed(env, GI, p, 3 * H, H, "gruBackSteps", [&](auto tag, const auto& pk) {
    using T = decltype(tag);
    rnnk::gru_back_steps<T>(at<T>(GI, 0), at<T>(GH, 0), at<T>(Hs, 0), at<T>(dh, 0), has_go ? at<T>(go, 0) : nullptr, at<T>(dGI, 0),
                            at<T>(dGH, 0), at<T>(dhn, 0), at<T>(dhR, 0), pk, steps, B, H, has_m ? at<T>(m, 0) : nullptr);
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  rnnk::set_threads(argc ? i32(env, a[0]) : 1);
  napi_value r;
  napi_create_int32(env, rnnk::get_threads(), &r);
  return r;
}

// gemmIsa([name]) → "avx512" or "avx2": the GEMM's and the head losses' ISA, set first when a name
// is given (a CPU without AVX-512 stays on AVX2). For tests and benchmarks; both give the same bits.
napi_value GemmIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc == 1) {
    char name[16] = {0};
    size_t len = 0;
    if (napi_get_value_string_utf8(env, a[0], name, sizeof name, &len) != napi_ok) return fail(env, "gemmIsa: a name");
    rnnk::set_gemm_isa(std::strcmp(name, "avx512") == 0);
  }
  napi_value r;
  const char* now = rnnk::gemm_isa_avx512() ? "avx512" : "avx2";
  napi_create_string_utf8(env, now, NAPI_AUTO_LENGTH, &r);
  return r;
}

napi_value Init(napi_env env, napi_value exports) {
  if (!rnnk::cpu_ok()) {
    napi_throw_error(env, nullptr, "this CPU lacks AVX2/FMA; use the js backend");
    return nullptr;
  }
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"activate", nullptr, Activate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"activateBackward", nullptr, ActivateBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmIsa", nullptr, GemmIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cpuTuning", nullptr, CpuTuning, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"createPacked", nullptr, CreatePacked, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pack", nullptr, Pack, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmPacked", nullptr, GemmPacked, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addRows", nullptr, AddRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mulMask", nullptr, MulMask, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gatherRows", nullptr, GatherRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"scatterAddRows", nullptr, ScatterAddRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmaxCrossEntropy", nullptr, SoftmaxCrossEntropy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"headLoss", nullptr, HeadLoss, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allFinite", nullptr, AllFinite, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"vmath", nullptr, Vmath, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmForward", nullptr, LstmForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmBackward", nullptr, LstmBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gruForward", nullptr, GruForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gruBackward", nullptr, GruBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"elmanSteps", nullptr, ElmanSteps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmSteps", nullptr, LstmSteps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gruSteps", nullptr, GruSteps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"elmanBackSteps", nullptr, ElmanBackSteps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmBackSteps", nullptr, LstmBackSteps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gruBackSteps", nullptr, GruBackSteps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"formatRows", nullptr, FormatRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"scanRows", nullptr, ScanRows, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
