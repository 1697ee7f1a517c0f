/**
 * Special functions for the likelihood heads and probabilistic forecasts (SPEC §10): log-gamma,
 * digamma, lgamma(x) − lgamma(x + ½) with its derivative, erf/erfc, the standard normal's CDF,
 * density and quantile, the regularised incomplete gamma and beta functions, and Student's t.
 * Pure, double precision, for real arguments in the ranges stated per function (x > 0 for
 * lgamma/digamma: the heads never ask for anything else).
 *
 * The methods are textbook series, recurrences and continued fractions chosen so that nothing
 * cancels where the result is small; the only tables are power-series coefficients (ζ values)
 * printed by `scripts/golden/make_special_fixtures.py --constants` from mpmath at 60 digits.
 * Accuracy against mpmath is what test/special.test.ts asserts.
 */

/** ½·log(2π). */
const LN_SQRT_2PI = 0.9189385332046728;
/** 2/√π. */
const TWO_OVER_SQRT_PI = 1.1283791670955126;
/** 1/√(2π). */
const INV_SQRT_2PI = 0.3989422804014327;

// ------------------------------------------------------------------ lgamma, digamma

/**
 * lgamma(2 + z) = (1 − γ)·z + Σ_{k≥2} (−1)^k (ζ(k) − 1)/k · z^k, coefficients of z¹ … z³⁰ (radius of
 * convergence 2; |z| ≤ ½ here, so the last term is below 1e-20).
 */
const LGAMMA2_SERIES = [
  0.42278433509846713, 0.3224670334241132, -0.0673523010531981, 0.020580808427784546,
  -0.007385551028673986, 0.0028905103307415234, -0.001192753911703261, 0.0005096695247430425,
  -0.00022315475845357939, 9.945751278180853e-05, -4.492623673813314e-05, 2.050721277567069e-05,
  -9.439488275268397e-06, 4.374866789907488e-06, -2.039215753801366e-06, 9.55141213040742e-07,
  -4.492469198764566e-07, 2.1207184805554665e-07, -1.0043224823968099e-07, 4.7698101693639804e-08,
  -2.2711094608943164e-08, 1.0838659214896955e-08, -5.183475041970047e-09, 2.4836745438024785e-09,
  -1.1921401405860912e-09, 5.731367241678862e-10, -2.7595228851242334e-10, 1.330476437424449e-10,
  -6.4229645638381e-11, 3.1044247747322276e-11,
];

/** lgamma(2 + z) for |z| ≤ ½ by the ζ series (exact at z = 0 and z = −1, the zeros of lgamma). */
function lgamma2(z: number): number {
  let s = 0;
  for (let k = LGAMMA2_SERIES.length - 1; k >= 0; k--) s = s * z + LGAMMA2_SERIES[k];
  return s * z;
}

/** Stirling's series B₂ₖ/(2k(2k−1)) for k = 1 … 10. */
const STIRLING = [
  1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400,
  43867 / 244188, -174611 / 125400,
];

/**
 * ω(x) = lgamma(x) − [(x − ½)·log x − x + ½·log 2π] = Σₖ B₂ₖ/(2k(2k−1)·x^(2k−1)), for x ≥ 8 (the
 * tenth term is below 1e-17 there). Kept apart so lbeta can difference it without cancellation.
 */
function stirlingRemainder(x: number): number {
  const r = 1 / (x * x);
  let s = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) s = s * r + STIRLING[k];
  return s / x;
}

/**
 * torch.lgamma / C's lgamma for x > 0: log Γ(x). NaN for x ≤ 0 or NaN.
 *
 * x ≥ 8: Stirling's series. ½ ≤ x ≤ 8: shifted into [1.5, 2.5] by Γ(x+1) = x·Γ(x) and summed
 * as the ζ series of lgamma(2 + z), so the zeros at 1 and 2 keep full relative accuracy.
 * x < ½: lgamma(2 + x) − log1p(x) − log x.
 */
export function lgamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x === Infinity) return Infinity;
  if (x < 0.5) return lgamma2(x) - Math.log1p(x) - Math.log(x);
  if (x < 1.5) { const z = x - 1; return lgamma2(z) - Math.log1p(z); }
  if (x <= 2.5) return lgamma2(x - 2);
  if (x < 8) {
    // Γ(x) = (x−1)(x−2)…(y)·Γ(y), y ∈ (1.5, 2.5]; every y − 1 is exact.
    let y = x, p = 1;
    while (y > 2.5) { y -= 1; p *= y; }
    return lgamma2(y - 2) + Math.log(p);
  }
  return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingRemainder(x);
}

/** The positive zero of ψ as hi + lo (hi the nearest double). */
const PSI_ROOT_HI = 1.4616321449683622;
const PSI_ROOT_LO = 9.549995429965697e-17;
/**
 * ψ(x₀ + z) = Σ_{n≥1} (−1)^(n+1) ζ(n+1, x₀)·zⁿ, coefficients of z¹ … z⁴⁰ (x₀ the root; radius of
 * convergence x₀, used for |z| < 0.4, so the terms shrink by 0.27 each).
 */
const PSI_ROOT_SERIES = [
  0.9676722454476212, -0.4427631689835921, 0.258499760955651, -0.16394270544240652,
  0.10782405069126237, -0.07219956125645471, 0.04880428816414311, -0.03316112647484736,
  0.022597648232218104, -0.01542476590494896, 0.010538791616612175, -0.007204534386356869,
  0.004926781395729853, -0.003369801655439328, 0.002305126326734928, -0.0015769367714301972,
  0.0010788252019162967, -0.0007380709389960052, 0.000504953265834602, -0.0003454680251063077,
  0.00023635601564027053, -0.00016170622091974803, 0.0001106337276874741, -7.569179582195066e-05,
  5.178575795222081e-05, -3.5430070947659604e-05, 2.424006611860132e-05, -1.6584242271854135e-05,
  1.134638458466385e-05, -7.762817668462094e-06, 5.3110609208898636e-06, -3.6336507898010456e-06,
  2.486022733129538e-06, -1.7008538854332607e-06, 1.1636675363548843e-06, -7.96142543124197e-07,
  5.446941930669446e-07, -3.7266161283438227e-07, 2.549626552021554e-07, -1.7443695117727745e-07,
];

/** B₂ₖ/(2k) for k = 1 … 8: ψ(x) ~ log x − 1/(2x) − Σ B₂ₖ/(2k·x^(2k)). */
const PSI_ASYMPTOTIC = [1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12, -3617 / 8160];

/**
 * torch.digamma for x > 0: ψ(x) = d/dx log Γ(x). NaN for x ≤ 0 or NaN.
 *
 * Within 0.4 of the positive root x₀ ≈ 1.4616: a power series about x₀ (so ψ keeps its relative
 * accuracy where it crosses 0). Elsewhere ψ(x) = ψ(x + n) − Σ_{j<n} 1/(x + j) with x + n ≥ 10,
 * where the asymptotic series' eighth term is below 5e-17.
 */
export function digamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x === Infinity) return Infinity;
  const z = (x - PSI_ROOT_HI) - PSI_ROOT_LO;
  if (Math.abs(z) < 0.4) {
    let s = 0;
    for (let n = PSI_ROOT_SERIES.length - 1; n >= 0; n--) s = s * z + PSI_ROOT_SERIES[n];
    return s * z;
  }
  let acc = 0;
  while (x < 10) { acc -= 1 / x; x += 1; }
  const r = 1 / (x * x);
  let s = 0;
  for (let k = PSI_ASYMPTOTIC.length - 1; k >= 0; k--) s = s * r + PSI_ASYMPTOTIC[k];
  return acc + Math.log(x) - 0.5 / x - s * r;
}

/**
 * c_n = (2^(1−n) − 2)·B_n / (n(n−1)) for n = 2, 4, …, 20 (B_n the Bernoulli numbers as fractions):
 * lgamma(y + ½) − lgamma(y) ~ ½·log y + Σ c_n·y^(1−n), the difference of the two Stirling series
 * (B_n(½) = (2^(1−n) − 1)·B_n). At y ≥ 10 the term after the last is below 1e-19 (of ψ's: 1e-17).
 */
const HALF_SHIFT = [[1, 6], [-1, 30], [1, 42], [-1, 30], [5, 66], [-691, 2730], [7, 6], [-3617, 510], [43867, 798], [-174611, 330]]
  .map(([p, q], i) => { const n = 2 * i + 2; return (2 ** (1 - n) - 2) * (p / q) / (n * (n - 1)); });
/** (n − 1)·c_n: the same series differentiated, for ψ(y) − ψ(y + ½). */
const HALF_SHIFT_D = HALF_SHIFT.map((c, i) => (2 * i + 1) * c);

/** Σ c[k]·rᵏ for k < 10 by Estrin's scheme (pairs, then powers of r²): short dependency chains. */
function estrin10(c: readonly number[], r: number): number {
  const r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const p03 = (c[0] + c[1] * r) + (c[2] + c[3] * r) * r2, p47 = (c[4] + c[5] * r) + (c[6] + c[7] * r) * r2;
  return (p03 + p47 * r4) + (c[8] + c[9] * r) * r8;
}

/** lgammaHalfShift's five pairs of shift factors: their products and their ψ terms' fraction, reused. */
const PAIR_H = new Float64Array(5), PAIR_T = new Float64Array(5), PAIR_P = new Float64Array(5), PAIR_Q = new Float64Array(5);

/**
 * lgamma(x) − lgamma(x + ½) + log(scale) into out[0] and ψ(x) − ψ(x + ½) into out[1], for x > 0
 * and scale > 0 (Student's t normaliser at x = ν/2 with its log σ + ½·log ν folded in, and its
 * ν-derivative). One logarithm instead of four special functions and two more: x below 10 is
 * shifted to y = x + 10 by Γ(x + 1) = x·Γ(x) — the ten factors t = x + j kept as one fraction
 * Π(t + ½)/Π t, the ψ terms Σ −½/(t(t + ½)) as one fraction too (all of one sign: nothing cancels)
 * — then the two differenced Stirling series at y. The factors are multiplied in pairs, then the
 * pairs in a fixed tree: short chains of dependent operations, which the native kernel
 * (native/likelihoods.h) runs a vector of lanes at a time in this very order.
 */
export function lgammaHalfShift(x: number, out: Float64Array, scale = 1): void {
  let num = 1, den = 1, dNum = 0, dDen = 1, y = x;
  if (x < 10) {
    // Σ −½/q_j = −½·Σ 1/q_j: the pairs' fractions (qa + qb)/(qa·qb), ½ put back at the end (exactly).
    for (let i = 0; i < 5; i++) {
      const ta = x + 2 * i, tb = x + (2 * i + 1), ha = ta + 0.5, hb = tb + 0.5, qa = ta * ha, qb = tb * hb;
      PAIR_H[i] = ha * hb; PAIR_T[i] = ta * tb; PAIR_P[i] = qa + qb; PAIR_Q[i] = qa * qb;
    }
    num = ((PAIR_H[0] * PAIR_H[1]) * (PAIR_H[2] * PAIR_H[3])) * PAIR_H[4];
    den = ((PAIR_T[0] * PAIR_T[1]) * (PAIR_T[2] * PAIR_T[3])) * PAIR_T[4];
    // p/q + r/s = (p·s + r·q)/(q·s), over the pairs in the products' tree.
    const p01 = PAIR_P[0] * PAIR_Q[1] + PAIR_P[1] * PAIR_Q[0], q01 = PAIR_Q[0] * PAIR_Q[1];
    const p23 = PAIR_P[2] * PAIR_Q[3] + PAIR_P[3] * PAIR_Q[2], q23 = PAIR_Q[2] * PAIR_Q[3];
    const p03 = p01 * q23 + p23 * q01, q03 = q01 * q23;
    dNum = -0.5 * (p03 * PAIR_Q[4] + PAIR_P[4] * q03); dDen = q03 * PAIR_Q[4];
    y = x + 10;
  }
  const iy = 1 / y, r = iy * iy, s = estrin10(HALF_SHIFT, r), ds = estrin10(HALF_SHIFT_D, r);
  out[0] = Math.log(scale * (num / (den * Math.sqrt(y)))) - s * iy;
  out[1] = dNum / dDen + (ds * r - 0.5 * iy);
}

/**
 * log B(a, b) = lgamma(a) + lgamma(b) − lgamma(a + b) for a, b > 0, with the Stirling terms
 * differenced analytically when an argument is ≥ 8, so log B(½, ν) stays accurate for large ν
 * (the lgamma values themselves would cancel).
 */
export function lbeta(a: number, b: number): number {
  const p = Math.min(a, b), q = Math.max(a, b);
  if (!(p > 0)) return NaN;
  const r = p / (p + q);
  if (p >= 8) {
    const corr = stirlingRemainder(p) + stirlingRemainder(q) - stirlingRemainder(p + q);
    return -0.5 * Math.log(q) + LN_SQRT_2PI + corr + (p - 0.5) * Math.log(r) + q * Math.log1p(-r);
  }
  if (q >= 8) {
    const corr = stirlingRemainder(q) - stirlingRemainder(p + q);
    return lgamma(p) + corr + p - p * Math.log(p + q) + (q - 0.5) * Math.log1p(-r);
  }
  return lgamma(p) + lgamma(q) - lgamma(p + q);
}

// ------------------------------------------------------------------ erf, erfc

/**
 * e^(−x²) without the rounding of x²: x = hi + lo with hi holding 26 bits (Veltkamp's split), so
 * hi² is exact and x² = hi² + lo·(x + hi). A plain exp(−x·x) is off by x²·2⁻⁵³ relative (1e-13 at
 * x = 27).
 */
function expMinusSquare(x: number): number {
  const c = 134217729 * x, hi = c - (c - x), lo = x - hi;
  return Math.exp(-hi * hi) * Math.exp(-lo * (x + hi));
}

/** (−1)ⁿ/(n!·(2n+1)) for n = 0 … 13: erf(x) = 2/√π·Σ aₙx^(2n+1); |x| < ½ leaves the last term < 1e-18. */
const ERF_SERIES: number[] = [];
for (let n = 0, f = 1; n < 14; n++, f *= n) ERF_SERIES.push((n % 2 === 0 ? 1 : -1) / (f * (2 * n + 1)));

/**
 * erfc(x)·√π·e^(x²) by Laplace's continued fraction 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
 * evaluated backward from `terms` partial numerators (it converges for every x > 0, slowly near 0).
 */
function erfcScaledFraction(x: number, terms: number): number {
  let t = x;
  for (let k = terms; k >= 1; k--) t = x + (k / 2) / t;
  return 1 / t;
}

/** Taylor anchors for erfc on [½, 3): a = ½ + i/8; erfc(a + h), |h| ≤ 1/16, is a degree-18 polynomial in h. */
const ANCHOR_LO = 0.5, ANCHOR_STEP = 0.125, ANCHORS = 21, ANCHOR_DEGREE = 18;
/** Row i: erfc(aᵢ), then the Taylor coefficients erfc⁽ⁿ⁾(aᵢ)/n! for n = 1 … ANCHOR_DEGREE. */
const ANCHOR_COEF = new Float64Array(ANCHORS * (ANCHOR_DEGREE + 1));
for (let i = 0; i < ANCHORS; i++) {
  const a = ANCHOR_LO + i * ANCHOR_STEP; // a² exact: a has at most 5 bits
  const g = Math.exp(-a * a);
  const row = i * (ANCHOR_DEGREE + 1);
  // erfc(a): the continued fraction with ample terms (its truncation error falls as e^(−2.8·a·√terms)).
  ANCHOR_COEF[row] = g / Math.sqrt(Math.PI) * erfcScaledFraction(a, Math.ceil(400 / (a * a)) + 40);
  // erfc⁽ⁿ⁾(a) = −2/√π·(−1)^(n−1)·H_(n−1)(a)·e^(−a²), Hermite Hₙ by H_(n+1) = 2a·Hₙ − 2n·H_(n−1).
  let hPrev = 0, h = 1, fact = 1;
  for (let n = 1; n <= ANCHOR_DEGREE; n++) {
    fact *= n;
    ANCHOR_COEF[row + n] = -TWO_OVER_SQRT_PI * g * (n % 2 === 1 ? h : -h) / fact;
    const hNext = 2 * a * h - 2 * (n - 1) * hPrev;
    hPrev = h; h = hNext;
  }
}

/** erfc(x) for x ≥ ½ (relative accuracy throughout; 0 past 27.3, where it underflows). */
function erfcPositive(x: number): number {
  if (x < ANCHOR_LO + ANCHORS * ANCHOR_STEP - ANCHOR_STEP / 2) {
    const i = Math.round((x - ANCHOR_LO) / ANCHOR_STEP);
    const h = x - (ANCHOR_LO + i * ANCHOR_STEP); // exact: x and the anchor are within a factor 2
    const row = i * (ANCHOR_DEGREE + 1);
    let s = 0;
    for (let n = ANCHOR_DEGREE; n >= 0; n--) s = s * h + ANCHOR_COEF[row + n];
    return s;
  }
  if (x > 27.3) return 0;
  // x ≥ 2.9375: 400/x² + 8 terms leave a truncation error below 1e-17.
  return expMinusSquare(x) / Math.sqrt(Math.PI) * erfcScaledFraction(x, Math.ceil(400 / (x * x)) + 8);
}

/**
 * torch.erf / scipy.special.erf: erf(x) = 2/√π ∫₀ˣ e^(−t²) dt. |x| < ½: its Maclaurin series;
 * otherwise sign(x)·(1 − erfc(|x|)).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 0.5) {
    const x2 = x * x;
    let s = 0;
    for (let n = ERF_SERIES.length - 1; n >= 0; n--) s = s * x2 + ERF_SERIES[n];
    return TWO_OVER_SQRT_PI * x * s;
  }
  if (Number.isNaN(x)) return NaN;
  const r = 1 - erfcPositive(ax);
  return x < 0 ? -r : r;
}

/**
 * torch.erfc / scipy.special.erfc: erfc(x) = 1 − erf(x), accurate relative to itself in the upper
 * tail (Taylor series about anchors on [½, 3), Laplace's continued fraction beyond).
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 0.5) return erfcPositive(x);
  if (x > -0.5) return 1 - erf(x);
  return 2 - erfcPositive(-x);
}

// ------------------------------------------------------------------ the standard normal

/** √½ = SQRT1_2 + SQRT1_2_LO, and SQRT1_2 split into 26-bit halves for an exact product. */
const SQRT1_2_LO = -4.833646656726457e-17;
const SQRT1_2_HI26 = 134217729 * Math.SQRT1_2 - (134217729 * Math.SQRT1_2 - Math.SQRT1_2);
const SQRT1_2_LO26 = Math.SQRT1_2 - SQRT1_2_HI26;

/**
 * scipy.special.ndtr / torch.special.ndtr: Φ(z) = ½·erfc(−z/√2); ½ + ½·erf(z/√2) in the middle,
 * 1 − ½·erfc(z/√2) above it, and ½·erfc(−z/√2) in the lower tail, where the rounding of z/√2 (a
 * relative error of z²·2⁻⁵³ in Φ, 1.5e-13 at z = −38, which scipy keeps) is put back by one
 * first-order term: erfc(w − δ) ≈ erfc(w) + δ·2/√π·e^(−w²) with δ the exact remainder of z·√½.
 */
export function normalCdf(z: number): number {
  const x = z * Math.SQRT1_2;
  if (x < -0.5) {
    if (!Number.isFinite(x)) return 0;
    // Dekker's exact product: z·SQRT1_2 = x + e; with the constant's own remainder, z/√2 = x + δ.
    const c = 134217729 * z, zh = c - (c - z), zl = z - zh;
    const e = ((zh * SQRT1_2_HI26 - x) + zh * SQRT1_2_LO26 + zl * SQRT1_2_HI26) + zl * SQRT1_2_LO26;
    const delta = e + z * SQRT1_2_LO;
    return 0.5 * (erfcPositive(-x) + delta * TWO_OVER_SQRT_PI * expMinusSquare(x));
  }
  if (x > 0.5) return 1 - 0.5 * erfcPositive(x);
  return 0.5 + 0.5 * erf(x);
}

/** φ(z) = e^(−z²/2)/√(2π), with z² split as in expMinusSquare so the tail keeps its accuracy. */
export function normalPdf(z: number): number {
  const c = 134217729 * z, hi = c - (c - z), lo = z - hi;
  if (!Number.isFinite(c)) return Number.isNaN(z) ? NaN : 0;
  return INV_SQRT_2PI * Math.exp(-0.5 * hi * hi) * Math.exp(-0.5 * lo * (z + hi));
}

/**
 * scipy.special.ndtri / torch.special.ndtri: Φ⁻¹(p) for p ∈ [0, 1] (−∞ and +∞ at the ends, NaN
 * outside). A start from Abramowitz & Stegun 26.2.23 (error < 4.5e-4) polished by Halley steps on
 * erf(t) = 2p − 1 for p ∈ [¼, ¾] and on erfc(t) = 2·min(p, 1−p) in the tails, each exact in p there,
 * so the result is accurate relative to itself near p = ½ as well as in the tails.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  const q = p < 0.5 ? p : 1 - p; // 1 − p is exact for p ≥ ½
  const s = Math.sqrt(-2 * Math.log(q));
  let x = s - (2.515517 + s * (0.802853 + s * 0.010328)) / (1 + s * (1.432788 + s * (0.189269 + s * 0.001308)));
  // Φ(−x) = q  ⇔  erfc(t) = 2q with t = x/√2; in the middle erf(t) = 1 − 2q instead.
  let t = x * Math.SQRT1_2;
  const central = q >= 0.25;
  const r = 1 - 2 * q; // exact for q ∈ [¼, ½]
  for (let it = 0; it < 8; it++) {
    const f = central ? r - erf(t) : erfcPositiveOrSmall(t) - 2 * q;
    // Both residuals f have f' = −2/√π·e^(−t²) and f'' = −2t·f'; with u = −f/f' Halley's step is
    // u/(1 − t·u).
    const u = f / (TWO_OVER_SQRT_PI * expMinusSquare(t));
    const step = u / (1 - t * u);
    t += step;
    if (Math.abs(step) <= 1e-17 * Math.abs(t)) break;
  }
  x = t * Math.SQRT2;
  return p < 0.5 ? -x : x;
}

/** erfc(t) for any t ≥ −½ (the start value may sit a little below ½ near q = ¼). */
function erfcPositiveOrSmall(t: number): number {
  return t >= 0.5 ? erfcPositive(t) : 1 - erf(t);
}

// ------------------------------------------------------------------ incomplete gamma

/**
 * scipy.special.gammainc / torch.special.gammainc: the regularised lower incomplete gamma
 * P(a, x) = γ(a, x)/Γ(a) = 1/Γ(a)·∫₀ˣ t^(a−1) e^(−t) dt for a > 0, x ≥ 0. Series
 * P = xᵃe^(−x)/Γ(a+1)·Σₙ xⁿ/((a+1)…(a+n)) for x < a + 1, else 1 − Q by gammaIncQ's fraction.
 */
export function gammaIncP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? gammaSeries(a, x) : 1 - gammaFraction(a, x);
}

/**
 * scipy.special.gammaincc / torch.special.gammaincc: Q(a, x) = 1 − P(a, x) = Γ(a, x)/Γ(a), by the
 * Legendre continued fraction (modified Lentz) for x ≥ a + 1, accurate in the upper tail.
 */
export function gammaIncQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - gammaSeries(a, x) : gammaFraction(a, x);
}

/** xᵃe^(−x)/Γ(a), the factor both P and Q carry. */
function gammaFront(a: number, x: number): number {
  return Math.exp(a * Math.log(x) - x - lgamma(a));
}

function gammaSeries(a: number, x: number): number {
  let term = 1 / a, sum = term;
  for (let n = 1; n < 100000; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum * gammaFront(a, x);
}

const TINY = 1e-300;

function gammaFraction(a: number, x: number): number {
  // Q = front · 1/(x+1−a − 1·(1−a)/(x+3−a − 2·(2−a)/(x+5−a − …))), modified Lentz.
  let b = x + 1 - a, c = 1 / TINY, d = 1 / b, h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b; if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h * gammaFront(a, x);
}

// ------------------------------------------------------------------ incomplete beta, Student's t

/**
 * scipy.special.betainc: the regularised incomplete beta I_x(a, b) = B(x; a, b)/B(a, b) for a, b > 0,
 * x ∈ [0, 1], by the continued fraction of Numerical Recipes' betacf (modified Lentz) on
 * whichever of I_x(a, b) and 1 − I_x(a, b) = I_(1−x)(b, a) converges fast.
 */
export function betaInc(a: number, b: number, x: number): number {
  return betaIncPair(a, b, x, 1 - x, false);
}

/**
 * I_x(a, b) (upper false) or 1 − I_x(a, b) (upper true), with y = 1 − x given by the caller so it
 * can be exact when x is near 1 (Student's t passes t²/(ν+t²) and ν/(ν+t²) both computed directly).
 */
function betaIncPair(a: number, b: number, x: number, y: number, upper: boolean): number {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) return NaN;
  if (x === 0) return upper ? 1 : 0;
  if (y === 0) return upper ? 0 : 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log(y) - lbeta(a, b));
  if (x < (a + 1) / (a + b + 2)) {
    const lower = front * betaFraction(a, b, x) / a;
    return upper ? 1 - lower : lower;
  }
  const up = front * betaFraction(b, a, y) / b;
  return upper ? up : 1 - up;
}

function betaFraction(a: number, b: number, x: number): number {
  const qab = a + b, qap = a + 1, qam = a - 1;
  let c = 1, d = 1 - qab * x / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 100000; m++) {
    const m2 = 2 * m;
    let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d; if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c; if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return h;
}

/**
 * P(T < −|t|) and its complement ½ − P(T < −|t|) for T ~ t_ν: ½·I_(ν/(ν+t²))(ν/2, ½) and
 * ½·I_(t²/(ν+t²))(½, ν/2), both arguments formed directly (neither as 1 minus the other).
 */
function studentTTail(t: number, nu: number, central: boolean): number {
  const t2 = t * t;
  if (t2 === Infinity) {
    // |t| > 1.3e154: x = ν/(ν+t²) = (ν/t²)·(1 − ν/t² …) and I_x(a, ½) = x^a/(a·B(a, ½))·(1 + O(x)),
    // both corrections below 1e-300 relative, so the leading term in logs is exact to rounding.
    const a = 0.5 * nu;
    const lower = Math.exp(a * (Math.log(nu) - 2 * Math.log(Math.abs(t))) - Math.log(a) - lbeta(a, 0.5));
    return 0.5 * (central ? 1 - lower : lower);
  }
  const x = nu / (nu + t2), y = t2 / (nu + t2);
  return 0.5 * betaIncPair(nu / 2, 0.5, x, y, central);
}

/**
 * scipy.stats.t.cdf (torch has none): F_ν(t) = P(T ≤ t) for Student's t with ν > 0 degrees of
 * freedom (non-integer allowed): ½·I_(ν/(ν+t²))(ν/2, ½) for t < 0, one minus that for t > 0.
 */
export function studentTCdf(t: number, nu: number): number {
  if (!(nu > 0) || Number.isNaN(t)) return NaN;
  if (t === -Infinity) return 0;
  if (t === Infinity) return 1;
  if (t === 0) return 0.5;
  const tail = studentTTail(t, nu, false);
  return t < 0 ? tail : 1 - tail;
}

/**
 * exp(torch.distributions.StudentT(ν, 0, 1).log_prob(t)): f_ν(t) = (1 + t²/ν)^(−(ν+1)/2) / (√ν·B(ν/2, ½)).
 */
export function studentTPdf(t: number, nu: number): number {
  if (!(nu > 0)) return NaN;
  // log(1 + t²/ν), as 2·log|t| − log ν past |t| = 1e150, where t² would overflow and ν/t² is lost anyway.
  const at = Math.abs(t);
  const l = at > 1e150 ? 2 * Math.log(at) - Math.log(nu) : Math.log1p(t * t / nu);
  return Math.exp(-0.5 * (nu + 1) * l - 0.5 * Math.log(nu) - lbeta(0.5 * nu, 0.5));
}

/**
 * scipy.stats.t.ppf: F_ν⁻¹(p) for p ∈ [0, 1], ν > 0 (±∞ at the ends). Safeguarded Newton on a
 * bracket, for s = |t| with P(T < −s) = min(p, 1−p): on ½ − P(T < −s) = ½ − min(p, 1−p) (exact) for
 * min(p, 1−p) ≥ ¼, so the middle keeps relative accuracy, and on log P(T < −s) in log s in the
 * tails, where that is nearly linear. Converges to a relative step below 1e-15.
 */
export function studentTQuantile(p: number, nu: number): number {
  if (!(nu > 0) || !(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  const q = p < 0.5 ? p : 1 - p;
  const s = q >= 0.25 ? tQuantileCentral(0.5 - q, nu) : tQuantileTail(q, nu);
  return p < 0.5 ? -s : s;
}

/** s > 0 with ½·I_(s²/(ν+s²))(½, ν/2) = c, c ∈ (0, ¼]. */
function tQuantileCentral(c: number, nu: number): number {
  let lo = 0, hi = 1;
  while (studentTTail(hi, nu, true) < c) { lo = hi; hi *= 4; }
  let s = Math.min(hi, Math.max(lo, c / studentTPdf(0, nu)));
  for (let it = 0; it < 200; it++) {
    const g = studentTTail(s, nu, true) - c;
    if (g === 0) return s;
    if (g < 0) lo = s; else hi = s;
    let next = s - g / studentTPdf(s, nu);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - s) <= 1e-15 * s) return next;
    s = next;
  }
  return s;
}

/** s > 0 with P(T < −s) = q, q ∈ (0, ¼): Newton in u = log s on log P(T < −e^u) − log q. */
function tQuantileTail(q: number, nu: number): number {
  const lq = Math.log(q);
  // A quantile past the largest double (ν small, q tiny): say so rather than return a bracket end.
  if (studentTTail(Number.MAX_VALUE, nu, false) > q) return Infinity;
  // Bracket in log s: P(T < −e^lo) > q > P(T < −e^hi). Every quartile of t_ν exceeds Φ⁻¹(¾) ≈ 0.674,
  // so P(T < −0.6) > ¼ > q for every ν.
  let lo = Math.log(0.6), hi = 0;
  while (studentTTail(Math.exp(hi), nu, false) > q) { lo = hi; hi += 2; }
  let u = 0.5 * (lo + hi);
  for (let it = 0; it < 200; it++) {
    const s = Math.exp(u);
    const tail = studentTTail(s, nu, false);
    const g = Math.log(tail) - lq;
    if (g === 0) return s;
    if (g > 0) lo = u; else hi = u;
    // d/du log P(T < −e^u) = −f(s)·s / P(T < −s).
    let next = u + g * tail / (studentTPdf(s, nu) * s);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - u) <= 1e-16) return Math.exp(next);
    u = next;
  }
  return Math.exp(u);
}
