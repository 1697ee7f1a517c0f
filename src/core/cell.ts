import type { ActivationName } from "./activations.js";
import type { Kernels } from "./kernels.js";
import type { ParamLayout, ParamSpec } from "./params.js";
import type { DType, Float } from "./tensor.js";

export type CellKind = "elman" | "lstm" | "gru";

/** What one recurrent layer needs to know about itself. */
export interface LayerShape {
  readonly index: number;      // k, for the `_l{k}` parameter suffix
  readonly reverse?: boolean;  // the reverse direction of a bidirectional layer (`_l{k}_reverse`)
  readonly inputSize: number;  // I for layer 0, H (2H bidirectional) above it
  readonly hiddenSize: number; // H
  readonly bias: boolean;
  readonly activation: ActivationName;
}

/**
 * One recurrent layer run over a window of T steps for B batch rows, time-major.
 * Buffers are allocated once per (T, B) capacity and reused for every window.
 *
 * The layer's output h is [T,B,H] at `outOff` in `out`; its carried state (h, or (h, c)
 * for LSTM) is `stateSize` floats per batch row.
 */
export interface RecurrentLayer {
  readonly shape: LayerShape;
  /** Floats of carried state per batch row (H for Elman/GRU, 2H for LSTM). */
  readonly stateSize: number;
  /** Grows the window buffers to hold T steps of B rows (no-op when they already do). */
  reserve(T: number, B: number): void;
  /**
   * Runs steps 0..T-1. x: [T,B,In] at xOff in `x` (kept by reference until backward);
   * state0: [B, stateSize] at s0Off, the state carried into the window. `recurrentMask`
   * [B,H] (training with recurrentDropout), kept until backward: h_{t-1} ⊙ mask is what
   * enters the recurrent product W_hh, for every gate; the state itself stays unmasked.
   */
  forward(x: Float, xOff: number, state0: Float, s0Off: number, T: number, B: number, recurrentMask?: Float | null): void;
  /**
   * Back-propagates dh: [T,B,H] (gradient of the loss w.r.t. this layer's outputs, from the
   * head or the layer above; overwritten as scratch). Accumulates parameter gradients into
   * the gradient buffer; writes dx: [T,B,In] when given; the gradient w.r.t. the carried-in
   * state is left in `dState0` (never used by training, which detaches it; grad-check reads it).
   * When `gradOut` is given ([T,B,H]) it receives the total gradient w.r.t. each output h_t,
   * through every later step (grad-flow's ∂L/∂h_t).
   */
  backward(dh: Float, dx: Float | null, T: number, B: number, gradOut?: Float | null): void;
  readonly out: Float;
  readonly outOff: number;
  readonly dState0: Float;
  /** For inference: the weights will not change, so what is prepared from them is kept (packed W_hh). */
  freeze(): void;
  /** Copies the state after k steps (k = 0 is state0) of the last forward into dst[B, stateSize]. */
  stateAfter(k: number, B: number, dst: Float, dstOff: number): void;
}

/** A recurrent cell type: its parameters and how to build a layer of it. */
export interface Cell {
  readonly kind: CellKind;
  /** The layer's tensors in PyTorch's order and shapes. */
  params(shape: LayerShape): ParamSpec[];
  create(shape: LayerShape, layout: ParamLayout, params: Float, grads: Float,
    dtype: DType, kernels: Kernels): RecurrentLayer;
}
