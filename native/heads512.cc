// The likelihoods' vector passes (likelihoods.h) and vmath.h compiled for AVX-512: eight doubles
// an instruction where AVX2 has four, the same operations lane by lane, so the same bits.
// heads.cc calls them where the GEMM uses AVX-512 (gemm_isa_avx512).
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx512f")
#include <immintrin.h>

#include "likelihoods.h"

namespace rnnk {
namespace heads {

namespace {
// AVX-512's eight doubles (vmath.h's S).
struct Avx512 {
  typedef double V __attribute__((vector_size(64)));
  typedef int64_t I __attribute__((vector_size(64)));
  typedef uint64_t U __attribute__((vector_size(64)));
  static constexpr int L = 8;
  static V fma(V a, V b, V c) { return (V)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c); }
  static V round(V a) { return (V)_mm512_roundscale_pd((__m512d)a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V floor(V a) { return (V)_mm512_roundscale_pd((__m512d)a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static V min(V a, V b) { return (V)_mm512_min_pd((__m512d)a, (__m512d)b); }
  static V max(V a, V b) { return (V)_mm512_max_pd((__m512d)a, (__m512d)b); }
  static V sqrt(V a) { return (V)_mm512_sqrt_pd((__m512d)a); }
  static int bits(I m) { return _mm512_cmpneq_epi64_mask((__m512i)m, _mm512_setzero_si512()); }
};
}  // namespace

void gaussian512(Chunk& c, int n) { Gaussian<Avx512>::pass(c, n); }
void student_t512(Chunk& c, int n) { StudentT<Avx512>::pass(c, n); }
void negative_binomial512(Chunk& c, int n) { NegativeBinomial<Avx512>::pass(c, n); }
void vmath512(int fn, const double* x, double* y, size_t n) { vmath_lanes<Avx512>(fn, x, y, n); }

}  // namespace heads
}  // namespace rnnk
