import { lossSum } from "../core/loss.js";
import type { Network } from "../core/network.js";
import type { Scale } from "../core/heads/index.js";
import { makeBatch, type SequenceBatch, type TargetShape } from "../data/batches.js";
import type { Sequence } from "../data/dataset.js";

/** Sequences run side by side, and steps per forward call, when nothing is trained. */
const GROUP = 32;
const CHUNK = 512;

/** What a forward-only pass shows its caller: the outputs y [len·B, O] of steps [t0, t0+len) of a batch. */
export type Visit = (batch: SequenceBatch, y: Network["head"]["y"], t0: number, len: number) => void;

/**
 * Runs a batch's sequences from s_0 through their whole length, forward only (no truncation:
 * the state is carried across chunks exactly); `visit` sees each chunk's outputs.
 */
export function forwardBatch(net: Network, batch: SequenceBatch, visit: Visit): void {
  const I = net.shape.inputSize;
  const carry = net.zeroState(batch.B);
  // A bidirectional model reads each sequence whole (SPEC §13): one chunk.
  const chunk = net.shape.bidirectional ? batch.T : CHUNK;
  for (let t0 = 0; t0 < batch.T; t0 += chunk) {
    const len = Math.min(chunk, batch.T - t0);
    net.forward(batch.x, t0 * batch.B * I, carry, len, batch.B, null, batch.lengths);
    visit(batch, net.head.y, t0, len);
    net.stateAfter(len, batch.B, carry);
  }
}

/** Every sequence run as forwardBatch does, GROUP of them side by side. */
export function forwardSequences(net: Network, seqs: readonly Sequence[], ts: TargetShape, visit: Visit): void {
  for (let g = 0; g < seqs.length; g += GROUP) forwardBatch(net, makeBatch(seqs.slice(g, g + GROUP), net.shape.inputSize, ts, net.dtype), visit);
}

/** How many sums eval keeps for a target shape: loss sum and count, then the head's own (or the correct count). */
export function metricSlots(ts: TargetShape): number {
  return ts.task === "regression" ? ts.head.scorer.slots : 3;
}

/**
 * Sums behind eval's metrics, over every supervised element: [0] the loss sum, [1] the count,
 * then the head's scorer's sums in original units (regression; `stats` un-normalise each
 * target, mean 0 and std 1 without normalisation) or [2] the correct arg-max count
 * (classification). Sums, so that ranks can add theirs.
 */
export function metricSums(net: Network, seqs: readonly Sequence[], ts: TargetShape, stats: readonly Scale[]): Float64Array {
  return metricSumsOf(net, (visit) => forwardSequences(net, seqs, ts, visit), ts, stats);
}

/** metricSums over batches already made (a text's token batch), run by forwardBatch. */
export function batchMetricSums(net: Network, batches: readonly SequenceBatch[], ts: TargetShape): Float64Array {
  return metricSumsOf(net, (visit) => { for (const b of batches) forwardBatch(net, b, visit); }, ts, []);
}

function metricSumsOf(net: Network, run: (visit: Visit) => void, ts: TargetShape, stats: readonly Scale[]): Float64Array {
  const O = net.shape.outputSize;
  const m = new Float64Array(metricSlots(ts));
  run((batch, y, t0, len) => {
    const r = lossSum(y, batch.targets, t0 * batch.B, 0, len * batch.B, null, net.kernels);
    m[0] += r.sum; m[1] += r.count;
    const tg = batch.targets;
    for (let row = 0; row < len * batch.B; row++) {
      const tr = t0 * batch.B + row;
      if (tg.task === "regression") {
        const T = tg.outputs;
        for (let k = 0; k < T; k++) {
          const t = tg.values[tr * T + k];
          if (!Number.isNaN(t)) tg.head.scorer.add(m, y, row, k, T, t, stats[k]);
        }
      } else {
        const label = tg.labels[tr];
        if (label < 0) continue;
        let best = 0;
        for (let k = 1; k < O; k++) if (y[row * O + k] > y[row * O + best]) best = k;
        if (best === label) m[2]++;
      }
    }
  });
  return m;
}

/**
 * eval's metrics (SPEC §2, §10, §12): loss, n, then the head's (mse, rmse, mae, nll, …) or
 * accuracy, perplexity (and a text model's bits_per_token = loss / ln 2).
 */
export function metricsOf(m: Float64Array, ts: TargetShape): Record<string, number | Record<string, number>> {
  const loss = m[0] / m[1];
  if (ts.task === "regression") return { loss, n: m[1], ...ts.head.scorer.metrics(m) };
  const out: Record<string, number> = { loss, n: m[1], accuracy: m[2] / m[1], perplexity: Math.exp(loss) };
  if (ts.text) out.bits_per_token = loss / Math.LN2;
  return out;
}

/** The metrics epochs.csv adds after `seconds` (SPEC §6, §10, §12). */
export function valColumns(ts: TargetShape): readonly string[] {
  if (ts.task === "regression") return ts.head.scorer.valColumns;
  return ts.text ? ["val_accuracy", "val_perplexity", "val_bits_per_token"] : ["val_accuracy"];
}
