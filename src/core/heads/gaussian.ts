import { sampleNormal } from "../sample.js";
import { crpsGaussian } from "../crps.js";
import { normalQuantile } from "../special.js";
import type { Likelihood } from "./likelihood.js";
import { softplus, softplusGrad } from "./softplus.js";

const LOG_SQRT_2PI = Math.log(Math.sqrt(2 * Math.PI));

/**
 * `torch.distributions.Normal(μ, σ)` with μ = a₀, σ = softplus(a₁):
 * −log p(y) = (y − μ)²/(2σ²) + log σ + log √(2π).
 */
export const gaussian: Likelihood = {
  name: "gaussian",
  P: 2,
  extra: ["sigma"],
  normalisesTargets: true,
  forms: [{ kind: "location" }, { kind: "scale" }],
  params(a, off, O, theta) {
    theta[0] = a[off]; theta[1] = softplus(a[off + O]);
  },
  toOriginal(theta, s) {
    theta[0] = theta[0] * s.std + s.mean; theta[1] *= s.std;
  },
  nll(theta, y) {
    const mu = theta[0], sigma = theta[1];
    return (y - mu) ** 2 / (2 * sigma * sigma) + Math.log(sigma) + LOG_SQRT_2PI;
  },
  nllRaw(a, off, O, y, da) {
    const mu = a[off], a1 = a[off + O], sigma = softplus(a1), d = y - mu, var_ = sigma * sigma;
    if (da) {
      da[off] = -d / var_;                                       // ∂/∂μ
      da[off + O] = (1 / sigma - (d * d) / (var_ * sigma)) * softplusGrad(a1); // ∂/∂σ · dσ/da₁
    }
    return (d * d) / (2 * var_) + Math.log(sigma) + LOG_SQRT_2PI;
  },
  quantile: (theta, p) => theta[0] + theta[1] * normalQuantile(p),
  crps: (theta, y) => crpsGaussian(y, theta[0], theta[1]),
  sample: (theta, rng, spare) => theta[0] + theta[1] * sampleNormal(rng, spare),
};
