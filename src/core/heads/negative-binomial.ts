import { sampleNegativeBinomial } from "../sample.js";
import { digamma, lgamma } from "../special.js";
import type { Likelihood } from "./likelihood.js";
import { softplus, softplusGrad } from "./softplus.js";

/**
 * −log p(k) of `torch.distributions.NegativeBinomial(total_count=1/α, probs=αμ/(1+αμ))`:
 * with r = 1/α, log p = r·log(1 − p) + k·log p + lgamma(r + k) − lgamma(k + 1) − lgamma(r),
 * where log(1 − p) = −log1p(αμ) and log p = log(αμ) − log1p(αμ).
 */
function nll(mu: number, alpha: number, k: number): number {
  const am = alpha * mu, l1 = Math.log1p(am), r = 1 / alpha;
  const logP = k === 0 ? 0 : k * (Math.log(am) - l1);
  return r * l1 - logP - lgamma(r + k) + lgamma(k + 1) + lgamma(r);
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
        - r * r * (digamma(r + k) - digamma(r));
      da[off + O] = -dlogp * softplusGrad(a1);
    }
    return nll(mu, alpha, k);
  },
  quantile: null,
  crps: null,
  sample: (theta, rng, spare) => sampleNegativeBinomial(rng, theta[0], theta[1], spare),
};
