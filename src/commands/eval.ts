import { prepareSequence, targetStats } from "../data/dataset.js";
import { categoryLookup, columnSpec, targetPlan } from "../data/load.js";
import { inputFill } from "../data/missing.js";
import { InputError } from "../errors.js";
import { writeOut, type Io } from "../io/terminal.js";
import { metricSums, metricsOf } from "../train/evaluate.js";
import { withAbsoluteData } from "../io/checkpoint.js";
import { loadModel, readHeldOut, reportUnseen } from "./model.js";

export interface EvalOptions {
  data?: string;
  json?: boolean;
}

/**
 * `rnn eval <checkpoint>`: the pooled loss over every supervised position of the data (by
 * default the checkpoint's own validation data) and the task's metrics.
 */
export async function evaluate(ckFile: string, o: EvalOptions, io: Io): Promise<number> {
  const { ck, net, ts } = loadModel(ckFile);
  const cfg = withAbsoluteData(ckFile, ck.config);
  const cats = categoryLookup(cfg, ck.categories);
  const spec = columnSpec(cfg, true, cats), plan = targetPlan(cfg);
  const filler = inputFill(cfg.data.missing, cfg.data.inputs, ck.fill, ck.normalization, ckFile);
  const { file, value: seqs } = await readHeldOut(ckFile, cfg, o.data, io, spec,
    (raws, f) => raws.map((s) => prepareSequence(s, plan, ck.classes, ck.normalization, f, filler)));
  reportUnseen(io, cats, file);
  const sums = metricSums(net, seqs, ts, targetStats(plan, ck.normalization));
  if (sums[1] === 0) throw new InputError(`${file}: no supervised positions to evaluate (every target cell is empty)`);
  const out = metricsOf(sums, ts);
  if (o.json) {
    await writeOut(io, JSON.stringify(out) + "\n");
  } else {
    for (const [k, v] of Object.entries(out)) io.stderr.write(`${k.padEnd(11)} ${typeof v === "object" ? JSON.stringify(v) : v}\n`);
  }
  return 0;
}
