import { lossSum } from "../core/loss.js";
import type { Network } from "../core/network.js";
import { alloc, type Float } from "../core/tensor.js";
import { makeBatch, type TargetShape } from "../data/batches.js";
import type { Sequence } from "../data/dataset.js";

/** Per layer, per lag k = 0…K: the two curves of the vanishing/exploding-gradient picture. */
export interface LayerFlow {
  readonly layer: number;
  /** Mean over (sequence, loss step t) of ‖∂L_t/∂h_{t−k}‖₂, L_t the loss at step t. */
  readonly gradNorm: number[];
  /** How many (sequence, t) pairs each lag's mean is over. */
  readonly gradCount: number[];
  /** Mean Frobenius norm of the layer's Jacobian product ∂h_t/∂h_{t−k} = ∏ ∂h_j/∂h_{j−1} (√H at k = 0). */
  readonly jacobianNorm: number[];
  readonly jacobianCount: number[];
}

export interface GradFlowOptions {
  readonly lags: number;
  /** Loss steps sampled per batch of sequences (evenly spaced among the supervised ones). */
  readonly stepsPerBatch?: number;
  /** Sequences whose Jacobian products are computed (each costs H backward rows). */
  readonly jacobianSequences?: number;
}

const GROUP = 16;

/**
 * Measures gradient flow through time on real sequences. For a loss step t, one backward pass
 * with the loss at t alone records ∂L_t/∂h_j for every earlier j in every layer; the lags are
 * k = t − j. The Jacobian products come from the same backward run on H copies of a sequence,
 * seeded with the H unit vectors at step t inside one layer, so row i of the result is
 * e_iᵀ ∂h_t/∂h_{t−k}.
 */
export function gradFlow(net: Network, seqs: readonly Sequence[], ts: TargetShape, o: GradFlowOptions): LayerFlow[] {
  const K = o.lags, L = net.layers.length, H = net.shape.hiddenSize, I = net.shape.inputSize, O = net.shape.outputSize;
  const flows = Array.from({ length: L }, (_, layer) => ({
    layer, gradNorm: new Array<number>(K + 1).fill(0), gradCount: new Array<number>(K + 1).fill(0),
    jacobianNorm: new Array<number>(K + 1).fill(0), jacobianCount: new Array<number>(K + 1).fill(0),
  }));
  const perBatch = o.stepsPerBatch ?? 32;

  for (let g = 0; g < seqs.length; g += GROUP) {
    const batch = makeBatch(seqs.slice(g, g + GROUP), I, ts, net.dtype);
    const { T, B } = batch;
    net.forward(batch.x, 0, net.zeroState(B), T, B);
    const supervised: number[] = [];
    for (let t = 0; t < T; t++) if (lossSum(net.head.y, batch.targets, 0, t * B, (t + 1) * B, null).count > 0) supervised.push(t);
    const picks = supervised.length <= perBatch ? supervised
      : Array.from({ length: perBatch }, (_, i) => supervised[Math.round((i * (supervised.length - 1)) / (perBatch - 1))]);
    const record = net.layers.map(() => alloc(net.dtype, T * B * H));
    const rowCount = new Int32Array(B);
    for (const t of picks) {
      const dy = net.head.dy;
      dy.fill(0, 0, (t + 1) * B * O);
      lossSum(net.head.y, batch.targets, 0, t * B, (t + 1) * B, dy);
      for (let b = 0; b < B; b++) rowCount[b] = lossSum(net.head.y, batch.targets, 0, t * B + b, t * B + b + 1, null).count;
      net.backward(t + 1, B, record);
      for (let l = 0; l < L; l++) {
        const rec = record[l], f = flows[l];
        for (let k = 0; k <= Math.min(K, t); k++) {
          for (let b = 0; b < B; b++) {
            if (rowCount[b] === 0) continue;
            f.gradNorm[k] += norm(rec, ((t - k) * B + b) * H, H);
            f.gradCount[k]++;
          }
        }
      }
    }
  }
  net.grads.fill(0);

  // Jacobian products on the longest few sequences, from their last step back.
  const chosen = [...seqs].sort((a, b) => b.length - a.length).slice(0, o.jacobianSequences ?? 4);
  for (const s of chosen) {
    const T = s.length, t = T - 1;
    const batch = makeBatch(Array.from({ length: H }, () => s), I, ts, net.dtype);
    net.forward(batch.x, 0, net.zeroState(H), T, H);
    const seed = alloc(net.dtype, T * H * H), rec = alloc(net.dtype, T * H * H);
    for (let l = 0; l < L; l++) {
      seed.fill(0);
      for (let i = 0; i < H; i++) seed[(t * H + i) * H + i] = 1;
      net.layers[l].backward(seed, null, T, H, rec);
      const f = flows[l];
      for (let k = 0; k <= Math.min(K, t); k++) {
        let ss = 0;
        for (let i = 0; i < H * H; i++) { const v = rec[(t - k) * H * H + i]; ss += v * v; }
        f.jacobianNorm[k] += Math.sqrt(ss);
        f.jacobianCount[k]++;
      }
    }
  }
  net.grads.fill(0);
  for (const f of flows) {
    for (let k = 0; k <= K; k++) {
      f.gradNorm[k] = f.gradCount[k] > 0 ? f.gradNorm[k] / f.gradCount[k] : NaN;
      f.jacobianNorm[k] = f.jacobianCount[k] > 0 ? f.jacobianNorm[k] / f.jacobianCount[k] : NaN;
    }
  }
  return flows;
}

function norm(a: Float, off: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[off + i] * a[off + i];
  return Math.sqrt(s);
}
