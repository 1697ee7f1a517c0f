import { lossSum } from "../core/loss.js";
import type { Network } from "../core/network.js";
import { makeBatch, type SequenceBatch, type TargetShape } from "../data/batches.js";
import type { Sequence } from "../data/dataset.js";

/** Sequences run side by side, and steps per forward call, when nothing is trained. */
const GROUP = 32;
const CHUNK = 512;

/**
 * Runs every sequence from s_0 through its whole length, forward only (no truncation: the
 * state is carried across chunks exactly). `visit` sees each chunk's outputs y [len·B, O]
 * for steps [t0, t0+len) of a batch.
 */
export function forwardSequences(net: Network, seqs: readonly Sequence[], ts: TargetShape,
  visit: (batch: SequenceBatch, y: Network["head"]["y"], t0: number, len: number) => void): void {
  const I = net.shape.inputSize;
  for (let g = 0; g < seqs.length; g += GROUP) {
    const batch = makeBatch(seqs.slice(g, g + GROUP), I, ts, net.dtype);
    const carry = net.zeroState(batch.B);
    for (let t0 = 0; t0 < batch.T; t0 += CHUNK) {
      const len = Math.min(CHUNK, batch.T - t0);
      net.forward(batch.x, t0 * batch.B * I, carry, len, batch.B);
      visit(batch, net.head.y, t0, len);
      net.stateAfter(len, batch.B, carry);
    }
  }
}

/**
 * Sums behind eval's metrics, over every supervised element: the loss sum and count, and the
 * squared and absolute errors in the targets' original units (regression) or the correct
 * arg-max count (classification). Sums, so that ranks can add theirs.
 */
export interface MetricSums { sum: number; count: number; se: number; ae: number; correct: number }

/** The metric sums of `seqs`; `stats` un-normalise each regression output (mean 0, std 1 without normalisation). */
export function metricSums(net: Network, seqs: readonly Sequence[], ts: TargetShape,
  stats: readonly { readonly mean: number; readonly std: number }[]): MetricSums {
  const O = net.shape.outputSize;
  const m: MetricSums = { sum: 0, count: 0, se: 0, ae: 0, correct: 0 };
  forwardSequences(net, seqs, ts, (batch, y, t0, len) => {
    const r = lossSum(y, batch.targets, t0 * batch.B, 0, len * batch.B, null);
    m.sum += r.sum; m.count += r.count;
    const tg = batch.targets;
    for (let row = 0; row < len * batch.B; row++) {
      const tr = t0 * batch.B + row;
      if (tg.task === "regression") {
        for (let k = 0; k < O; k++) {
          const t = tg.values[tr * O + k];
          if (Number.isNaN(t)) continue;
          const { mean, std } = stats[k];
          const d = (y[row * O + k] * std + mean) - (t * std + mean);
          m.se += d * d; m.ae += Math.abs(d);
        }
      } else {
        const label = tg.labels[tr];
        if (label < 0) continue;
        let best = 0;
        for (let k = 1; k < O; k++) if (y[row * O + k] > y[row * O + best]) best = k;
        if (best === label) m.correct++;
      }
    }
  });
  return m;
}

/** eval's metrics from the sums (SPEC §2): loss, n, then mse, rmse, mae or accuracy, perplexity. */
export function metricsOf(m: MetricSums, task: "regression" | "classification"): Record<string, number> {
  const loss = m.sum / m.count;
  return task === "regression"
    ? { loss, n: m.count, mse: m.se / m.count, rmse: Math.sqrt(m.se / m.count), mae: m.ae / m.count }
    : { loss, n: m.count, accuracy: m.correct / m.count, perplexity: Math.exp(loss) };
}

/** The metrics epochs.csv adds after `seconds` (SPEC §6), by task. */
export const VAL_METRICS = { regression: ["val_mse", "val_rmse", "val_mae"], classification: ["val_accuracy"] } as const;
