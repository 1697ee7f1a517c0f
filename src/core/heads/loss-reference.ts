import type { HeadLossKind } from "../kernels.js";
import type { Float } from "../tensor.js";
import { gaussian } from "./gaussian.js";
import { cellLossSum, type LossSum } from "./head.js";
import type { Likelihood } from "./likelihood.js";
import { negativeBinomial } from "./negative-binomial.js";
import { pinballCell } from "./quantile.js";
import { studentT } from "./student-t.js";

const likelihoods: Readonly<Record<Exclude<HeadLossKind, "quantiles" | "mse">, Likelihood>> = { gaussian, studentT, negativeBinomial };

/**
 * `Kernels.headLoss` in TypeScript, the reference the native kernel (native/heads.cc) repeats:
 * each present cell's −log p by its likelihood's nllRaw, its pinball loss, or (the point model,
 * "mse") its (y − t)², summed in blocks by cellLossSum.
 */
export function headLossReference(kind: HeadLossKind, qs: Float64Array | null, y: Float, v: Float64Array, O: number,
  tOff: number, r0: number, r1: number, dy: Float | null, out: Float64Array): void {
  let s: LossSum;
  if (kind === "quantiles") {
    if (qs === null) throw new TypeError("headLoss: quantiles need their levels");
    s = cellLossSum(qs.length, v, O, tOff, r0, r1, dy, (off, t) => pinballCell(qs, y, off, O, t, dy));
  } else if (kind === "mse") {
    s = cellLossSum(1, v, O, tOff, r0, r1, dy, (off, t) => {
      const d = y[off] - t;
      if (dy) dy[off] = 2 * d;
      return d * d;
    });
  } else {
    const lik = likelihoods[kind];
    s = cellLossSum(lik.P, v, O, tOff, r0, r1, dy, (off, t) => lik.nllRaw(y, off, O, t, dy));
  }
  out[0] = s.sum; out[1] = s.count;
}
