// GCC vector types for AVX2 (one 256-bit register of float or double) and the vectorised
// functions shared by the GEMM's activations (gemm.cc) and the fused gate kernels (gates.cc).
// Include after `#pragma GCC target("avx2,fma")` so the code is compiled for AVX2 + FMA.
#pragma once
#include <immintrin.h>

namespace rnnk {

template <typename T> struct Vec;
template <> struct Vec<float> { typedef float v __attribute__((vector_size(32), aligned(4))); static constexpr int L = 8; };
template <> struct Vec<double> { typedef double v __attribute__((vector_size(32), aligned(8))); static constexpr int L = 4; };

// Unaligned loads and stores of 8 floats, as single AVX instructions. Not std::memcpy into the
// vector: GCC 12 compiles that as two 16-byte stores to the stack and one 32-byte reload, a
// store-forwarding stall that made tanh_v's loop 11× slower (4.2 vs 0.38 ns a value here).
inline Vec<float>::v loadu(const float* p) { return (Vec<float>::v)_mm256_loadu_ps(p); }
inline void storeu(float* p, Vec<float>::v v) { _mm256_storeu_ps(p, (__m256)v); }
// The first n < 8 lanes; the lanes beyond are 0 on loading, untouched on storing.
inline __m256i lanes(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
inline Vec<float>::v load_part(const float* p, int n) { return (Vec<float>::v)_mm256_maskload_ps(p, lanes(n)); }
inline void store_part(float* p, Vec<float>::v v, int n) { _mm256_maskstore_ps(p, lanes(n), (__m256)v); }

// tanh for float32, vectorised: the rational approximation Eigen uses (|error| ≈ 1 ulp on
// [-9, 9], ±1 beyond), so the whole window's nonlinearity costs a few ns per 8 values. Written
// once over the GCC vector type V (8 floats here, 16 in gates512.cc): the same operations lane
// by lane, so the same bits at either width.
template <typename V>
inline V tanh_t(V x) {
  const V hi = V{} + 7.90531110763549805f, lo = V{} - 7.90531110763549805f;
  x = x > hi ? hi : (x < lo ? lo : x);
  const V x2 = x * x;
  V p = V{} + -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * x;
  V q = V{} + 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p / q;
}
inline Vec<float>::v tanh_v(Vec<float>::v x) { return tanh_t(x); }

}  // namespace rnnk
