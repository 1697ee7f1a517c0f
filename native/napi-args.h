// Typed-array and number arguments of N-API calls, shared by the kernels (addon.cc) and the
// MPI binding (mpi/mpi.cc).
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace napiargs {

struct Arr {
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type = napi_float32_array;
};

inline bool get_arr(napi_env env, napi_value v, Arr* out) {
  napi_value ab;
  size_t off;
  return napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &off) == napi_ok;
}

inline int32_t i32(napi_env env, napi_value v) {
  int32_t r = 0;
  napi_get_value_int32(env, v, &r);
  return r;
}

inline napi_value fail(napi_env env, const char* msg) {
  napi_throw_range_error(env, nullptr, msg);
  return nullptr;
}

}  // namespace napiargs
