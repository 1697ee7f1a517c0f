import { tbpttWindows, windowPass, type Bptt } from "../core/bptt.js";
import { clipGradients, type Clip } from "../core/clip.js";
import type { Network } from "../core/network.js";
import type { Optimizer } from "../core/optim.js";
import type { Float } from "../core/tensor.js";
import { type SequenceBatch } from "../data/batches.js";
import { JobError } from "../errors.js";
import type { Position } from "../io/checkpoint.js";

export interface TrainSettings {
  readonly epochs: number;
  readonly bptt: Bptt | null;
  readonly clip: Clip;
  readonly lr: number;
}

/** One row of updates.csv. */
export interface UpdateRow { readonly epoch: number; readonly step: number; readonly loss: number; readonly gradNorm: number; readonly lr: number }
/** One row of epochs.csv; train_loss is NaN for an epoch that made no update. */
export interface EpochRow { readonly epoch: number; readonly trainLoss: number; readonly valLoss: number | null; readonly seconds: number }

/** The training data as the loop sees it: the batches of each epoch, made on demand. */
export interface BatchSource {
  /** Index lists of the epoch's batches. */
  batches(epoch: number): number[][];
  make(indices: readonly number[]): SequenceBatch;
  /** Pooled validation loss with the current weights, or null without validation data. */
  validate(): number | null;
}

/** Where the loop talks to the outside world (files, terminal, signals, clock). */
export interface TrainHooks {
  /** After each update; `batch` of `batches` is the epoch's progress (1-based). */
  onUpdate(row: UpdateRow, batch: number, batches: number): void;
  onEpoch(row: EpochRow): void | Promise<void>;
  /** Polled after every update: true stops the run at that point. */
  stopRequested(): boolean;
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
 * now and then so that signals are heard; returns "stopped" when one asked it to stop.
 */
export async function trainLoop(net: Network, opt: Optimizer, data: BatchSource, s: TrainSettings,
  start: Start, hooks: TrainHooks): Promise<"done" | "stopped"> {
  let step = start.step;
  let lastYield = hooks.now();
  for (let epoch = start.epoch + 1; epoch <= s.epochs; epoch++) {
    const resume = start.position && start.position.epoch === epoch ? start.position : null;
    let lossSum = resume?.lossSum ?? 0, updates = resume?.updates ?? 0;
    const t0 = hooks.now() - (resume?.seconds ?? 0);
    const batches = data.batches(epoch);
    for (let bi = resume?.batch ?? 0; bi < batches.length; bi++) {
      const batch = data.make(batches[bi]);
      const windows = tbpttWindows(batch.T, s.bptt);
      const carry = net.zeroState(batch.B);
      const from = resume && bi === resume.batch ? resume.window : 0;
      if (from > 0 && start.carry) start.carry.forEach((c, k) => carry[k].set(c));
      for (let wi = from; wi < windows.length; wi++) {
        const w = windows[wi];
        const r = windowPass(net, batch, w, carry, true);
        const next = windows[wi + 1];
        if (next) net.stateAfter(next.start - w.start, batch.B, carry);
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
        hooks.onUpdate({ epoch, step, loss, gradNorm, lr: s.lr }, bi + 1, batches.length);
        if (hooks.now() - lastYield > 0.05) {
          await new Promise((res) => setImmediate(res));
          lastYield = hooks.now();
        }
        if (hooks.stopRequested()) {
          const at = wi + 1 < windows.length ? { batch: bi, window: wi + 1 } : { batch: bi + 1, window: 0 };
          hooks.onStop({ epoch, ...at, lossSum, updates, seconds: hooks.now() - t0 }, carry);
          return "stopped";
        }
      }
    }
    const valLoss = data.validate();
    await hooks.onEpoch({ epoch, trainLoss: updates > 0 ? lossSum / updates : NaN, valLoss, seconds: hooks.now() - t0 });
  }
  return "done";
}
