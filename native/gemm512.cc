// The GEMM's AVX-512 kernels: gemm-kernel.h over 512-bit registers (16 floats, 8 doubles), so
// each FMA does twice the work of AVX2's. gemm.cc calls them where the CPU has AVX-512F.
#pragma GCC target("avx512f")
#include <immintrin.h>

#include "gemm-kernel.h"

namespace rnnk {

namespace {
template <typename E> struct Avx512;
template <> struct Avx512<float> {
  typedef float T;
  typedef __m512 V;
  static constexpr int L = 16, MR = MR_AVX512;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
};
template <> struct Avx512<double> {
  typedef double T;
  typedef __m512d V;
  static constexpr int L = 8, MR = MR_AVX512;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
};
}  // namespace

template <typename T>
void gemm_range512(bool transA, const BSource<T>& bs, int M, int N, int K, const T* A, T* C, bool acc, int i_begin, int i_end, int j_begin, int j_end) {
  gemm_range<Avx512<T>>(transA, bs, M, N, K, A, C, acc, i_begin, i_end, j_begin, j_end);
}
template <typename T>
void pack512(Packed<T>& p, bool transB, const T* B, int K, int N) {
  pack_all<Avx512<T>>(p, transB, B, K, N);
}

template void gemm_range512<float>(bool, const BSource<float>&, int, int, int, const float*, float*, bool, int, int, int, int);
template void gemm_range512<double>(bool, const BSource<double>&, int, int, int, const double*, double*, bool, int, int, int, int);
template void pack512<float>(Packed<float>&, bool, const float*, int, int);
template void pack512<double>(Packed<double>&, bool, const double*, int, int);

}  // namespace rnnk
