import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { ModelShape } from "../core/network.js";
import { paramSpecs } from "../core/network.js";
import type { EarlyStoppingState, ScheduleState } from "../core/schedule.js";
import type { Float } from "../core/tensor.js";
import { numel, type DType } from "../core/tensor.js";
import type { Config } from "../config/schema.js";
import { validateConfig, type ResolvedConfig } from "../config/load.js";
import { MAX_CHECKPOINT_FILE, outputsPerTarget } from "../config/schema.js";
import { targetPlan } from "../data/load.js";
import type { Normalization } from "../data/dataset.js";
import { defaultEmbeddingSize, parseCategories, type Categories } from "../data/categorical.js";
import type { FillValues } from "../data/missing.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { dataChecksum, dataSection, decodeSafetensors, encodeSafetensors, headerChecksum, type StTensor } from "./safetensors.js";

export const FORMAT = "rnn-checkpoint/1";

/** Where a run stopped inside an epoch, so that --resume continues exactly there. */
export interface Position {
  /** The epoch in progress (1-based). */
  readonly epoch: number;
  /** The next batch of the epoch to run, and the next window of it. */
  readonly batch: number;
  readonly window: number;
  /** Sum and count of the epoch's update losses so far (for train_loss). */
  readonly lossSum: number;
  readonly updates: number;
  /** Seconds already spent in this epoch. */
  readonly seconds: number;
}

/** Everything a checkpoint holds, in the project's terms. */
export interface Checkpoint {
  /** The file it was read from (for messages). */
  readonly file: string;
  readonly config: Config;
  readonly shape: ModelShape;
  readonly dtype: DType;
  /** Model tensors by PyTorch name. */
  readonly params: ReadonlyMap<string, Float>;
  readonly normalization: Normalization | null;
  /** Training means that fill missing inputs (data.missing.inputs ffill or mean). */
  readonly fill: FillValues | null;
  readonly classes: readonly string[] | null;
  /** A text model's vocabulary (SPEC §12: `__metadata__.vocab`, token i is entry i), else null. */
  readonly vocab: readonly string[] | null;
  /** SPEC §11: each categorical column's categories (`__metadata__.categories`), else null. */
  readonly categories: Categories | null;
  readonly epoch: number;
  readonly step: number;
  /** Optimizer buffers by state name (flat, in parameter layout order), when saved. */
  readonly optimizer: { readonly name: string; readonly steps: number; readonly state: ReadonlyMap<string, Float> } | null;
  /** Mid-epoch position and the carried state per layer ([B, stateSize]), when saved there. */
  readonly position: Position | null;
  readonly carry: readonly Float[] | null;
  /** The best validation loss so far (for best.safetensors across a resume). */
  readonly bestValLoss: number | null;
  /** The learning-rate schedule's and early stopping's progress, when the run has them. */
  readonly schedule: ScheduleState | null;
  readonly earlyStopping: EarlyStoppingState | null;
}

/**
 * The model's shape as a config and its classes describe it (a text model's classes are its
 * vocabulary: one token id in, embedded, and a distribution over the vocabulary out); with
 * categorical columns (SPEC §11), their categories give each table's rows (and default size).
 */
export function modelShapeOf(c: Config, classes: readonly string[] | null, categories: Categories | null = null): ModelShape {
  const text = c.data.text !== null;
  const tables = c.data.categorical.map(({ column, size }) => {
    const n = categories?.[column]?.length ?? 0;
    return { vocab: n + 1, size: size ?? defaultEmbeddingSize(n) };
  });
  return {
    cell: c.model.cell, inputSize: text ? 1 : c.data.inputs.length + tables.length, hiddenSize: c.model.hiddenSize,
    embedding: text ? { vocab: classes?.length ?? 0, size: c.model.embedding ?? c.model.hiddenSize } : null,
    categorical: tables.length > 0 ? tables : null,
    outputSize: c.task === "classification" ? (classes?.length ?? 0) : c.data.targets.length * outputsPerTarget(c.model),
    layers: c.model.layers, activation: c.model.activation, bias: c.model.bias,
    ...(c.model.bidirectional ? { bidirectional: true, targetsAt: c.targetsAt } : {}),
  };
}

/** A data path from a checkpoint's config: absolute as we write them, else relative to the checkpoint. */
export function checkpointPath(ckFile: string, p: string): string {
  return path.resolve(path.dirname(path.resolve(ckFile)), p);
}

/** The checkpoint's config with its data paths made absolute. */
export function withAbsoluteData(ckFile: string, c: Config): Config {
  return {
    ...c,
    data: { ...c.data, train: checkpointPath(ckFile, c.data.train),
      text: c.data.text === null ? null : checkpointPath(ckFile, c.data.text),
      validation: c.data.validation === null ? null : checkpointPath(ckFile, c.data.validation) },
  };
}

/**
 * The config as stored: the schema's keys only (paths already absolute). A text model's
 * stores the keys of SPEC §12 only (the keys the text replaces would be refused beside it).
 */
export function storedConfig(c: Config | ResolvedConfig): Record<string, unknown> {
  const { seed, data, task, targetsAt, model, training, output } = c;
  if (data.text === null) return { seed, data, task, targetsAt, model, training, output };
  const { text, tokens, validation, validationSplit } = data;
  return { seed, data: { text, tokens, validation, validationSplit }, model, training, output };
}

export interface SaveArgs {
  readonly config: Config | ResolvedConfig;
  readonly shape: ModelShape;
  readonly dtype: DType;
  readonly params: Float;
  readonly normalization: Normalization | null;
  readonly fill?: FillValues | null;
  readonly classes: readonly string[] | null;
  /** A text model's vocabulary (written as `__metadata__.vocab`). */
  readonly vocab?: readonly string[] | null;
  /** SPEC §11's categories (written as `__metadata__.categories`). */
  readonly categories?: Categories | null;
  readonly epoch: number;
  readonly step: number;
  readonly optimizer: { readonly name: string; readonly steps: number; readonly state: Readonly<Record<string, Float>> } | null;
  readonly position: Position | null;
  readonly carry: readonly Float[] | null;
  readonly bestValLoss: number | null;
  readonly schedule?: ScheduleState | null;
  readonly earlyStopping?: EarlyStoppingState | null;
}

/** Writes a checkpoint atomically (SPEC §5). */
export function saveCheckpoint(file: string, a: SaveArgs): void {
  const st = a.dtype === "float32" ? "F32" : "F64";
  const specs = paramSpecs(a.shape);
  const tensors: [string, StTensor][] = [];
  let off = 0;
  const slices = specs.map((s) => { const n = numel(s.shape); const r = { ...s, off, n }; off += n; return r; });
  for (const s of slices) tensors.push([s.name, { dtype: st, shape: s.shape, data: a.params.subarray(s.off, s.off + s.n) }]);
  if (a.optimizer) {
    for (const [k, buf] of Object.entries(a.optimizer.state)) {
      for (const s of slices) tensors.push([`optim.${k}.${s.name}`, { dtype: st, shape: s.shape, data: buf.subarray(s.off, s.off + s.n) }]);
    }
  }
  if (a.carry) {
    a.carry.forEach((c, k) => tensors.push([`resume.state_l${k}`, { dtype: st, shape: [c.length], data: c }]));
  }
  const meta: Record<string, string> = {
    format: FORMAT, config: JSON.stringify(storedConfig(a.config)), epoch: String(a.epoch), step: String(a.step),
    dtype: a.dtype,
  };
  if (a.normalization) meta.normalization = JSON.stringify(a.normalization);
  if (a.vocab) meta.vocab = JSON.stringify(a.vocab);
  else if (a.classes) meta.classes = JSON.stringify(a.classes);
  if (a.fill) meta.missing_fill = JSON.stringify(a.fill);
  if (a.categories) meta.categories = JSON.stringify(a.categories);
  if (a.optimizer) meta.optimizer = JSON.stringify({ name: a.optimizer.name, steps: a.optimizer.steps });
  if (a.position) meta.position = JSON.stringify(a.position);
  if (a.bestValLoss !== null) meta.best_val_loss = String(a.bestValLoss);
  if (a.schedule) meta.schedule = JSON.stringify(a.schedule);
  if (a.earlyStopping) meta.early_stopping = JSON.stringify(a.earlyStopping);
  writeFileAtomic(file, encodeSafetensors(tensors, meta, "checksum"));
}

function parseJson<T>(file: string, key: string, s: string | undefined): T | null {
  if (s === undefined) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    throw new InputError(`${file}: __metadata__.${key} is not valid JSON`);
  }
}

function nonNegInt(file: string, key: string, s: string | undefined): number {
  if (s === undefined) return 0;
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new InputError(`${file}: __metadata__.${key} must be a whole number, got ${JSON.stringify(s)}`);
  return Number(s);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** `__metadata__.optimizer`: `{"name": "sgd" | "adam" | "adamw", "steps": n}`. */
function parseOptimizer(file: string, s: string | undefined): { name: string; steps: number } | null {
  const v = parseJson<unknown>(file, "optimizer", s);
  if (v === null) return null;
  if (!isObject(v) || (v.name !== "sgd" && v.name !== "adam" && v.name !== "adamw") || !isCount(v.steps)) {
    throw new InputError(`${file}: __metadata__.optimizer must be {"name": "sgd" | "adam" | "adamw", "steps": <whole number>}`);
  }
  return { name: v.name, steps: v.steps };
}

const isBest = (v: unknown): v is number | null => v === null || isFiniteNumber(v);

/** `__metadata__.schedule`: a learning-rate schedule's progress. */
function parseSchedule(file: string, s: string | undefined): ScheduleState | null {
  const v = parseJson<unknown>(file, "schedule", s);
  if (v === null) return null;
  if (!isObject(v) || !isFiniteNumber(v.lr) || !(v.lr >= 0) || !isCount(v.epochs) || !isBest(v.best) || !isCount(v.badEpochs) || !isCount(v.cooldown)) {
    throw new InputError(`${file}: __metadata__.schedule must be {"lr" ≥ 0, "epochs", "badEpochs", "cooldown": whole numbers, "best": a number or null}`);
  }
  return { lr: v.lr, epochs: v.epochs, best: v.best, badEpochs: v.badEpochs, cooldown: v.cooldown };
}

/** `__metadata__.early_stopping`: early stopping's progress. */
function parseEarlyStopping(file: string, s: string | undefined): EarlyStoppingState | null {
  const v = parseJson<unknown>(file, "early_stopping", s);
  if (v === null) return null;
  if (!isObject(v) || !isBest(v.best) || !isCount(v.bestEpoch) || !isCount(v.wait)) {
    throw new InputError(`${file}: __metadata__.early_stopping must be {"best": a number or null, "bestEpoch", "wait": whole numbers}`);
  }
  return { best: v.best, bestEpoch: v.bestEpoch, wait: v.wait };
}

/** `__metadata__.position`: where a run stopped inside an epoch. */
function parsePosition(file: string, s: string | undefined): Position | null {
  const v = parseJson<unknown>(file, "position", s);
  if (v === null) return null;
  const ok = isObject(v) && isCount(v.epoch) && v.epoch >= 1 && isCount(v.batch) && isCount(v.window)
    && isFiniteNumber(v.lossSum) && isCount(v.updates) && isFiniteNumber(v.seconds) && v.seconds >= 0;
  if (!ok) {
    throw new InputError(`${file}: __metadata__.position must be {"epoch" ≥ 1, "batch", "window", "updates": whole numbers, "lossSum", "seconds": finite numbers}`);
  }
  const p = v as unknown as Position;
  return { epoch: p.epoch, batch: p.batch, window: p.window, lossSum: p.lossSum, updates: p.updates, seconds: p.seconds };
}

/** The first non-finite value of a tensor, as an error naming it. */
function requireFinite(file: string, name: string, data: Float): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new InputError(`${file}: tensor ${name}[${i}] is ${data[i]}; a checkpoint holds finite values only`);
  }
}

/** `__metadata__.vocab`: a JSON list of distinct strings, at least one (SPEC §12). */
function parseVocab(file: string, s: string | undefined): string[] {
  if (s === undefined) throw new InputError(`${file}: a text model's checkpoint needs __metadata__.vocab (its tokens)`);
  const v = parseJson<unknown>(file, "vocab", s);
  if (!Array.isArray(v) || v.length === 0 || !v.every((t) => typeof t === "string" && t.length > 0)) {
    throw new InputError(`${file}: __metadata__.vocab must be a JSON list of non-empty token strings`);
  }
  if (new Set(v).size !== v.length) throw new InputError(`${file}: __metadata__.vocab lists a token twice`);
  return v as string[];
}

/** States a cell carries per batch row (LSTM carries h and c). */
const stateSizeOf = (shape: ModelShape): number => (shape.cell === "lstm" ? 2 : 1) * shape.hiddenSize;

/**
 * Reads and checks a checkpoint: format, config, classes, every model tensor present with
 * the shape the config implies and finite, nothing unexpected under `rnn.` / `head.`, and
 * the resume metadata (optimizer, position, carried state) well-formed. Anything else is an
 * InputError naming the file and the key or tensor.
 */
export function loadCheckpoint(file: string): Checkpoint {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new InputError(`${file}: not a checkpoint file (it is a ${st.isDirectory() ? "directory" : "special file"})`);
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: cannot read checkpoint: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // One read holds at most MAX_CHECKPOINT_FILE bytes; the configs rnn accepts stay below it.
  if (size > MAX_CHECKPOINT_FILE) throw new InputError(`${file}: ${size} bytes is larger than any checkpoint rnn writes`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read checkpoint: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const st = decodeSafetensors(bytes, file);
  const m = st.metadata;
  // Our checkpoints carry a checksum of their tensor bytes and one of their header's meaning
  // (metadata values and tensor table, checked last, after the checks that name a fault more
  // exactly): a flipped bit must not load as other numbers. One written by PyTorch has neither
  // and loads as it is; one written before header_checksum, without it.
  if (m.checksum !== undefined && m.checksum !== dataChecksum(dataSection(bytes))) {
    throw new InputError(`${file}: the tensor data does not match __metadata__.checksum: the file is damaged or was edited`);
  }
  if (m.format !== FORMAT) {
    throw new InputError(`${file}: __metadata__.format is ${JSON.stringify(m.format ?? null)}, expected "${FORMAT}"`);
  }
  if (m.config === undefined) throw new InputError(`${file}: __metadata__.config is missing`);
  const config = validateConfig(parseJson(file, "config", m.config), `${path.basename(file)} (metadata config)`);
  const classes = parseJson<unknown>(file, "classes", m.classes);
  if (classes !== null && !(Array.isArray(classes) && classes.every((c) => typeof c === "string" || typeof c === "number"))) {
    throw new InputError(`${file}: __metadata__.classes must be a JSON list of class names`);
  }
  const classList = classes === null ? null : (classes as (string | number)[]).map(String);
  const vocab = config.data.text === null ? null : parseVocab(file, m.vocab);
  if (vocab && classList) throw new InputError(`${file}: a text model's checkpoint has __metadata__.vocab, not classes`);
  if (config.task === "classification" && !vocab && (!classList || classList.length < 2)) {
    throw new InputError(`${file}: a classification checkpoint needs __metadata__.classes with at least 2 classes`);
  }
  if (config.task === "regression" && classList) {
    throw new InputError(`${file}: __metadata__.classes is given but the checkpoint's task is regression`);
  }
  if (classList && new Set(classList).size !== classList.length) {
    throw new InputError(`${file}: __metadata__.classes lists a class twice`);
  }
  const normalization = parseJson<unknown>(file, "normalization", m.normalization);
  if (config.data.normalize) {
    const cols = [...config.data.inputs, ...(targetPlan(config).scaleTargets && config.task === "regression" ? config.data.targets : [])];
    for (const c of cols) {
      const s = isObject(normalization) && Object.hasOwn(normalization, c) ? normalization[c] : undefined;
      if (!isObject(s) || !isFiniteNumber(s.mean) || !isFiniteNumber(s.std) || s.std <= 0) {
        throw new InputError(`${file}: __metadata__.normalization has no valid mean/std for column "${c}"`);
      }
    }
  }
  const fillJson = parseJson<unknown>(file, "missing_fill", m.missing_fill);
  let fill: FillValues | null = null;
  // Absent, it is asked for where the fill is used (eval, predict): a model.init checkpoint needs none.
  if (fillJson !== null && (config.data.missing.inputs === "ffill" || config.data.missing.inputs === "mean")) {
    if (!isObject(fillJson) || !config.data.inputs.every((c) => Object.hasOwn(fillJson, c) && isFiniteNumber(fillJson[c]))) {
      throw new InputError(`${file}: __metadata__.missing_fill must give a finite fill value for every input column (data.missing.inputs is ${config.data.missing.inputs})`);
    }
    fill = Object.fromEntries(config.data.inputs.map((c) => [c, fillJson[c] as number]));
  }
  const categories = parseCategories(file, parseJson<unknown>(file, "categories", m.categories), config.data.categorical.map((k) => k.column));
  const shape = modelShapeOf(config, vocab ?? classList, categories);
  const specs = paramSpecs(shape);
  const params = new Map<string, Float>();
  let dtype: DType | null = null;
  for (const s of specs) {
    const t = st.tensors.get(s.name);
    if (!t) throw new InputError(`${file}: tensor ${s.name} is missing`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new InputError(`${file}: tensor ${s.name} has shape [${t.shape.join(", ")}], the config implies [${s.shape.join(", ")}]`);
    }
    const dt: DType = t.dtype === "F32" ? "float32" : "float64";
    if (dtype !== null && dt !== dtype) throw new InputError(`${file}: tensors mix F32 and F64`);
    dtype = dt;
    requireFinite(file, s.name, t.data);
    params.set(s.name, t.data);
  }
  for (const name of st.tensors.keys()) {
    if ((name.startsWith("rnn.") || name.startsWith("head.") || name.startsWith("encoder.") || name.startsWith("embed.")) && !specs.some((s) => s.name === name)) {
      throw new InputError(`${file}: unexpected tensor ${name} for this model (${shape.layers} layer(s), bias ${shape.bias})`);
    }
  }
  const opt = parseOptimizer(file, m.optimizer);
  let optimizer: Checkpoint["optimizer"] = null;
  if (opt) {
    const state = new Map<string, Float>();
    const size = specs.reduce((a, s) => a + numel(s.shape), 0);
    for (const name of st.tensors.keys()) {
      const mm = /^optim\.([a-z_]+)\./.exec(name);
      if (mm && !state.has(mm[1])) {
        const buf = new (dtype === "float32" ? Float32Array : Float64Array)(size);
        let off = 0;
        for (const s of specs) {
          const key = `optim.${mm[1]}.${s.name}`;
          const t = st.tensors.get(key);
          if (!t || t.data.length !== numel(s.shape)) throw new InputError(`${file}: optimizer state ${key} is missing or misshapen`);
          requireFinite(file, key, t.data);
          buf.set(t.data, off); off += t.data.length;
        }
        state.set(mm[1], buf);
      }
    }
    optimizer = { name: opt.name, steps: opt.steps, state };
  }
  const position = parsePosition(file, m.position);
  let carry: Float[] | null = null;
  if (position) {
    carry = [];
    const S = stateSizeOf(shape), maxRows = config.training.batchSize;
    for (let k = 0; k < shape.layers; k++) {
      const name = `resume.state_l${k}`;
      const t = st.tensors.get(name);
      if (!t) throw new InputError(`${file}: ${name} is missing for a mid-epoch checkpoint`);
      if (t.data.length === 0 || t.data.length % S !== 0 || t.data.length / S > maxRows) {
        throw new InputError(`${file}: tensor ${name} has ${t.data.length} values, not [B × ${S}] with 1 ≤ B ≤ ${maxRows}`);
      }
      requireFinite(file, name, t.data);
      carry.push(t.data);
    }
  }
  let bestValLoss: number | null = null;
  if (m.best_val_loss !== undefined) {
    bestValLoss = Number(m.best_val_loss);
    if (m.best_val_loss.trim() === "" || !Number.isFinite(bestValLoss)) {
      throw new InputError(`${file}: __metadata__.best_val_loss must be a finite number, got ${JSON.stringify(m.best_val_loss)}`);
    }
  }
  const epoch = nonNegInt(file, "epoch", m.epoch), step = nonNegInt(file, "step", m.step);
  const schedule = parseSchedule(file, m.schedule), earlyStopping = parseEarlyStopping(file, m.early_stopping);
  if (m.header_checksum !== undefined && m.header_checksum !== headerChecksum(m, st.table, "header_checksum")) {
    throw new InputError(`${file}: the header (metadata or tensor table) does not match __metadata__.header_checksum: the file is damaged or was edited`);
  }
  return {
    file, config, shape, dtype: dtype ?? "float32", params, normalization: config.data.normalize ? normalization as Normalization : null, fill,
    classes: classList, vocab, categories, epoch, step, optimizer, position, carry, bestValLoss, schedule, earlyStopping,
  };
}

/**
 * Copies a checkpoint's model tensors into a flat parameter buffer laid out by `specs` order.
 * A model of another shape (a config changed between a run and its --resume, a model.init of
 * another size) is an InputError naming the file and the first tensor that differs.
 */
export function copyParams(ck: Checkpoint, layout: { slots: readonly { name: string; offset: number; shape: readonly number[] }[] }, dst: Float): void {
  const shapes = new Map(paramSpecs(ck.shape).map((s) => [s.name, s.shape]));
  for (const s of layout.slots) {
    const t = ck.params.get(s.name), have = shapes.get(s.name);
    if (!t || !have || have.length !== s.shape.length || have.some((d, i) => d !== s.shape[i])) {
      throw new InputError(`${ck.file}: tensor ${s.name} is ${have ? `[${have.join(", ")}]` : "absent"} there, this model needs [${s.shape.join(", ")}] (the checkpoint holds a model of another shape: ${JSON.stringify(ck.shape)})`);
    }
    dst.set(t, s.offset);
  }
}
