import type { Float } from "./tensor.js";

export type Task = "regression" | "classification";

/**
 * Targets of a batch, time-major like its inputs. Regression: values [T,B,O], NaN where a
 * target cell is absent (empty cell, padding, past the end). Classification: class index
 * per (t,b), −1 where absent.
 */
export type Targets =
  | { readonly task: "regression"; readonly values: Float64Array; readonly outputs: number }
  | { readonly task: "classification"; readonly labels: Int32Array; readonly classes: number };

/** Sum of per-element losses and the number of supervised elements they came from. */
export interface LossSum {
  sum: number;
  count: number;
}

/**
 * Loss summed over rows [r0, r1) of y ([rows, O], row r ↔ target row `tOff + r`):
 * regression Σ (y − target)² over present cells (`nn.MSELoss` before its mean), classification
 * Σ −log softmax(y)[label] over labelled rows (`nn.CrossEntropyLoss` before its mean).
 * When `dy` is given it receives d(sum)/dy for those rows (zero elsewhere in the range);
 * the caller scales it by 1/count to get the gradient of the pooled mean.
 */
export function lossSum(y: Float, targets: Targets, tOff: number, r0: number, r1: number,
  dy: Float | null): LossSum {
  let sum = 0, count = 0;
  if (targets.task === "regression") {
    const O = targets.outputs, v = targets.values;
    for (let i = r0 * O; i < r1 * O; i++) {
      const t = v[tOff * O + i];
      if (Number.isNaN(t)) { if (dy) dy[i] = 0; continue; }
      const d = y[i] - t;
      sum += d * d; count++;
      if (dy) dy[i] = 2 * d;
    }
  } else {
    const C = targets.classes, lab = targets.labels;
    for (let r = r0; r < r1; r++) {
      const c = lab[tOff + r], o = r * C;
      if (c < 0) { if (dy) for (let j = 0; j < C; j++) dy[o + j] = 0; continue; }
      let m = -Infinity;
      for (let j = 0; j < C; j++) if (y[o + j] > m) m = y[o + j];
      let z = 0;
      for (let j = 0; j < C; j++) z += Math.exp(y[o + j] - m);
      const lse = m + Math.log(z);
      sum += lse - y[o + c]; count++;
      if (dy) {
        for (let j = 0; j < C; j++) dy[o + j] = Math.exp(y[o + j] - lse);
        dy[o + c] -= 1;
      }
    }
  }
  return { sum, count };
}

/** Softmax of one row of logits into out (the probabilities `predict` prints). */
export function softmaxRow(y: Float, off: number, C: number, out: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < C; j++) if (y[off + j] > m) m = y[off + j];
  let z = 0;
  for (let j = 0; j < C; j++) { out[j] = Math.exp(y[off + j] - m); z += out[j]; }
  for (let j = 0; j < C; j++) out[j] /= z;
}
