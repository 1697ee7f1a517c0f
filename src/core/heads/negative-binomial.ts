import { sampleNegativeBinomial } from "../sample.js";
import { digamma, lgamma } from "../special.js";
import type { Likelihood } from "./likelihood.js";
import { softplus, softplusGrad } from "./softplus.js";

/** Below this count, log C(r + k − 1, k) and ψ(r + k) − ψ(r) come from the k factors r + j. */
const SMALL_COUNT = 16;
/** Up to here the product of fewer than SMALL_COUNT factors r + j stays below 1e270, far from overflow. */
const PRODUCT_MAX_R = 1e18;
/** lgamma(k + 1) for the counts most data holds: one lookup instead of a special function per cell. */
const LOG_FACTORIAL = Float64Array.from({ length: 1024 }, (_, k) => lgamma(k + 1));
const logFactorial = (k: number): number => (k < LOG_FACTORIAL.length ? LOG_FACTORIAL[k] : lgamma(k + 1));

/**
 * lgamma(r + k) − lgamma(r) − lgamma(k + 1) (the log of the binomial coefficient C(r + k − 1, k))
 * into out[0] and ψ(r + k) − ψ(r) into out[1] for a count k. For a small k (the common case) they
 * are log(P(r)/k!) and P′(r)/P(r) of P(r) = Π_{j<k} (r + j) (Γ(r + 1) = r·Γ(r)): one logarithm,
 * one division, no cancellation between large lgammas; past PRODUCT_MAX_R, where P could
 * overflow, Σ log(r + j) − log k! and Σ 1/(r + j); for a large k the differences of the functions.
 */
function rises(r: number, k: number, out: Float64Array): void {
  if (k >= SMALL_COUNT) {
    out[0] = lgamma(r + k) - lgamma(r) - logFactorial(k); out[1] = digamma(r + k) - digamma(r);
  } else if (r > PRODUCT_MAX_R) {
    let s = 0, d = 0;
    for (let j = 0; j < k; j++) { s += Math.log(r + j); d += 1 / (r + j); }
    out[0] = s - logFactorial(k); out[1] = d;
  } else {
    let p = 1, dp = 0, f = 1; // P and P′ by the product rule, every term positive; f = k!
    for (let j = 0; j < k; j++) { const t = r + j; dp = dp * t + p; p *= t; f *= j + 1; }
    out[0] = Math.log(p / f); out[1] = dp / p;
  }
}

/** The two rises of one cell, reused. */
const rise = new Float64Array(2);

/**
 * −log p(k) of `torch.distributions.NegativeBinomial(total_count=1/α, probs=αμ/(1+αμ))`:
 * with r = 1/α, log p = r·log(1 − p) + k·log p + lgamma(r + k) − lgamma(k + 1) − lgamma(r),
 * where log(1 − p) = −log1p(αμ) and log p = log(αμ) − log1p(αμ).
 */
function nll(mu: number, alpha: number, k: number): number {
  const am = alpha * mu, r = 1 / alpha;
  rises(r, k, rise);
  return nllOf(am, Math.log1p(am), r, k, rise[0]);
}

/** nll from αμ, log1p(αμ), r = 1/α and lgamma(r + k) − lgamma(r) − lgamma(k + 1). */
function nllOf(am: number, l1: number, r: number, k: number, logCoef: number): number {
  const logP = k === 0 ? 0 : k * (Math.log(am) - l1);
  return r * l1 - logP - logCoef;
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
    const am = alpha * mu, l1 = Math.log1p(am), r = 1 / alpha;
    rises(r, k, rise);
    if (da) {
      da[off] = ((mu - k) / (mu * (1 + am))) * softplusGrad(a0);  // ∂/∂μ · dμ/da₀
      // ∂(log p)/∂α = r²·log1p(αμ) − μ/(α(1+αμ)) + k/α − kμ/(1+αμ) − r²·(ψ(r + k) − ψ(r))
      const dlogp = r * r * l1 - mu / (alpha * (1 + am)) + k / alpha - (k * mu) / (1 + am) - r * r * rise[1];
      da[off + O] = -dlogp * softplusGrad(a1);
    }
    return nllOf(am, l1, r, k, rise[0]);
  },
  quantile: null,
  crps: null,
  sample: (theta, rng, spare) => sampleNegativeBinomial(rng, theta[0], theta[1], spare),
};
