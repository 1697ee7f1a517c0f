import type { Kernels, Packed } from "./kernels.js";
import type { ParamLayout } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/**
 * The output head, as `torch.nn.Linear(H, O)`: y = s W_outᵀ + b_out (the seed's W_y = W_outᵀ),
 * applied to every row of a [T·B, H] block of top-layer states at once.
 */
export class Linear {
  private readonly w: Float; private readonly b: Float | null;
  private readonly gW: Float; private readonly gB: Float | null;
  /** [T·B, O] outputs of the last forward. */
  y: Float;
  /** [T·B, O] gradient of the loss w.r.t. y, filled by the loss. */
  dy: Float;
  /** [T·B, H] gradient w.r.t. the input states, written by backward. */
  dx: Float;
  private cap = 0;
  private x: Float | null = null; private xOff = 0;
  /** W_outᵀ packed once for inference (freeze); null while training. */
  private packed: Packed | null = null;

  constructor(readonly inSize: number, readonly outSize: number, bias: boolean,
    layout: ParamLayout, params: Float, grads: Float,
    private readonly dtype: DType, private readonly k: Kernels) {
    this.w = layout.view(params, "head.weight");
    this.gW = layout.view(grads, "head.weight");
    this.b = bias ? layout.view(params, "head.bias") : null;
    this.gB = bias ? layout.view(grads, "head.bias") : null;
    this.y = alloc(dtype, 0); this.dy = alloc(dtype, 0); this.dx = alloc(dtype, 0);
  }

  reserve(rows: number): void {
    if (rows <= this.cap) return;
    this.cap = rows;
    this.y = alloc(this.dtype, rows * this.outSize);
    this.dy = alloc(this.dtype, rows * this.outSize);
    this.dx = alloc(this.dtype, rows * this.inSize);
  }

  /** For inference: the weights will not change, so Wᵀ is packed once (the same bits as unpacked). */
  freeze(): void {
    this.packed ??= this.k.createPacked();
    this.k.pack(this.packed, this.w, 0, this.inSize, this.outSize, true);
  }

  /** y[rows, O] = x[rows, H] · Wᵀ + b, x at xOff in `x`. */
  forward(x: Float, xOff: number, rows: number): void {
    this.reserve(rows);
    const O = this.outSize, y = this.y;
    this.x = x; this.xOff = xOff;
    if (this.packed) this.k.matmulPacked(y, 0, x, xOff, this.packed, rows, false);
    else this.k.matmulNT(y, 0, x, xOff, this.w, 0, rows, O, this.inSize, false);
    if (this.b) {
      const b = this.b;
      this.k.addRows(y, 0, b, rows, O);
    }
  }

  /** From dy: accumulates dW += dyᵀ·x, db += Σ_rows dy, and writes dx = dy·W. */
  backward(rows: number): void {
    if (!this.x) throw new Error("Linear.backward before forward");
    const O = this.outSize, H = this.inSize, dy = this.dy;
    this.k.matmulTN(this.gW, 0, dy, 0, this.x, this.xOff, O, H, rows, true);
    if (this.gB) {
      const gb = this.gB;
      this.k.sumRows(gb, dy, 0, rows, O);
    }
    this.k.matmulNN(this.dx, 0, dy, 0, this.w, 0, rows, H, O, false);
  }
}
