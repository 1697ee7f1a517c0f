// cpuTuning([changes]): what the CPU is and the kernel choices made from it (cpu.h), after
// applying `changes` ({ parallelMin, parallelMinRow, gatesParallelMin, rowsSplitMaxBytes, gates512 (0/1) }:
// for measuring one choice against another in one process; the bits never depend on them).
#include <node_api.h>

#include "cpu.h"
#include "gemm.h"
#include "napi-args.h"

namespace {

void set_str(napi_env env, napi_value o, const char* k, const std::string& v) {
  napi_value x;
  napi_create_string_utf8(env, v.c_str(), v.size(), &x);
  napi_set_named_property(env, o, k, x);
}
void set_num(napi_env env, napi_value o, const char* k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, o, k, x);
}
void set_bool(napi_env env, napi_value o, const char* k, bool v) {
  napi_value x;
  napi_get_boolean(env, v, &x);
  napi_set_named_property(env, o, k, x);
}
// changes.k, when it is a number.
bool get_num(napi_env env, napi_value o, const char* k, double* v) {
  bool has = false;
  if (napi_has_named_property(env, o, k, &has) != napi_ok || !has) return false;
  napi_value x;
  napi_get_named_property(env, o, k, &x);
  return napi_get_value_double(env, x, v) == napi_ok;
}

}  // namespace

napi_value CpuTuning(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  rnnk::Tuning& t = rnnk::tuning();
  if (argc == 1) {
    napi_valuetype type;
    napi_typeof(env, a[0], &type);
    if (type != napi_object) return napiargs::fail(env, "cpuTuning: an object of changes");
    double v;
    if (get_num(env, a[0], "parallelMin", &v)) t.parallel_min = v;
    if (get_num(env, a[0], "parallelMinRow", &v)) t.parallel_min_row = v;
    if (get_num(env, a[0], "gatesParallelMin", &v)) t.gates_parallel_min = (long)v;
    if (get_num(env, a[0], "rowsSplitMaxBytes", &v)) t.rows_split_max_bytes = (long)v;
    if (get_num(env, a[0], "gates512", &v)) t.gates512 = v != 0 && rnnk::cpu_info().avx512f;
  }
  const rnnk::CpuInfo& c = rnnk::cpu_info();
  napi_value o, cpu, k;
  napi_create_object(env, &o);
  napi_create_object(env, &cpu);
  set_str(env, cpu, "vendor", c.vendor);
  set_str(env, cpu, "name", c.name);
  set_num(env, cpu, "family", c.family);
  set_num(env, cpu, "model", c.model);
  set_str(env, cpu, "arch", c.arch);
  set_bool(env, cpu, "avx2", c.avx2 && c.fma);
  set_bool(env, cpu, "avx512f", c.avx512f);
  set_num(env, cpu, "l1dBytes", (double)c.l1d);
  set_num(env, cpu, "l2Bytes", (double)c.l2);
  set_num(env, cpu, "l3Bytes", (double)c.l3);
  napi_set_named_property(env, o, "cpu", cpu);
  napi_create_object(env, &k);
  set_str(env, k, "gemmIsa", rnnk::gemm_isa_avx512() ? "avx512" : "avx2");
  set_str(env, k, "gatesIsa", t.gates512 ? "avx512" : "avx2");
  set_num(env, k, "threads", rnnk::get_threads());
  set_num(env, k, "parallelMin", t.parallel_min);
  set_num(env, k, "parallelMinRow", t.parallel_min_row);
  set_num(env, k, "gatesParallelMin", (double)t.gates_parallel_min);
  set_num(env, k, "rowsSplitMaxBytes", (double)t.rows_split_max_bytes);
  set_str(env, k, "why", t.why);
  napi_set_named_property(env, o, "kernels", k);
  return o;
}
