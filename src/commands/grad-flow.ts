import { Network } from "../core/network.js";
import { initParams } from "../core/init.js";
import { Rng } from "../core/rng.js";
import { loadConfig } from "../config/load.js";
import { targetShapeOf, type TargetShape } from "../data/batches.js";
import { prepareSequence, type Sequence } from "../data/dataset.js";
import { inputFill } from "../data/missing.js";
import { categoryLookup, columnSpec, loadTrainingData, targetPlan } from "../data/load.js";
import { readDataArg, type RawSequence } from "../data/table.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { copyParams, loadCheckpoint, modelShapeOf, withAbsoluteData } from "../io/checkpoint.js";
import { csvLine, num } from "../io/format.js";
import { writeOut, type Io } from "../io/terminal.js";
import { loadBackend } from "../kernels/backends.js";
import { gradFlow, type LayerFlow } from "../train/gradflow.js";
import { readCheckpointData } from "./model.js";

export interface GradFlowOptions {
  data?: string;
  lags?: number;
  json?: boolean;
  plot?: string;
  sequences?: number;
}

/** SPEC §13: grad-flow measures ∂L/∂h_t through one direction of time; a bidirectional model has two. */
function refuseBidirectional(target: string, cfg: { readonly model: { readonly bidirectional: boolean } }): void {
  if (cfg.model.bidirectional) throw new InputError(`${target}: model.bidirectional: grad-flow measures gradients back through time in one direction, not in a bidirectional model`);
}

/**
 * `rnn grad-flow <checkpoint | config>`: how gradients flow back through time in a model,
 * on real sequences (the checkpoint's validation data or training data, or --data).
 */
export async function gradFlowCommand(target: string, o: GradFlowOptions, io: Io): Promise<number> {
  const lags = o.lags ?? 50;
  const maxSeqs = o.sequences ?? 64;
  let net: Network, seqs: Sequence[], ts: TargetShape;
  const kernels = loadBackend().kernels;
  if (/\.safetensors$/i.test(target)) {
    const ck = loadCheckpoint(target);
    refuseBidirectional(target, ck.config);
    if (ck.vocab) throw new InputError(`${target}: a text model (data.text): grad-flow measures CSV sequences and does not read texts yet`);
    const cfg = withAbsoluteData(target, ck.config);
    net = new Network(ck.shape, ck.dtype, { kernels });
    copyParams(ck, net.layout, net.params);
    const file = o.data ?? cfg.data.validation ?? cfg.data.train;
    const filler = inputFill(cfg.data.missing, cfg.data.inputs, ck.fill, ck.normalization, target);
    const prepare = (raws: RawSequence[]): Sequence[] => raws.slice(0, maxSeqs).map((s) => prepareSequence(s, targetPlan(cfg), ck.classes, ck.normalization, file, filler));
    const spec = columnSpec(cfg, true, categoryLookup(cfg, ck.categories));
    seqs = o.data !== undefined ? prepare(await readDataArg(o.data, io.stdin, spec))
      : await readCheckpointData(target, file, spec, prepare);
    ts = targetShapeOf(cfg, ck.shape.outputSize);
  } else {
    const cfg = await loadConfig(target);
    refuseBidirectional(target, cfg);
    if (cfg.data.text !== null) throw new InputError(`${target}: a data.text config: grad-flow measures CSV sequences and does not read texts yet`);
    const data = await loadTrainingData(cfg);
    const shape = modelShapeOf(cfg, data.classes, data.categories);
    net = new Network(shape, cfg.training.dtype, { kernels });
    if (cfg.model.init !== null) copyParams(loadCheckpoint(cfg.model.init), net.layout, net.params);
    else initParams(net.layout, net.params, shape.hiddenSize, new Rng(cfg.seed, 0));
    seqs = (o.data !== undefined
      ? (await readDataArg(o.data, io.stdin, columnSpec(cfg, true, categoryLookup(cfg, data.categories))))
        .map((s) => prepareSequence(s, targetPlan(cfg), data.classes, data.normalization, o.data ?? "",
          inputFill(cfg.data.missing, cfg.data.inputs, data.fill, data.normalization, target)))
      : data.train).slice(0, maxSeqs);
    ts = targetShapeOf(cfg, shape.outputSize);
  }
  if (seqs.length === 0) throw new InputError(`${target}: no sequences to measure`);
  const flows = gradFlow(net, seqs, ts, { lags });
  if (o.json) {
    await writeOut(io, JSON.stringify({ lags, layers: flows.map((f) => ({
      layer: f.layer, grad_norm: f.gradNorm.map(nullable), jacobian_norm: f.jacobianNorm.map(nullable),
      grad_count: f.gradCount, jacobian_count: f.jacobianCount,
    })) }) + "\n");
  } else {
    let out = csvLine(["layer", "lag", "grad_norm", "jacobian_norm"]);
    for (const f of flows) {
      for (let k = 0; k <= lags; k++) out += csvLine([String(f.layer), String(k), cell(f.gradNorm[k]), cell(f.jacobianNorm[k])]);
    }
    await writeOut(io, out);
  }
  if (o.plot) writeFileAtomic(o.plot, await plotFlows(flows, target));
  return 0;
}

const nullable = (v: number): number | null => (Number.isFinite(v) ? v : null);
const cell = (v: number): string => (Number.isFinite(v) ? num(v) : "");

async function plotFlows(flows: readonly LayerFlow[], title: string): Promise<string> {
  const { renderSvg } = await import("../io/plot.js");
  const series = (pick: (f: LayerFlow) => number[]) => flows.map((f) => ({
    name: `layer ${f.layer}`,
    points: pick(f).map((y, x) => ({ x, y })).filter((p) => Number.isFinite(p.y) && p.y > 0),
  }));
  return renderSvg([
    { title: `‖∂L_t/∂h_(t−k)‖ — ${title}`, xLabel: "lag k (steps)", yLabel: "mean gradient norm", logY: true, series: series((f) => f.gradNorm) },
    { title: "‖∂h_t/∂h_(t−k)‖_F (Jacobian product)", xLabel: "lag k (steps)", yLabel: "mean Frobenius norm", logY: true, series: series((f) => f.jacobianNorm) },
  ]);
}
