// exp, log and log1p of four doubles at once (AVX2 + FMA), for the likelihood heads
// (native/heads.cc), whose cells spend most of their time in them: glibc's scalar calls cost
// 5–8 ns each, these about 1 ns a value. Accurate to about 1 ulp (test/heads-kernel.test.ts
// checks them against Math.exp/log/log1p over random inputs); full range, with IEEE results at
// 0, ±∞ and NaN, subnormals included.
//
// Include after `#pragma GCC target("avx2,fma")`. The FMAs here are explicit; plain a·b + c in
// the including file is not contracted only if it says `#pragma GCC optimize("fp-contract=off")`.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace rnnk {
namespace vmath {

typedef double V __attribute__((vector_size(32)));
typedef int64_t I __attribute__((vector_size(32)));   // what comparisons of V give: all ones or 0
typedef uint64_t U __attribute__((vector_size(32)));  // a V's bits (shifts are logical)

inline V splat(double x) { return V{x, x, x, x}; }
inline U splatu(uint64_t x) { return U{x, x, x, x}; }
inline V fma(V a, V b, V c) { return (V)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c); }

// ln 2 = LN2_HI + LN2_LO: LN2_HI holds ln 2's leading 21 bits, so e·LN2_HI is exact for any
// exponent e; LN2_LO is the rest, rounded (mpmath).
constexpr double LN2_HI = 0.6931467056274414;
constexpr double LN2_LO = 4.7493250390316726e-07;

// All four lanes set in a comparison's mask: the common case, which skips the edge handling.
inline bool all(I m) { return _mm256_movemask_pd((__m256d)m) == 0xF; }

// 2ⁿ for whole n of a double's normal exponents: the low bits of n + 1023 + 2⁵² shifted into the
// exponent field.
inline V pow2(V n) { return (V)((U)(n + splat(1023 + 4503599627370496.0)) << 52); }

// eˣ: x = n·ln 2 + r with |r| ≤ ½ ln 2, eʳ by its Taylor series to r¹³ (the next term is below
// 4e-18 relative), times 2ⁿ built in the exponent field — as two factors where |x| ≥ 708, so that
// results in the subnormal range or past the largest double come out right.
inline V exp_v(V x) {
  const V n = (V)_mm256_round_pd((__m256d)(x * splat(1.4426950408889634)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  V r = fma(-n, splat(LN2_HI), x);
  r = fma(-n, splat(LN2_LO), r);
  // p(r) = Σ_{k=2}^{13} rᵏ⁻²/k!, by Estrin's scheme (pairs, then powers of r², so the chain of
  // dependent FMAs is 4 long instead of 11).
  const V r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const V p01 = fma(splat(0.16666666666666666), r, splat(0.5));
  const V p23 = fma(splat(0.008333333333333333), r, splat(0.041666666666666664));
  const V p45 = fma(splat(0.0001984126984126984), r, splat(0.001388888888888889));
  const V p67 = fma(splat(2.7557319223985893e-06), r, splat(2.48015873015873e-05));
  const V p89 = fma(splat(2.505210838544172e-08), r, splat(2.755731922398589e-07));
  const V pab = fma(splat(1.6059043836821613e-10), r, splat(2.08767569878681e-09));
  const V p03 = fma(p23, r2, p01), p47 = fma(p67, r2, p45), p8b = fma(pab, r2, p89);
  const V p = fma(p8b, r8, fma(p47, r4, p03));
  const V er = splat(1) + fma(r2, p, r);
  if (all((x < splat(708)) & (x > splat(-708)))) return er * pow2(n);
  // n clamped to ±1100 (beyond it the result is 0 or ∞ anyway) and split as n1 + n2, each 2^nᵢ a
  // normal double.
  const V nc = (V)_mm256_max_pd(_mm256_min_pd((__m256d)n, _mm256_set1_pd(1100)), _mm256_set1_pd(-1100));
  const V n1 = (V)_mm256_floor_pd((__m256d)(nc * splat(0.5))), n2 = nc - n1;
  V y = er * pow2(n1) * pow2(n2);
  y = x > splat(709.8) ? splat(__builtin_inf()) : y;
  y = x < splat(-745.2) ? splat(0) : y;
  return y;
}

// log x for normal positive finite x (and e0 added to its exponent): x = 2ᵉ·m with m ∈ [√½, √2),
// f = m − 1 (exact), s = f/(2 + f); log(1 + f) = 2·atanh s = f − s·(f − T) with T = 2s²/3 +
// 2s⁴/5 + … to s²² (|s| ≤ 0.172: the next term is below 1e-18 of f), then e·ln 2 added in two
// parts.
inline V log_normal_v(V x, V e0) {
  const U b = (U)x;
  V m = (V)((b & splatu(0x000FFFFFFFFFFFFF)) | splatu(0x3FF0000000000000));
  // The 11-bit exponent field as a double: its bits under 2⁵²'s, minus 2⁵² and the bias.
  V e = (V)(((b >> 52) & splatu(0x7FF)) | splatu(0x4330000000000000)) - splat(4503599627370496.0 + 1023) + e0;
  const I big = m > splat(1.4142135623730951);
  m = big ? m * splat(0.5) : m;
  e = big ? e + splat(1) : e;
  const V f = m - splat(1), s = f / (splat(2) + f), z = s * s;
  // t(z) = Σ_{k=1}^{11} 2/(2k + 1)·zᵏ⁻¹, by Estrin's scheme as in exp_v.
  const V z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
  const V t01 = fma(splat(0.4), z, splat(0.6666666666666666));
  const V t23 = fma(splat(0.2222222222222222), z, splat(0.2857142857142857));
  const V t45 = fma(splat(0.15384615384615385), z, splat(0.18181818181818182));
  const V t67 = fma(splat(0.11764705882352941), z, splat(0.13333333333333333));
  const V t89 = fma(splat(0.09523809523809523), z, splat(0.10526315789473684));
  const V t03 = fma(t23, z2, t01), t47 = fma(t67, z2, t45), t8a = fma(splat(0.08695652173913043), z2, t89);
  const V t = fma(t8a, z8, fma(t47, z4, t03));
  const V T = t * z;
  const V l = fma(-s, f - T, f);
  return fma(e, splat(LN2_HI), fma(e, splat(LN2_LO), l));
}

constexpr double DBL_MIN_NORMAL = 2.2250738585072014e-308;

// log x: log_normal_v, subnormals scaled by 2⁵² first, and the IEEE results at 0, ∞, < 0, NaN.
inline V log_v(V x) {
  if (all((x >= splat(DBL_MIN_NORMAL)) & (x < splat(__builtin_inf())))) return log_normal_v(x, splat(0));
  const I sub = (x < splat(DBL_MIN_NORMAL)) & (x > splat(0));
  V y = log_normal_v(sub ? x * splat(4503599627370496.0) : x, sub ? splat(-52) : splat(0));
  y = x == splat(__builtin_inf()) ? x : y;
  y = x == splat(0) ? splat(-__builtin_inf()) : y;
  y = (x < splat(0)) | (x != x) ? splat(__builtin_nan("")) : y;
  return y;
}

// log(1 + x): u = 1 + x rounded and its rounding error δ = x − (u − 1), exact while u < 2⁵³ (u − 1
// is then exact; beyond, δ/u is far below an ulp anyway), and log(1 + x) = log u + δ/u (the next
// term, δ²/2u², is far below an ulp).
inline V log1p_v(V x) {
  const V u = splat(1) + x, d = x - (u - splat(1));
  if (all((x > splat(0)) & (x < splat(__builtin_inf())))) return log_v(u) + d / u;
  V y = log_v(u) + d / u;
  y = u == splat(__builtin_inf()) ? u : y;
  y = u == splat(0) ? splat(-__builtin_inf()) : y;
  y = x == splat(0) ? x : y;  // log1p(±0) = ±0
  return y;
}

}  // namespace vmath
}  // namespace rnnk
