#!/usr/bin/env node
// Writes data/irnn-init.safetensors: initial weights with large recurrent weights for the
// exploding-gradient example (configs/explode-*.yaml). A relu Elman layer with W_hh = I
// (the IRNN of Le, Jaitly & Hinton 2015) carries signals over 100 steps undamped, so any
// growth of W_hh in training multiplies gradients over the 100 steps back. Other weights are small and
// seeded. Run after `npm install` (it uses the built checkpoint writer):
//   node scripts/make-irnn-init.mjs
import { saveCheckpoint } from "../dist/io/checkpoint.js";
import { paramSpecs } from "../dist/core/network.js";
import { Rng } from "../dist/core/rng.js";
import { validateConfig } from "../dist/config/load.js";

const H = 32, scale = 1.0;
const config = validateConfig({
  seed: 1,
  data: { train: "adding100.csv", sequenceColumn: "seq", inputs: ["value", "marker"], targets: ["sum"], normalize: false },
  targetsAt: "last",
  model: { cell: "elman", hiddenSize: H, activation: "relu" },
}, "irnn-init");
const shape = { cell: "elman", inputSize: 2, hiddenSize: H, outputSize: 1, layers: 1, activation: "relu", bias: true };
const specs = paramSpecs(shape);
const size = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
const params = new Float32Array(size);
const rng = new Rng(11);
let off = 0;
for (const s of specs) {
  const n = s.shape.reduce((x, y) => x * y, 1);
  for (let i = 0; i < n; i++) {
    if (s.name === "rnn.weight_hh_l0") params[off + i] = Math.floor(i / H) === i % H ? scale : 0;
    else if (s.name.startsWith("rnn.bias")) params[off + i] = 0;
    else params[off + i] = (2 * rng.uniform() - 1) * 0.1;
  }
  off += n;
}
saveCheckpoint(new URL("../data/irnn-init.safetensors", import.meta.url).pathname, {
  config, shape, dtype: "float32", params, normalization: null, classes: null, epoch: 0, step: 0,
  optimizer: null, position: null, carry: null, bestValLoss: null,
});
console.error("wrote data/irnn-init.safetensors");
