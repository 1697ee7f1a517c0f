import type { ActivationName } from "../core/activations.js";
import type { CellKind } from "../core/cell.js";
import type { Float } from "../core/tensor.js";

/**
 * How one PyTorch recurrent layer becomes one ONNX recurrent operator.
 *
 * PyTorch stacks the gate blocks of `weight_ih_l{k}` / `weight_hh_l{k}` / the biases as
 * LSTM i,f,g,o and GRU r,z,n; ONNX's LSTM wants i,o,f,c and its GRU z,r,h. `blocks[j]` is the
 * PyTorch block that goes to ONNX block j. GRU needs `linear_before_reset = 1`: PyTorch's
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) applies r after the recurrent product.
 */
export interface OnnxCell {
  readonly op: "RNN" | "LSTM" | "GRU";
  readonly blocks: readonly number[];
  readonly attrs: { readonly activations?: readonly string[]; readonly linear_before_reset?: number };
}

const ELMAN_ACTIVATION: Readonly<Record<ActivationName, string>> = { tanh: "Tanh", relu: "Relu", sigmoid: "Sigmoid" };

export function onnxCell(cell: CellKind, activation: ActivationName): OnnxCell {
  if (cell === "lstm") return { op: "LSTM", blocks: [0, 3, 1, 2], attrs: {} };
  if (cell === "gru") return { op: "GRU", blocks: [1, 0, 2], attrs: { linear_before_reset: 1 } };
  return { op: "RNN", blocks: [0], attrs: { activations: [ELMAN_ACTIVATION[activation]] } };
}

/**
 * A [G·H, cols] tensor (row-major) with its G blocks of H rows reordered: ONNX block j is
 * PyTorch block `blocks[j]`. Written into `dst` at `off` (float32).
 */
export function permuteBlocks(src: Float, H: number, cols: number, blocks: readonly number[], dst: Float32Array, off = 0): void {
  const n = H * cols;
  blocks.forEach((b, j) => dst.set(src.subarray(b * n, (b + 1) * n), off + j * n));
}
