import { prepareSequence, targetStats } from "../data/dataset.js";
import { loadText, readTextArg, sequenceBatch, tokenize } from "../data/text.js";
import { categoryLookup, columnSpec, targetPlan } from "../data/load.js";
import { inputFill } from "../data/missing.js";
import { InputError } from "../errors.js";
import { writeOut, type Io } from "../io/terminal.js";
import { batchMetricSums, metricSums, metricsOf } from "../train/evaluate.js";
import { withAbsoluteData, type Checkpoint } from "../io/checkpoint.js";
import { loadModel, readHeldOut, reportUnseen, type LoadedModel } from "./model.js";

export interface EvalOptions {
  /** A CSV (or a text, for a text model); "-" reads stdin. */
  data?: string;
  json?: boolean;
}

/**
 * `rnn eval <checkpoint>`: the pooled loss over every supervised position of the data (by
 * default the checkpoint's own validation data) and the task's metrics.
 */
export async function evaluate(ckFile: string, o: EvalOptions, io: Io): Promise<number> {
  const model = loadModel(ckFile);
  if (model.ck.vocab) return report(await evaluateText(ckFile, model, o, io), o, io);
  const { ck, net, ts } = model;
  const cfg = withAbsoluteData(ckFile, ck.config);
  const cats = categoryLookup(cfg, ck.categories);
  const spec = columnSpec(cfg, true, cats), plan = targetPlan(cfg);
  const filler = inputFill(cfg.data.missing, cfg.data.inputs, ck.fill, ck.normalization, ckFile);
  const { file, value: seqs } = await readHeldOut(ckFile, cfg, o.data, io, spec,
    (raws, f) => raws.map((s) => prepareSequence(s, plan, ck.classes, ck.normalization, f, filler)));
  reportUnseen(io, cats, file);
  const sums = metricSums(net, seqs, ts, targetStats(plan, ck.normalization));
  if (sums[1] === 0) throw new InputError(`${file}: no supervised positions to evaluate (every target cell is empty)`);
  return report(metricsOf(sums, ts), o, io);
}

/**
 * A text model's metrics (SPEC §12): the text of `--data` (or "-": stdin), else the
 * checkpoint's validation text, read with its vocabulary and run as one sequence.
 */
async function evaluateText(ckFile: string, { ck, net, ts }: LoadedModel, o: EvalOptions, io: Io): Promise<ReturnType<typeof metricsOf>> {
  const cfg = withAbsoluteData(ckFile, ck.config), vocab = ck.vocab ?? [];
  let file: string, tokens: Int32Array;
  if (o.data !== undefined) {
    file = o.data === "-" ? "<stdin>" : o.data;
    tokens = tokenize(await readTextArg(o.data, io.stdin), cfg.data.tokens, file, vocab).ids;
  } else {
    if (cfg.data.validation === null && cfg.data.validationSplit === 0) {
      throw new InputError(`${ckFile}: its config has no validation text (data.validation, validationSplit); pass --data <text file>`);
    }
    file = cfg.data.validation ?? cfg.data.train;
    tokens = (await loadText({ ...heldOutOf(cfg), batchSize: 1 }, vocab)).val ?? new Int32Array(0);
  }
  const sums = batchMetricSums(net, [sequenceBatch(tokens, vocab.length)], ts);
  if (sums[1] === 0) throw new InputError(`${file}: a text of ${tokens.length} token(s) has no next token to evaluate (it needs 2)`);
  return metricsOf(sums, ts);
}

/** Where a text model's config keeps its validation text. */
function heldOutOf(cfg: Checkpoint["config"]): { text: string; tokens: "char" | "word"; validation: string | null; validationSplit: number } {
  return { text: cfg.data.text ?? cfg.data.train, tokens: cfg.data.tokens, validation: cfg.data.validation, validationSplit: cfg.data.validationSplit };
}

/** Prints eval's metrics: one JSON object on stdout (--json), else a line each on stderr. */
async function report(out: ReturnType<typeof metricsOf>, o: EvalOptions, io: Io): Promise<number> {
  if (o.json) {
    await writeOut(io, JSON.stringify(out) + "\n");
  } else {
    for (const [k, v] of Object.entries(out)) io.stderr.write(`${k.padEnd(11)} ${typeof v === "object" ? JSON.stringify(v) : v}\n`);
  }
  return 0;
}
