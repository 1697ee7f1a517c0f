import type { RegressionHead, LossSum } from "./heads/index.js";
import { referenceKernels, type Kernels } from "./kernels.js";
import type { Float } from "./tensor.js";

export type { LossSum } from "./heads/index.js";

export type Task = "regression" | "classification";

/**
 * Targets of a batch, time-major like its inputs. Regression: values [T,B,O] (O targets), NaN
 * where a target cell is absent (empty cell, padding, past the end), and the head that scores
 * them. Classification: class index per (t,b), −1 where absent.
 */
export type Targets =
  | { readonly task: "regression"; readonly values: Float64Array; readonly outputs: number; readonly head: RegressionHead }
  | { readonly task: "classification"; readonly labels: Int32Array; readonly classes: number };

/**
 * Loss summed over rows [r0, r1) of y ([rows, outputs], row r ↔ target row `tOff + r`):
 * regression the head's loss over present cells (the MSE point model: Σ (y − target)²,
 * `nn.MSELoss` before its mean; SPEC §10's −log p or pinball otherwise, the kernels' headLoss), classification
 * Σ −log softmax(y)[label] over labelled rows (`nn.CrossEntropyLoss` before its mean; the
 * kernels' softmaxCrossEntropy, native when `k` is).
 * When `dy` is given it receives d(sum)/dy for those rows (zero elsewhere in the range);
 * the caller scales it by 1/count to get the gradient of the pooled mean.
 */
export function lossSum(y: Float, targets: Targets, tOff: number, r0: number, r1: number,
  dy: Float | null, k: Kernels = referenceKernels): LossSum {
  if (targets.task === "regression") return targets.head.lossSum(y, targets.values, targets.outputs, tOff, r0, r1, dy, k);
  const C = targets.classes, out = SUMS;
  k.softmaxCrossEntropy(y, r0 * C, targets.labels, tOff + r0, r1 - r0, C, dy, r0 * C, out);
  return { sum: out[0], count: out[1] };
}

/** The kernel's (sum, count), reused: lossSum allocates nothing per window. */
const SUMS = new Float64Array(2);

/** Softmax of one row of logits into out (the probabilities `predict` prints). */
export function softmaxRow(y: Float, off: number, C: number, out: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < C; j++) if (y[off + j] > m) m = y[off + j];
  let z = 0;
  for (let j = 0; j < C; j++) { out[j] = Math.exp(y[off + j] - m); z += out[j]; }
  for (let j = 0; j < C; j++) out[j] /= z;
}
