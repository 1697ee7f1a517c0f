import type { ResolvedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { regressionHead } from "../core/heads/index.js";
import { InputError } from "../errors.js";
import {
  computeNormalization, countedLabels, prepareSequence, sortClasses, splitValidation,
  type ColumnStats, type Normalization, type Sequence, type TargetPlan,
} from "./dataset.js";
import { CategoryInterner, CategoryLookup, type Categories, type CategoryCoder } from "./categorical.js";
import { inputFill, type FillValues } from "./missing.js";
import { readSequencesFile, type ColumnSpec, type RawSequence } from "./table.js";
import { loadText, type TextData } from "./text.js";

/**
 * The columns a config reads. `coder` numbers its categorical cells (SPEC §11): required when
 * the config has `data.categorical` (a CategoryInterner while training data is read, else
 * the checkpoint's CategoryLookup).
 */
export function columnSpec(c: Config, withTargets: boolean, coder: CategoryCoder | null = null): ColumnSpec {
  const columns = categoricalColumns(c);
  if (columns.length > 0 && coder === null) throw new Error("columnSpec: a config with data.categorical needs its category coder");
  return {
    inputs: c.data.inputs, targets: withTargets ? c.data.targets : null, sequenceColumn: c.data.sequenceColumn, task: c.task, missing: c.data.missing,
    categorical: coder !== null && columns.length > 0 ? { columns, coder } : null,
  };
}

/** SPEC §11's categorical input columns of a config, in order (embedding j reads column j). */
export function categoricalColumns(c: Config): string[] {
  return c.data.categorical.map((k) => k.column);
}

/** The coder inference reads a model's categorical cells with (its checkpoint's categories), or null without any. */
export function categoryLookup(c: Config, cats: Categories | null): CategoryLookup | null {
  const columns = categoricalColumns(c);
  return columns.length > 0 && cats ? new CategoryLookup(columns, cats) : null;
}

/** The z-score statistics of each of a row's input values: the inputs' (identity without), then the identity for each categorical index. */
export function inputStats(c: Config, norm: Normalization | null): ColumnStats[] {
  const identity: ColumnStats = { mean: 0, std: 1 };
  return [...c.data.inputs.map((col) => norm?.[col] ?? identity), ...c.data.categorical.map(() => identity)];
}

export function targetPlan(c: Config): TargetPlan {
  const counts = c.task === "regression" && !regressionHead(c.model).normalisesTargets;
  return {
    inputs: c.data.inputs, categorical: categoricalColumns(c), targets: c.data.targets, task: c.task, targetsAt: c.targetsAt, shift: c.data.shift,
    scaleTargets: !counts, counts: counts ? `model.likelihood ${c.model.likelihood}` : null,
  };
}

/** Training and validation data, prepared as the config says. */
export interface TrainingData {
  /** One long series (no sequenceColumn): `train` is its one sequence, before batchify. */
  readonly series: boolean;
  readonly train: Sequence[];
  readonly val: Sequence[];
  readonly classes: string[] | null;
  readonly normalization: Normalization | null;
  /** Training means that fill missing inputs (data.missing.inputs ffill or mean), else null. */
  readonly fill: FillValues | null;
  /** SPEC §11: each categorical column's categories (from the training split), or null without data.categorical. */
  readonly categories: Categories | null;
  /** A text model's data (SPEC §12: vocabulary, training and validation tokens); then train and val are empty. */
  readonly text: TextData | null;
}

/** True when there is validation data (sequences, or a validation text). */
export function hasValidation(d: TrainingData): boolean {
  return d.val.length > 0 || (d.text?.val ?? null) !== null;
}

/**
 * Reads `data.train` (and `data.validation`), holds out validation, finds the classes,
 * computes normalisation on the training split and prepares every sequence.
 * `fixed` supplies classes and statistics from a checkpoint being resumed.
 */
export async function loadTrainingData(c: ResolvedConfig,
  fixed?: { classes: readonly string[] | null; vocab?: readonly string[] | null; categories?: Categories | null; normalization: Normalization | null; fill: FillValues | null; file: string }): Promise<TrainingData> {
  if (c.data.text !== null) {
    const text = await loadText({ ...c.data, text: c.data.text, batchSize: c.training.batchSize }, fixed?.vocab ?? null);
    return { series: true, train: [], val: [], classes: null, categories: null, normalization: null, fill: null, text };
  }
  // Categorical cells are coded as they are read; their categories come from the whole
  // training split afterwards (a resumed run keeps its checkpoint's), then every row is recoded.
  const columns = categoricalColumns(c);
  const interner = columns.length > 0 && !fixed?.categories ? new CategoryInterner(columns) : null;
  const spec = columnSpec(c, true, interner ?? categoryLookup(c, fixed?.categories ?? null)), plan = targetPlan(c);
  const series = c.data.sequenceColumn === null;
  const raws = await readSequencesFile(c.data.train, spec);
  let train: RawSequence[], valRaw: RawSequence[];
  let valFile = c.data.train;
  if (c.data.validation !== null) {
    train = raws;
    valRaw = await readSequencesFile(c.data.validation, spec);
    valFile = c.data.validation;
  } else {
    ({ train, val: valRaw } = splitValidation(raws, c.data.validationSplit, series, c.data.train));
  }
  let categories: Categories | null = fixed?.categories ?? null;
  if (interner) {
    categories = interner.categories(train, c.data.train);
    interner.recode([...train, ...valRaw], categories);
  }
  let classes: string[] | null = null;
  if (c.task === "classification") {
    classes = fixed?.classes ? [...fixed.classes]
      : sortClasses([...countedLabels(raws, c.targetsAt), ...(c.data.validation !== null ? countedLabels(valRaw, c.targetsAt) : [])]);
    if (classes.length < 2) {
      throw new InputError(`${c.data.train}: column "${c.data.targets[0]}": classification needs at least 2 classes, found ${classes.length}`);
    }
  }
  const normalization = !c.data.normalize ? null : fixed?.normalization ?? computeNormalization(train, plan, c.data.train);
  const fill = fillValues(c, train, normalization, fixed?.fill ?? null);
  const filler = inputFill(c.data.missing, c.data.inputs, fill, normalization, fixed?.file ?? c.data.train);
  const prepared = train.map((s) => prepareSequence(s, plan, classes, normalization, c.data.train, filler));
  const supervised = prepared.some((s) => (s.y ? s.y.some((v) => !Number.isNaN(v)) : (s.labels ?? []).some((l) => l >= 0)));
  if (!supervised) {
    throw new InputError(`${c.data.train}: no target left to train on (every target cell is empty${c.data.shift > 0 ? `, or data.shift ${c.data.shift} is not shorter than the sequences` : ""})`);
  }
  return {
    series, classes, categories, normalization, fill, train: prepared, text: null,
    val: valRaw.map((s) => prepareSequence(s, plan, classes, normalization, valFile, filler)),
  };
}

/**
 * The training means of the input columns' present cells, when missing inputs are filled with
 * them (ffill, mean): the normalisation's means when there is one (the same numbers), those of a
 * resumed checkpoint, else computed.
 */
function fillValues(c: ResolvedConfig, train: readonly RawSequence[], norm: Normalization | null, fixed: FillValues | null): FillValues | null {
  if (c.data.missing.inputs !== "ffill" && c.data.missing.inputs !== "mean") return null;
  if (fixed) return fixed;
  // The inputs' statistics only (a classification plan has none for its targets).
  const stats = norm ?? computeNormalization(train, { ...targetPlan(c), task: "classification" }, c.data.train);
  return Object.fromEntries(c.data.inputs.map((col) => [col, stats[col].mean]));
}
