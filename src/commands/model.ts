import { statSync } from "node:fs";
import type { Config } from "../config/schema.js";
import type { CategoryLookup } from "../data/categorical.js";
import { splitValidation, targetStats, type ColumnStats } from "../data/dataset.js";
import { categoryLookup, columnSpec, inputStats, targetPlan } from "../data/load.js";
import { inputFill, type InputFill } from "../data/missing.js";
import type { RowSource } from "../data/rows.js";
import { openInputRows, readDataArg, readSequencesFile, RowDecoder, type ColumnSpec, type RawSequence } from "../data/table.js";
import type { Io } from "../io/terminal.js";
import { InputError } from "../errors.js";
import { loadModel, type LoadedModel } from "../io/model.js";

// The loader lives in io/ (the library uses it too); the commands import it from here.
export { loadModel, type LoadedModel };

/**
 * Reads the data a checkpoint's config names (eval and grad-flow without --data). That path
 * comes from a file anyone may have crafted: it must be a regular file (a FIFO would hang, a
 * device never end), and a failure names the place but never quotes what the file holds — it
 * may be /etc/shadow rather than CSV. `then` prepares the sequences under the same rule.
 */
export async function readCheckpointData<T>(ckFile: string, file: string, spec: ColumnSpec,
  then: (raws: RawSequence[]) => T): Promise<T> {
  let kind = "missing";
  try {
    const st = statSync(file);
    kind = st.isFile() ? "" : st.isDirectory() ? "a directory" : "a special file";
  } catch { /* kind stays "missing" */ }
  if (kind) throw new InputError(`${ckFile}: its config's data file ${file} is ${kind === "missing" ? "missing" : `not a regular file (${kind})`}; pass --data <csv>`);
  try {
    return then(await readSequencesFile(file, spec));
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const where = /: (line \d+)/.exec(e.message)?.[1];
    throw new InputError(`${ckFile}: its config's data file ${file} is not data this model can read${where ? ` (${where})` : ""}; its content is not shown; pass --data <csv>`);
  }
}

/**
 * The data eval and backtest score (`then` prepares it, naming `file` in messages): `--data`
 * (a file, or "-" for stdin), else the checkpoint's own validation data — `data.validation`, or
 * the part of `data.train` that validationSplit held out; a model without any is refused.
 */
export async function readHeldOut<T>(ckFile: string, cfg: Config, data: string | undefined, io: Io, spec: ColumnSpec,
  then: (raws: RawSequence[], file: string) => T): Promise<{ file: string; value: T }> {
  const file = data === undefined ? cfg.data.validation ?? cfg.data.train : data === "-" ? "<stdin>" : data;
  if (data !== undefined) return { file, value: then(await readDataArg(data, io.stdin, spec), file) };
  if (cfg.data.validation === null && cfg.data.validationSplit === 0) {
    throw new InputError(`${ckFile}: its config has no validation data (data.validation, validationSplit); pass --data <csv>`);
  }
  const split = cfg.data.validation === null;
  return {
    file,
    value: await readCheckpointData(ckFile, file, spec, (all) => then(split
      ? splitValidation(all, cfg.data.validationSplit, cfg.data.sequenceColumn === null, file).val : all, file)),
  };
}

/** A model and the CSV it reads row by row (predict, forecast): decoder, input fill, column statistics. */
export interface ModelStream extends LoadedModel {
  readonly file: string;
  readonly csv: RowSource;
  readonly dec: RowDecoder;
  readonly filler: InputFill | null;
  /** Normalisation per input value of a row (categorical indices: identity) and per target column (mean 0, std 1 without). */
  readonly inStats: readonly ColumnStats[];
  readonly outStats: readonly ColumnStats[];
  /** The checkpoint's categories as the decoder reads them (SPEC §11), counting unseen cells; null without. */
  readonly cats: CategoryLookup | null;
}

/** SPEC §11: says once on stderr how many cells of `file` held a category training never saw (read as index 0). */
export function reportUnseen(io: Io, cats: CategoryLookup | null, file: string): void {
  const line = cats?.report(file);
  if (line) io.stderr.write(`${io.color.yellow("warning")}: ${line}\n`);
}

/** Refuses a text model (SPEC §12) in a command that reads CSV rows (`what`: the command). */
export function refuseText(m: LoadedModel, what: string): void {
  if (m.ck.vocab) throw new InputError(`${m.ck.file}: a text model (data.text): ${what} reads CSV rows; use rnn eval for its metrics and rnn sample to write text`);
}

/** Loads a checkpoint and opens its data stream (`data`: a file, or "-"/none for stdin). */
export async function openModelStream(ckFile: string, data: string | undefined, withTargets: boolean, io: Io): Promise<ModelStream> {
  const m = loadModel(ckFile);
  refuseText(m, withTargets ? "rnn forecast" : "rnn predict");
  const cfg = m.ck.config, norm = m.ck.normalization;
  const src = data ?? "-";
  const file = src === "-" ? "<stdin>" : src;
  const csv = await openInputRows(src, file, io.stdin);
  const cats = categoryLookup(cfg, m.ck.categories);
  return {
    ...m, file, csv, dec: new RowDecoder(csv, columnSpec(cfg, withTargets, cats)), cats,
    filler: inputFill(cfg.data.missing, cfg.data.inputs, m.ck.fill, norm, ckFile),
    inStats: inputStats(cfg, norm), outStats: cfg.task === "regression" ? targetStats(targetPlan(cfg), norm) : [],
  };
}
