// torch.nn.Embedding's forward (a gather of table rows) and backward (a scatter-add into the
// table's gradient): gatherRows / scatterAddRows of the `Kernels` interface (src/core/kernels.ts),
// whose reference loops they repeat.
#include <node_api.h>

#include <cstdint>
#include <cstring>

#include "napi-args.h"

using napiargs::Arr;
using napiargs::fail;
using napiargs::get_arr;
using napiargs::i32;

namespace {

// out[r·os .. r·os+E) = w[ids[r·is], :]; a negative id gives a zero row.
template <typename F>
bool gather(F* out, const F* w, int64_t V, const int32_t* ids, int64_t rows, int64_t E, int64_t os, int64_t is) {
  for (int64_t r = 0; r < rows; r++) {
    const int32_t id = ids[r * is];
    if (id < 0) { std::memset(out + r * os, 0, sizeof(F) * E); continue; }
    if (id >= V) return false;
    std::memcpy(out + r * os, w + (int64_t)id * E, sizeof(F) * E);
  }
  return true;
}

// gw[ids[r·is], :] += dout[r·ds .. r·ds+E); negative ids are skipped.
template <typename F>
bool scatter_add(F* gw, const F* dout, int64_t V, const int32_t* ids, int64_t rows, int64_t E, int64_t ds, int64_t is) {
  for (int64_t r = 0; r < rows; r++) {
    const int32_t id = ids[r * is];
    if (id < 0) continue;
    if (id >= V) return false;
    F* g = gw + (int64_t)id * E;
    const F* d = dout + r * ds;
    for (int64_t e = 0; e < E; e++) g[e] += d[e];
  }
  return true;
}

napi_value Run(napi_env env, napi_callback_info info, bool gatherMode) {
  const char* name = gatherMode ? "gatherRows" : "scatterAddRows";
  size_t argc = 9;
  napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  if (argc != 7 && argc != 9) return fail(env, name);
  // gatherRows(out, outOff, w, ids, idsOff, rows, E[, outStride, idsStride]): the table w is a[2],
  // the rows out a[0] at a[1]; scatterAddRows(gw, dout, dOff, ids, idsOff, rows, E[, dStride,
  // idsStride]): the table gw is a[0], the rows dout a[1] at a[2]. Strides default to E and 1.
  const int tableAt = gatherMode ? 2 : 0, rowsAt = gatherMode ? 0 : 1, offAt = gatherMode ? 1 : 2;
  Arr rowsArr, table, ids;
  if (!get_arr(env, a[tableAt], &table) || !get_arr(env, a[rowsAt], &rowsArr) || !get_arr(env, a[3], &ids)) return fail(env, name);
  const int64_t rowOff = i32(env, a[offAt]), idsOff = i32(env, a[4]), rows = i32(env, a[5]), E = i32(env, a[6]);
  const int64_t rs = argc == 9 ? i32(env, a[7]) : E, is = argc == 9 ? i32(env, a[8]) : 1;
  if (rowsArr.type != table.type ||
      ids.type != napi_int32_array || (table.type != napi_float32_array && table.type != napi_float64_array)) {
    return fail(env, gatherMode ? "gatherRows: arguments" : "scatterAddRows: arguments");
  }
  // The last row ends at rowOff + (rows−1)·rs + E, the last id sits at idsOff + (rows−1)·is.
  if (rowOff < 0 || idsOff < 0 || rows < 0 || E <= 0 || rs < E || is < 1 ||
      (rows > 0 && ((size_t)(rowOff + (rows - 1) * rs + E) > rowsArr.length || (size_t)(idsOff + (rows - 1) * is + 1) > ids.length)) ||
      table.length % (size_t)E != 0) {
    return fail(env, gatherMode ? "gatherRows: out of bounds" : "scatterAddRows: out of bounds");
  }
  const int64_t V = (int64_t)(table.length / (size_t)E);
  const int32_t* id = (const int32_t*)ids.data + idsOff;
  bool ok;
  if (table.type == napi_float32_array) {
    ok = gatherMode ? gather((float*)rowsArr.data + rowOff, (const float*)table.data, V, id, rows, E, rs, is)
                    : scatter_add((float*)table.data, (const float*)rowsArr.data + rowOff, V, id, rows, E, rs, is);
  } else {
    ok = gatherMode ? gather((double*)rowsArr.data + rowOff, (const double*)table.data, V, id, rows, E, rs, is)
                    : scatter_add((double*)table.data, (const double*)rowsArr.data + rowOff, V, id, rows, E, rs, is);
  }
  if (!ok) return fail(env, gatherMode ? "gatherRows: an id is outside the table" : "scatterAddRows: an id is outside the table");
  return nullptr;
}

}  // namespace

napi_value GatherRows(napi_env env, napi_callback_info info) { return Run(env, info, true); }
napi_value ScatterAddRows(napi_env env, napi_callback_info info) { return Run(env, info, false); }
