import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { ModelShape } from "../core/network.js";
import { paramSpecs } from "../core/network.js";
import type { Float } from "../core/tensor.js";
import { numel, type DType } from "../core/tensor.js";
import type { Config } from "../config/schema.js";
import { validateConfig, type ResolvedConfig } from "../config/load.js";
import type { Normalization } from "../data/dataset.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";
import { decodeSafetensors, encodeSafetensors, type StTensor } from "./safetensors.js";

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
  readonly config: Config;
  readonly shape: ModelShape;
  readonly dtype: DType;
  /** Model tensors by PyTorch name. */
  readonly params: ReadonlyMap<string, Float>;
  readonly normalization: Normalization | null;
  readonly classes: readonly string[] | null;
  readonly epoch: number;
  readonly step: number;
  /** Optimizer buffers by state name (flat, in parameter layout order), when saved. */
  readonly optimizer: { readonly name: string; readonly steps: number; readonly state: ReadonlyMap<string, Float> } | null;
  /** Mid-epoch position and the carried state per layer ([B, stateSize]), when saved there. */
  readonly position: Position | null;
  readonly carry: readonly Float[] | null;
  /** The best validation loss so far (for best.safetensors across a resume). */
  readonly bestValLoss: number | null;
}

/** The model's shape as a config and its classes describe it. */
export function modelShapeOf(c: Config, classes: readonly string[] | null): ModelShape {
  return {
    cell: c.model.cell, inputSize: c.data.inputs.length, hiddenSize: c.model.hiddenSize,
    outputSize: c.task === "classification" ? (classes?.length ?? 0) : c.data.targets.length,
    layers: c.model.layers, activation: c.model.activation, bias: c.model.bias,
  };
}

/** The config as stored: the schema's keys only (paths already absolute). */
function configJson(c: Config | ResolvedConfig): string {
  const { seed, data, task, targetsAt, model, training, output } = c;
  return JSON.stringify({ seed, data, task, targetsAt, model, training, output });
}

export interface SaveArgs {
  readonly config: Config | ResolvedConfig;
  readonly shape: ModelShape;
  readonly dtype: DType;
  readonly params: Float;
  readonly normalization: Normalization | null;
  readonly classes: readonly string[] | null;
  readonly epoch: number;
  readonly step: number;
  readonly optimizer: { readonly name: string; readonly steps: number; readonly state: Readonly<Record<string, Float>> } | null;
  readonly position: Position | null;
  readonly carry: readonly Float[] | null;
  readonly bestValLoss: number | null;
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
    format: FORMAT, config: configJson(a.config), epoch: String(a.epoch), step: String(a.step),
    dtype: a.dtype,
  };
  if (a.normalization) meta.normalization = JSON.stringify(a.normalization);
  if (a.classes) meta.classes = JSON.stringify(a.classes);
  if (a.optimizer) meta.optimizer = JSON.stringify({ name: a.optimizer.name, steps: a.optimizer.steps });
  if (a.position) meta.position = JSON.stringify(a.position);
  if (a.bestValLoss !== null) meta.best_val_loss = String(a.bestValLoss);
  writeFileAtomic(file, encodeSafetensors(tensors, meta));
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
  if (!/^\d+$/.test(s)) throw new InputError(`${file}: __metadata__.${key} must be a whole number, got ${JSON.stringify(s)}`);
  return Number(s);
}

/** Largest checkpoint read (a model this trainer can train is far smaller). */
const MAX_CHECKPOINT_BYTES = 2 ** 31;

/**
 * Reads and checks a checkpoint: format, config, classes, every model tensor present with
 * the shape the config implies, nothing unexpected under `rnn.` / `head.`.
 */
export function loadCheckpoint(file: string): Checkpoint {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new InputError(`${file}: cannot read checkpoint: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (size > MAX_CHECKPOINT_BYTES) throw new InputError(`${file}: ${size} bytes is larger than any checkpoint rnn writes`);
  const st = decodeSafetensors(readFileSync(file), file);
  const m = st.metadata;
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
  if (config.task === "classification" && (!classList || classList.length < 2)) {
    throw new InputError(`${file}: a classification checkpoint needs __metadata__.classes with at least 2 classes`);
  }
  const normalization = parseJson<Normalization>(file, "normalization", m.normalization);
  if (config.data.normalize) {
    const cols = [...config.data.inputs, ...(config.task === "regression" ? config.data.targets : [])];
    for (const c of cols) {
      const s = normalization?.[c];
      if (!s || !Number.isFinite(s.mean) || !Number.isFinite(s.std) || s.std <= 0) {
        throw new InputError(`${file}: __metadata__.normalization has no valid mean/std for column "${c}"`);
      }
    }
  }
  const shape = modelShapeOf(config, classList);
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
    params.set(s.name, t.data);
  }
  for (const name of st.tensors.keys()) {
    if ((name.startsWith("rnn.") || name.startsWith("head.")) && !specs.some((s) => s.name === name)) {
      throw new InputError(`${file}: unexpected tensor ${name} for this model (${shape.layers} layer(s), bias ${shape.bias})`);
    }
  }
  const opt = parseJson<{ name: string; steps: number }>(file, "optimizer", m.optimizer);
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
          const t = st.tensors.get(`optim.${mm[1]}.${s.name}`);
          if (!t || t.data.length !== numel(s.shape)) throw new InputError(`${file}: optimizer state optim.${mm[1]}.${s.name} is missing or misshapen`);
          buf.set(t.data, off); off += t.data.length;
        }
        state.set(mm[1], buf);
      }
    }
    optimizer = { name: opt.name, steps: opt.steps, state };
  }
  const position = parseJson<Position>(file, "position", m.position);
  let carry: Float[] | null = null;
  if (position) {
    carry = [];
    for (let k = 0; k < shape.layers; k++) {
      const t = st.tensors.get(`resume.state_l${k}`);
      if (!t) throw new InputError(`${file}: resume.state_l${k} is missing for a mid-epoch checkpoint`);
      carry.push(t.data);
    }
  }
  return {
    config, shape, dtype: dtype ?? "float32", params, normalization: config.data.normalize ? normalization : null,
    classes: classList, epoch: nonNegInt(file, "epoch", m.epoch), step: nonNegInt(file, "step", m.step),
    optimizer, position, carry,
    bestValLoss: m.best_val_loss !== undefined ? Number(m.best_val_loss) : null,
  };
}

/** Copies a checkpoint's model tensors into a flat parameter buffer laid out by `specs` order. */
export function copyParams(ck: Checkpoint, layout: { slots: readonly { name: string; offset: number }[] }, dst: Float): void {
  for (const s of layout.slots) {
    const t = ck.params.get(s.name);
    if (!t) throw new Error(`missing ${s.name}`);
    dst.set(t, s.offset);
  }
}
