import { lossSum, type LossSum, type Targets } from "./loss.js";
import type { Dropout, NetInput, Network } from "./network.js";
import type { Float } from "./tensor.js";

/** Truncation settings (`training.bptt`); null is full BPTT, one window per batch. */
export interface Bptt {
  readonly truncate: number; // k2: steps a pass runs back over
  readonly stride: number;   // k1: steps between updates
}

/** One pass: forward over steps [start, end); the loss counts steps [lossStart, end). */
export interface Window {
  readonly start: number;
  readonly lossStart: number;
  readonly end: number;
}

/**
 * Williams & Peng's TBPTT(k2, k1) schedule over a batch of T steps: an update after steps
 * k1, 2·k1, … and once more at T when T is not a multiple of k1; each pass covers the last
 * k2 steps (cut at 0) and its loss the steps since the previous update. TBPTT(6,2) gives
 * [0,2) [0,4) [0,6) [2,8) …
 */
export function tbpttWindows(T: number, bptt: Bptt | null): Window[] {
  const k1 = bptt ? bptt.stride : T, k2 = bptt ? bptt.truncate : T;
  const out: Window[] = [];
  for (let prev = 0; prev < T;) {
    const end = Math.min(prev + k1, T);
    out.push({ start: Math.max(0, end - k2), lossStart: prev, end });
    prev = end;
  }
  return out;
}

/** A batch, time-major: B sequences padded to T steps. */
export interface Batch {
  readonly T: number;
  readonly B: number;
  /** [T,B,I] inputs, zero on padding; a network with an embedding: token ids [T,B], −1 on padding. */
  readonly x: NetInput;
  readonly targets: Targets;
  /** Real steps of each row (padding after them), when known: a bidirectional model needs them. */
  readonly lengths?: readonly number[];
}

/**
 * What a pass does with gradients: nothing (false), the gradient of the pooled mean over the
 * window's supervised elements ("mean", or true: the update of one process), or of their sum
 * ("sum": one rank's part of a data-parallel update, summed over ranks and divided by the global
 * count afterwards).
 */
export type GradMode = boolean | "mean" | "sum";

/**
 * One pass of `net` over window w of `batch`, from the carried state `state0` (with the
 * window's dropout masks when training with dropout).
 * Returns the loss summed over the window's supervised elements and their count. With a grad
 * mode, `net.grads` is zeroed and then holds the gradient of the pooled mean (sum / count) —
 * left untouched when there is no supervised element — or, with "sum", of the sum (zero when
 * there is no supervised element).
 */
export function windowPass(net: Network, batch: Batch, w: Window, state0: readonly Float[],
  grad: GradMode, dropout: Dropout | null = null): LossSum {
  const B = batch.B, T = w.end - w.start, I = net.shape.inputSize;
  net.forward(batch.x, w.start * B * I, state0, T, B, dropout, batch.lengths ?? null);
  const head = net.head, O = net.shape.outputSize;
  const r0 = (w.lossStart - w.start) * B, r1 = T * B;
  const ls = lossSum(head.y, batch.targets, w.start * B, r0, r1, grad ? head.dy : null, net.kernels);
  if (grad === "sum" && ls.count === 0) net.grads.fill(0);
  if (grad && ls.count > 0) {
    const dy = head.dy, scale = grad === "sum" ? 1 : 1 / ls.count;
    dy.fill(0, 0, r0 * O);
    if (scale !== 1) for (let i = r0 * O; i < r1 * O; i++) dy[i] *= scale;
    net.grads.fill(0);
    net.backward(T, B);
  }
  return ls;
}
