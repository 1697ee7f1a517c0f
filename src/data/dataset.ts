import { InputError } from "../errors.js";
import type { InputFill } from "./missing.js";
import type { RawSequence } from "./table.js";

/** A sequence ready for the model: inputs and targets normalised, shifted and masked. */
export interface Sequence {
  readonly id: string | null;
  readonly length: number;
  /** [length, I + C]: I numeric inputs, then C categorical indices (SPEC §11; 0 unseen or missing). */
  readonly x: Float64Array;
  /** Regression: [length, O], NaN where there is no target. */
  readonly y: Float64Array | null;
  /** Classification: [length] class index, −1 where there is no target. */
  readonly labels: Int32Array | null;
}

export interface ColumnStats { readonly mean: number; readonly std: number }
/** Per-column z-score statistics, by column name (stored in the checkpoint's metadata). */
export type Normalization = Readonly<Record<string, ColumnStats>>;

/** How targets are read (config `data`, `task`, `targetsAt`). */
export interface TargetPlan {
  readonly inputs: readonly string[];
  /** SPEC §11's categorical columns, whose indices follow the inputs in every row. */
  readonly categorical?: readonly string[];
  readonly targets: readonly string[];
  readonly task: "regression" | "classification";
  readonly targetsAt: "every" | "last";
  readonly shift: number;
  /** False when the head never z-scores its targets (counts: SPEC §10's negativeBinomial). */
  readonly scaleTargets: boolean;
  /** Targets must be whole numbers ≥ 0 (negativeBinomial); names the key in the message. */
  readonly counts: string | null;
}

const IDENTITY: ColumnStats = { mean: 0, std: 1 };

/**
 * Each target's statistics as the head maps its outputs back to original units: the column's
 * normalisation, or the identity without one (or for targets that are never z-scored).
 */
export function targetStats(plan: Pick<TargetPlan, "targets" | "scaleTargets">, norm: Normalization | null): ColumnStats[] {
  return plan.targets.map((c) => (plan.scaleTargets && norm ? norm[c] ?? IDENTITY : IDENTITY));
}

/** Python's round(): halves go to the even neighbour, as SPEC's round(fraction × count). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v), d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** How many to hold out for validation: round(f·n), at least one when f > 0. */
export function holdOutCount(fraction: number, n: number): number {
  return fraction > 0 ? Math.max(1, roundHalfEven(fraction * n)) : 0;
}

/**
 * Holds out the last sequences (or, for one long series, its last rows as one sequence)
 * for validation, per `validationSplit`.
 */
export function splitValidation(raws: RawSequence[], fraction: number, series: boolean, file: string):
  { train: RawSequence[]; val: RawSequence[] } {
  if (fraction <= 0) return { train: raws, val: [] };
  if (!series) {
    const k = holdOutCount(fraction, raws.length);
    if (k >= raws.length) throw new InputError(`${file}: validationSplit ${fraction} of ${raws.length} sequences leaves none to train on`);
    return { train: raws.slice(0, raws.length - k), val: raws.slice(raws.length - k) };
  }
  const s = raws[0], k = holdOutCount(fraction, s.length), n = s.length - k;
  if (n <= 0) throw new InputError(`${file}: validationSplit ${fraction} of ${s.length} rows leaves none to train on`);
  const part = (a: number, b: number, line: number): RawSequence => {
    const I = s.x.length / s.length, O = s.y ? s.y.length / s.length : 0;
    return {
      // Views, not copies: the two parts do not overlap, and a long series is held once.
      id: s.id, line, length: b - a, x: s.x.subarray(a * I, b * I),
      y: s.y ? s.y.subarray(a * O, b * O) : null, labels: s.labels ? s.labels.slice(a, b) : null,
    };
  };
  return { train: [part(0, n, s.line)], val: [part(n, s.length, s.line + n)] };
}

/** Classes in SPEC order: numerically when every label is a number, else by code point. */
export function sortClasses(labels: Iterable<string>): string[] {
  const set = [...new Set(labels)];
  const numeric = set.every((l) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(l));
  return numeric
    ? set.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0))
    : set.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The labels that count as targets (every row's, or only each sequence's final row's). */
export function countedLabels(raws: readonly RawSequence[], targetsAt: "every" | "last"): string[] {
  const out: string[] = [];
  for (const s of raws) {
    const ls = s.labels ?? [];
    const from = targetsAt === "last" ? ls.length - 1 : 0;
    for (let t = Math.max(0, from); t < ls.length; t++) { const l = ls[t]; if (l !== null) out.push(l); }
  }
  return out;
}

/**
 * A power of two near a column's largest |value| when it is far from 1, else 1: the values are
 * divided by it before summing and squaring, so that a column around 1e200 (whose squares, or
 * sum, overflow) gets a finite std. Dividing by a power of two is exact, so ordinary columns
 * get the very same bits as without it.
 */
function scaleOf(maxAbs: number): number {
  if ((maxAbs > 2 ** -500 && maxAbs < 2 ** 500) || !(maxAbs > 0 && Number.isFinite(maxAbs))) return 1;
  return 2 ** Math.max(-1022, Math.floor(Math.log2(maxAbs)));
}

/**
 * Mean and population std (ddof 0; a constant column gets 1) of each column's present cells.
 * Statistics that are not finite all the same are refused (exit 2, naming `file` and the
 * column): the checkpoint could not hold them, and the column would train as noise.
 */
export function computeNormalization(raws: readonly RawSequence[], plan: TargetPlan, file: string): Normalization {
  // No prototype: a column named `__proto__` is a key like any other (with {} its statistics were
  // set as the prototype and never reached the checkpoint).
  const out = Object.create(null) as Record<string, ColumnStats>;
  const stats = (name: string, get: (s: RawSequence) => Float64Array | null, col: number, width: number): ColumnStats => {
    const each = (f: (v: number) => void): void => {
      for (const s of raws) { const a = get(s); if (!a) continue; for (let i = col; i < a.length; i += width) if (!Number.isNaN(a[i])) f(a[i]); }
    };
    let n = 0, maxAbs = 0;
    each((v) => { n++; maxAbs = Math.max(maxAbs, Math.abs(v)); });
    const k = scaleOf(maxAbs);
    let sum = 0;
    each((v) => { sum += v / k; });
    const m = n > 0 ? sum / n : 0; // the mean, scaled
    let ss = 0;
    each((v) => { ss += (v / k - m) ** 2; });
    const mean = m * k, std = (n > 0 ? Math.sqrt(ss / n) : 0) * k;
    if (!Number.isFinite(mean) || !Number.isFinite(std)) {
      throw new InputError(`${file}: column "${name}": normalisation statistics overflow (mean ${mean}, std ${std}); scale the column down or set data.normalize: false`);
    }
    return { mean, std: std > 0 ? std : 1 };
  };
  const W = plan.inputs.length + (plan.categorical?.length ?? 0);
  plan.inputs.forEach((c, i) => { out[c] = stats(c, (s) => s.x, i, W); });
  if (plan.task === "regression" && plan.scaleTargets) {
    plan.targets.forEach((c, o) => { out[c] = stats(c, (s) => s.y, o, plan.targets.length); });
  }
  return out;
}

/**
 * (v − mean) / std. Where v − mean overflows (a value near ±1.8e308 far from the mean) the
 * same quotient is taken as v/std − mean/std: the result is finite, only the difference is not.
 */
export function zScore(v: number, st: ColumnStats): number {
  const z = (v - st.mean) / st.std;
  return Number.isFinite(z) || !Number.isFinite(v) ? z : v / st.std - st.mean / st.std;
}

/** Refuses a target cell that is not a whole number ≥ 0 (a count model's), naming its line and column. */
function requireCounts(s: RawSequence, plan: TargetPlan, file: string): void {
  const O = plan.targets.length, y = s.y!;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (Number.isNaN(v) || (Number.isInteger(v) && v >= 0)) continue;
    throw new InputError(`${file}: line ${s.line + Math.floor(i / O)}, column ${JSON.stringify(plan.targets[i % O])}: ${v} is not a count (${plan.counts} needs whole numbers ≥ 0)`);
  }
}

/**
 * Applies the missing-input fill, targetsAt, shift, class indices and normalisation to one
 * raw sequence. `file` names the data in messages (a label that is not one of the classes).
 * The raw sequence is used up: its x and y arrays become the prepared ones (in place, so that
 * a large series is held once, not twice).
 */
export function prepareSequence(s: RawSequence, plan: TargetPlan, classes: readonly string[] | null,
  norm: Normalization | null, file: string, fill: InputFill | null = null): Sequence {
  const T = s.length, W = plan.inputs.length + (plan.categorical?.length ?? 0), O = plan.targets.length, sh = plan.shift;
  const x = s.x;
  if (fill) {
    fill.startSequence();
    for (let t = 0; t < T; t++) fill.apply(x, t * W);
  }
  if (norm) {
    plan.inputs.forEach((c, i) => { const st = norm[c]; for (let t = 0; t < T; t++) x[t * W + i] = zScore(x[t * W + i], st); });
  }
  // Target at t comes from row t + shift; with targetsAt: last only the final row has one.
  const source = (t: number): number => {
    const r = t + sh;
    if (r >= T) return -1;
    if (plan.targetsAt === "last" && r !== T - 1) return -1;
    return r;
  };
  if (plan.task === "regression") {
    // In place: row t reads row t + shift ≥ t, which later rows have not overwritten yet.
    const y = s.y && s.y.length === T * O ? s.y : new Float64Array(T * O).fill(NaN);
    if (s.y && plan.counts) requireCounts(s, plan, file);
    const stats = plan.targets.map((c) => (plan.scaleTargets ? norm?.[c] : undefined));
    for (let t = 0; t < T; t++) {
      const r = s.y ? source(t) : -1;
      for (let o = 0; o < O; o++) {
        if (r < 0) { y[t * O + o] = NaN; continue; }
        const v = y[r * O + o], st = stats[o];
        y[t * O + o] = st ? zScore(v, st) : v;
      }
    }
    return { id: s.id, length: T, x, y, labels: null };
  }
  const labels = new Int32Array(T).fill(-1);
  if (s.labels && classes) {
    const index = new Map(classes.map((c, k) => [c, k]));
    for (let t = 0; t < T; t++) {
      const r = source(t);
      const l = r < 0 ? null : s.labels[r];
      if (l === null) continue;
      const k = index.get(l);
      if (k === undefined) {
        throw new InputError(`${file}: sequence ${s.id ?? ""} (from line ${s.line}), row ${r}: label ${JSON.stringify(l)} is not one of the model's classes ${JSON.stringify(classes)}`);
      }
      labels[t] = k;
    }
  }
  return { id: s.id, length: T, x, y: null, labels };
}
