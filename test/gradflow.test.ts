import { describe, expect, it } from "vitest";
import { Network } from "../src/core/network.js";
import { pointHead } from "../src/core/heads/point.js";
import type { Sequence } from "../src/data/dataset.js";
import { gradFlow } from "../src/train/gradflow.js";
import { backends } from "./helpers/backends.js";

/**
 * A case with a known answer: a relu Elman cell with W_hh = a·I on inputs that keep every state
 * positive, so ∂h_j/∂h_{j−1} = a·I and ∂L_t/∂h_{t−k} = a^k ∂L_t/∂h_t exactly.
 */
describe.each(backends())("grad-flow (%s kernels)", (_n, kernels) => {
  for (const a of [0.8, 1.25]) {
    it(`relu, W_hh = ${a}·I: gradient norm at lag k is a^k times lag 0; Jacobian product a^k·√H`, () => {
      const H = 4, T = 12, K = 10;
      const net = new Network({ cell: "elman", inputSize: 2, hiddenSize: H, outputSize: 1, layers: 1, activation: "relu", bias: true }, "float64", { kernels });
      const v = (name: string) => net.layout.view(net.params, name);
      v("rnn.weight_ih_l0").fill(0.5);
      v("rnn.bias_ih_l0").fill(0.1);
      v("rnn.bias_hh_l0").fill(0.05);
      const whh = v("rnn.weight_hh_l0");
      for (let i = 0; i < H; i++) whh[i * H + i] = a;
      v("head.weight").set([0.3, -0.2, 0.7, 0.1]);
      const seqs: Sequence[] = [0, 1, 2].map((s) => {
        const x = Float64Array.from({ length: T * 2 }, (_, i) => 0.1 + ((i * 7 + s * 3) % 10) / 10);
        const y = new Float64Array(T).fill(NaN);
        y[T - 1] = 1 + s; // the loss at the final step only: every lag is averaged over the same pairs
        return { id: `s${s}`, length: T, x, y, labels: null };
      });
      const [f] = gradFlow(net, seqs, { task: "regression", outputs: 1, head: pointHead }, { lags: K });
      expect(f.gradCount).toEqual(new Array(K + 1).fill(3));
      for (let k = 0; k <= K; k++) {
        expect(f.gradNorm[k] / f.gradNorm[0]).toBeCloseTo(a ** k, 12);
        expect(f.jacobianNorm[k]).toBeCloseTo(a ** k * Math.sqrt(H), 12);
      }
    });
  }
  it("tanh with small recurrent weights: the gradient vanishes with the lag", () => {
    const net = new Network({ cell: "elman", inputSize: 1, hiddenSize: 8, outputSize: 1, layers: 2, activation: "tanh", bias: true }, "float64", { kernels });
    for (let i = 0; i < net.params.length; i++) net.params[i] = Math.sin(i * 1.7) * 0.3;
    const T = 30;
    const seqs: Sequence[] = [{ id: null, length: T, x: Float64Array.from({ length: T }, (_, i) => Math.cos(i)), y: Float64Array.from({ length: T }, (_, i) => Math.sin(i)), labels: null }];
    const flows = gradFlow(net, seqs, { task: "regression", outputs: 1, head: pointHead }, { lags: 20 });
    expect(flows).toHaveLength(2);
    for (const f of flows) {
      expect(f.gradNorm[20]).toBeLessThan(f.gradNorm[0] * 1e-3);
      expect(f.jacobianNorm[20]).toBeLessThan(f.jacobianNorm[1] * 1e-3);
    }
  });
});
