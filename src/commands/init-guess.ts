import { columnIndex, quoted } from "../data/csv.js";
import { holdOutCount, sortClasses } from "../data/dataset.js";
import {
  isTimeIndex, isTimeName, looksLikeDate, MAX_DISTINCT, oneTargetPerRun, runsOf,
  type ColumnProfile, type Runs, type Sample,
} from "../data/inspect.js";
import { InputError } from "../errors.js";

/**
 * The guesses of `rnn init`: from a CSV's sampled columns to every key of a starter config,
 * each with a short note saying why. Pure (the command reads the sample and writes the file).
 */

export type InitTask = "regression" | "classification" | "forecast";

/** What the user fixed on the command line; the rest is guessed. */
export interface InitChoices {
  readonly targets?: readonly string[];
  /** A column name; false for none (--no-sequence); undefined: guess. */
  readonly sequence?: string | false;
  readonly task?: InitTask;
}

/** A value as the starter config writes it: a scalar, a list of strings, or a flow mapping of those. */
export type StarterValue = string | number | boolean | null | readonly string[]
  | { readonly [key: string]: string | number | boolean | readonly string[] }
  | readonly { readonly [key: string]: string | number }[];

/** One key of the starter config: its dotted path, its value and why. */
export interface Entry { readonly key: string; readonly value: StarterValue; readonly note: string }

export interface Starter {
  /** Every key of SPEC §3 and §6, in the order of SPEC §3. */
  readonly entries: readonly Entry[];
  /** One line for stderr: what the config trains. */
  readonly summary: string;
}

/** Paths the command works out from where the config will be saved. */
export interface StarterPaths { readonly train: string; readonly outputDir: string }

const name = (p: ColumnProfile): string => quoted(p.name, 40);
/** Column names for a note, the first few. */
function names(ps: readonly ColumnProfile[], max = 6): string {
  const shown = ps.slice(0, max).map(name).join(", ");
  return ps.length > max ? `${shown}, … (${ps.length} in all)` : shown;
}
/** A count from the sample: exact, or "about n" when the sample is not the whole file. */
const about = (s: Sample, n: number): string => `${s.complete ? "" : "about "}${n}`;
/** The rows a statement rests on, for notes and messages. */
const rowsRead = (s: Sample): string => (s.complete ? `its ${s.rows.length} rows` : `its first ${s.rows.length} rows`);
/** "1 row", "2 rows" (the count as `about` gives it). */
const plural = (count: string | number, n: number, word: string): string => `${count} ${word}${n === 1 ? "" : "s"}`;
const powerOfTwoBelow = (x: number): number => (x < 1 ? 1 : 2 ** Math.floor(Math.log2(x)));

/** Words in a column name that mark a sequence id ("id", "series_id", "seriesId", "group"). */
const ID_WORDS = new Set(["id", "seq", "sequence", "series", "group", "key", "unit", "subject", "session", "run", "track", "entity"]);
const idLike = (col: string): boolean =>
  col.split(/[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])/).some((w) => ID_WORDS.has(w.toLowerCase()));

function pickTargets(s: Sample, profiles: readonly ColumnProfile[], c: InitChoices): ColumnProfile[] {
  const given = [...new Set(c.targets ?? [])];
  const targets = given.length > 0 ? given.map((t) => profiles[columnIndex(s, t, "target")]) : [profiles[profiles.length - 1]];
  for (const t of targets) {
    if (t.name.trim() === "") throw new InputError(`${s.file}: line 1: the target column (field ${t.index + 1}) has no name; name it, or pass --target <column>`);
    if (t.present === 0) throw new InputError(`${s.file}: column ${name(t)}: no value in ${rowsRead(s)}: nothing to learn; pass --target <column>`);
  }
  return targets;
}

interface SequenceGuess { readonly column: ColumnProfile | null; readonly runs: Runs | null; readonly note: string }

const runsText = (s: Sample, runs: Runs): string => {
  const mean = s.rows.length / runs.starts.length;
  return `${about(s, sequenceCount(s, runs))} ids in contiguous runs of ${Number.isInteger(mean) ? mean : mean.toFixed(1)} rows on average`;
};

/** Sequences in the whole file: counted in the sample, scaled by the rows it did not read. */
function sequenceCount(s: Sample, runs: Runs | null): number {
  if (runs === null) return 1;
  return s.complete ? runs.starts.length : Math.round(runs.starts.length * s.totalRows / s.rows.length);
}

/**
 * The sequence column: as given, or the first column when it looks like an id (an id-like name,
 * or text that is no date) and its ids come in contiguous runs of two rows or more on average.
 * Conservative: any doubt leaves the file one long series, and the note says why.
 */
function pickSequence(s: Sample, profiles: readonly ColumnProfile[], c: InitChoices, targets: readonly ColumnProfile[]): SequenceGuess {
  const series = (why: string): SequenceGuess => ({ column: null, runs: null, note: `none: ${why}` });
  if (c.sequence === false) return series("the file is one long series (--no-sequence)");
  if (typeof c.sequence === "string") {
    const p = profiles[columnIndex(s, c.sequence, "sequence")];
    if (targets.includes(p)) throw new InputError(`${s.file}: column ${name(p)} cannot be both the sequence column and a target`);
    const runs = runsOf(s, p.index);
    if (runs.reappears) {
      throw new InputError(`${s.file}: line ${runs.reappears.line}, column ${name(p)}: sequence ${quoted(runs.reappears.id, 40)} reappears after another sequence (rows of one sequence must be contiguous: sort the file by this column)`);
    }
    return { column: p, runs, note: `given (--sequence): ${runsText(s, runs)}` };
  }
  const p = profiles[0];
  const how = "--sequence <column> names one";
  if (targets.includes(p) || !(idLike(p.name) || (!p.numeric && p.present > 0))) {
    return series(`the file is one long series (the first column is no id; ${how})`);
  }
  const first = `the first column ${name(p)}`;
  if (isTimeName(p.name) || s.rows.some((r) => looksLikeDate(r.cells[p.index]))) return series(`${first} holds times, not sequence ids (${how})`);
  if (p.missing.size > 0) return series(`${first} has empty cells (${how})`);
  const runs = runsOf(s, p.index);
  if (runs.reappears) return series(`ids of ${first} come back after other ids (line ${runs.reappears.line}); a sequence's rows must be contiguous`);
  if (runs.starts.length < 2) return series(`${first} holds one id only (${how})`);
  if (s.rows.length < 2 * runs.starts.length) return series(`${first} changes on almost every row: a row id, not a sequence id (${how})`);
  return { column: p, runs, note: `guessed: the first column, ${runsText(s, runs)} (--sequence <column>: another; --no-sequence: none)` };
}

interface TaskGuess { readonly task: "regression" | "classification"; readonly forecast: boolean; readonly note: string }

/** The classes of a label column, for a note: their count and the first few, in SPEC order. */
function classesText(p: ColumnProfile): string {
  if (p.distinct.size > MAX_DISTINCT) return `more than ${MAX_DISTINCT} classes`;
  const cls = sortClasses(p.distinct);
  return `${cls.length} classes: ${cls.slice(0, 5).map((x) => quoted(x, 20)).join(", ")}${cls.length > 5 ? ", …" : ""}`;
}

function notNumbers(s: Sample, p: ColumnProfile, task: string): InputError {
  const t = p.firstText ?? { line: 0, cell: "" };
  return new InputError(`${s.file}: line ${t.line}, column ${name(p)}: ${quoted(t.cell, 40)} is not a number: ${task} needs numeric targets`);
}

/**
 * The task: as given, else classification when the target holds text, or only a few whole
 * numbers (2 to 10 distinct values, each seen three times on average), else regression.
 */
function pickTask(s: Sample, targets: readonly ColumnProfile[], c: InitChoices): TaskGuess {
  const text = targets.filter((t) => !t.numeric);
  const one = targets[0];
  if (c.task === "forecast" || c.task === "regression") {
    if (text.length > 0) throw notNumbers(s, text[0], `--task ${c.task}`);
    return c.task === "forecast"
      ? { task: "regression", forecast: true, note: "regression (--task forecast): predict the next row from the rows so far" }
      : { task: "regression", forecast: false, note: "regression (--task)" };
  }
  if (c.task === "classification" || text.length > 0) {
    if (targets.length !== 1) {
      throw new InputError(`${s.file}: ${c.task ? "--task classification" : `column ${name(text[0])} holds text, so classification, which`} takes exactly one label column (targets: ${names(targets)})`);
    }
    if (!c.task && one.distinct.size > 20 && one.distinct.size > one.present / 2) {
      throw new InputError(`${s.file}: column ${name(one)}: ${one.distinct.size > MAX_DISTINCT ? `more than ${MAX_DISTINCT}` : one.distinct.size} distinct texts in ${one.present} cells: not labels to learn; pass --target <column> (or --task classification to insist)`);
    }
    if (s.complete && one.distinct.size < 2) {
      throw new InputError(`${s.file}: column ${name(one)}: one label (${quoted([...one.distinct][0] ?? "", 40)}) in ${rowsRead(s)}: classification needs at least 2 classes`);
    }
    return { task: "classification", forecast: false, note: `${c.task ? "classification (--task)" : `guessed: ${name(one)} holds text labels`}: ${classesText(one)}` };
  }
  const d = one.distinct.size;
  if (targets.length === 1 && one.integers && d >= 2 && d <= 10 && one.present >= 3 * d) {
    return { task: "classification", forecast: false, note: `guessed: ${name(one)} holds only ${d} whole numbers, taken for labels: ${classesText(one)} (--task regression to change)` };
  }
  return { task: "regression", forecast: false, note: `guessed: ${names(targets)} ${targets.length > 1 ? "hold" : "holds"} numbers (--task classification or forecast to change)` };
}

/** A column left out of the inputs, and why. */
interface LeftOut { readonly column: ColumnProfile; readonly why: string }

/**
 * The inputs: for a forecast the targets themselves (an autoregressive model, which SPEC §7's
 * forecast needs); else every other numeric column except a time index, which grows past
 * anything training saw and so says nothing about the held-out tail.
 */
function pickInputs(s: Sample, profiles: readonly ColumnProfile[], seq: SequenceGuess, targets: readonly ColumnProfile[], task: TaskGuess):
  { readonly inputs: readonly ColumnProfile[]; readonly note: string } {
  if (!profiles.some((p) => p.numeric)) {
    throw new InputError(`${s.file}: no numeric column in ${rowsRead(s)} (the header has ${names(profiles)}): rnn needs numbers as inputs`);
  }
  const others = profiles.filter((p) => p !== seq.column && !targets.includes(p));
  if (task.forecast) {
    const covariates = others.filter((p) => p.numeric && !isTimeIndex(s, p, seq.runs));
    return {
      inputs: targets,
      note: `the targets' own past (autoregressive: rnn forecast rolls it forward)${covariates.length > 0 ? `; not ${names(covariates, 3)}: add those whose future rows you will have` : ""}`,
    };
  }
  const left: LeftOut[] = [];
  const inputs = others.filter((p) => {
    const why = p.name.trim() === "" ? "no name"
      : profiles.filter((q) => q.name === p.name).length > 1 ? "named twice"
      : p.present === 0 ? "empty"
      : !p.numeric ? "text"
      : isTimeIndex(s, p, seq.runs) ? (isTimeName(p.name) ? "a time index" : "a row index") : null;
    if (why !== null) left.push({ column: p, why });
    return why === null;
  });
  const leftText = left.slice(0, 6).map((l) => `${name(l.column)} (${l.why})`).join(", ") + (left.length > 6 ? ", …" : "");
  if (inputs.length === 0) {
    throw new InputError(`${s.file}: no numeric input column besides the target ${names(targets)}${left.length > 0 ? ` (left out: ${leftText})` : ""}; --task forecast predicts it from its own past`);
  }
  return { inputs, note: `the other numeric columns${left.length > 0 ? `; left out: ${leftText}` : ""}` };
}

/** A text column is read as categories when it repeats: at most this many distinct values… */
const MAX_CATEGORIES_GUESSED = 1000;
/** …and each seen this many times on average in the sample. */
const MIN_ROWS_PER_CATEGORY = 4;
/** The sequence column is proposed as a category (a series-id embedding) from this many sequences. */
const MIN_SEQUENCES_FOR_ID = 20;

/**
 * `data.categorical` (SPEC §11): the text columns left out of the inputs whose values repeat
 * (a store, a weekday name: few distinct values, each on several rows), and the sequence column
 * when there are many sequences (one global model over them, the series id as a learned
 * embedding, as DeepAR). Each with its default size.
 */
function pickCategorical(s: Sample, profiles: readonly ColumnProfile[], seq: SequenceGuess, targets: readonly ColumnProfile[]): Entry {
  const labels = profiles.filter((p) => p !== seq.column && !targets.includes(p) && !p.numeric && p.present > 0 && p.name.trim() !== ""
    && profiles.filter((q) => q.name === p.name).length === 1 && p.distinct.size <= MAX_CATEGORIES_GUESSED
    && p.present >= MIN_ROWS_PER_CATEGORY * p.distinct.size && !isTimeName(p.name) && !looksLikeDate(p.firstText?.cell ?? ""));
  const S = seq.runs ? sequenceCount(s, seq.runs) : 0;
  const byId = seq.column !== null && S >= MIN_SEQUENCES_FOR_ID;
  const chosen = [...labels, ...(byId && seq.column ? [seq.column] : [])];
  const why = [
    ...labels.map((p) => `${name(p)}: text, ${p.distinct.size} distinct values in ${rowsRead(s)}`),
    ...(byId ? [`${name(seq.column!)}: ${about(s, S)} sequences, one model over all with the series id as a learned embedding`] : []),
  ];
  return {
    key: "data.categorical", value: chosen.map((p) => ({ column: p.name })),
    note: chosen.length > 0 ? `each through its own embedding (size min(50, (n + 1) // 2) unless given; unseen values read as index 0): ${why.join("; ")}`
      : `none: no text column with repeating values${seq.column ? `, fewer than ${MIN_SEQUENCES_FOR_ID} sequences` : ""} (a { column } per text column to learn an embedding of)`,
  };
}

/**
 * `data.missing`: every missing-value text seen in the columns used ("" always, as SPEC's
 * default), and `ffill` for the inputs when one of them has a missing cell: a time series'
 * gap is best bridged by its last value.
 */
function pickMissing(s: Sample, inputs: readonly ColumnProfile[], targets: readonly ColumnProfile[]): Entry {
  const seen = new Map<string, { count: number; columns: Set<string> }>();
  for (const p of new Set([...inputs, ...targets])) {
    for (const [text, count] of p.missing) {
      const m = seen.get(text) ?? { count: 0, columns: new Set<string>() };
      seen.set(text, { count: m.count + count, columns: m.columns.add(p.name) });
    }
  }
  const fill = inputs.some((p) => p.missing.size > 0);
  const texts = [...seen].map(([t, m]) => `${quoted(t, 20)} ×${m.count} (${[...m.columns].slice(0, 3).map((c) => quoted(c, 30)).join(", ")}${m.columns.size > 3 ? ", …" : ""})`);
  const what = seen.size > 0 ? `seen in ${rowsRead(s)}: ${texts.slice(0, 4).join(", ")}${texts.length > 4 ? ", …" : ""}` : `no missing cell in ${rowsRead(s)}`;
  const how = fill ? "a missing input takes its column's previous value in the sequence (mean, zero: other fills)"
    : "a missing input would stop training (ffill, mean or zero fill it)";
  return { key: "data.missing", value: { values: ["", ...[...seen.keys()].filter((t) => t !== "")], inputs: fill ? "ffill" : "error" }, note: `${what}; ${how}` };
}

/** Starting sizes from the data's size (rows N): a small net for small data, bigger for more. */
function hiddenSize(rows: number, inputs: number): number {
  const bySize = rows < 5_000 ? 16 : rows < 50_000 ? 32 : rows < 500_000 ? 64 : 128;
  return Math.min(256, Math.max(bySize, 2 ** Math.ceil(Math.log2(inputs))));
}

/** Sequences truncated for BPTT above this length (full BPTT below: exact, and cheap enough). */
const FULL_BPTT_MAX = 100;
const TRUNCATE = 50;

/** data.validationSplit, training.batchSize and training.bptt, from the counts of rows and sequences. */
function pickSplitAndBatches(s: Sample, seq: SequenceGuess): { entries: Entry[]; validation: boolean } {
  const N = s.totalRows;
  let split: Entry, batch: Entry, length: number, lengthOf: string;
  if (seq.runs) {
    const S = sequenceCount(s, seq.runs);
    const f = S < 2 ? 0 : S < 100 ? 0.2 : 0.1, held = holdOutCount(f, S), train = S - held;
    split = f === 0
      ? { key: "data.validationSplit", value: 0, note: "0: one sequence, nothing to hold out (data.validation can name a validation file)" }
      : { key: "data.validationSplit", value: f, note: `round(${f} × ${about(s, S)}) = ${plural(held, held, "sequence")} held out, the last in file order${f === 0.2 ? " (0.2: fewer than 100 sequences)" : ""}` };
    const B = Math.min(32, powerOfTwoBelow(train / 8));
    batch = { key: "training.batchSize", value: B, note: `sequences per update: about 1/8 of the ${about(s, train)} training sequences, at most 32` };
    length = seq.runs.longest;
    lengthOf = `sequences are at most ${length} rows${s.complete ? "" : " in the sample"}`;
  } else {
    const f = N < 2 ? 0 : 0.1, held = holdOutCount(f, N), train = N - held;
    split = f === 0
      ? { key: "data.validationSplit", value: 0, note: "0: one row, nothing to hold out" }
      : { key: "data.validationSplit", value: f, note: `the last round(0.1 × ${about(s, N)}) = ${plural(held, held, "row")} held out, as one sequence` };
    const B = Math.min(32, powerOfTwoBelow(train / 200));
    length = Math.floor(train / B);
    batch = { key: "training.batchSize", value: B, note: `${plural(B, B, "stream")} of ⌊${about(s, train)}/${B}⌋ = ${plural(length, length, "step")} side by side (one per 200 rows, at most 32)` };
    lengthOf = `the streams are ${length} steps`;
  }
  const bptt: Entry = length <= FULL_BPTT_MAX
    ? { key: "training.bptt", value: null, note: `full BPTT: ${lengthOf}` }
    : { key: "training.bptt", value: { truncate: TRUNCATE, stride: TRUNCATE }, note: `TBPTT: gradients flow back ${TRUNCATE} steps; the state is carried through (${lengthOf})` };
  return { entries: [split, batch, bptt], validation: split.value !== 0 };
}

/** Every key of a starter config for the sample, with notes. */
export function guessStarter(s: Sample, profiles: readonly ColumnProfile[], c: InitChoices, paths: StarterPaths): Starter {
  if (s.rows.length === 0) throw new InputError(`${s.file}: no data rows below the header`);
  const targets = pickTargets(s, profiles, c);
  const seq = pickSequence(s, profiles, c, targets);
  const task = pickTask(s, targets, c);
  const { inputs, note: inputsNote } = pickInputs(s, profiles, seq, targets, task);
  const { entries: [split, batch, bptt], validation } = pickSplitAndBatches(s, seq);
  const last = !task.forecast && seq.runs !== null && targets.every((t) => oneTargetPerRun(s, t.index, seq.runs as Runs));
  const classify = task.task === "classification";
  const N = s.totalRows, H = hiddenSize(N, inputs.length);
  const epochs = N < 100_000 ? 50 : N < 1_000_000 ? 20 : 10;
  const col = (ps: readonly ColumnProfile[]): string[] => ps.map((p) => p.name);
  const entries: Entry[] = [
    { key: "seed", value: 0, note: "seeds the initial weights, the shuffles and the dropout masks" },
    { key: "data.train", value: paths.train, note: "the CSV rnn init read" },
    { key: "data.validation", value: null, note: "none: validationSplit holds out the end of data.train" },
    split,
    { key: "data.sequenceColumn", value: seq.column?.name ?? null, note: seq.note },
    { key: "data.inputs", value: col(inputs), note: inputsNote },
    { key: "data.targets", value: col(targets), note: c.targets?.length ? "given (--target)" : "the last column (--target <column> to choose, repeatable)" },
    task.forecast
      ? { key: "data.shift", value: 1, note: "the target at row t is the value at row t+1: a forecast one step ahead" }
      : { key: "data.shift", value: 0, note: "the target at row t is read from row t (1: predict the next row)" },
    { key: "data.normalize", value: true, note: classify ? "z-score the inputs with the training split's statistics (kept in the checkpoint)" : "z-score inputs and targets with the training split's statistics; predictions are mapped back" },
    pickMissing(s, inputs, targets),
    pickCategorical(s, profiles, seq, targets),
    { key: "task", value: task.task, note: task.note },
    last
      ? { key: "targetsAt", value: "last", note: "one target per sequence (on its last row, or repeated on every row): read at its end (every: at every row)" }
      : { key: "targetsAt", value: "every", note: "a target at every row that has one (last: one per sequence, read at its final row)" },
    { key: "model.cell", value: "gru", note: "gated (nn.GRU): learns longer dependencies than elman; lstm is the other gated cell" },
    { key: "model.hiddenSize", value: H, note: `from ${about(s, N)} rows: 16 below 5000, 32 below 50 000, 64 below 500 000, else 128 (at least the inputs)` },
    { key: "model.layers", value: 1, note: "stacked recurrent layers; try 2 with dropout when one underfits" },
    { key: "model.activation", value: "tanh", note: "gru's nonlinearities are fixed: it must stay tanh (elman: tanh, relu, sigmoid)" },
    { key: "model.bias", value: true, note: "bias terms, as PyTorch's default" },
    { key: "model.init", value: null, note: "a checkpoint to start from (weights only); none: seeded random weights" },
    { key: "model.dropout", value: 0, note: "between stacked layers: no effect with one layer" },
    { key: "model.recurrentDropout", value: 0, note: "dropout on h(t-1) in the recurrence: try 0.1–0.3 if val_loss rises while train_loss falls" },
    { key: "training.epochs", value: epochs, note: validation ? "at most: early stopping ends training sooner" : "every epoch runs (no validation data for early stopping)" },
    batch,
    seq.runs
      ? { key: "training.shuffle", value: true, note: "a new order of the sequences every epoch (seeded)" }
      : { key: "training.shuffle", value: false, note: "one long series: its streams stay in order, the state carried" },
    { key: "training.dtype", value: "float32", note: "float64: exact but slower" },
    bptt,
    { key: "training.optimizer", value: { name: "adamw", lr: 0.003, weightDecay: 0.01 }, note: "Adam with decoupled weight decay (torch.optim.AdamW; beta1 0.9, beta2 0.999, eps 1e-8)" },
    { key: "training.clip", value: { norm: 1 }, note: "clip_grad_norm_: a longer gradient is scaled to norm 1 (exploding gradients)" },
    validation
      ? { key: "training.schedule", value: { name: "plateau", factor: 0.5, patience: 2 }, note: "halve lr after 2 epochs without a better val_loss (ReduceLROnPlateau)" }
      : { key: "training.schedule", value: { name: "cosine" }, note: "lr falls along a half cosine to 0 over the epochs (CosineAnnealingLR)" },
    validation
      ? { key: "training.earlyStopping", value: { patience: 5, minDelta: 0 }, note: "stop after 5 epochs without a better val_loss; best.safetensors keeps the best" }
      : { key: "training.earlyStopping", value: null, note: "none: early stopping needs validation data" },
    { key: "output.dir", value: paths.outputDir, note: "the run directory: checkpoints, logs, plots (relative to this file's folder)" },
  ];
  const what = task.forecast ? `forecast of ${names(targets, 3)}`
    : `${task.task} of ${names(targets, 3)} from ${inputs.length} input${inputs.length > 1 ? "s" : ""}`;
  const shape = seq.column ? `${about(s, sequenceCount(s, seq.runs))} sequences by ${name(seq.column)}` : `one series of ${plural(about(s, N), N, "row")}`;
  return { entries, summary: `${what}; ${shape}` };
}
