import type { LossSum } from "../core/loss.js";
import { alloc, dtypeOf, type Float } from "../core/tensor.js";
import { rowShare, type Communicator } from "../distributed/comm.js";
import { STOP_SIGNALS, type StopSignal } from "../errors.js";

const SIGNALS = Object.keys(STOP_SIGNALS) as StopSignal[];

/** The window's totals over every rank, and whether any rank was asked to stop. */
export interface GlobalWindow extends LossSum {
  readonly stop: StopSignal | null;
}

/**
 * Data-parallel bookkeeping of one training job (SPEC §9). After each window every rank's
 * gradient sum, loss sum, supervised count and stop flags travel in one buffer through one
 * MPI_Allreduce — so every rank takes the same update (the pooled mean of the global batch),
 * at the same step, and stops at the same one.
 */
export class WindowSync {
  /** [P gradient sums | loss sum, count, one flag per stop signal]. */
  private readonly buf: Float;
  private readonly P: number;

  constructor(readonly comm: Communicator, private readonly grads: Float) {
    this.P = grads.length;
    this.buf = alloc(dtypeOf(grads), this.P + 2 + SIGNALS.length);
  }

  /**
   * Sums the window over the ranks. `grads` must hold this rank's gradient of the loss *sum*;
   * on return, when the global count is > 0, it holds the gradient of the global pooled mean.
   * The loss sum and count travel in the gradient's dtype (float32: the count is exact up to
   * 2^24 supervised elements a window, the logged loss to float32's precision).
   */
  reduce(local: LossSum, stop: StopSignal | null): GlobalWindow {
    const { buf, P, grads } = this;
    buf.set(grads);
    buf[P] = local.sum; buf[P + 1] = local.count;
    SIGNALS.forEach((sig, k) => { buf[P + 2 + k] = stop === sig ? 1 : 0; });
    this.comm.allreduce(buf, "sum");
    const count = buf[P + 1];
    if (count > 0) {
      const scale = 1 / count;
      for (let i = 0; i < P; i++) grads[i] = buf[i] * scale;
    }
    return { sum: buf[P], count, stop: SIGNALS.find((_, k) => buf[P + 2 + k] > 0) ?? null };
  }

  /** This rank's rows [start, end) of a batch of B. */
  share(B: number): readonly [number, number] {
    return rowShare(this.comm.rank, this.comm.size, B);
  }

  /**
   * The carried state of a whole batch of B rows, gathered on rank 0 from every rank's rows
   * (each layer [B, S]); other ranks get their own rows back.
   */
  gatherRows(carry: readonly Float[], B: number, S: number): Float[] {
    const { comm } = this;
    const counts = Array.from({ length: comm.size }, (_, r) => { const [a, b] = rowShare(r, comm.size, B); return (b - a) * S; });
    return carry.map((c) => {
      const recv = comm.rank === 0 ? alloc(dtypeOf(c), B * S) : null;
      comm.gather(c, recv, counts);
      return recv ?? c;
    });
  }

  /**
   * True when the weights are the same on every rank. They should be — every rank applies the
   * same update to the same weights — but MPI does not promise bit-identical all-reduce results
   * on all ranks; checked once an epoch, by a position-weighted checksum's min and max.
   */
  sameEverywhere(params: Float): boolean {
    let h = 0;
    for (let i = 0; i < params.length; i++) h += params[i] * ((i % 1021) + 1);
    const mm = new Float64Array([h, -h]);
    this.comm.allreduce(mm, "max");
    return Object.is(mm[0], -mm[1]);
  }
}
