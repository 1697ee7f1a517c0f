import type { Kernels } from "./kernels.js";
import type { ParamLayout, ParamSpec } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/** A lookup table's size: V rows (the vocabulary, or a column's categories) of E values. */
export interface EmbeddingShape {
  readonly vocab: number;
  readonly size: number;
}

/** `torch.nn.Embedding(V, E)`'s tensor under `name`: `<name>.weight` [V, E], drawn N(0, 1) as torch's. */
export function embeddingParams(name: string, s: EmbeddingShape): ParamSpec[] {
  return [{ name: `${name}.weight`, shape: [s.vocab, s.size], init: "normal" }];
}

/**
 * An input module, as `torch.nn.Embedding(V, E)`: each of a block of ids selects a row of the
 * weight table W [V, E]. Forward is a gather, out[r, :] = W[ids[r], :]; backward a scatter-add,
 * dW[ids[r], :] += dout[r, :] (a negative id is padding: a zero row, no gradient). SPEC §12's
 * `encoder` before layer 0; an input column's table (SPEC §11) is the same module.
 */
export class Embedding {
  private readonly w: Float;
  private readonly gW: Float;
  /** [rows, E] the rows of the last forward. */
  out: Float;
  /** [rows, E] the gradient w.r.t. `out`, filled by whatever reads it (layer 0's backward). */
  dOut: Float;
  private cap = 0;
  private ids: Int32Array | null = null; private idsOff = 0; private idsStride = 1;

  constructor(readonly name: string, readonly shape: EmbeddingShape, layout: ParamLayout, params: Float, grads: Float,
    private readonly dtype: DType, private readonly k: Kernels) {
    this.w = layout.view(params, `${name}.weight`);
    this.gW = layout.view(grads, `${name}.weight`);
    this.out = alloc(dtype, 0); this.dOut = alloc(dtype, 0);
  }

  reserve(rows: number): void {
    if (rows <= this.cap) return;
    this.cap = rows;
    this.out = alloc(this.dtype, rows * this.shape.size);
    this.dOut = alloc(this.dtype, rows * this.shape.size);
  }

  /** out[rows, E] = W[ids[idsOff + r], :]; ids kept by reference until backward. */
  forward(ids: Int32Array, idsOff: number, rows: number): void {
    this.reserve(rows);
    this.ids = ids; this.idsOff = idsOff;
    this.k.gatherRows(this.out, 0, this.w, ids, idsOff, rows, this.shape.size);
  }

  /** From dOut: accumulates dW[ids[r], :] += dOut[r, :]. */
  backward(rows: number): void {
    if (!this.ids) throw new Error("Embedding.backward before forward");
    this.k.scatterAddRows(this.gW, this.dOut, 0, this.ids, this.idsOff, rows, this.shape.size);
  }

  /**
   * The forward into columns of a wider buffer (SPEC §11's layer-0 input [numeric ; embeddings…]):
   * out[outOff + r·outStride …+E] = W[ids[idsOff + r·idsStride], :]; ids kept by reference until
   * `backwardFrom`. `out`/`dOut` are not used.
   */
  forwardInto(out: Float, outOff: number, outStride: number, ids: Int32Array, idsOff: number, idsStride: number, rows: number): void {
    this.ids = ids; this.idsOff = idsOff; this.idsStride = idsStride;
    this.k.gatherRows(out, outOff, this.w, ids, idsOff, rows, this.shape.size, outStride, idsStride);
  }

  /** Its backward: dW[ids[idsOff + r·idsStride], :] += dOut[dOff + r·dStride …+E]. */
  backwardFrom(dOut: Float, dOff: number, dStride: number, rows: number): void {
    if (!this.ids) throw new Error("Embedding.backwardFrom before forwardInto");
    this.k.scatterAddRows(this.gW, dOut, dOff, this.ids, this.idsOff, rows, this.shape.size, dStride, this.idsStride);
  }
}
