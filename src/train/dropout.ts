import type { Dropout } from "../core/network.js";
import { Rng } from "../core/rng.js";
import { alloc, type DType, type Float } from "../core/tensor.js";

/** What the masks are drawn for: its own stream per (epoch, batch, window, layer, kind). */
const BETWEEN = 1, RECURRENT = 2, RECURRENT_REVERSE = 3;

/** A 32-bit hash of the mask's place (FNV-1a over the words), the generator's stream number. */
function streamOf(...words: number[]): number {
  let h = 0x811c9dc5;
  for (const w of words) {
    for (let s = 0; s < 32; s += 8) { h ^= (w >>> s) & 0xff; h = Math.imul(h, 0x01000193) >>> 0; }
  }
  return h;
}

/**
 * Dropout masks for training (SPEC §6), drawn from the project's seeded generator. Each mask
 * comes from its own stream, named by where it is used — the epoch, the batch, the window
 * (between layers) and the layer — so a run resumed at any window draws the masks the
 * uninterrupted run drew, and every rank of a data-parallel run draws the whole batch's masks
 * and keeps its rows: the same masks as one process. Buffers are allocated once per size.
 */
export class DropoutMasks {
  private readonly between: (Float | null)[];
  private readonly recurrent: (Float | null)[];
  private readonly recurrentReverse: (Float | null)[];
  private readonly masks: Dropout;

  /**
   * `p` (model.dropout) between stacked layers, `q` (model.recurrentDropout) on each layer's
   * recurrence; H units per layer, L layers; `directions` 2 for a bidirectional model (SPEC
   * §13: between-layer masks over the 2H output, a recurrent mask per direction).
   */
  constructor(readonly seed: number, readonly p: number, readonly q: number,
    private readonly H: number, private readonly L: number, private readonly dtype: DType,
    private readonly directions = 1) {
    this.between = Array.from({ length: L }, () => null);
    this.recurrent = Array.from({ length: L }, () => null);
    this.recurrentReverse = Array.from({ length: L }, () => null);
    this.masks = directions === 2
      ? { between: this.between, recurrent: this.recurrent, recurrentReverse: this.recurrentReverse }
      : { between: this.between, recurrent: this.recurrent };
  }

  /** Whether any mask is drawn at all (p = q = 0, or p with one layer: none). */
  get active(): boolean {
    return this.q > 0 || (this.p > 0 && this.L > 1);
  }

  /**
   * Fills `out` [rows, width] with the mask of rows [lo, hi) of a [Bg, width] draw per step
   * (`steps` of them): each element 0 with probability `rate`, else 1/(1 − rate).
   */
  private draw(out: Float, stream: number, steps: number, Bg: number, lo: number, hi: number, width: number, rate: number): void {
    const rng = new Rng(this.seed, stream);
    const keep = 1 / (1 - rate), threshold = rate * 2 ** 32;
    let o = 0;
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < Bg; b++) {
        const mine = b >= lo && b < hi;
        for (let j = 0; j < width; j++) {
          const u = rng.nextU32();
          if (mine) out[o++] = u < threshold ? 0 : keep;
        }
      }
    }
  }

  private buffer(list: (Float | null)[], k: number, n: number): Float {
    let buf = list[k];
    if (!buf || buf.length < n) { buf = alloc(this.dtype, n); list[k] = buf; }
    return buf;
  }

  /**
   * The recurrent masks of a batch (one per layer and batch row, kept for all its windows):
   * batch `batch` of `epoch`, rows [lo, hi) of its Bg.
   */
  startBatch(epoch: number, batch: number, Bg: number, lo: number, hi: number): void {
    if (this.q <= 0) return;
    for (let k = 0; k < this.L; k++) {
      this.draw(this.buffer(this.recurrent, k, (hi - lo) * this.H), streamOf(RECURRENT, epoch, batch, k), 1, Bg, lo, hi, this.H, this.q);
      if (this.directions === 2) {
        this.draw(this.buffer(this.recurrentReverse, k, (hi - lo) * this.H), streamOf(RECURRENT_REVERSE, epoch, batch, k), 1, Bg, lo, hi, this.H, this.q);
      }
    }
  }

  /** The masks of window `window` (T steps) of the current batch: fresh between-layer masks, the batch's recurrent ones. */
  window(epoch: number, batch: number, window: number, T: number, Bg: number, lo: number, hi: number): Dropout {
    if (this.p > 0) {
      for (let k = 0; k < this.L - 1; k++) {
        const W = this.directions * this.H;
        this.draw(this.buffer(this.between, k, T * (hi - lo) * W), streamOf(BETWEEN, epoch, batch, window, k), T, Bg, lo, hi, W, this.p);
      }
    }
    return this.masks;
  }
}
