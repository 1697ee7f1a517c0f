import type { ActivationName } from "./activations.js";
import { BidirectionalLayer } from "./bidirectional.js";
import type { Cell, CellKind, LayerShape, RecurrentLayer } from "./cell.js";
import { elmanCell } from "./elman.js";
import { gruCell } from "./gru.js";
import { lstmCell } from "./lstm.js";
import { referenceKernels, type Kernels } from "./kernels.js";
import { Linear } from "./linear.js";
import { ParamLayout, type ParamSpec } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/** The architecture: I inputs, L layers of H units of one cell type, O outputs. */
export interface ModelShape {
  readonly cell: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly outputSize: number;
  readonly layers: number;
  readonly activation: ActivationName;
  readonly bias: boolean;
  /** SPEC §13: every layer reads its input both ways; its output is [h→ ; h←] (2H). */
  readonly bidirectional?: boolean;
  /** Where the head reads a bidirectional model: at every step, or (`last`) [h→ last ; h← step 0]. */
  readonly targetsAt?: "every" | "last";
}

/** Directions per layer: 2 for a bidirectional model, else 1. */
export function directions(m: ModelShape): number {
  return m.bidirectional ? 2 : 1;
}

const cells: Readonly<Record<CellKind, Cell>> = { elman: elmanCell, lstm: lstmCell, gru: gruCell };

export function cellFor(kind: CellKind): Cell {
  return cells[kind];
}

export function layerShapes(m: ModelShape): LayerShape[] {
  return Array.from({ length: m.layers }, (_, k) => ({
    index: k, inputSize: k === 0 ? m.inputSize : directions(m) * m.hiddenSize, hiddenSize: m.hiddenSize,
    bias: m.bias, activation: m.activation,
  }));
}

/** Every tensor of the model, in the order of PyTorch's `state_dict()` for `rnn` then `head`. */
export function paramSpecs(m: ModelShape): ParamSpec[] {
  const cell = cellFor(m.cell);
  const specs = layerShapes(m).flatMap((s) => m.bidirectional
    ? [...cell.params(s), ...cell.params({ ...s, reverse: true })] : cell.params(s));
  specs.push({ name: "head.weight", shape: [m.outputSize, directions(m) * m.hiddenSize] });
  if (m.bias) specs.push({ name: "head.bias", shape: [m.outputSize] });
  return specs;
}

/**
 * Bytes a network needs to train on windows of T steps of B rows: parameters, gradients and up
 * to two optimizer buffers, plus each layer's window buffers (states, gates and their
 * gradients) and the head's. An estimate, to refuse a config before allocating it.
 */
export function trainingBytes(m: ModelShape, dtype: DType, T: number, B: number): number {
  const P = paramSpecs(m).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  const G = m.cell === "lstm" ? 4 : m.cell === "gru" ? 3 : 1;
  const D = directions(m);
  const perLayer = D * ((T + 1) * B * m.hiddenSize * 2 + T * B * m.hiddenSize * (2 * G + 2));
  const head = T * B * (3 * m.outputSize + D * m.hiddenSize);
  return (4 * P + m.layers * perLayer + head) * (dtype === "float32" ? 4 : 8);
}

/**
 * A window's dropout masks (training only; SPEC §6), values 0 or 1/(1−p). `between[k]`
 * [T,B,H] ([T,B,2H] bidirectional) multiplies layer k's output where layer k+1 reads it
 * (k < L−1; PyTorch's `dropout`); `recurrent[k]` [B,H] multiplies h_{t−1} where it enters
 * layer k's recurrent product (variational, Keras' `recurrent_dropout`), and
 * `recurrentReverse[k]` that of layer k's reverse direction (SPEC §13: a mask per direction).
 * null: no mask there.
 */
export interface Dropout {
  readonly between: readonly (Float | null)[];
  readonly recurrent: readonly (Float | null)[];
  readonly recurrentReverse?: readonly (Float | null)[];
}

export interface NetworkOptions {
  /** The dense kernels to run on (default: the reference TypeScript ones). */
  kernels?: Kernels;
}

/**
 * The stacked recurrent network plus its linear head, over one window:
 * x [T,B,I] → layer 0 → … → layer L-1 → head → y [T,B,O]. All parameters live in one flat
 * buffer `params`, their gradients in `grads` (same layout); backward accumulates into `grads`.
 * A bidirectional model (SPEC §13) runs `bidi` instead (layers of [T,B,2H] outputs, whole
 * sequences from the zero state); `layers` are then their forward directions.
 */
export class Network {
  readonly layout: ParamLayout;
  readonly params: Float;
  readonly grads: Float;
  readonly layers: readonly RecurrentLayer[];
  readonly bidi: readonly BidirectionalLayer[] | null;
  readonly head: Linear;
  private dh: Float[] = [];
  private capRows = 0;
  /** Layer outputs after their dropout mask ([T,B,H] each), and the masks of the last forward. */
  private dropped: Float[] = [];
  private dropout: Dropout | null = null;

  private readonly kernels: Kernels;

  constructor(readonly shape: ModelShape, readonly dtype: DType, opts: NetworkOptions = {}) {
    const kernels = opts.kernels ?? referenceKernels;
    this.kernels = kernels;
    const cell = cellFor(shape.cell);
    this.layout = new ParamLayout(paramSpecs(shape));
    this.params = this.layout.alloc(dtype);
    this.grads = this.layout.alloc(dtype);
    if (shape.bidirectional) {
      this.bidi = layerShapes(shape).map((s) => new BidirectionalLayer(s, cell, this.layout, this.params, this.grads, dtype, kernels));
      this.layers = this.bidi.map((l) => l.fwd);
    } else {
      this.bidi = null;
      this.layers = layerShapes(shape).map((s) => cell.create(s, this.layout, this.params, this.grads, dtype, kernels));
    }
    this.head = new Linear(directions(shape) * shape.hiddenSize, shape.outputSize, shape.bias, this.layout,
      this.params, this.grads, dtype, kernels);
  }

  /**
   * For inference only (eval, predict, forecast, the library): the weights will not change, so
   * each layer packs W_hh once instead of at every forward call. Training must never freeze.
   */
  freeze(): this {
    for (const l of this.bidi ?? this.layers) l.freeze();
    return this;
  }

  /** Floats of carried state per batch row, per layer. */
  get stateSize(): number { return this.layers[0].stateSize; }

  /** A zero carried state (s_0) for B rows: one [B, stateSize] buffer per layer. */
  zeroState(B: number): Float[] {
    return this.layers.map((l) => alloc(this.dtype, B * l.stateSize));
  }

  /**
   * Runs the window; the head's outputs land in `head.y` ([T·B, O]). `dropout`: training masks.
   * A bidirectional model runs whole sequences from the zero state (state0 is not read):
   * `lengths[b]` the real steps of row b (all T when null).
   */
  forward(x: Float, xOff: number, state0: readonly Float[], T: number, B: number, dropout: Dropout | null = null,
    lengths: readonly number[] | null = null): void {
    let inp = x, inOff = xOff;
    this.dropout = dropout;
    const L = this.layers.length, n = T * B * directions(this.shape) * this.shape.hiddenSize;
    for (let k = 0; k < L; k++) {
      if (this.bidi) {
        const layer = this.bidi[k];
        layer.forward(inp, inOff, T, B, lengths, dropout?.recurrent[k] ?? null, dropout?.recurrentReverse?.[k] ?? null,
          k === L - 1 && this.shape.targetsAt === "last");
        inp = layer.out; inOff = layer.outOff;
      } else {
        const layer = this.layers[k];
        layer.forward(inp, inOff, state0[k], 0, T, B, dropout?.recurrent[k] ?? null);
        inp = layer.out; inOff = layer.outOff;
      }
      const mask = k < this.layers.length - 1 ? dropout?.between[k] : null;
      if (mask) {
        if (!this.dropped[k] || this.dropped[k].length < n) this.dropped[k] = alloc(this.dtype, n);
        this.kernels.mulMask(this.dropped[k], 0, inp, inOff, mask, 0, n, false);
        inp = this.dropped[k]; inOff = 0;
      }
    }
    this.head.forward(inp, inOff, T * B);
  }

  /**
   * Back-propagates `head.dy` through the window, accumulating into `grads`; `record[k]`, when
   * given, receives layer k's total gradient w.r.t. each of its outputs ([T,B,H]).
   */
  backward(T: number, B: number, record: readonly Float[] | null = null): void {
    const rows = T * B, L = this.layers.length, width = directions(this.shape) * this.shape.hiddenSize;
    if (rows > this.capRows) {
      this.capRows = rows;
      this.dh = this.layers.map(() => alloc(this.dtype, rows * width));
    }
    this.head.backward(rows);
    this.dh[L - 1].set(this.head.dx.subarray(0, rows * width));
    for (let k = L - 1; k >= 0; k--) {
      // The gradient arriving at a dropped output passes through its mask.
      const mask = k < L - 1 ? this.dropout?.between[k] : null;
      if (mask) this.kernels.mulMask(this.dh[k], 0, this.dh[k], 0, mask, 0, rows * width, false);
      if (this.bidi) this.bidi[k].backward(this.dh[k], k > 0 ? this.dh[k - 1] : null, T, B);
      else this.layers[k].backward(this.dh[k], k > 0 ? this.dh[k - 1] : null, T, B, record ? record[k] : null);
    }
  }

  /** Copies each layer's state after k steps of the last forward into dst. */
  stateAfter(k: number, B: number, dst: readonly Float[]): void {
    this.layers.forEach((l, i) => l.stateAfter(k, B, dst[i], 0));
  }
}
