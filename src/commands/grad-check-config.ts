import { tbpttWindows } from "../core/bptt.js";
import { fixedMasks, gradCheck, type GradCheckResult } from "../core/gradcheck.js";
import { initParams } from "../core/init.js";
import { Network } from "../core/network.js";
import { Rng } from "../core/rng.js";
import { loadConfig } from "../config/load.js";
import { batchify, makeBatch, targetShapeOf } from "../data/batches.js";
import type { Sequence } from "../data/dataset.js";
import { loadTrainingData } from "../data/load.js";
import { streamBatch } from "../data/text.js";
import { loadBackend } from "../kernels/backends.js";
import { copyParams, loadCheckpoint, modelShapeOf } from "../io/checkpoint.js";

/** How much of the data a config check uses: a few sequences, a few windows, a sample of weights. */
const ROWS = 4;
const MAX_STEPS = 48;
const WINDOWS = 6;
const PER_TENSOR = 64;

/**
 * Grad-check of the model a config describes (its init weights, or seeded ones) in float64,
 * on the first batch of its training data: at most 4 sequences (streams for one long series),
 * cut to 48 steps, the first 6 TBPTT windows in order with the state carried between them.
 */
export async function gradCheckConfig(configPath: string): Promise<GradCheckResult[]> {
  const cfg = await loadConfig(configPath);
  const data = await loadTrainingData(cfg);
  const shape = modelShapeOf(cfg, data.text?.vocab ?? data.classes, data.categories);
  const net = new Network(shape, "float64", { kernels: loadBackend().kernels });
  if (cfg.model.init !== null) copyParams(loadCheckpoint(cfg.model.init), net.layout, net.params);
  else initParams(net.layout, net.params, shape.hiddenSize, new Rng(cfg.seed, 0));
  const B = Math.min(cfg.training.batchSize, ROWS);
  const seqs: Sequence[] = data.text ? [] : (data.series ? batchify(data.train[0], B, cfg.data.train) : data.train.slice(0, B))
    .map((s) => cut(s, MAX_STEPS));
  const ts = targetShapeOf(cfg, shape.outputSize);
  // A text's first B streams of MAX_STEPS tokens (and the token after them, the last target).
  const batch = data.text ? streamBatch(data.text.train.subarray(0, B * MAX_STEPS + 1), B, shape.outputSize)
    : makeBatch(seqs, shape.inputSize, ts, "float64");
  const windows = tbpttWindows(batch.T, cfg.training.bptt).slice(0, WINDOWS);
  const name = `${cfg.model.cell}-${cfg.model.activation}-L${cfg.model.layers}-H${cfg.model.hiddenSize} on ${batch.B} ${data.text ? "stream" : "sequence"}(s) of ${configPath}`;
  const { dropout: p, recurrentDropout: q } = cfg.model;
  // Dropout is checked with fixed masks, drawn as training draws them.
  const masks = p > 0 || q > 0 ? fixedMasks(new Rng(cfg.seed, 3), shape, batch.B, windows, p, q) : [];
  return [gradCheck(name + (masks.length ? ` with fixed dropout masks (${p}, recurrent ${q})` : ""), net, batch, windows, { maxPerTensor: PER_TENSOR, seed: cfg.seed }, masks)];
}

function cut(s: Sequence, n: number): Sequence {
  if (s.length <= n) return s;
  const I = s.x.length / s.length, O = s.y ? s.y.length / s.length : 0;
  return { ...s, length: n, x: s.x.slice(0, n * I), y: s.y ? s.y.slice(0, n * O) : null, labels: s.labels ? s.labels.slice(0, n) : null };
}
