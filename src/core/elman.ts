import type { Cell, LayerShape, RecurrentLayer } from "./cell.js";
import { LayerWeights, layerParams } from "./layer-weights.js";
import type { Kernels, Packed } from "./kernels.js";
import type { ParamLayout, ParamSpec } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/**
 * Elman layer, as one layer of `torch.nn.RNN(nonlinearity=Φ)`:
 *
 *     s_t = Φ(x_t W_ihᵀ + b_ih + s_{t-1} W_hhᵀ + b_hh)
 *
 * W_ih [H, In], W_hh [H, H], b_ih [H], b_hh [H] (the seed's W_x = W_ihᵀ, W_s = W_hhᵀ).
 * Buffers: S [(T+1), B, H] holds s_0 (the carried state) then s_1..s_T, so the states
 * feeding step t are one contiguous block and dW_hh is one matrix product per window.
 * With a recurrent dropout mask m, R [T, B, H] holds s_{t-1} ⊙ m, what W_hh multiplies.
 */
class ElmanLayer implements RecurrentLayer {
  readonly stateSize: number;
  readonly dState0: Float;
  private readonly w: LayerWeights;
  private S: Float;      // [(T+1), B, H]
  private R: Float;      // [T, B, H] masked states (recurrent dropout only)
  private mask: Float | null = null;
  private dpre: Float;   // [T, B, H] gradient w.r.t. the pre-activation
  private dnext: Float;  // [B, H] gradient arriving at s_t from step t+1
  private readonly packedHh: Packed; // W_hh prepared once per pass
  private capT = 0; private capB = 0;
  private x: Float | null = null; private xOff = 0; private B = 0;

  constructor(readonly shape: LayerShape, layout: ParamLayout, params: Float, grads: Float,
    private readonly dtype: DType, private readonly k: Kernels) {
    this.stateSize = shape.hiddenSize;
    this.w = new LayerWeights(layout, params, grads, shape);
    this.packedHh = k.createPacked();
    this.S = alloc(dtype, 0); this.R = alloc(dtype, 0); this.dpre = alloc(dtype, 0);
    this.dnext = alloc(dtype, 0); this.dState0 = alloc(dtype, 0);
  }

  get out(): Float { return this.S; }
  get outOff(): number { return this.B * this.shape.hiddenSize; }

  reserve(T: number, B: number): void {
    if (T <= this.capT && B <= this.capB) return;
    this.capT = Math.max(T, this.capT); this.capB = Math.max(B, this.capB);
    const H = this.shape.hiddenSize;
    this.S = alloc(this.dtype, (this.capT + 1) * this.capB * H);
    if (this.R.length > 0) this.R = alloc(this.dtype, this.capT * this.capB * H);
    this.dpre = alloc(this.dtype, this.capT * this.capB * H);
    this.dnext = alloc(this.dtype, this.capB * H);
    (this as { dState0: Float }).dState0 = alloc(this.dtype, this.capB * H);
  }

  forward(x: Float, xOff: number, state0: Float, s0Off: number, T: number, B: number, recurrentMask: Float | null = null): void {
    this.reserve(T, B);
    const H = this.shape.hiddenSize, In = this.shape.inputSize, BH = B * H;
    const S = this.S, m = recurrentMask;
    if (m && this.R.length < this.capT * this.capB * H) this.R = alloc(this.dtype, this.capT * this.capB * H);
    this.x = x; this.xOff = xOff; this.B = B; this.mask = m;
    for (let i = 0; i < BH; i++) S[i] = state0[s0Off + i];
    // Input projection for the whole window at once; only the recurrence is step by step.
    this.w.inputProduct(this.k, S, BH, x, xOff, T * B, H, In);
    this.w.packForward(this.k, this.packedHh, H, H); // op = W_hhᵀ
    // The biases are added step by step inside the window's call, while each step's rows are in cache.
    this.k.elmanSteps(this.shape.activation, S, this.packedHh, this.w.bIh, this.w.bHh, T, B, H, m, m ? this.R : null);
  }

  backward(dh: Float, dx: Float | null, T: number, B: number, gradOut: Float | null = null): void {
    const H = this.shape.hiddenSize, In = this.shape.inputSize, BH = B * H;
    const S = this.S, dpre = this.dpre, dnext = this.dnext;
    if (!this.x || B !== this.B) throw new Error("ElmanLayer.backward before forward");
    dnext.fill(0, 0, BH);
    this.w.packBackward(this.k, this.packedHh, H, H); // op = W_hh
    this.k.elmanBackSteps(this.shape.activation, S, dh, gradOut, dpre, dnext, this.packedHh, T, B, H, this.mask);
    this.dState0.set(dnext.subarray(0, BH));
    this.w.backward(this.k, dpre, dpre, this.x, this.xOff, this.mask ? this.R : S, H, H, In, T * B, dx);
  }

  freeze(): void { this.w.frozen = true; }

  stateAfter(k: number, B: number, dst: Float, dstOff: number): void {
    const BH = B * this.shape.hiddenSize;
    for (let i = 0; i < BH; i++) dst[dstOff + i] = this.S[k * BH + i];
  }
}

/** `model.cell: elman`. */
export const elmanCell: Cell = {
  kind: "elman",
  params: (s: LayerShape): ParamSpec[] => layerParams(s, 1),
  create(shape, layout, params, grads, dtype, kernels) {
    return new ElmanLayer(shape, layout, params, grads, dtype, kernels);
  },
};
