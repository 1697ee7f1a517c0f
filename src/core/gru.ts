import type { Cell, LayerShape, RecurrentLayer } from "./cell.js";
import { LayerWeights, layerParams } from "./layer-weights.js";
import type { Kernels, Packed } from "./kernels.js";
import type { ParamLayout, ParamSpec } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/**
 * GRU layer, as one layer of `torch.nn.GRU` (gate order r, z, n):
 *
 *     r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)      z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
 *     n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))      h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
 *
 * W_ih [3H, In], W_hh [3H, H], b_ih [3H], b_hh [3H].
 * Buffers: GI [T, B, 3H] the input part, overwritten by r, z, n; GH [T, B, 3H] the recurrent
 * part h W_hhᵀ + b_hh (its n block is needed by backward); Hs [(T+1), B, H] with h_0 first.
 * With a recurrent dropout mask m, R [T, B, H] holds h_{t-1} ⊙ m, what W_hh multiplies (the
 * z ⊙ h_{t-1} term takes h_{t-1} itself).
 */
class GruLayer implements RecurrentLayer {
  readonly stateSize: number;
  readonly dState0: Float;
  private readonly w: LayerWeights;
  private readonly packedHh: Packed;
  private GI: Float; private GH: Float; private Hs: Float;
  private dGI: Float; private dGH: Float; // [T, B, 3H] gradients w.r.t. the two pre-activation parts
  private dhNext: Float;                  // [B, H]
  private R: Float; private dhR: Float;   // [T, B, H] masked states, [B, H] the gradient through them
  private mask: Float | null = null;
  private capT = 0; private capB = 0;
  private x: Float | null = null; private xOff = 0; private B = 0;

  constructor(readonly shape: LayerShape, layout: ParamLayout, params: Float, grads: Float,
    private readonly dtype: DType, private readonly k: Kernels) {
    this.stateSize = shape.hiddenSize;
    this.w = new LayerWeights(layout, params, grads, shape);
    this.packedHh = k.createPacked();
    this.GI = alloc(dtype, 0); this.GH = alloc(dtype, 0); this.Hs = alloc(dtype, 0);
    this.dGI = alloc(dtype, 0); this.dGH = alloc(dtype, 0); this.dhNext = alloc(dtype, 0); this.dState0 = alloc(dtype, 0);
    this.R = alloc(dtype, 0); this.dhR = alloc(dtype, 0);
  }

  get out(): Float { return this.Hs; }
  get outOff(): number { return this.B * this.shape.hiddenSize; }

  reserve(T: number, B: number): void {
    if (T <= this.capT && B <= this.capB) return;
    this.capT = Math.max(T, this.capT); this.capB = Math.max(B, this.capB);
    const H = this.shape.hiddenSize, TB = this.capT * this.capB, d = this.dtype;
    this.GI = alloc(d, TB * 3 * H); this.GH = alloc(d, TB * 3 * H);
    this.dGI = alloc(d, TB * 3 * H); this.dGH = alloc(d, TB * 3 * H);
    this.Hs = alloc(d, (this.capT + 1) * this.capB * H);
    this.dhNext = alloc(d, this.capB * H);
    if (this.R.length > 0) { this.R = alloc(d, TB * H); this.dhR = alloc(d, this.capB * H); }
    (this as { dState0: Float }).dState0 = alloc(d, this.capB * H);
  }

  forward(x: Float, xOff: number, state0: Float, s0Off: number, T: number, B: number, recurrentMask: Float | null = null): void {
    this.reserve(T, B);
    const H = this.shape.hiddenSize, H3 = 3 * H, In = this.shape.inputSize, BH = B * H;
    const m = recurrentMask;
    if (m && this.R.length < this.capT * this.capB * H) {
      this.R = alloc(this.dtype, this.capT * this.capB * H); this.dhR = alloc(this.dtype, this.capB * H);
    }
    const { GI, GH, Hs, R } = this;
    this.x = x; this.xOff = xOff; this.B = B; this.mask = m;
    for (let i = 0; i < BH; i++) Hs[i] = state0[s0Off + i];
    this.w.inputProduct(this.k, GI, 0, x, xOff, T * B, H3, In);
    this.w.packForward(this.k, this.packedHh, H, H3); // op = W_hhᵀ [H, 3H]
    // b_ih is added step by step inside the window's call, while each step's rows are in cache.
    this.k.gruSteps(GI, GH, Hs, this.packedHh, this.w.bIh, this.w.bHh, T, B, H, m, m ? R : null);
  }

  backward(dh: Float, dx: Float | null, T: number, B: number, gradOut: Float | null = null): void {
    const H = this.shape.hiddenSize, H3 = 3 * H, In = this.shape.inputSize, BH = B * H;
    const { GI, GH, Hs, dGI, dGH, dhNext } = this;
    if (!this.x || B !== this.B) throw new Error("GruLayer.backward before forward");
    dhNext.fill(0, 0, BH);
    this.w.packBackward(this.k, this.packedHh, H, H3); // op = W_hh [3H, H]
    this.k.gruBackSteps(GI, GH, Hs, dh, gradOut, dGI, dGH, dhNext, this.dhR, this.packedHh, T, B, H, this.mask);
    this.dState0.set(dhNext.subarray(0, BH));
    this.w.backward(this.k, dGI, dGH, this.x, this.xOff, this.mask ? this.R : Hs, H3, H, In, T * B, dx);
  }

  freeze(): void { this.w.frozen = true; }

  stateAfter(k: number, B: number, dst: Float, dstOff: number): void {
    const BH = B * this.shape.hiddenSize;
    for (let i = 0; i < BH; i++) dst[dstOff + i] = this.Hs[k * BH + i];
  }
}

/** `model.cell: gru`: PyTorch's `nn.GRU` layout, weight_ih_l{k} [3H, In] with gates r, z, n. */
export const gruCell: Cell = {
  kind: "gru",
  params: (s: LayerShape): ParamSpec[] => layerParams(s, 3),
  create(shape, layout, params, grads, dtype, kernels) {
    return new GruLayer(shape, layout, params, grads, dtype, kernels);
  },
};
