import { softmaxRow } from "../core/loss.js";
import type { Network } from "../core/network.js";
import { alloc, type Float } from "../core/tensor.js";
import type { Config } from "../config/schema.js";
import { regressionHead, type RegressionHead } from "../core/heads/index.js";
import { decimalValue } from "../data/csv.js";
import { targetStats, zScore, type ColumnStats } from "../data/dataset.js";
import { categoryLookup, inputStats, targetPlan } from "../data/load.js";
import type { Categories, CategoryLookup } from "../data/categorical.js";
import { inputFill, MissingCells, type InputFill } from "../data/missing.js";
import { InputError } from "../errors.js";
import { loadModel as loadCheckpointModel } from "../io/model.js";
import { feedBack, futureRowsNeeded, rolloutFeed } from "../io/rollout.js";

/**
 * One row of inputs: the values in the model's `inputs` order (then its `categorical` columns'),
 * or an object keyed by column name (extra keys ignored). A missing value — null, undefined, NaN,
 * or a cell text the model's `data.missing.values` lists — is filled as training filled it, or
 * refused; a categorical value is its category's text (SPEC §11: unseen or missing, index 0).
  }

 * One row of inputs: the values in the model's `inputs` order (exactly as many), or an object
 * with a key for every input (extra keys ignored). A value is a number or a decimal text; a
 * missing value — null, undefined, NaN, or a cell text the model's `data.missing.values` lists —
 * is filled as training filled it, or refused.
 */
export type Row = readonly (number | string | null)[] | Float32Array | Float64Array | Readonly<Record<string, number | string | null | undefined>>;

/** The carried state between `step` calls: the network's state and the fill's memory. Treat as opaque. */
export interface State {
  readonly layers: readonly Float[];
  readonly last: Float64Array | null;
}

/** A trained model loaded from a checkpoint, for predictions in-process (no files written). */
export interface Model {
  /** The input columns, in the order a row given as an array follows. */
  readonly inputs: readonly string[];
  /** The target columns (regression) or the label column (classification). */
  readonly targets: readonly string[];
  readonly task: "regression" | "classification";
  /** Class names, in the order of classification outputs; null for regression. */
  readonly classes: readonly string[] | null;
  /** SPEC §11's categorical input columns (after `inputs` in an array row), and their categories. */
  readonly categorical: readonly string[];
  readonly categories: Categories | null;
  /**
   * What each value of a `predict` or `step` row is: `rnn predict`'s columns after `t`
   * (`pred_<target>`; a likelihood model's mean then `sigma_…`, `nu_…`, `alpha_…`; a quantile
   * model's `pred_<target>_q<q>`, SPEC §10), or `p_<class>` for a classifier.
   */
  readonly outputs: readonly string[];
  /** What each value of a `forecast` row is: `rnn forecast`'s columns after `t` (the values fed back first); empty for a classifier. */
  readonly forecastOutputs: readonly string[];
  /**
   * Runs one sequence from s_0: one output per row (named by `outputs`) — regression: predict's
   * values in original units; classification: the probability of each class (`classes` order).
   * A bidirectional model under targetsAt: last (SPEC §13) gives one output, for the whole sequence.
   */
  predict(sequence: readonly Row[]): number[][];
  /**
   * Rolls the model forward `horizon` rows past `history` (SPEC §7; a regression model trained with
   * shift 1): each step's forecast values in original units (named by `forecastOutputs`: the
   * values fed back — the mean, or ŷ_0.5 — then the step's other parameters). Inputs that are not
   * targets come from `future` (horizon − 1 rows needed).
   */
  forecast(history: readonly Row[], horizon: number, future?: readonly Row[]): number[][];
  /** s_0, for `step`. */
  initialState(): State;
  /** One step from `state` (default s_0): the output for row x (as `predict`) and the state after it. */
  step(x: Row, state?: State): { y: number[]; state: State };
}

class LoadedModel implements Model {
  readonly inputs: readonly string[];
  readonly targets: readonly string[];
  readonly task: "regression" | "classification";
  readonly classes: readonly string[] | null;
  readonly categorical: readonly string[];
  readonly outputs: readonly string[];
  readonly forecastOutputs: readonly string[];
  private readonly I: number;
  private readonly cats: CategoryLookup | null;
  /** Each categorical input's value in the last rows `run` read, and whether it stayed the same there. */
  private readonly lastCats: Float64Array;
  private readonly catsConstant: boolean[];
  private stepWarned = false;
  private readonly O: number;
  private readonly inStats: ColumnStats[];
  private readonly outStats: ColumnStats[];
  private readonly missing: MissingCells;
  private readonly fill: InputFill | null;
  private readonly probs: Float64Array;
  private readonly head: RegressionHead | null;

  constructor(private readonly net: Network, private readonly cfg: Config, classes: readonly string[] | null,
    norm: Readonly<Record<string, ColumnStats>> | null, fill: Readonly<Record<string, number>> | null, private readonly file: string,
    readonly categories: Categories | null = null) {
    this.inputs = cfg.data.inputs; this.targets = cfg.data.targets; this.task = cfg.task; this.classes = classes;
    this.categorical = cfg.data.categorical.map((k) => k.column);
    this.cats = categoryLookup(cfg, categories);
    this.lastCats = new Float64Array(this.categorical.length);
    this.catsConstant = this.categorical.map(() => true);
    this.I = net.shape.inputSize; this.O = net.shape.outputSize;
    this.inStats = inputStats(cfg, norm);
    this.outStats = cfg.task === "regression" ? targetStats(targetPlan(cfg), norm) : [];
    this.head = cfg.task === "regression" ? regressionHead(cfg.model) : null;
    this.outputs = this.head ? this.head.predictColumns(this.targets) : (classes ?? []).map((c) => `p_${c}`);
    this.forecastOutputs = this.head ? this.head.forecastColumns(this.targets) : [];
    this.missing = new MissingCells(cfg.data.missing);
    this.fill = inputFill(cfg.data.missing, this.inputs, fill, norm, file);
    this.probs = new Float64Array(this.O);
  }

  /**
   * A row's raw input values, NaN where missing (a fill policy fills them), else an error;
   * `given(i)` false for inputs the caller supplies itself (a forecast's fed-back targets).
   * Checked as the CLI checks a CSV row: an array of exactly I values or an object with every
   * input's key; a value is a number, a decimal text (not "0x10", "1e", " "), or missing — null,
   * undefined, NaN or a text `data.missing.values` lists. Anything else is an InputError naming
   * the row and the input.
   */
  private raw(row: Row, where: string, out: Float64Array, given: (i: number) => boolean = () => true): void {
    const names = [...this.inputs, ...this.categorical], In = this.inputs.length;
    const list = Array.isArray(row) || ArrayBuffer.isView(row);
    if (!list && (typeof row !== "object" || row === null)) {
      throw new InputError(`${where}: ${row === null ? "null" : typeof row} is not a row (an array of the ${this.I} input(s) ${JSON.stringify(names)}, or an object keyed by them)`);
    }
    if (list && (row as ArrayLike<unknown>).length !== this.I) {
      throw new InputError(`${where}: ${(row as ArrayLike<unknown>).length} value(s), the model has ${this.I} input(s) ${JSON.stringify(names)}`);
    }
    for (let i = 0; i < this.I; i++) {
      if (!given(i)) continue;
      const name = names[i], at = `${where}, input ${JSON.stringify(name)}`;
      if (!list && !Object.hasOwn(row, name)) {
        const other = Object.keys(row).filter((k) => !names.includes(k));
        throw new InputError(`${at}: no such key in the row${other.length > 0 ? ` (it has ${other.slice(0, 5).map((k) => JSON.stringify(k)).join(", ")})` : ""}; give null for a missing value`);
      }
      const v: unknown = list ? (row as ArrayLike<unknown>)[i] : (row as Record<string, unknown>)[name];
      if (i >= In) { out[i] = this.category(i - In, v); continue; }
      let x: number;
      if (v === null || v === undefined || (typeof v === "string" && this.missing.input(v))) x = NaN;
      else if (typeof v === "number") x = v;
      else if (typeof v === "string") {
        const d = decimalValue(v);
        if (d === null) throw new InputError(`${at}: ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)} is not a finite decimal number`);
        x = d;
      } else throw new InputError(`${at}: a ${typeof v} is not a number`);
      if (!Number.isNaN(x) && !Number.isFinite(x)) throw new InputError(`${at}: ${x} is not finite`);
      if (Number.isNaN(x) && !this.fill) {
        throw new InputError(`${at}: missing (the model's data.missing.inputs is error)`);
      }
      out[i] = x;
    }
  }

  /** SPEC §11: categorical input j's index for value v (its text; unseen or missing: 0, counted). */
  private category(j: number, v: unknown): number {
    if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return 0;
    const text = String(v);
    return this.missing.target(text) || !this.cats ? 0 : this.cats.code(j, text.trim());
  }

  /** Says on stderr how many categorical values `what` read that training never saw (once per call). */
  private reportUnseen(what: string): void {
    if (!this.cats) return;
    const line = this.cats.report(`${this.file}: ${what}`);
    this.cats.unseen.fill(0);
    if (line) process.stderr.write(`warning: ${line}\n`);
  }

  /** A state `step` was handed: s_0's shape (per layer, and the fill's memory), else an InputError. */
  private checkState(state: State): void {
    const want = this.initialState();
    const ok = typeof state === "object" && state !== null && Array.isArray(state.layers) && state.layers.length === want.layers.length
      && state.layers.every((l: unknown, k) => (l instanceof Float32Array || l instanceof Float64Array) && l.length === want.layers[k].length && l.constructor === want.layers[k].constructor)
      && (want.last === null ? state.last === null || state.last === undefined : state.last instanceof Float64Array && state.last.length === want.last.length);
    if (!ok) {
      throw new InputError(`step: the state is not one this model's initialState() or step() returned (${want.layers.length} layer(s) of ${want.layers.map((l) => `${l.constructor.name}(${l.length})`).join(", ")})`);
    }
  }

  /** Normalises a filled raw row into x at row r. */
  private put(raw: Float64Array, x: Float, r: number): void {
    for (let i = 0; i < this.I; i++) x[r * this.I + i] = zScore(raw[i], this.inStats[i]);
  }

  /** Output row r of the head, as predict returns it (a regression head's: `rnn predict`'s columns). */
  private output(r: number): number[] {
    const y = this.net.head.y, O = this.O;
    if (this.head) {
      this.head.predictRow(y, r, this.targets.length, this.outStats, this.probs, 0);
      return Array.from(this.probs);
    }
    softmaxRow(y, r * O, O, this.probs);
    return Array.from(this.probs);
  }

  /** Runs rows through the network from `state` (updated in place); returns each row's output. */
  private run(rows: readonly Row[], state: Float[], last: Float64Array | null, what: string): number[][] {
    const n = rows.length;
    if (n === 0) return [];
    const x = alloc(this.net.dtype, n * this.I), raw = new Float64Array(this.I);
    rows.forEach((row, t) => {
      this.raw(row, `${what} row ${t}`, raw);
      this.fill?.apply(raw, 0, last ?? undefined);
      this.put(raw, x, t);
      const In = this.inputs.length;
      this.lastCats.forEach((c, j) => { if (t > 0 && raw[In + j] !== c) this.catsConstant[j] = false; this.lastCats[j] = raw[In + j]; });
    });
    this.net.forward(x, 0, state, n, 1);
    this.net.stateAfter(n, 1, state);
    return Array.from({ length: n }, (_, t) => this.output(t));
  }

  initialState(): State {
    return { layers: this.net.zeroState(1), last: this.fill?.startValues() ?? null };
  }

  predict(sequence: readonly Row[]): number[][] {
    const s = this.initialState();
    const rows = this.run(sequence, s.layers as Float[], s.last, "predict:");
    this.reportUnseen("predict");
    // SPEC §13: a bidirectional model under targetsAt: last has one output, at the last row.
    return this.cfg.model.bidirectional && this.cfg.targetsAt === "last" ? rows.slice(-1) : rows;
  }

  step(x: Row, state: State = this.initialState()): { y: number[]; state: State } {
    if (this.cfg.model.bidirectional) throw new InputError(`${this.file}: model.bidirectional: step() cannot run a bidirectional model a row at a time (its reverse direction reads the whole sequence); use predict()`);
    this.checkState(state);
    const layers = state.layers.map((l) => l.slice()), last = state.last ? Float64Array.from(state.last) : null;
    const [y] = this.run([x], layers, last, "step:");
    // A step sees one row: the first unseen category is said, later ones are not.
    if (this.cats && this.cats.unseen.some((n) => n > 0) && !this.stepWarned) { this.stepWarned = true; this.reportUnseen("step (further unseen categories in steps are not reported)"); }
    this.cats?.unseen.fill(0);
    return { y, state: { layers, last } };
  }

  forecast(history: readonly Row[], horizon: number, future: readonly Row[] = []): number[][] {
    const feed = rolloutFeed(this.file, this.cfg);
    const head = this.head as RegressionHead; // rolloutFeed refused a classifier
    const O = this.targets.length, row = new Float64Array(head.forecastWidth(O));
    // forecast's values of a step (SPEC §10): the O values fed back first, then the step's others.
    const forecastRow = (p: number[]): number[] => { head.forecastRow(Float64Array.from(p), O, row); return Array.from(row); };
    if (!Number.isInteger(horizon) || horizon < 1) throw new InputError(`forecast: horizon must be a whole number ≥ 1, got ${horizon}`);
    if (history.length === 0) throw new InputError("forecast: the history is empty");
    const needed = futureRowsNeeded(feed, horizon);
    if (future.length < needed) {
      throw new InputError(`${this.file}: input(s) ${feed.covariates.map((v) => JSON.stringify(v)).join(", ")} are not targets of the model: give their values in ${needed} future row(s) (got ${future.length})`);
    }
    const s = this.initialState();
    const state = s.layers as Float[];
    this.catsConstant.fill(true);
    let y = forecastRow(this.run(history, state, s.last, "forecast: history").at(-1) as number[]);
    // SPEC §11: a categorical input comes from the future rows, else repeats the history's constant value.
    const In = this.inputs.length;
    const varying = this.categorical.filter((_, j) => !this.catsConstant[j]);
    if (future.length < horizon - 1 && varying.length > 0) {
      throw new InputError(`${this.file}: categorical input(s) ${varying.map((v) => JSON.stringify(v)).join(", ")} change over the history: give their values in ${horizon - 1} future row(s) (got ${future.length})`);
    }
    const out: number[][] = [y];
    const raw = new Float64Array(this.I), x = alloc(this.net.dtype, this.I);
    for (let k = 1; k < horizon; k++) {
      feedBack(feed, y, raw);
      if (k <= future.length) this.raw(future[k - 1], `forecast: future row ${k - 1}`, raw, (i) => feed.fromTarget[i] < 0 && (needed > 0 || i >= In));
      else this.lastCats.forEach((c, j) => { raw[In + j] = c; });
      this.fill?.apply(raw, 0, s.last ?? undefined);
      this.put(raw, x, 0);
      this.net.forward(x, 0, state, 1, 1);
      this.net.stateAfter(1, 1, state);
      y = forecastRow(this.output(0));
      out.push(y);
    }
    this.reportUnseen("forecast");
    return out;
  }
}

/** Loads a checkpoint (ours or a PyTorch-written one with our metadata) for in-process predictions. */
export function loadModel(file: string): Model {
  const { ck, net } = loadCheckpointModel(file);
  // The library's rows are numeric inputs: a text model (SPEC §12) is eval's and sample's.
  if (ck.vocab) throw new InputError(`${file}: a text model (data.text): the library predicts from numeric rows; use rnn eval and rnn sample`);
  return new LoadedModel(net, ck.config, ck.classes, ck.normalization, ck.fill, file, ck.categories);
}
