/**
 * Random variates for `forecast --samples` (SPEC §10): one draw from a step's distribution per
 * path, target and step, from the project's generator (rng.ts) only, so the same seed gives the
 * same paths bit for bit. Every sampler is a plain function of (generator, parameters, optional
 * spare): nothing global, nothing allocated per draw.
 *
 * Which uniform each draw consumes is part of the output: changing an algorithm here changes
 * every sampled forecast, so treat them as fixed once released.
 */
import type { Rng } from "./rng.js";
import { lgamma } from "./special.js";

/**
 * The second normal of the polar method's pair, kept for the next sampleNormal call. One per
 * generator, owned by the caller (a forecast run holds one beside its Rng), so paths stay a
 * function of the seed; without one, the second value is thrown away.
 */
export class NormalSpare {
  has = false;
  value = 0;
}

/**
 * torch.randn / numpy's standard_normal for one value: N(0, 1) by Marsaglia's polar method
 * (u, v uniform on the unit disc, s = u² + v², both u·√(−2 ln s / s) and v·√(−2 ln s / s) are
 * independent standard normals). With `spare`, the second is returned by the next call.
 */
export function sampleNormal(rng: Rng, spare?: NormalSpare): number {
  if (spare !== undefined && spare.has) { spare.has = false; return spare.value; }
  let u: number, v: number, s: number;
  do {
    u = 2 * rng.uniform() - 1;
    v = 2 * rng.uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s === 0);
  const f = Math.sqrt(-2 * Math.log(s) / s);
  if (spare !== undefined) { spare.value = v * f; spare.has = true; }
  return u * f;
}

/**
 * torch.distributions.Gamma(shape, 1).sample / numpy's standard_gamma: Gamma(shape, scale 1),
 * shape > 0 (NaN otherwise). Marsaglia & Tsang (2000): with d = shape − ⅓, c = 1/√(9d), accept
 * d·(1 + c·x)³ for x normal, u uniform when u < 1 − 0.0331x⁴ (the squeeze) or
 * log u < x²/2 + d·(1 − v + log v), v = (1 + c·x)³. For shape < 1 the boost
 * Gamma(shape) = Gamma(shape + 1)·U^(1/shape) (U uniform on (0, 1]).
 */
export function sampleGamma(rng: Rng, shape: number, spare?: NormalSpare): number {
  if (!(shape > 0)) return NaN;
  if (shape < 1) {
    const g = sampleGamma(rng, shape + 1, spare);
    return g * Math.exp(Math.log(1 - rng.uniform()) / shape);
  }
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = sampleNormal(rng, spare);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.uniform();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * torch.poisson / numpy's poisson for one value: Poisson(λ), λ ≥ 0 (NaN otherwise), exact for
 * every λ. λ < 10: inversion by sequential search from 0 (one uniform; e^(−λ) does not underflow).
 * λ ≥ 10: Hörmann's transformed rejection with squeeze, PTRS (1993), as numpy uses.
 */
export function samplePoisson(rng: Rng, lambda: number): number {
  if (!(lambda >= 0) || lambda === Infinity) return NaN;
  if (lambda === 0) return 0;
  if (lambda < 10) {
    const u = rng.uniform();
    let k = 0, p = Math.exp(-lambda), cdf = p;
    // The cdf's rounding can leave it just below a u near 1; p reaching 0 ends the search there.
    while (u > cdf && p > 0) { k++; p *= lambda / k; cdf += p; }
    return k;
  }
  const logLambda = Math.log(lambda);
  const b = 0.931 + 2.53 * Math.sqrt(lambda);
  const a = -0.059 + 0.02483 * b;
  const logInvAlpha = Math.log(1.1239 + 1.1328 / (b - 3.4));
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.uniform() - 0.5;
    const v = rng.uniform();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor((2 * a / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + logInvAlpha - Math.log(a / (us * us) + b) <= -lambda + k * logLambda - lgamma(k + 1)) return k;
  }
}

/**
 * torch.distributions.StudentT(ν).sample: Student's t with ν > 0 degrees of freedom,
 * Z / √(χ²_ν/ν) with Z normal and χ²_ν = 2·Gamma(ν/2) (the normal drawn first).
 */
export function sampleStudentT(rng: Rng, nu: number, spare?: NormalSpare): number {
  const z = sampleNormal(rng, spare);
  return z / Math.sqrt(2 * sampleGamma(rng, 0.5 * nu, spare) / nu);
}

/**
 * torch.distributions.NegativeBinomial(total_count = 1/α, probs = αμ/(1 + αμ)).sample, the
 * negativeBinomial head's form (SPEC §10: mean μ, variance μ + αμ²), μ ≥ 0, α > 0, as the
 * gamma–Poisson mixture λ ~ Gamma(shape 1/α, scale αμ), y ~ Poisson(λ).
 */
export function sampleNegativeBinomial(rng: Rng, mu: number, alpha: number, spare?: NormalSpare): number {
  if (!(mu >= 0) || !(alpha > 0)) return NaN;
  if (mu === 0) return 0;
  return samplePoisson(rng, sampleGamma(rng, 1 / alpha, spare) * alpha * mu);
}
