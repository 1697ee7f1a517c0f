import type { Cell, LayerShape, RecurrentLayer } from "./cell.js";
import { LayerWeights, layerParams } from "./layer-weights.js";
import type { Kernels, Packed } from "./kernels.js";
import type { ParamLayout, ParamSpec } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/**
 * LSTM layer, as one layer of `torch.nn.LSTM` (gate order i, f, g, o):
 *
 *     [i f g o] = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh        i, f, o = σ(·), g = tanh(·)
 *     c_t = f ⊙ c_{t-1} + i ⊙ g        h_t = o ⊙ tanh(c_t)
 *
 * W_ih [4H, In], W_hh [4H, H], b_ih [4H], b_hh [4H]. The carried state is (h, c): each batch
 * row holds h in its first H floats and c in the next H.
 * Buffers: G [T, B, 4H] the gates after their nonlinearity, Hs and Cs [(T+1), B, H] with the
 * carried h_0, c_0 first, tanhC [T, B, H]; with a recurrent dropout mask m, R [T, B, H]
 * holds h_{t-1} ⊙ m, what W_hh multiplies.
 */
class LstmLayer implements RecurrentLayer {
  readonly stateSize: number;
  readonly dState0: Float;
  private readonly w: LayerWeights;
  private readonly packedHh: Packed;
  private G: Float; private Hs: Float; private Cs: Float; private tanhC: Float;
  private R: Float; private mask: Float | null = null;
  private dG: Float;     // [T, B, 4H] gradient w.r.t. the gates' pre-activations
  private dhNext: Float; // [B, H]
  private dcNext: Float; // [B, H]
  private capT = 0; private capB = 0;
  private x: Float | null = null; private xOff = 0; private B = 0;

  constructor(readonly shape: LayerShape, layout: ParamLayout, params: Float, grads: Float,
    private readonly dtype: DType, private readonly k: Kernels) {
    this.stateSize = 2 * shape.hiddenSize;
    this.w = new LayerWeights(layout, params, grads, shape);
    this.packedHh = k.createPacked();
    this.G = alloc(dtype, 0); this.Hs = alloc(dtype, 0); this.Cs = alloc(dtype, 0); this.tanhC = alloc(dtype, 0); this.R = alloc(dtype, 0);
    this.dG = alloc(dtype, 0); this.dhNext = alloc(dtype, 0); this.dcNext = alloc(dtype, 0); this.dState0 = alloc(dtype, 0);
  }

  get out(): Float { return this.Hs; }
  get outOff(): number { return this.B * this.shape.hiddenSize; }

  reserve(T: number, B: number): void {
    if (T <= this.capT && B <= this.capB) return;
    this.capT = Math.max(T, this.capT); this.capB = Math.max(B, this.capB);
    const H = this.shape.hiddenSize, TB = this.capT * this.capB, d = this.dtype;
    this.G = alloc(d, TB * 4 * H); this.dG = alloc(d, TB * 4 * H);
    this.Hs = alloc(d, (this.capT + 1) * this.capB * H); this.Cs = alloc(d, (this.capT + 1) * this.capB * H);
    this.tanhC = alloc(d, TB * H);
    if (this.R.length > 0) this.R = alloc(d, TB * H);
    this.dhNext = alloc(d, this.capB * H); this.dcNext = alloc(d, this.capB * H);
    (this as { dState0: Float }).dState0 = alloc(d, this.capB * 2 * H);
  }

  forward(x: Float, xOff: number, state0: Float, s0Off: number, T: number, B: number, recurrentMask: Float | null = null): void {
    this.reserve(T, B);
    const H = this.shape.hiddenSize, H4 = 4 * H, In = this.shape.inputSize;
    const m = recurrentMask;
    if (m && this.R.length < this.capT * this.capB * H) this.R = alloc(this.dtype, this.capT * this.capB * H);
    const { G, Hs, Cs, tanhC, R } = this;
    this.x = x; this.xOff = xOff; this.B = B; this.mask = m;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        Hs[b * H + j] = state0[s0Off + b * 2 * H + j];
        Cs[b * H + j] = state0[s0Off + b * 2 * H + H + j];
      }
    }
    this.w.inputProduct(this.k, G, 0, x, xOff, T * B, H4, In);
    this.w.packForward(this.k, this.packedHh, H, H4); // op = W_hhᵀ [H, 4H]
    // The biases are added step by step inside the window's call, while each step's rows are in cache.
    this.k.lstmSteps(G, Hs, Cs, tanhC, this.packedHh, this.w.bIh, this.w.bHh, T, B, H, m, m ? R : null);
  }

  backward(dh: Float, dx: Float | null, T: number, B: number, gradOut: Float | null = null): void {
    const H = this.shape.hiddenSize, H4 = 4 * H, In = this.shape.inputSize, BH = B * H;
    const { G, Cs, tanhC, dG, dhNext, dcNext } = this;
    if (!this.x || B !== this.B) throw new Error("LstmLayer.backward before forward");
    dhNext.fill(0, 0, BH); dcNext.fill(0, 0, BH);
    this.w.packBackward(this.k, this.packedHh, H, H4); // op = W_hh [4H, H]
    this.k.lstmBackSteps(G, Cs, tanhC, dh, gradOut, dG, dhNext, dcNext, this.packedHh, T, B, H, this.mask);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        this.dState0[b * 2 * H + j] = dhNext[b * H + j];
        this.dState0[b * 2 * H + H + j] = dcNext[b * H + j];
      }
    }
    this.w.backward(this.k, dG, dG, this.x, this.xOff, this.mask ? this.R : this.Hs, H4, H, In, T * B, dx);
  }

  freeze(): void { this.w.frozen = true; }

  stateAfter(k: number, B: number, dst: Float, dstOff: number): void {
    const H = this.shape.hiddenSize, BH = B * H;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        dst[dstOff + b * 2 * H + j] = this.Hs[k * BH + b * H + j];
        dst[dstOff + b * 2 * H + H + j] = this.Cs[k * BH + b * H + j];
      }
    }
  }
}

/** `model.cell: lstm`: PyTorch's `nn.LSTM` layout, weight_ih_l{k} [4H, In] with gates i, f, g, o. */
export const lstmCell: Cell = {
  kind: "lstm",
  params: (s: LayerShape): ParamSpec[] => layerParams(s, 4),
  create(shape, layout, params, grads, dtype, kernels) {
    return new LstmLayer(shape, layout, params, grads, dtype, kernels);
  },
};
