import { lossSum, type LossSum } from "../core/loss.js";
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

/** The pooled loss (SPEC §1) over every supervised element of `seqs`. */
export function pooledLoss(net: Network, seqs: readonly Sequence[], ts: TargetShape): LossSum {
  const total = { sum: 0, count: 0 };
  forwardSequences(net, seqs, ts, (batch, y, t0, len) => {
    const r = lossSum(y, batch.targets, t0 * batch.B, 0, len * batch.B, null);
    total.sum += r.sum; total.count += r.count;
  });
  return total;
}
