/**
 * Closed-form continuous ranked probability scores, CRPS(F, y) = ∫ (F(x) − 1{x ≥ y})² dx, of the
 * location-scale likelihood heads (SPEC §10: `eval`'s `crps`, in original units). Pure.
 */
import { lbeta, normalCdf, normalPdf, studentTCdf, studentTPdf } from "./special.js";

/** 1/√π. */
const INV_SQRT_PI = 0.5641895835477563;

/**
 * CRPS of N(μ, σ²) at y (Gneiting & Raftery 2007; scoringRules' crps_norm):
 * σ·[z·(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ. σ > 0.
 */
export function crpsGaussian(y: number, mu: number, sigma: number): number {
  const z = (y - mu) / sigma;
  return sigma * (z * (2 * normalCdf(z) - 1) + 2 * normalPdf(z) - INV_SQRT_PI);
}

/**
 * CRPS of the location-scale Student t (ν degrees of freedom, μ, σ) at y, for ν > 1 (below that
 * the mean and the score diverge); Jordan, Krüger & Lerch 2019 (scoringRules' crps_t):
 * σ·[z·(2F_ν(z) − 1) + 2f_ν(z)·(ν + z²)/(ν − 1) − 2√ν·B(½, ν − ½)/((ν − 1)·B(½, ν/2)²)],
 * z = (y − μ)/σ. The beta ratio is formed in logs (lbeta), so a large ν does not overflow.
 */
export function crpsStudentT(y: number, mu: number, sigma: number, nu: number): number {
  const z = (y - mu) / sigma;
  const spread = 2 * Math.sqrt(nu) * Math.exp(lbeta(0.5, nu - 0.5) - 2 * lbeta(0.5, 0.5 * nu)) / (nu - 1);
  return sigma * (z * (2 * studentTCdf(z, nu) - 1) + 2 * studentTPdf(z, nu) * (nu + z * z) / (nu - 1) - spread);
}
