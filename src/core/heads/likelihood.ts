import type { Kernels } from "../kernels.js";
import type { Rng } from "../rng.js";
import type { NormalSpare } from "../sample.js";
import type { Float } from "../tensor.js";
import { addError, ERROR_COLUMNS, errorMetrics } from "./errors.js";
import type { LossSum, ParamForm, RegressionHead, Scale, Scorer } from "./head.js";

/**
 * A distribution over one target (SPEC §10), its P parameters θ read from P raw outputs of the
 * head. θ₀ is always the distribution's mean (μ), so predict's values are θ in original units.
 */
export interface Likelihood {
  readonly name: "gaussian" | "studentT" | "negativeBinomial";
  /** Raw outputs (and parameters) per target. */
  readonly P: number;
  /** Names of θ₁ … θ_{P−1} as predict prints them (`sigma`, `nu`, `alpha`). */
  readonly extra: readonly string[];
  /** False for counts: targets are never z-scored. */
  readonly normalisesTargets: boolean;
  /** θ_k from raw output a_k, as a form (what params and toOriginal compute, for the export). */
  readonly forms: readonly ParamForm[];
  /** θ from the raw outputs a[off + k·O] (k < P), in the model's units. */
  params(a: Float, off: number, O: number, theta: Float64Array): void;
  /** θ mapped to original units in place (μ·s + m, σ·s; ν, α unchanged). */
  toOriginal(theta: Float64Array, s: Scale): void;
  /**
   * −log p(y) from the raw outputs a[off + k·O]; with `da`, d/da_k lands in da[off + k·O]
   * (assigned, not accumulated).
   */
  nllRaw(a: Float, off: number, O: number, y: number, da: Float | null): number;
  /** −log p(y | θ). */
  nll(theta: Float64Array, y: number): number;
  /** F⁻¹(p | θ) (continuous distributions), or null. */
  readonly quantile: ((theta: Float64Array, p: number) => number) | null;
  /** The closed-form CRPS(F_θ, y), or null where eval reports none. */
  readonly crps: ((theta: Float64Array, y: number) => number) | null;
  /** One draw from the distribution, from the seeded generator (`spare`: its normal pair's second value). */
  sample(theta: Float64Array, rng: Rng, spare: NormalSpare): number;
}

/** Slots after loss and count: se, ae, nll, then crps and in-80%-interval counts where defined. */
const SE = 2, NLL = 4, CRPS = 5, COVER = 6;

function likelihoodScorer(lik: Likelihood): Scorer {
  const theta = new Float64Array(lik.P);
  const closed = lik.crps !== null && lik.quantile !== null;
  return {
    slots: closed ? 7 : 5,
    add(sums, y, r, o, O, v, s) {
      lik.params(y, r * lik.P * O + o, O, theta);
      lik.toOriginal(theta, s);
      const actual = v * s.std + s.mean; // s is the identity for targets that are not z-scored
      addError(sums, SE, theta[0], actual);
      sums[NLL] += lik.nll(theta, actual);
      if (closed) {
        sums[CRPS] += lik.crps!(theta, actual);
        if (lik.quantile!(theta, 0.1) <= actual && actual <= lik.quantile!(theta, 0.9)) sums[COVER]++;
      }
    },
    metrics(sums) {
      const n = sums[1];
      return { nll: sums[NLL] / n, ...errorMetrics(sums, SE), ...(closed ? { crps: sums[CRPS] / n, coverage80: sums[COVER] / n } : {}) };
    },
    valColumns: [...ERROR_COLUMNS, "val_nll", ...(closed ? ["val_crps"] : [])],
  };
}

/** The head of a likelihood model: the loss is −log p, pooled over the present target cells. */
export function likelihoodHead(lik: Likelihood): RegressionHead {
  const P = lik.P, theta = new Float64Array(P), sums = new Float64Array(2);
  return {
    name: lik.name,
    perTarget: P,
    normalisesTargets: lik.normalisesTargets,
    forms: lik.forms,
    // The kernel's reference (heads/loss-reference.ts) is lik.nllRaw cell by cell.
    lossSum(y: Float, v: Float64Array, O: number, tOff: number, r0: number, r1: number, dy: Float | null, k: Kernels): LossSum {
      k.headLoss(lik.name, null, y, v, O, tOff, r0, r1, dy, sums);
      return { sum: sums[0], count: sums[1] };
    },
    predictColumns: (targets) => [...targets.map((c) => `pred_${c}`), ...lik.extra.flatMap((p) => targets.map((c) => `${p}_${c}`))],
    predictRow(y, r, O, stats, out, at) {
      for (let o = 0; o < O; o++) {
        lik.params(y, r * P * O + o, O, theta);
        lik.toOriginal(theta, stats[o]);
        for (let k = 0; k < P; k++) out[at + k * O + o] = theta[k];
      }
    },
    forecastColumns: (targets) => [...targets, ...lik.extra.flatMap((p) => targets.map((c) => `${p}_${c}`))],
    forecastRow(p, O, out) { for (let i = 0; i < P * O; i++) out[i] = p[i]; },
    forecastWidth: (O) => P * O,
    scorer: likelihoodScorer(lik),
  };
}
