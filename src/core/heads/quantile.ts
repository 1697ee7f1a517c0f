import type { Kernels } from "../kernels.js";
import type { Float } from "../tensor.js";
import { addError, ERROR_COLUMNS, errorMetrics } from "./errors.js";
import type { LossSum, RegressionHead, Scorer } from "./head.js";

/** ρ_q(e) = max(q·e, (q − 1)·e), the pinball (quantile) loss of the error e = y − ŷ_q. */
export function pinball(q: number, e: number): number {
  return Math.max(q * e, (q - 1) * e);
}

/**
 * dρ_q(y − ŷ)/dŷ as torch's `maximum` backward gives it: −q for e > 0, 1 − q for e < 0, and
 * the mean of the two at a tie (torch splits the gradient between equal arguments).
 */
function pinballGrad(q: number, e: number): number {
  return e > 0 ? -q : e < 0 ? 1 - q : 0.5 - q;
}

/**
 * The loss of one target cell t: ρ_q(t − ŷ_q) averaged over the Q levels, ŷ_q = y[off + k·O];
 * with dy, its gradients into dy[off + k·O] (assigned).
 */
export function pinballCell(qs: Float64Array, y: Float, off: number, O: number, t: number, dy: Float | null): number {
  const Q = qs.length;
  let cell = 0;
  for (let k = 0; k < Q; k++) {
    const e = t - y[off + k * O];
    cell += pinball(qs[k], e);
    if (dy) dy[off + k * O] = pinballGrad(qs[k], e) / Q;
  }
  return cell / Q;
}

/** How `predict` names quantile q (SPEC §10: String(q)). */
export const quantileName = (q: number): string => String(q);

function quantileScorer(qs: readonly number[]): Scorer {
  const Q = qs.length, median = qs.indexOf(0.5);
  // Slots after loss and count: pinball sum, one "≤ ŷ_q" count per quantile, then se, ae of ŷ_0.5.
  const PIN = 2, COV = 3, SE = 3 + Q;
  return {
    slots: SE + (median >= 0 ? 2 : 0),
    add(sums, y, r, o, O, v, s) {
      const actual = v * s.std + s.mean;
      let loss = 0;
      for (let k = 0; k < Q; k++) {
        const yq = y[(r * Q + k) * O + o] * s.std + s.mean;
        loss += pinball(qs[k], actual - yq);
        if (actual <= yq) sums[COV + k]++;
        if (k === median) addError(sums, SE, yq, actual);
      }
      sums[PIN] += loss / Q;
    },
    metrics(sums) {
      const n = sums[1];
      return {
        pinball: sums[PIN] / n,
        coverage: Object.fromEntries(qs.map((q, k) => [quantileName(q), sums[COV + k] / n])),
        ...(median >= 0 ? errorMetrics(sums, SE) : {}),
      };
    },
    valColumns: [...(median >= 0 ? ERROR_COLUMNS : []), "val_pinball"],
  };
}

/**
 * Quantile regression over `qs` (SPEC §10): output k·O + o is ŷ_{q_k} of target o; the loss of
 * a target cell is the pinball loss averaged over the Q quantiles.
 */
export function quantileHead(qs: readonly number[]): RegressionHead {
  const Q = qs.length, median = qs.indexOf(0.5), levels = Float64Array.from(qs), sums = new Float64Array(2);
  return {
    name: "quantiles",
    perTarget: Q,
    normalisesTargets: true,
    forms: qs.map(() => ({ kind: "location" as const })),
    lossSum(y: Float, v: Float64Array, O: number, tOff: number, r0: number, r1: number, dy: Float | null, k: Kernels): LossSum {
      k.headLoss("quantiles", levels, y, v, O, tOff, r0, r1, dy, sums);
      return { sum: sums[0], count: sums[1] };
    },
    predictColumns: (targets) => qs.flatMap((q) => targets.map((c) => `pred_${c}_q${quantileName(q)}`)),
    predictRow(y, r, O, stats, out, at) {
      for (let i = 0; i < Q * O; i++) { const s = stats[i % O]; out[at + i] = y[r * Q * O + i] * s.std + s.mean; }
    },
    // The value fed back is ŷ_0.5 (forecast refuses a quantile model without 0.5).
    forecastColumns: (targets) => [...targets, ...qs.flatMap((q) => targets.map((c) => `${c}_q${quantileName(q)}`))],
    forecastRow(p, O, out) {
      for (let o = 0; o < O; o++) out[o] = p[median * O + o];
      for (let i = 0; i < Q * O; i++) out[O + i] = p[i];
    },
    forecastWidth: (O) => (Q + 1) * O,
    scorer: quantileScorer(qs),
  };
}
