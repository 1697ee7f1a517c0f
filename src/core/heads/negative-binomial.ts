import { sampleNegativeBinomial } from "../sample.js";
import { digamma, lgamma } from "../special.js";
import type { Likelihood } from "./likelihood.js";
import { softplus, softplusGrad } from "./softplus.js";

/** Below this count, lgamma(r + k) − lgamma(r) and ψ(r + k) − ψ(r) are sums of k terms. */
const SMALL_COUNT = 16;
/** lgamma(k + 1) for the counts most data holds: one lookup instead of a special function per cell. */
const LOG_FACTORIAL = Float64Array.from({ length: 1024 }, (_, k) => lgamma(k + 1));
const logFactorial = (k: number): number => (k < LOG_FACTORIAL.length ? LOG_FACTORIAL[k] : lgamma(k + 1));

/**
 * lgamma(r + k) − lgamma(r) for a count k: Σ_{j<k} log(r + j) when k is small (Γ(r + 1) = r·Γ(r),
 * no cancellation between two large lgammas), else the difference of the functions.
 */
function lgammaRise(r: number, k: number): number {
  if (k >= SMALL_COUNT) return lgamma(r + k) - lgamma(r);
  let s = 0;
  for (let j = 0; j < k; j++) s += Math.log(r + j);
  return s;
}

/** ψ(r + k) − ψ(r) for a count k: Σ_{j<k} 1/(r + j) when k is small (ψ(r + 1) = ψ(r) + 1/r). */
function digammaRise(r: number, k: number): number {
  if (k >= SMALL_COUNT) return digamma(r + k) - digamma(r);
  let s = 0;
  for (let j = 0; j < k; j++) s += 1 / (r + j);
  return s;
}

/**
 * −log p(k) of `torch.distributions.NegativeBinomial(total_count=1/α, probs=αμ/(1+αμ))`:
 * with r = 1/α, log p = r·log(1 − p) + k·log p + lgamma(r + k) − lgamma(k + 1) − lgamma(r),
 * where log(1 − p) = −log1p(αμ) and log p = log(αμ) − log1p(αμ).
 */
function nll(mu: number, alpha: number, k: number): number {
  const am = alpha * mu, l1 = Math.log1p(am), r = 1 / alpha;
  const logP = k === 0 ? 0 : k * (Math.log(am) - l1);
  return r * l1 - logP - lgammaRise(r, k) + logFactorial(k);
}

/**
 * DeepAR's negative binomial: mean μ = softplus(a₀), shape α = softplus(a₁), variance μ + αμ².
 * Counts are never z-scored (SPEC §10).
 */
export const negativeBinomial: Likelihood = {
  name: "negativeBinomial",
  P: 2,
  extra: ["alpha"],
  normalisesTargets: false,
  forms: [{ kind: "positive", shift: 0 }, { kind: "positive", shift: 0 }],
  params(a, off, O, theta) {
    theta[0] = softplus(a[off]); theta[1] = softplus(a[off + O]);
  },
  toOriginal() { /* counts are in their own units */ },
  nll: (theta, k) => nll(theta[0], theta[1], k),
  nllRaw(a, off, O, k, da) {
    const a0 = a[off], a1 = a[off + O], mu = softplus(a0), alpha = softplus(a1);
    if (da) {
      const am = alpha * mu, r = 1 / alpha;
      da[off] = ((mu - k) / (mu * (1 + am))) * softplusGrad(a0);  // ∂/∂μ · dμ/da₀
      // ∂(log p)/∂α = r²·log1p(αμ) − μ/(α(1+αμ)) + k/α − kμ/(1+αμ) − r²·(ψ(r + k) − ψ(r))
      const dlogp = r * r * Math.log1p(am) - mu / (alpha * (1 + am)) + k / alpha - (k * mu) / (1 + am)
        - r * r * digammaRise(r, k);
      da[off + O] = -dlogp * softplusGrad(a1);
    }
    return nll(mu, alpha, k);
  },
  quantile: null,
  crps: null,
  sample: (theta, rng, spare) => sampleNegativeBinomial(rng, theta[0], theta[1], spare),
};
