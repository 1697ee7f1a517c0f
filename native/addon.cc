// N-API binding of the kernels: the JavaScript side passes typed arrays and element offsets,
// exactly the `Kernels` interface of src/core/kernels.ts.
#include <node_api.h>

#include <cstdint>
#include <cstring>

#include "gemm.h"
#include "napi-args.h"

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

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  rnnk::set_threads(argc ? i32(env, a[0]) : 1);
  napi_value r;
  napi_create_int32(env, rnnk::get_threads(), &r);
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
      {"createPacked", nullptr, CreatePacked, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pack", nullptr, Pack, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmPacked", nullptr, GemmPacked, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addRows", nullptr, AddRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
