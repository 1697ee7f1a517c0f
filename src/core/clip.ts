import type { Float } from "./tensor.js";

/** ‖g‖₂ over the whole flat gradient (every layer and the head), accumulated in float64. */
export function gradNorm(g: Float): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/**
 * `torch.nn.utils.clip_grad_norm_(params, maxNorm)` (torch 1.13), Pascanu et al. 2013
 * Algorithm 1: g ← g · min(1, maxNorm / (‖g‖₂ + 1e-6)). Returns ‖g‖₂ before clipping.
 */
export function clipGradNorm(g: Float, maxNorm: number): number {
  const norm = gradNorm(g);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}

/** `torch.nn.utils.clip_grad_value_(params, c)`: every component clamped to [−c, c]. */
export function clipGradValue(g: Float, c: number): void {
  for (let i = 0; i < g.length; i++) {
    const v = g[i];
    if (v > c) g[i] = c; else if (v < -c) g[i] = -c;
  }
}

/** `training.clip`: by global norm, by value, or not at all. */
export type Clip = { readonly norm: number } | { readonly value: number } | null;

/** Clips g in place as configured; returns the pre-clip norm (logged on every update). */
export function clipGradients(g: Float, clip: Clip): number {
  if (clip && "norm" in clip) return clipGradNorm(g, clip.norm);
  const norm = gradNorm(g);
  if (clip) clipGradValue(g, clip.value);
  return norm;
}
