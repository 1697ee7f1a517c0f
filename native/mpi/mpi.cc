// N-API binding of the few MPI calls data-parallel training needs (src/distributed/mpi.ts):
// init, rank/size, all-reduce in place, gather to rank 0, abort, finalize. Built at install only
// where an MPI implementation is found (scripts/build-native.mjs); a single process never loads it.
#include <node_api.h>

#include <dlfcn.h>
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../napi-args.h"

namespace {

using napiargs::Arr;
using napiargs::get_arr;
using napiargs::i32;

bool initialized = false;

napi_value fail(napi_env env, const std::string& msg) {
  return napiargs::fail(env, msg.c_str());
}

std::string mpi_error(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, buf, &len);
  return std::string(buf, len);
}

bool mpi_type(napi_typedarray_type t, MPI_Datatype* out) {
  if (t == napi_float64_array) *out = MPI_DOUBLE;
  else if (t == napi_float32_array) *out = MPI_FLOAT;
  else return false;
  return true;
}

napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

// The first line of MPI_Get_library_version ("Open MPI v4.1.4", "MPICH Version: 4.0.2").
std::string library_line() {
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(lib, &len);
  std::string first(lib, len);
  return first.substr(0, first.find_first_of("\n,"));
}

// library() → that line, before MPI_Init (MPI_Get_library_version may be called before it):
// what a launcher must provide depends on the MPI (src/distributed/launch.ts).
napi_value Library(napi_env env, napi_callback_info) {
  const std::string first = library_line();
  napi_value s;
  napi_create_string_utf8(env, first.c_str(), first.size(), &s);
  return s;
}

// init() → { rank, size, localSize, library }. Open MPI loads its components as plugins that need libmpi's
// symbols in the global namespace, but Node opened this addon (and so libmpi) with RTLD_LOCAL:
// re-open libmpi RTLD_GLOBAL first, as mpi4py does. dladdr finds the libmpi this addon linked.
napi_value Init(napi_env env, napi_callback_info) {
  if (!initialized) {
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&MPI_Init), &info) != 0 && info.dli_fname != nullptr) {
      dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    }
    int provided = 0;
    // FUNNELED: only the main thread calls MPI (the kernels' thread pool never does).
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return fail(env, "MPI_Init_thread: " + mpi_error(rc));
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    initialized = true;
  }
  int rank = 0, size = 1, local = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  // Ranks sharing this machine's cores (to size each rank's kernel thread pool).
  MPI_Comm node;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
  }
  const std::string first = library_line();
  napi_value r, s;
  napi_create_object(env, &r);
  napi_set_named_property(env, r, "rank", number(env, rank));
  napi_set_named_property(env, r, "size", number(env, size));
  napi_set_named_property(env, r, "localSize", number(env, local));
  napi_create_string_utf8(env, first.c_str(), first.size(), &s);
  napi_set_named_property(env, r, "library", s);
  return r;
}

// allreduce(buf, op): buf ← op over every rank's buf (MPI_IN_PLACE); op 0 sum, 1 max, 2 min.
napi_value Allreduce(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr b;
  MPI_Datatype t;
  if (argc != 2 || !get_arr(env, a[0], &b) || !mpi_type(b.type, &t)) return fail(env, "allreduce: (Float32Array | Float64Array, op)");
  const int32_t op = i32(env, a[1]);
  const MPI_Op mop = op == 1 ? MPI_MAX : op == 2 ? MPI_MIN : MPI_SUM;
  const int rc = MPI_Allreduce(MPI_IN_PLACE, b.data, static_cast<int>(b.length), t, mop, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return fail(env, "MPI_Allreduce: " + mpi_error(rc));
  return nullptr;
}

// gather(send, recv | null, counts): rank 0's recv receives each rank's send, in rank order
// (MPI_Gatherv; counts[r] elements from rank r). recv is only read on rank 0.
napi_value Gather(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  Arr s, r;
  MPI_Datatype t;
  if (argc != 3 || !get_arr(env, a[0], &s) || !mpi_type(s.type, &t)) return fail(env, "gather: (send, recv, counts)");
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<int> counts(size), displs(size);
  uint32_t n = 0;
  napi_get_array_length(env, a[2], &n);
  if (static_cast<int>(n) != size) return fail(env, "gather: one count per rank");
  int64_t total = 0;
  for (int i = 0; i < size; i++) {
    napi_value v;
    napi_get_element(env, a[2], i, &v);
    counts[i] = i32(env, v);
    displs[i] = static_cast<int>(total);
    total += counts[i];
  }
  if (static_cast<size_t>(counts[rank]) > s.length) return fail(env, "gather: send shorter than its count");
  void* recv = nullptr;
  if (rank == 0) {
    if (!get_arr(env, a[1], &r) || r.type != s.type || r.length < static_cast<size_t>(total)) return fail(env, "gather: recv too short");
    recv = r.data;
  }
  const int rc = MPI_Gatherv(s.data, counts[rank], t, recv, counts.data(), displs.data(), t, 0, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return fail(env, "MPI_Gatherv: " + mpi_error(rc));
  return nullptr;
}

napi_value Barrier(napi_env env, napi_callback_info) {
  const int rc = MPI_Barrier(MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return fail(env, "MPI_Barrier: " + mpi_error(rc));
  return nullptr;
}

// abort(code): ends every rank of the job (MPI_Abort); the launcher exits non-zero.
napi_value Abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  const int32_t code = argc == 1 ? i32(env, a[0]) : 1;
  MPI_Abort(MPI_COMM_WORLD, code);
  return nullptr;
}

napi_value Finalize(napi_env, napi_callback_info) {
  int done = 0;
  MPI_Finalized(&done);
  if (initialized && !done) MPI_Finalize();
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  const struct { const char* name; napi_callback fn; } fns[] = {
    {"init", Init}, {"allreduce", Allreduce}, {"gather", Gather}, {"barrier", Barrier},
    {"abort", Abort}, {"finalize", Finalize}, {"library", Library},
  };
  for (const auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}
