// Dense kernels for rnn: a packed, register-tiled GEMM and the activation loops.
// C[M,N] = (acc ? C : 0) + op(A)[M,K] · op(B)[K,N], row-major, for float and double.
#pragma once
#include <cstddef>
#include <vector>

namespace rnnk {

enum Act { TANH = 0, RELU = 1, SIGMOID = 2 };

template <typename T>
void gemm(bool transA, bool transB, int M, int N, int K, const T* A, const T* B, T* C, bool acc);

// op(B) packed once into the GEMM's panel layout, for many products with one B.
template <typename T>
struct Packed {
  std::vector<T> data;
  int K = 0, N = 0, Npad = 0;
  int NR = 0;  // the panel width: which ISA's kernels it was packed for
};

template <typename T>
void pack(Packed<T>& p, bool transB, const T* B, int K, int N);

// C[M,N] (+)= A[M,K] · op(B), B from `pack`.
template <typename T>
void gemm_packed(int M, const T* A, const Packed<T>& p, T* C, bool acc);

template <typename T>
void add_rows(T* out, const T* v, size_t rows, size_t n);
template <typename T>
void sum_rows(T* out, const T* a, size_t rows, size_t n);
// out[i] (+)= a[i] * m[i]: a dropout mask (out may be a).
template <typename T>
void mul_mask(T* out, const T* a, const T* m, size_t n, bool acc);

template <typename T>
void activate(int act, T* x, size_t n);

// dpre[i] = (dh[i] + dnext[i]) * Φ'(s[i]), with Φ' written in terms of the output s = Φ(pre).
template <typename T>
void activate_backward(int act, T* dpre, const T* dh, const T* dnext, const T* s, size_t n);

void set_threads(int n);
int get_threads();
// Runs fn(ctx, 0 .. parts-1) on the thread pool, the caller taking part too.
void run_parallel(int parts, void (*fn)(void*, int), void* ctx);
bool cpu_ok();
// The GEMM's (and the head losses', native/heads.cc) ISA from now on: AVX-512 (false where the CPU
// lacks it) or AVX2. Same bits either way.
bool set_gemm_isa(bool avx512);
bool gemm_isa_avx512();

}  // namespace rnnk
