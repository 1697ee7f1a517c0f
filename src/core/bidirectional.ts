import type { Cell, LayerShape, RecurrentLayer } from "./cell.js";
import type { Kernels } from "./kernels.js";
import type { ParamLayout } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/**
 * One bidirectional layer, as one layer of `torch.nn.RNN/LSTM/GRU(bidirectional=True)` run on
 * a `pack_padded_sequence` batch (SPEC §13):
 *
 *     h→_t = cell(x_t, h→_{t-1})         h→_{-1} = 0
 *     h←_t = cell'(x_t, h←_{t+1})        h←_{len_b} = 0   (each sequence from its own last step)
 *     out_t = [h→_t ; h←_t]              [T, B, 2H]
 *
 * The reverse direction is the same cell (weights `_l{k}_reverse`) run over a reversed,
 * length-aware view of the window: row (t, b) of the view is row (len_b − 1 − t, b) of x for
 * t < len_b, so every sequence starts at its own last real step and the padding comes after it
 * (it never reaches a real step). The view is one gather of the window's rows, not a copy per
 * step; both directions then run through the cell's own kernels unchanged.
 *
 * `readLast` (the top layer under `targetsAt: last`): row (len_b − 1, b) of the output holds
 * [h→ at the last step ; h← at step 0], PyTorch's `torch.cat((h_n[-2], h_n[-1]), 1)`.
 *
 * Buffers (allocated once per (T, B) capacity): xr [T,B,In] the reversed input, dxr [T,B,In]
 * its gradient, out [T,B,2H], dhF and dhR [T,B,H] the gradients of the two halves, and the row
 * maps xSrc (view row → x row, an involution) and revSrc (out row → reverse-output row).
 */
export class BidirectionalLayer {
  readonly fwd: RecurrentLayer;
  readonly rev: RecurrentLayer;
  /** [T, B, 2H] the layer's output, from offset 0. */
  out: Float;
  readonly outOff = 0;
  private xr: Float; private dxr: Float; private dhF: Float; private dhR: Float;
  private zero: Float;
  private xSrc: Int32Array; private revSrc: Int32Array;
  private capT = 0; private capB = 0;

  constructor(readonly shape: LayerShape, cell: Cell, layout: ParamLayout, params: Float, grads: Float,
    private readonly dtype: DType, kernels: Kernels) {
    this.fwd = cell.create({ ...shape, reverse: false }, layout, params, grads, dtype, kernels);
    this.rev = cell.create({ ...shape, reverse: true }, layout, params, grads, dtype, kernels);
    this.out = alloc(dtype, 0); this.xr = alloc(dtype, 0); this.dxr = alloc(dtype, 0);
    this.dhF = alloc(dtype, 0); this.dhR = alloc(dtype, 0); this.zero = alloc(dtype, 0);
    this.xSrc = new Int32Array(0); this.revSrc = new Int32Array(0);
  }

  private reserve(T: number, B: number): void {
    if (T <= this.capT && B <= this.capB) return;
    this.capT = Math.max(T, this.capT); this.capB = Math.max(B, this.capB);
    const H = this.shape.hiddenSize, In = this.shape.inputSize, TB = this.capT * this.capB, d = this.dtype;
    this.out = alloc(d, TB * 2 * H); this.dhF = alloc(d, TB * H); this.dhR = alloc(d, TB * H);
    this.xr = alloc(d, TB * In); this.dxr = alloc(d, TB * In);
    this.zero = alloc(d, this.capB * this.fwd.stateSize);
    this.xSrc = new Int32Array(TB); this.revSrc = new Int32Array(TB);
  }

  /**
   * x [T,B,In] at xOff → out [T,B,2H]; lengths[b] ≤ T the real steps of row b (padding after);
   * masks: recurrent dropout of each direction ([B,H] or null).
   */
  forward(x: Float, xOff: number, T: number, B: number, lengths: readonly number[] | null,
    maskF: Float | null, maskR: Float | null, readLast: boolean): void {
    this.reserve(T, B);
    const H = this.shape.hiddenSize, In = this.shape.inputSize, H2 = 2 * H;
    const { xr, out, xSrc, revSrc, zero } = this;
    for (let b = 0; b < B; b++) {
      const len = lengths ? lengths[b] : T;
      for (let t = 0; t < T; t++) {
        const r = t * B + b;
        xSrc[r] = t < len ? (len - 1 - t) * B + b : r;
        revSrc[r] = xSrc[r];
      }
      if (readLast && len > 0) revSrc[(len - 1) * B + b] = (len - 1) * B + b;
    }
    const rows = T * B;
    // Index loops, not subarray views: a view per row is an allocation per row (GC in the hot loop).
    for (let r = 0; r < rows; r++) copyRow(xr, r * In, x, xOff + xSrc[r] * In, In);
    this.fwd.forward(x, xOff, zero, 0, T, B, maskF);
    this.rev.forward(xr, 0, zero, 0, T, B, maskR);
    const hf = this.fwd.out, fOff = this.fwd.outOff, hr = this.rev.out, rOff = this.rev.outOff;
    for (let r = 0; r < rows; r++) {
      const o = r * H2, f = fOff + r * H, s = rOff + revSrc[r] * H;
      copyRow(out, o, hf, f, H);
      copyRow(out, o + H, hr, s, H);
    }
  }

  /**
   * From dout [T,B,2H] (the gradient w.r.t. out; read only): accumulates both directions'
   * parameter gradients and writes dx [T,B,In] when given.
   */
  backward(dout: Float, dx: Float | null, T: number, B: number): void {
    const H = this.shape.hiddenSize, In = this.shape.inputSize, H2 = 2 * H, rows = T * B;
    const { dhF, dhR, dxr, xSrc, revSrc } = this;
    // xSrc is a permutation of the rows: each reverse-output row gets its out row's gradient;
    // under readLast the last row's reverse half read the final reverse state too, and adds to it.
    for (let r = 0; r < rows; r++) {
      const o = r * H2;
      copyRow(dhF, r * H, dout, o, H);
      copyRow(dhR, xSrc[r] * H, dout, o + H, H);
    }
    for (let r = 0; r < rows; r++) {
      if (revSrc[r] === xSrc[r]) continue;
      // A readLast row: it read reverse-output row s (the final state), not d (which nothing read).
      const o = r * H2 + H, s = revSrc[r] * H, d = xSrc[r] * H;
      dhR.fill(0, d, d + H);
      for (let j = 0; j < H; j++) dhR[s + j] += dout[o + j];
    }
    this.fwd.backward(dhF, dx, T, B);
    this.rev.backward(dhR, dx ? dxr : null, T, B);
    if (dx) {
      for (let r = 0; r < rows; r++) {
        const d = xSrc[r] * In, o = r * In;
        for (let i = 0; i < In; i++) dx[d + i] += dxr[o + i];
      }
    }
  }

  freeze(): void { this.fwd.freeze(); this.rev.freeze(); }
}

/** dst[d … d+n) = src[s … s+n). */
function copyRow(dst: Float, d: number, src: Float, s: number, n: number): void {
  for (let j = 0; j < n; j++) dst[d + j] = src[s + j];
}
