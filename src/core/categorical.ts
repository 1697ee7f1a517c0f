import { Embedding, embeddingParams, type EmbeddingShape } from "./embedding.js";
import type { Kernels } from "./kernels.js";
import type { ParamLayout, ParamSpec } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/** The name of categorical column j's table (SPEC §11: `embed.{j}.weight`, an nn.ModuleList's entry j). */
export const embedName = (j: number): string => `embed.${j}`;

/** The tables of SPEC §11's categorical columns, `embed.{j}.weight` [V_j, E_j] each, N(0, 1) as nn.Embedding's. */
export function categoricalParams(tables: readonly EmbeddingShape[]): ParamSpec[] {
  return tables.flatMap((t, j) => embeddingParams(embedName(j), t));
}

/** Layer 0's input width with categorical columns: I numeric plus Σ E_j (W = I + C values come in). */
export function categoricalWidth(inputSize: number, tables: readonly EmbeddingShape[]): number {
  return inputSize - tables.length + tables.reduce((a, t) => a + t.size, 0);
}

/**
 * SPEC §11's input module: rows x [rows, W] of I = W − C numeric values followed by C category
 * indices (whole numbers in [0, V_j), as floats: the data's rows carry them as they carry the
 * numbers), to layer 0's input
 *
 *     out[r] = [x[r, 0:I] ; embed_0(c_{r,0}) ; … ; embed_{C−1}(c_{r,C−1})]        [rows, I + Σ E_j]
 *
 * Each column's lookup is an `Embedding` (nn.Embedding) gathering into its columns of `out`;
 * backward scatter-adds the columns of `dOut` into each table's gradient (the numeric part of
 * dOut is not needed: the inputs are data).
 */
export class CategoricalInput {
  /** [rows, D] layer 0's input, D = I + Σ E_j. */
  out: Float;
  /** [rows, D] its gradient, written by layer 0's backward. */
  dOut: Float;
  readonly width: number;
  private readonly tables: readonly Embedding[];
  private readonly numeric: number;
  private ids = new Int32Array(0);
  private cap = 0;

  constructor(readonly inputSize: number, shapes: readonly EmbeddingShape[], layout: ParamLayout, params: Float, grads: Float,
    private readonly dtype: DType, kernels: Kernels) {
    this.tables = shapes.map((s, j) => new Embedding(embedName(j), s, layout, params, grads, dtype, kernels));
    this.numeric = inputSize - shapes.length;
    this.width = categoricalWidth(inputSize, shapes);
    this.out = alloc(dtype, 0); this.dOut = alloc(dtype, 0);
  }

  private reserve(rows: number): void {
    if (rows <= this.cap) return;
    this.cap = rows;
    this.out = alloc(this.dtype, rows * this.width);
    this.dOut = alloc(this.dtype, rows * this.width);
    this.ids = new Int32Array(rows * this.tables.length);
  }

  /** x at xOff [rows, W] → out [rows, D]: the numeric values copied, each column's table row gathered. */
  forward(x: Float, xOff: number, rows: number): void {
    this.reserve(rows);
    const I = this.numeric, C = this.tables.length, W = I + C, D = this.width, out = this.out, ids = this.ids;
    for (let r = 0; r < rows; r++) {
      const xr = xOff + r * W, orow = r * D;
      for (let i = 0; i < I; i++) out[orow + i] = x[xr + i];
      for (let j = 0; j < C; j++) ids[r * C + j] = x[xr + I + j];
    }
    let col = I;
    this.tables.forEach((e, j) => { e.forwardInto(out, col, D, ids, j, C, rows); col += e.shape.size; });
  }

  /** From dOut [rows, D]: accumulates each table's gradient (a scatter-add of its columns). */
  backward(rows: number): void {
    let col = this.numeric;
    for (const e of this.tables) { e.backwardFrom(this.dOut, col, this.width, rows); col += e.shape.size; }
  }
}
