import { crpsStudentT } from "../crps.js";
import { sampleStudentT } from "../sample.js";
import { lgammaHalfShift, studentTQuantile } from "../special.js";
import type { Likelihood } from "./likelihood.js";
import { softplus, softplusGrad } from "./softplus.js";

const HALF_LOG_PI = 0.5 * Math.log(Math.PI);
/** lgamma(ν/2) − lgamma((ν+1)/2) + log σ + ½·log ν and ψ(ν/2) − ψ((ν+1)/2), reused. */
const shift = new Float64Array(2);

/**
 * −log p(y) of `torch.distributions.StudentT(ν, μ, σ)` as torch's log_prob writes it,
 * ½(ν+1)·log1p(z²/ν) + log σ + ½·log ν + ½·log π + lgamma(ν/2) − lgamma((ν+1)/2), given l =
 * log1p(z²/ν) and `norm` = lgammaHalfShift(ν/2, ·, σ·√ν)'s first value (all the logarithms but l).
 */
function nllOf(nu: number, l: number, norm: number): number {
  return 0.5 * (nu + 1) * l + (norm + HALF_LOG_PI);
}

function nll(mu: number, sigma: number, nu: number, y: number): number {
  const z = (y - mu) / sigma;
  lgammaHalfShift(0.5 * nu, shift, sigma * Math.sqrt(nu));
  return nllOf(nu, Math.log1p((z * z) / nu), shift[0]);
}

/**
 * `torch.distributions.StudentT(ν, μ, σ)` with μ = a₀, σ = softplus(a₁), ν = 2 + softplus(a₂)
 * (ν > 2, so the mean μ and the variance exist).
 */
export const studentT: Likelihood = {
  name: "studentT",
  P: 3,
  extra: ["sigma", "nu"],
  normalisesTargets: true,
  forms: [{ kind: "location" }, { kind: "scale" }, { kind: "positive", shift: 2 }],
  params(a, off, O, theta) {
    theta[0] = a[off]; theta[1] = softplus(a[off + O]); theta[2] = 2 + softplus(a[off + 2 * O]);
  },
  toOriginal(theta, s) {
    theta[0] = theta[0] * s.std + s.mean; theta[1] *= s.std;
  },
  nll: (theta, y) => nll(theta[0], theta[1], theta[2], y),
  nllRaw(a, off, O, y, da) {
    const mu = a[off], a1 = a[off + O], a2 = a[off + 2 * O];
    const sigma = softplus(a1), nu = 2 + softplus(a2);
    const z = (y - mu) / sigma, z2 = z * z, l = Math.log1p(z2 / nu);
    lgammaHalfShift(0.5 * nu, shift, sigma * Math.sqrt(nu));
    if (da) {
      const w = (nu + 1) / (nu + z2);
      da[off] = -(w * z) / sigma;                                 // ∂/∂μ
      da[off + O] = ((1 - w * z2) / sigma) * softplusGrad(a1);    // ∂/∂σ · dσ/da₁
      // ∂/∂ν, with ½ψ(ν/2) − ½ψ((ν+1)/2) = ½·shift[1]
      const dnu = 0.5 * l - (0.5 * w * z2) / nu + 0.5 / nu + 0.5 * shift[1];
      da[off + 2 * O] = dnu * softplusGrad(a2);                   // ∂/∂ν · dν/da₂
    }
    return nllOf(nu, l, shift[0]);
  },
  quantile: (theta, p) => theta[0] + theta[1] * studentTQuantile(p, theta[2]),
  crps: (theta, y) => crpsStudentT(y, theta[0], theta[1], theta[2]),
  sample: (theta, rng, spare) => theta[0] + theta[1] * sampleStudentT(rng, theta[2], spare),
};
