import type { ParamLayout } from "./params.js";
import type { Rng } from "./rng.js";
import { sampleNormal } from "./sample.js";
import type { Float } from "./tensor.js";

/**
 * PyTorch's default initialisation of `nn.RNN` + `nn.Linear(H, O)`: every tensor uniform in
 * [−1/√H, 1/√H] (for the head, kaiming_uniform(a=√5) and the bias rule give the same bound
 * since its fan-in is H); an embedding table (`init: "normal"`) N(0, 1), as torch's
 * nn.Embedding. Drawn from our own generator, so the numbers differ from torch's.
 */
export function initParams(layout: ParamLayout, params: Float, hiddenSize: number, rng: Rng): void {
  const k = 1 / Math.sqrt(hiddenSize);
  for (const s of layout.slots) {
    if (s.init === "normal") for (let i = 0; i < s.size; i++) params[s.offset + i] = sampleNormal(rng);
    else for (let i = 0; i < s.size; i++) params[s.offset + i] = (2 * rng.uniform() - 1) * k;
  }
}
