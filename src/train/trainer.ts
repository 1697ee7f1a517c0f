import { tbpttWindows, windowPass, type Bptt } from "../core/bptt.js";
import { clipGradients, type Clip } from "../core/clip.js";
import type { Network } from "../core/network.js";
import type { Optimizer } from "../core/optim.js";
import type { EarlyStopping, LrSchedule } from "../core/schedule.js";
import type { Float } from "../core/tensor.js";
import { type SequenceBatch } from "../data/batches.js";
import { soloComm, type Communicator } from "../distributed/comm.js";
import { InputError, JobError, type StopSignal } from "../errors.js";
import type { Position } from "../io/checkpoint.js";
import type { DropoutMasks } from "./dropout.js";
import { WindowSync } from "./sync.js";

export type { StopSignal } from "../errors.js";

export interface TrainSettings {
  readonly epochs: number;
  readonly bptt: Bptt | null;
  readonly clip: Clip;
  /** Sets the optimizer's rate after each epoch (SPEC §6), or null for a fixed rate. */
  readonly schedule: LrSchedule | null;
  /** Stops the run when val_loss stops improving, or null. */
  readonly earlyStopping: EarlyStopping | null;
  /** Draws the training windows' dropout masks (model.dropout, model.recurrentDropout), or null. */
  readonly dropout: DropoutMasks | null;
}

/** The validation loss and metrics (original units: val_mse, val_rmse, val_mae or val_accuracy). */
export interface Validation { readonly loss: number; readonly metrics: Readonly<Record<string, number>> }

/** One row of updates.csv. */
export interface UpdateRow { readonly epoch: number; readonly step: number; readonly loss: number; readonly gradNorm: number; readonly lr: number }
/** One row of epochs.csv; train_loss is NaN for an epoch that made no update. */
export interface EpochRow {
  readonly epoch: number; readonly trainLoss: number; readonly valLoss: number | null; readonly seconds: number;
  /** The validation metrics, named as epochs.csv's columns (empty without validation data). */
  readonly valMetrics: Readonly<Record<string, number>>;
  /** True when early stopping ends the run after this epoch. */
  readonly stopsEarly: boolean;
}

/** The training data as the loop sees it: the batches of each epoch, made on demand. */
export interface BatchSource {
  /** Index lists of the epoch's batches (the global batches, the same on every rank). */
  batches(epoch: number): number[][];
  /**
   * Rows [lo, hi) of the batch of these sequences — this rank's share — padded to the length
   * of the longest sequence of the whole batch, so that every rank runs the same windows.
   */
  make(indices: readonly number[], lo: number, hi: number): SequenceBatch;
  /** Pooled validation loss and metrics with the current weights (over every rank), or null without validation data. */
  validate(): Validation | null;
}

/** Where the loop talks to the outside world (files, terminal, signals, clock). */
export interface TrainHooks {
  /** After each update; `batch` of `batches` is the epoch's progress (1-based). */
  onUpdate(row: UpdateRow, batch: number, batches: number): void;
  onEpoch(row: EpochRow): void | Promise<void>;
  /** Polled at every update: a signal stops the run after that update. */
  stopRequested(): StopSignal | null;
  /** The run stops at `pos`; `carry` is the whole batch's carried state (on rank 0). */
  onStop(pos: Position, carry: readonly Float[]): void;
  /** Seconds on a monotonic clock. */
  now(): number;
}

/** Where to start: a fresh run, a finished epoch, or a position inside an epoch. */
export interface Start {
  readonly epoch: number; // epochs already complete
  readonly step: number;
  readonly position: Position | null;
  readonly carry: readonly Float[] | null;
}

/** Names the weight of largest magnitude (what blew the loss up). */
function largestWeight(net: Network): string {
  let best = "", m = -1;
  for (const s of net.layout.slots) {
    for (let i = 0; i < s.size; i++) {
      const v = Math.abs(net.params[s.offset + i]);
      if (v > m) { m = v; best = `${s.name}[${i}] = ${net.params[s.offset + i]}`; }
    }
  }
  return best;
}

/** Names the first non-finite entry of a buffer, or null. */
function firstNonFinite(net: Network, buf: Float): string | null {
  if (net.kernels.allFinite(buf)) return null; // the common case, without naming a tensor per element
  for (const s of net.layout.slots) {
    for (let i = 0; i < s.size; i++) {
      const v = buf[s.offset + i];
      if (!Number.isFinite(v)) return `${s.name}[${i}] = ${v}`;
    }
  }
  return null;
}

/**
 * The training loop: epochs of batches of TBPTT windows. Each window runs from the state the
 * latest pass computed at its first step (carried, detached); after a supervised window the
 * batch-mean gradient is clipped and the optimizer steps. Divergence (a non-finite loss,
 * gradient or weight) throws before anything is saved from it. It yields to the event loop
 * now and then so that signals are heard; returns the signal that stopped it, or "done".
 *
 * Data-parallel (`comm` of N > 1 ranks, SPEC §9): each rank runs its rows of every batch
 * through the same windows, and the window's gradient, loss and count are summed over the ranks
 * before the update, so every rank takes the update one process would take on the whole batch.
 */
export async function trainLoop(net: Network, opt: Optimizer, data: BatchSource, s: TrainSettings,
  start: Start, hooks: TrainHooks, comm: Communicator = soloComm): Promise<"done" | "stopped early" | StopSignal> {
  const sync = comm.size > 1 ? new WindowSync(comm, net.grads) : null;
  const S = net.stateSize;
  let step = start.step;
  let lastYield = hooks.now();
  for (let epoch = start.epoch + 1; epoch <= s.epochs; epoch++) {
    const resume = start.position && start.position.epoch === epoch ? start.position : null;
    let lossSum = resume?.lossSum ?? 0, updates = resume?.updates ?? 0;
    const t0 = hooks.now() - (resume?.seconds ?? 0);
    const batches = data.batches(epoch);
    for (let bi = resume?.batch ?? 0; bi < batches.length; bi++) {
      const Bg = batches[bi].length;
      const [lo, hi] = sync ? sync.share(Bg) : [0, Bg];
      const batch = data.make(batches[bi], lo, hi);
      const windows = tbpttWindows(batch.T, s.bptt);
      const carry = net.zeroState(batch.B);
      const from = resume && bi === resume.batch ? resume.window : 0;
      const dropout = s.dropout?.active ? s.dropout : null;
      if (batch.B > 0) dropout?.startBatch(epoch, bi, Bg, lo, hi);
      if (from > 0 && start.carry) {
        start.carry.forEach((c, k) => {
          if (c.length !== Bg * S) throw new InputError(`the checkpoint's carried state resume.state_l${k} has ${c.length} values; batch ${bi + 1} of epoch ${epoch} needs ${Bg} × ${S}`);
          carry[k].set(c.subarray(lo * S, hi * S));
        });
      }
      for (let wi = from; wi < windows.length; wi++) {
        const w = windows[wi];
        let r: { sum: number; count: number; stop?: StopSignal | null };
        if (batch.B > 0) {
          const masks = dropout ? dropout.window(epoch, bi, wi, w.end - w.start, Bg, lo, hi) : null;
          r = windowPass(net, batch, w, carry, sync ? "sum" : "mean", masks);
        } else { // a rank without rows in this batch still joins the sum, with zeros
          r = { sum: 0, count: 0 };
          net.grads.fill(0);
        }
        const next = windows[wi + 1];
        if (next && batch.B > 0) net.stateAfter(next.start - w.start, batch.B, carry);
        if (sync) r = sync.reduce(r, hooks.stopRequested());
        if (r.count === 0) continue; // no supervised element: the state moved on, no update
        const loss = r.sum / r.count;
        const gradNorm = clipGradients(net.grads, s.clip);
        const where = `epoch ${epoch}, step ${step + 1}`;
        if (!Number.isFinite(loss)) throw new JobError(`training diverged at ${where}: the loss is ${loss} (largest weight ${largestWeight(net)}); the last good checkpoint is kept`);
        const badGrad = Number.isFinite(gradNorm) ? null : firstNonFinite(net, net.grads);
        if (badGrad) throw new JobError(`training diverged at ${where}: gradient ${badGrad}; the last good checkpoint is kept`);
        opt.step(net.params, net.grads);
        const badWeight = firstNonFinite(net, net.params);
        if (badWeight) throw new JobError(`training diverged at ${where}: weight ${badWeight} after the update; the last good checkpoint is kept`);
        step++; lossSum += loss; updates++;
        hooks.onUpdate({ epoch, step, loss, gradNorm, lr: opt.lr }, bi + 1, batches.length);
        if (hooks.now() - lastYield > 0.05) {
          await new Promise((res) => setImmediate(res));
          lastYield = hooks.now();
        }
        // One process asks now; ranks take the stop that travelled with this update's sum.
        const stop = sync ? r.stop ?? null : hooks.stopRequested();
        if (stop) {
          const at = wi + 1 < windows.length ? { batch: bi, window: wi + 1 } : { batch: bi + 1, window: 0 };
          hooks.onStop({ epoch, ...at, lossSum, updates, seconds: hooks.now() - t0 }, sync ? sync.gatherRows(carry, Bg, S) : carry);
          return stop;
        }
      }
    }
    const val = data.validate();
    if (sync && !sync.sameEverywhere(net.params)) {
      throw new JobError(`after epoch ${epoch} the weights differ between ranks: the MPI library's all-reduce did not give every rank the same sums`);
    }
    const trainLoss = updates > 0 ? lossSum / updates : NaN;
    // After validation, as torch's schedulers are stepped; the checkpoint saved next holds the new rate.
    const stopsEarly = s.earlyStopping !== null && val !== null && s.earlyStopping.update(val.loss, epoch);
    if (s.schedule) {
      s.schedule.step(val?.loss ?? trainLoss);
      opt.lr = s.schedule.lr;
    }
    await hooks.onEpoch({ epoch, trainLoss, valLoss: val?.loss ?? null, seconds: hooks.now() - t0, valMetrics: val?.metrics ?? {}, stopsEarly });
    if (stopsEarly) return "stopped early";
  }
  return "done";
}
