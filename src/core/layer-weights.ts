import type { LayerShape } from "./cell.js";
import type { Kernels, Packed } from "./kernels.js";
import type { ParamLayout, ParamSpec } from "./params.js";
import type { Float } from "./tensor.js";

/**
 * The tensors of recurrent layer l — W_ih [G·H, In], W_hh [G·H, H], b_ih, b_hh [G·H] with G gate
 * blocks (1 Elman, 4 LSTM, 3 GRU) — and their gradients, as views into the flat buffers.
 */
export class LayerWeights {
  readonly wIh: Float; readonly wHh: Float;
  readonly bIh: Float | null; readonly bHh: Float | null;
  readonly gWIh: Float; readonly gWHh: Float;
  readonly gBIh: Float | null; readonly gBHh: Float | null;

  /**
   * Set for inference (the weights no longer change): W_hh, and W_ih for the input product, are
   * packed once. A batch-1 stream pays for a pack of W_ih at every call otherwise (at H 1024 a
   * read and a transposing write of 2 MB per row for an LSTM).
   */
  frozen = false;
  private packedFor: "forward" | "backward" | null = null;
  private packedIh: Packed | null = null;

  constructor(layout: ParamLayout, params: Float, grads: Float, s: LayerShape) {
    const v = (buf: Float, name: string): Float => layout.view(buf, `rnn.${name}_${layerSuffix(s)}`);
    const bias = s.bias;
    this.wIh = v(params, "weight_ih"); this.wHh = v(params, "weight_hh");
    this.gWIh = v(grads, "weight_ih"); this.gWHh = v(grads, "weight_hh");
    this.bIh = bias ? v(params, "bias_ih") : null; this.bHh = bias ? v(params, "bias_hh") : null;
    this.gBIh = bias ? v(grads, "bias_ih") : null; this.gBHh = bias ? v(grads, "bias_hh") : null;
  }

  /** Packs W_hh into `p` for the forward product (op = W_hhᵀ [H, G·H]), unless frozen and already there. */
  packForward(k: Kernels, p: Packed, H: number, GH: number): void {
    if (this.frozen && this.packedFor === "forward") return;
    k.pack(p, this.wHh, 0, H, GH, true);
    this.packedFor = "forward";
  }

  /**
   * out[rows, G·H] = x[rows, In] · W_ihᵀ, x at xOff: through W_ih packed once when frozen. The
   * packed and the unpacked product sum each element in the same order: the same bits.
   */
  inputProduct(k: Kernels, out: Float, outOff: number, x: Float, xOff: number, rows: number, GH: number, In: number): void {
    if (!this.frozen) { k.matmulNT(out, outOff, x, xOff, this.wIh, 0, rows, GH, In, false); return; }
    if (!this.packedIh) { this.packedIh = k.createPacked(); k.pack(this.packedIh, this.wIh, 0, In, GH, true); }
    k.matmulPacked(out, outOff, x, xOff, this.packedIh, rows, false);
  }

  /** Packs W_hh into `p` for the backward product (op = W_hh [G·H, H]). */
  packBackward(k: Kernels, p: Packed, H: number, GH: number): void {
    k.pack(p, this.wHh, 0, GH, H, false);
    this.packedFor = "backward";
  }

  /**
   * The weight-gradient products of a window, each one large product over its rows = T·B:
   * dW_ih += dIᵀ·x, dW_hh += dHᵀ·h_prev, db_ih += Σ dI, db_hh += Σ dH, and dx = dI·W_ih when
   * dx is given. dI, dH: [rows, G·H] gradients w.r.t. the input and recurrent pre-activations
   * (the same buffer unless the cell separates them, as GRU does); h_prev: [rows, H].
   */
  backward(k: Kernels, dI: Float, dH: Float, x: Float, xOff: number, hPrev: Float,
    GH: number, H: number, In: number, rows: number, dx: Float | null): void {
    k.matmulTN(this.gWHh, 0, dH, 0, hPrev, 0, GH, H, rows, true);
    k.matmulTN(this.gWIh, 0, dI, 0, x, xOff, GH, In, rows, true);
    if (this.gBIh && this.gBHh) {
      k.sumRows(this.gBIh, dI, 0, rows, GH);
      k.sumRows(this.gBHh, dH, 0, rows, GH);
    }
    if (dx) k.matmulNN(dx, 0, dI, 0, this.wIh, 0, rows, In, GH, false);
  }
}

/** PyTorch's suffix of a layer's tensors: `l{k}`, or `l{k}_reverse` for a reverse direction. */
export function layerSuffix(s: LayerShape): string {
  return `l${s.index}${s.reverse ? "_reverse" : ""}`;
}

/** PyTorch's tensors of recurrent layer l with G gate blocks: weight_ih, weight_hh, then the biases. */
export function layerParams(s: LayerShape, gates: number): ParamSpec[] {
  const l = layerSuffix(s), GH = gates * s.hiddenSize;
  const specs: ParamSpec[] = [
    { name: `rnn.weight_ih_${l}`, shape: [GH, s.inputSize] },
    { name: `rnn.weight_hh_${l}`, shape: [GH, s.hiddenSize] },
  ];
  if (s.bias) specs.push({ name: `rnn.bias_ih_${l}`, shape: [GH] }, { name: `rnn.bias_hh_${l}`, shape: [GH] });
  return specs;
}
