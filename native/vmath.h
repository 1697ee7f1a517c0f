// exp, log and log1p of a vector of doubles, for the likelihood heads (native/likelihoods.h), whose
// cells spend most of their time in them: glibc's scalar calls cost 5–8 ns each, these about 1 ns
// a value on AVX2 and half that on AVX-512. Accurate to about 1 ulp (test/heads-kernel.test.ts
// checks them against Math.exp/log/log1p over random inputs); full range, with IEEE results at 0,
// ±∞ and NaN, subnormals included. Each lane's result depends on that lane alone (a vector takes a
// shorter path only when every lane may, and the paths agree), so any width gives the same bits.
//
// Written over S, a vector ISA for doubles (heads.cc: AVX2, heads512.cc: AVX-512): S::V the
// vector (a GCC vector type, so + − · / and comparisons are the compiler's), S::I what a
// comparison gives (all ones or 0 per lane), S::U its bits (shifts logical), S::L lanes, and the
// operations the compiler has no operator for: fma, round (to nearest), floor, min, max, sqrt and
// bits (one bit a lane set). Include after `#pragma GCC optimize("fp-contract=off")`: the FMAs here
// are explicit, and the includer's a·b + c must round twice, as TypeScript does.
#pragma once
#include <cstdint>

namespace rnnk {
namespace vmath {

template <typename S> inline typename S::V splat(double x) { return typename S::V{} + x; }
template <typename S> inline typename S::U splatu(uint64_t x) { return typename S::U{} + x; }
// All lanes set in a comparison's mask: the common case, which skips the edge handling.
template <typename S> inline bool all(typename S::I m) { return S::bits(m) == (1 << S::L) - 1; }

// ln 2 = LN2_HI + LN2_LO: LN2_HI holds ln 2's leading 21 bits, so e·LN2_HI is exact for any
// exponent e; LN2_LO is the rest, rounded (mpmath).
constexpr double LN2_HI = 0.6931467056274414;
constexpr double LN2_LO = 4.7493250390316726e-07;
constexpr double TWO_52 = 4503599627370496.0;
constexpr double DBL_MIN_NORMAL = 2.2250738585072014e-308;

// 2ⁿ for whole n of a double's normal exponents: the low bits of n + 1023 + 2⁵² shifted into the
// exponent field.
template <typename S> inline typename S::V pow2(typename S::V n) {
  return (typename S::V)((typename S::U)(n + splat<S>(1023 + TWO_52)) << 52);
}

// eˣ: x = n·ln 2 + r with |r| ≤ ½ ln 2, eʳ by its Taylor series to r¹³ (the next term is below
// 4e-18 relative), times 2ⁿ built in the exponent field — as two factors where |x| ≥ 708, so that
// results in the subnormal range or past the largest double come out right.
template <typename S> inline typename S::V exp_v(typename S::V x) {
  using V = typename S::V;
  const V n = S::round(x * splat<S>(1.4426950408889634));
  V r = S::fma(-n, splat<S>(LN2_HI), x);
  r = S::fma(-n, splat<S>(LN2_LO), r);
  // p(r) = Σ_{k=2}^{13} rᵏ⁻²/k!, by Estrin's scheme (pairs, then powers of r², so the chain of
  // dependent FMAs is 4 long instead of 11).
  const V r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const V p01 = S::fma(splat<S>(0.16666666666666666), r, splat<S>(0.5));
  const V p23 = S::fma(splat<S>(0.008333333333333333), r, splat<S>(0.041666666666666664));
  const V p45 = S::fma(splat<S>(0.0001984126984126984), r, splat<S>(0.001388888888888889));
  const V p67 = S::fma(splat<S>(2.7557319223985893e-06), r, splat<S>(2.48015873015873e-05));
  const V p89 = S::fma(splat<S>(2.505210838544172e-08), r, splat<S>(2.755731922398589e-07));
  const V pab = S::fma(splat<S>(1.6059043836821613e-10), r, splat<S>(2.08767569878681e-09));
  const V p03 = S::fma(p23, r2, p01), p47 = S::fma(p67, r2, p45), p8b = S::fma(pab, r2, p89);
  const V p = S::fma(p8b, r8, S::fma(p47, r4, p03));
  const V er = splat<S>(1) + S::fma(r2, p, r);
  if (all<S>((x < splat<S>(708)) & (x > splat<S>(-708)))) return er * pow2<S>(n);
  // n clamped to ±1100 (beyond it the result is 0 or ∞ anyway) and split as n1 + n2, each 2^nᵢ a
  // normal double (er·2^n1·2^n2 is er·2ⁿ exactly wherever that is normal).
  const V nc = S::max(S::min(n, splat<S>(1100)), splat<S>(-1100));
  const V n1 = S::floor(nc * splat<S>(0.5)), n2 = nc - n1;
  V y = er * pow2<S>(n1) * pow2<S>(n2);
  y = x > splat<S>(709.8) ? splat<S>(__builtin_inf()) : y;
  y = x < splat<S>(-745.2) ? splat<S>(0) : y;
  return y;
}

// log x for normal positive finite x (and e0 added to its exponent): x = 2ᵉ·m with m ∈ [√½, √2),
// f = m − 1 (exact), s = f/(2 + f); log(1 + f) = 2·atanh s = f − s·(f − T) with T = 2s²/3 +
// 2s⁴/5 + … to s²² (|s| ≤ 0.172: the next term is below 1e-18 of f), then e·ln 2 added in two
// parts.
template <typename S> inline typename S::V log_normal_v(typename S::V x, typename S::V e0) {
  using V = typename S::V;
  using U = typename S::U;
  const U b = (U)x;
  V m = (V)((b & splatu<S>(0x000FFFFFFFFFFFFF)) | splatu<S>(0x3FF0000000000000));
  // The 11-bit exponent field as a double: its bits under 2⁵²'s, minus 2⁵² and the bias.
  V e = (V)(((b >> 52) & splatu<S>(0x7FF)) | splatu<S>(0x4330000000000000)) - splat<S>(TWO_52 + 1023) + e0;
  const typename S::I big = m > splat<S>(1.4142135623730951);
  m = big ? m * splat<S>(0.5) : m;
  e = big ? e + splat<S>(1) : e;
  const V f = m - splat<S>(1), s = f / (splat<S>(2) + f), z = s * s;
  // t(z) = Σ_{k=1}^{11} 2/(2k + 1)·zᵏ⁻¹, by Estrin's scheme as in exp_v.
  const V z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
  const V t01 = S::fma(splat<S>(0.4), z, splat<S>(0.6666666666666666));
  const V t23 = S::fma(splat<S>(0.2222222222222222), z, splat<S>(0.2857142857142857));
  const V t45 = S::fma(splat<S>(0.15384615384615385), z, splat<S>(0.18181818181818182));
  const V t67 = S::fma(splat<S>(0.11764705882352941), z, splat<S>(0.13333333333333333));
  const V t89 = S::fma(splat<S>(0.09523809523809523), z, splat<S>(0.10526315789473684));
  const V t03 = S::fma(t23, z2, t01), t47 = S::fma(t67, z2, t45), t8a = S::fma(splat<S>(0.08695652173913043), z2, t89);
  const V t = S::fma(t8a, z8, S::fma(t47, z4, t03));
  const V T = t * z;
  const V l = S::fma(-s, f - T, f);
  return S::fma(e, splat<S>(LN2_HI), S::fma(e, splat<S>(LN2_LO), l));
}

// log x: log_normal_v, subnormals scaled by 2⁵² first, and the IEEE results at 0, ∞, < 0, NaN.
template <typename S> inline typename S::V log_v(typename S::V x) {
  using V = typename S::V;
  if (all<S>((x >= splat<S>(DBL_MIN_NORMAL)) & (x < splat<S>(__builtin_inf())))) return log_normal_v<S>(x, splat<S>(0));
  const typename S::I sub = (x < splat<S>(DBL_MIN_NORMAL)) & (x > splat<S>(0));
  V y = log_normal_v<S>(sub ? x * splat<S>(TWO_52) : x, sub ? splat<S>(-52) : splat<S>(0));
  y = x == splat<S>(__builtin_inf()) ? x : y;
  y = x == splat<S>(0) ? splat<S>(-__builtin_inf()) : y;
  y = (x < splat<S>(0)) | (x != x) ? splat<S>(__builtin_nan("")) : y;
  return y;
}

// log(1 + x): u = 1 + x rounded and its rounding error δ = x − (u − 1), exact while u < 2⁵³ (u − 1
// is then exact; beyond, δ/u is far below an ulp anyway), and log(1 + x) = log u + δ/u (the next
// term, δ²/2u², is far below an ulp).
template <typename S> inline typename S::V log1p_v(typename S::V x) {
  using V = typename S::V;
  const V u = splat<S>(1) + x, d = x - (u - splat<S>(1));
  if (all<S>((x > splat<S>(0)) & (x < splat<S>(__builtin_inf())))) return log_v<S>(u) + d / u;
  V y = log_v<S>(u) + d / u;
  y = u == splat<S>(__builtin_inf()) ? u : y;
  y = u == splat<S>(0) ? splat<S>(-__builtin_inf()) : y;
  y = x == splat<S>(0) ? x : y;  // log1p(±0) = ±0
  return y;
}

}  // namespace vmath
}  // namespace rnnk
