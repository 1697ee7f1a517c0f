import type { Float } from "../tensor.js";
import { addError, ERROR_COLUMNS, errorMetrics } from "./errors.js";
import type { LossSum, RegressionHead } from "./head.js";

/**
 * The point model (no likelihood, no quantiles): y is the forecast; the loss of a cell is
 * (y − target)², `nn.MSELoss` before its mean.
 */
export const pointHead: RegressionHead = {
  name: "mse",
  perTarget: 1,
  normalisesTargets: true,
  forms: [{ kind: "location" }],
  // A loop too cheap for a kernel call to pay off.
  lossSum(y: Float, v: Float64Array, O: number, tOff: number, r0: number, r1: number, dy: Float | null): LossSum {
    let sum = 0, count = 0;
    for (let i = r0 * O; i < r1 * O; i++) {
      const t = v[tOff * O + i];
      if (Number.isNaN(t)) { if (dy) dy[i] = 0; continue; }
      const d = y[i] - t;
      sum += d * d; count++;
      if (dy) dy[i] = 2 * d;
    }
    return { sum, count };
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
