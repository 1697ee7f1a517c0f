import type { ActivationName } from "./activations.js";
import { BidirectionalLayer } from "./bidirectional.js";
import type { Cell, CellKind, LayerShape, RecurrentLayer } from "./cell.js";
import { CategoricalInput, categoricalParams, categoricalWidth } from "./categorical.js";
import { elmanCell } from "./elman.js";
import { Embedding, embeddingParams, type EmbeddingShape } from "./embedding.js";
import { gruCell } from "./gru.js";
import { lstmCell } from "./lstm.js";
import { referenceKernels, type Kernels } from "./kernels.js";
import { Linear } from "./linear.js";
import { ParamLayout, type ParamSpec } from "./params.js";
import { alloc, type DType, type Float } from "./tensor.js";

/**
 * The architecture: I inputs, L layers of H units of one cell type, O outputs. With an
 * `embedding` (SPEC §12's language model) the input is one token id per row (I = 1), looked
 * up in `encoder.weight` [V, E], and layer 0 reads the E values. With `categorical` tables
 * (SPEC §11) the last C of the I input values of a row are category indices, column j looked up
 * in `embed.{j}.weight` [V_j, E_j], and layer 0 reads I − C + Σ E_j values.
 */
export interface ModelShape {
  readonly cell: CellKind;
  readonly inputSize: number;
  readonly embedding?: EmbeddingShape | null;
  readonly categorical?: readonly EmbeddingShape[] | null;
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
    index: k, inputSize: k > 0 ? directions(m) * m.hiddenSize : m.embedding ? m.embedding.size
      : m.categorical?.length ? categoricalWidth(m.inputSize, m.categorical) : m.inputSize,
    hiddenSize: m.hiddenSize,
    bias: m.bias, activation: m.activation,
  }));
}

/** The input module's name (SPEC §12: `encoder = nn.Embedding(V, E)`). */
export const ENCODER = "encoder";

/** Every tensor of the model, in the order of PyTorch's `state_dict()` for `encoder` (or `embed`), `rnn` then `head`. */
export function paramSpecs(m: ModelShape): ParamSpec[] {
  const cell = cellFor(m.cell);
  const specs = m.embedding ? embeddingParams(ENCODER, m.embedding) : categoricalParams(m.categorical ?? []);
  specs.push(...layerShapes(m).flatMap((s) => m.bidirectional
    ? [...cell.params(s), ...cell.params({ ...s, reverse: true })] : cell.params(s)));
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
  const input = m.embedding ? 2 * T * B * m.embedding.size
    : m.categorical?.length ? 2 * T * B * categoricalWidth(m.inputSize, m.categorical) : 0;
  return (4 * P + m.layers * perLayer + head + input) * (dtype === "float32" ? 4 : 8);
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
 * What a window's forward reads: x [T,B,I] values (with categorical tables, the last C of them
 * category indices), or, for a network with an embedding, token ids [T,B] (time-major like x).
 */
export type NetInput = Float | Int32Array;

/**
 * The stacked recurrent network plus its linear head, over one window:
 * x [T,B,I] (or ids [T,B] → embedding [T,B,E]) → layer 0 → … → layer L-1 → head → y [T,B,O].
 * All parameters live in one flat buffer `params`, their gradients in `grads` (same layout);
 * backward accumulates into `grads`. A bidirectional model (SPEC §13) runs `bidi` instead
 * (layers of [T,B,2H] outputs, whole sequences from the zero state); `layers` are then their
 * forward directions.
 */
export class Network {
  readonly layout: ParamLayout;
  readonly params: Float;
  readonly grads: Float;
  /** The input module before layer 0 (SPEC §12's `encoder`), or null: layer 0 reads x. */
  readonly input: Embedding | null;
  /** SPEC §11's categorical input module before layer 0, or null. */
  readonly categorical: CategoricalInput | null;
  readonly layers: readonly RecurrentLayer[];
  readonly bidi: readonly BidirectionalLayer[] | null;
  readonly head: Linear;
  private dh: Float[] = [];
  private capRows = 0;
  /** Layer outputs after their dropout mask ([T,B,H] each), and the masks of the last forward. */
  private dropped: Float[] = [];
  private dropout: Dropout | null = null;

  /** The dense kernels it runs on (the loss runs on them too). */
  readonly kernels: Kernels;

  constructor(readonly shape: ModelShape, readonly dtype: DType, opts: NetworkOptions = {}) {
    const kernels = opts.kernels ?? referenceKernels;
    this.kernels = kernels;
    const cell = cellFor(shape.cell);
    this.layout = new ParamLayout(paramSpecs(shape));
    this.params = this.layout.alloc(dtype);
    this.grads = this.layout.alloc(dtype);
    this.input = shape.embedding ? new Embedding(ENCODER, shape.embedding, this.layout, this.params, this.grads, dtype, kernels) : null;
    this.categorical = !shape.embedding && shape.categorical?.length
      ? new CategoricalInput(shape.inputSize, shape.categorical, this.layout, this.params, this.grads, dtype, kernels) : null;
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
   * each layer packs W_hh and W_ih, and the head W_out, once instead of at every forward call. Training must never freeze.
   */
  freeze(): this {
    for (const l of this.bidi ?? this.layers) l.freeze();
    this.head.freeze();
    return this;
  }

  /** Floats of carried state per batch row, per layer. */
  get stateSize(): number { return this.layers[0].stateSize; }

  /** A zero carried state (s_0) for B rows: one [B, stateSize] buffer per layer. */
  zeroState(B: number): Float[] {
    return this.layers.map((l) => alloc(this.dtype, B * l.stateSize));
  }

  /**
   * Runs the window; the head's outputs land in `head.y` ([T·B, O]). x at xOff: [T,B,I] values,
   * or token ids [T,B] when the network has an embedding. `dropout`: training masks.
   * A bidirectional model runs whole sequences from the zero state (state0 is not read):
   * `lengths[b]` the real steps of row b (all T when null).
   */
  forward(x: NetInput, xOff: number, state0: readonly Float[], T: number, B: number, dropout: Dropout | null = null,
    lengths: readonly number[] | null = null): void {
    let inp: Float, inOff: number;
    if (this.input) {
      if (!(x instanceof Int32Array)) throw new TypeError("a network with an embedding reads token ids (Int32Array)");
      this.input.forward(x, xOff, T * B);
      inp = this.input.out; inOff = 0;
    } else {
      if (x instanceof Int32Array) throw new TypeError("token ids given to a network without an embedding");
      if (this.categorical) { this.categorical.forward(x, xOff, T * B); inp = this.categorical.out; inOff = 0; } else { inp = x; inOff = xOff; }
    }
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
      const dx = k > 0 ? this.dh[k - 1] : this.input ? this.input.dOut : this.categorical ? this.categorical.dOut : null;
      if (this.bidi) this.bidi[k].backward(this.dh[k], dx, T, B);
      else this.layers[k].backward(this.dh[k], dx, T, B, record ? record[k] : null);
    }
    this.input?.backward(rows);
    this.categorical?.backward(rows);
  }

  /** Copies each layer's state after k steps of the last forward into dst. */
  stateAfter(k: number, B: number, dst: readonly Float[]): void {
    this.layers.forEach((l, i) => l.stateAfter(k, B, dst[i], 0));
  }
}
