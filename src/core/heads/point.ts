import type { Kernels } from "../kernels.js";
import type { Float } from "../tensor.js";
import { addError, ERROR_COLUMNS, errorMetrics } from "./errors.js";
import type { LossSum, RegressionHead } from "./head.js";

/**
 * The point model (no likelihood, no quantiles): y is the forecast; the loss of a cell is
 * (y − target)², `nn.MSELoss` before its mean.
 */
const sums = new Float64Array(2);

export const pointHead: RegressionHead = {
  name: "mse",
  perTarget: 1,
  normalisesTargets: true,
  forms: [{ kind: "location" }],
  // The kernel's "mse" (heads/loss-reference.ts: d = y − t, d² summed in blocks, dy = 2d): in
  // TypeScript this loop took 8 ns a cell, a tenth of an Elman H 256 update.
  lossSum(y: Float, v: Float64Array, O: number, tOff: number, r0: number, r1: number, dy: Float | null, k: Kernels): LossSum {
    k.headLoss("mse", null, y, v, O, tOff, r0, r1, dy, sums);
    return { sum: sums[0], count: sums[1] };
  },
  predictColumns: (targets) => targets.map((c) => `pred_${c}`),
  predictRow(y, r, O, stats, out, at) {
    for (let o = 0; o < O; o++) out[at + o] = y[r * O + o] * stats[o].std + stats[o].mean;
  },
  forecastColumns: (targets) => [...targets],
  forecastRow(p, O, out) { for (let o = 0; o < O; o++) out[o] = p[o]; },
  forecastWidth: (O) => O,
  scorer: {
    slots: 4,
    add(sums, y, r, o, O, v, s) { addError(sums, 2, y[r * O + o] * s.std + s.mean, v * s.std + s.mean); },
    metrics: (sums) => errorMetrics(sums, 2),
    valColumns: ERROR_COLUMNS,
  },
};
