import type { Kernels } from "../kernels.js";
import type { Float } from "../tensor.js";

/** Sum of per-element losses and the number of supervised elements they came from. */
export interface LossSum {
  sum: number;
  count: number;
}

/** A target column's z-score statistics (mean 0, std 1 when the targets are not normalised). */
export interface Scale { readonly mean: number; readonly std: number }

/**
 * How raw output a of one parameter becomes its value in original units (s, m: the target's
 * std and mean): `location` a·s + m (μ, ŷ_q, the point forecast), `scale` softplus(a)·s (σ),
 * `positive` shift + softplus(a) (ν = 2 + softplus, a count's μ and α). The ONNX export builds
 * its graph from these.
 */
export type ParamForm = { readonly kind: "location" } | { readonly kind: "scale" } | { readonly kind: "positive"; readonly shift: number };

/**
 * What a regression model's head outputs mean (SPEC §10): the MSE point model, a distribution
 * (gaussian, studentT, negativeBinomial) or quantiles. The linear head has P·O outputs for O
 * targets, read parameter-major: output k·O + o is raw parameter k of target o.
 */
export interface RegressionHead {
  readonly name: string;
  /** Raw outputs per target (P). */
  readonly perTarget: number;
  /** False when targets are never z-scored (count data). */
  readonly normalisesTargets: boolean;
  /** Each of the P parameters' map from raw output to predict's value (the export's graph). */
  readonly forms: readonly ParamForm[];
  /**
   * The loss summed over the present target cells of rows [r0, r1) of y ([rows, P·O]; row r
   * pairs with target row tOff + r of `values` [.., O], NaN where absent). When `dy` is given
   * it receives d(sum)/dy for those rows (zero for absent cells). `k` computes it (its headLoss).
   */
  lossSum(y: Float, values: Float64Array, O: number, tOff: number, r0: number, r1: number, dy: Float | null, k: Kernels): LossSum;
  /** predict's columns after `t` for these targets (SPEC §10). */
  predictColumns(targets: readonly string[]): string[];
  /** predict's values of output row `r` of y, in original units, into out[at … at + P·O). */
  predictRow(y: Float, r: number, O: number, stats: readonly Scale[], out: Float64Array, at: number): void;
  /**
   * forecast's columns after `t`: the O values fed back under the targets' names, then the
   * step's other values; `forecastRow` reads them from predict's values of the step.
   */
  forecastColumns(targets: readonly string[]): string[];
  /** forecast's values from one predict row (its first O are the values fed back). */
  forecastRow(predicted: Float64Array, O: number, out: Float64Array): void;
  /** Width of a forecast row. */
  forecastWidth(O: number): number;
  /** The evaluation metrics of this head (eval --json, epochs.csv). */
  readonly scorer: Scorer;
}

/**
 * Sums behind eval's metrics over supervised elements, so that ranks can add theirs. Slot 0 is
 * the loss sum, slot 1 the element count; the rest are the scorer's own.
 */
export interface Scorer {
  /** Length of the sums array (loss and count included). */
  readonly slots: number;
  /**
   * Adds one supervised cell to `sums`: target o of output row r of y ([rows, P·O]), target
   * value `v` in model units (the loss sum and count are added by the caller).
   */
  add(sums: Float64Array, y: Float, r: number, o: number, O: number, v: number, s: Scale): void;
  /** eval's JSON keys after `loss` and `n`, from the summed slots (count in sums[1]). */
  metrics(sums: Float64Array): Record<string, number | Record<string, number>>;
  /** The validation columns epochs.csv adds after `seconds` (scalar metrics, `val_` names). */
  readonly valColumns: readonly string[];
}

/**
 * Rows per block of a head's loss sum: the cells' losses are summed block by block and the
 * blocks' sums added in order, so a kernel that shares the blocks out among threads
 * (native/heads.cc) gets the same sum at any number of them.
 */
export const LOSS_BLOCK = 64;

/**
 * The loss of a head whose P outputs per target score each target cell on their own: the sum of
 * `cell(off, t)` over the present cells of rows [r0, r1) (off: the cell's first output in y, its
 * parameters at off + k·O; t: the target), as RegressionHead.lossSum, in blocks of LOSS_BLOCK rows
 * from r0; an absent cell's P gradients are zero. `cell` writes its own gradients into dy when dy
 * is given.
 */
export function cellLossSum(P: number, v: Float64Array, O: number, tOff: number, r0: number, r1: number,
  dy: Float | null, cell: (off: number, t: number) => number): LossSum {
  let sum = 0, count = 0;
  for (let b0 = r0; b0 < r1; b0 += LOSS_BLOCK) {
    const b1 = Math.min(r1, b0 + LOSS_BLOCK);
    let block = 0;
    for (let r = b0; r < b1; r++) {
      for (let o = 0; o < O; o++) {
        const t = v[(tOff + r) * O + o], off = r * P * O + o;
        if (Number.isNaN(t)) { if (dy) for (let k = 0; k < P; k++) dy[off + k * O] = 0; continue; }
        block += cell(off, t); count++;
      }
    }
    sum += block;
  }
  return { sum, count };
}
