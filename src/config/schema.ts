import { z } from "zod";

const positiveInt = z.int().min(1);
const columnName = z.string().min(1, { error: "must be a non-empty column name" });
/** A file path: non-empty, and without the NUL character no file system accepts. */
const filePath = z.string().min(1).refine((s) => !s.includes("\0"), { error: "must not contain a NUL character" });
/** Optional keys may be left out or written as null (`init: null`). */
const optionalPath = filePath.nullable().default(null);

/** torch.optim's `weight_decay` (SPEC §6): 0 unless given; AdamW's default is 0.01. */
const weightDecay = (byDefault: number) => z.number().min(0).default(byDefault);

const sgd = z.strictObject({
  name: z.literal("sgd"),
  lr: z.number().positive(),
  momentum: z.number().min(0).max(1, { error: "must be in [0, 1)" }).default(0),
  weightDecay: weightDecay(0),
});

const adamKeys = {
  lr: z.number().positive().default(0.001),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
};
const adam = z.strictObject({ name: z.literal("adam"), ...adamKeys, weightDecay: weightDecay(0) });
const adamw = z.strictObject({ name: z.literal("adamw"), ...adamKeys, weightDecay: weightDecay(0.01) });

/** Learning-rate schedules stepped once per epoch (SPEC §6; torch.optim.lr_scheduler). */
const schedule = z.discriminatedUnion("name", [
  z.strictObject({ name: z.literal("step"), stepSize: positiveInt, gamma: z.number().positive().default(0.1) }),
  // tMax defaults to training.epochs (filled in below, so the checkpoint records it).
  z.strictObject({ name: z.literal("cosine"), tMax: positiveInt.optional(), etaMin: z.number().min(0).default(0) }),
  z.strictObject({
    name: z.literal("plateau"),
    factor: z.number().positive().lt(1).default(0.1),
    patience: z.int().min(0).default(10),
    threshold: z.number().min(0).default(1e-4),
    cooldown: z.int().min(0).default(0),
    minLr: z.number().min(0).default(0),
  }),
], { error: "must be { name: step, stepSize, gamma }, { name: cosine, tMax, etaMin } or { name: plateau, factor, patience, threshold, cooldown, minLr }" });

/** Keras' EarlyStopping on val_loss. */
const earlyStopping = z.strictObject({
  patience: z.int().min(0),
  minDelta: z.number().min(0).default(0),
});

/** A dropout probability: 0 ≤ p < 1. */
const dropoutRate = z.number().min(0).lt(1).default(0);

/** Missing-value handling (SPEC §6): which cell texts are missing, and what a missing input becomes. */
const missing = z.strictObject({
  values: z.array(z.string()).default([""]),
  inputs: z.enum(["error", "ffill", "mean", "zero"]).default("error"),
});

/**
 * SPEC §11: input columns read as categories, each through its own `nn.Embedding(cardinality + 1,
 * size)`; size null is min(50, (cardinality + 1) // 2), fixed once the training split is read.
 */
const categorical = z.array(z.strictObject({
  column: columnName,
  size: positiveInt.max(65536).nullable().default(null),
})).default([]);

const bptt = z.strictObject({
  truncate: positiveInt,
  stride: positiveInt.optional(),
}).transform((b) => ({ truncate: b.truncate, stride: b.stride ?? b.truncate }))
  .refine((b) => b.stride <= b.truncate, { error: "must be ≤ truncate", path: ["stride"] });

const clip = z.union([
  z.strictObject({ norm: z.number().positive() }),
  z.strictObject({ value: z.number().positive() }),
], { error: "must be { norm: c } or { value: c } with c > 0, or null" });

/**
 * The largest checkpoint rnn reads back: what one read of a file can hold in Node.js
 * (2 GiB − 1). A model whose checkpoint would be larger is refused when its config is read.
 */
export const MAX_CHECKPOINT_FILE = 2 ** 31 - 1;

const GATES = { elman: 1, gru: 3, lstm: 4 } as const;

/** What a model's size comes from: its cell, sizes, bias, and the inputs and outputs. */
export interface ModelSize {
  readonly cell: "elman" | "lstm" | "gru";
  readonly inputs: number;
  readonly hiddenSize: number;
  readonly layers: number;
  readonly bias: boolean;
  readonly outputs: number;
  readonly bidirectional?: boolean;
}

/** Raw head outputs per target (SPEC §10's P): 1 for the MSE point model. */
export function outputsPerTarget(m: { readonly likelihood: string | null; readonly quantiles: readonly number[] | null }): number {
  if (m.quantiles !== null) return m.quantiles.length;
  return m.likelihood === null ? 1 : m.likelihood === "studentT" ? 3 : 2;
}

/** The number of parameters (SPEC §5 tensors: PyTorch's nn.RNN/LSTM/GRU + nn.Linear). */
export function parameterCount(m: ModelSize): number {
  const g = GATES[m.cell], H = m.hiddenSize, b = m.bias ? 1 : 0, D = m.bidirectional ? 2 : 1;
  const layer = (inputs: number): number => D * (g * H * (inputs + H) + b * 2 * g * H);
  return layer(m.inputs) + (m.layers - 1) * layer(D * H) + m.outputs * D * H + b * m.outputs;
}

/**
 * Bytes a model needs while it trains (weights, gradients and the optimizer's buffers) and
 * in its checkpoint (weights and optimizer buffers), before any activation memory.
 */
export function modelBytes(m: ModelSize, dtype: "float32" | "float64", optimizer: { name: string; momentum?: number }):
  { params: number; training: number; checkpoint: number } {
  const params = parameterCount(m);
  const item = dtype === "float32" ? 4 : 8;
  const states = optimizer.name === "adam" || optimizer.name === "adamw" ? 2 : optimizer.momentum ? 1 : 0;
  return { params, training: params * item * (2 + states), checkpoint: params * item * (1 + states) };
}

/** Bytes for people: 1.5 GiB, 4.4 TiB. */
export function formatBytes(b: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return i === 0 ? `${b} bytes` : `${b.toPrecision(3)} ${units[i]}`;
}

/**
 * The largest seed: the generator takes 32 bits (src/core/rng.ts), so every seed up to this
 * one gives its own run, and a larger one would wrap onto a smaller. `--seed` has this bound too.
 */
export const MAX_SEED = 2 ** 32 - 1;

/** The config file of SPEC §3: every key, its type and its default. Unknown keys are errors. */
export const configSchema = z.strictObject({
  seed: z.int().min(0).max(MAX_SEED).default(0),
  data: z.strictObject({
    // A CSV's keys (SPEC §3); `train`, `inputs` and `targets` are required unless `text` is given.
    train: filePath.optional(),
    // SPEC §12: a UTF-8 text, a language model over its tokens; it replaces the CSV's keys.
    text: optionalPath,
    tokens: z.enum(["char", "word"]).default("char"),
    validation: optionalPath,
    validationSplit: z.number().min(0).lt(1).default(0),
    sequenceColumn: columnName.nullable().default(null),
    inputs: z.array(columnName).min(1).optional(),
    targets: z.array(columnName).min(1).optional(),
    shift: z.int().min(0).default(0),
    normalize: z.boolean().default(false),
    missing: missing.prefault({}),
    categorical,
  }).superRefine((d, ctx) => {
    if (d.text !== null) {
      if (d.categorical.length > 0) ctx.addIssue({ code: "custom", path: ["categorical"], message: "is not a key of a data.text model (SPEC §12: its input is the token)" });
      return;
    }
    const seen = new Set<string>();
    d.categorical.forEach(({ column }, j) => {
      if (seen.has(column)) ctx.addIssue({ code: "custom", path: ["categorical", j, "column"], message: `column ${JSON.stringify(column)} is listed twice` });
      else if (d.inputs?.includes(column)) ctx.addIssue({ code: "custom", path: ["categorical", j, "column"], message: `column ${JSON.stringify(column)} is also in data.inputs (a column is numeric or categorical, not both)` });
      seen.add(column);
    });
    for (const k of ["train", "inputs", "targets"] as const) {
      if (d[k] === undefined) ctx.addIssue({ code: "custom", path: [k], message: "is required" });
    }
  }).transform(({ train, inputs, targets, ...d }) => ({
    ...d,
    // A text model's training file is its text; it has no columns.
    train: train ?? d.text ?? "", inputs: inputs ?? [], targets: targets ?? [],
  })),
  task: z.enum(["regression", "classification"]).default("regression"),
  targetsAt: z.enum(["every", "last"]).default("every"),
  model: z.strictObject({
    cell: z.enum(["elman", "lstm", "gru"]).default("elman"),
    hiddenSize: positiveInt.max(65536).default(32),
    layers: positiveInt.max(64).default(1),
    activation: z.enum(["tanh", "relu", "sigmoid"]).default("tanh"),
    bias: z.boolean().default(true),
    init: optionalPath,
    dropout: dropoutRate,
    recurrentDropout: dropoutRate,
    // SPEC §10: a distribution head, or quantile regression, instead of the MSE point model.
    likelihood: z.enum(["gaussian", "studentT", "negativeBinomial"]).nullable().default(null),
    quantiles: z.array(z.number().gt(0, { error: "must be in (0, 1)" }).lt(1, { error: "must be in (0, 1)" })).min(1).nullable().default(null),
    // SPEC §13: each layer reads its sequence both ways (whole sequences only).
    bidirectional: z.boolean().default(false),
    // SPEC §12: the size E of a text model's token embedding (encoder.weight [V, E]); default hiddenSize.
    embedding: positiveInt.max(65536).nullable().default(null),
  }).prefault({}),
  training: z.strictObject({
    epochs: positiveInt.default(10),
    batchSize: positiveInt.default(16),
    shuffle: z.boolean().default(true),
    dtype: z.enum(["float32", "float64"]).default("float32"),
    bptt: bptt.nullable().default(null),
    optimizer: z.discriminatedUnion("name", [sgd, adam, adamw], {
      error: "must be { name: sgd, lr, momentum, weightDecay }, { name: adam, lr, beta1, beta2, eps, weightDecay } or { name: adamw, … }",
    }).default({ name: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }),
    clip: clip.nullable().default(null),
    schedule: schedule.nullable().default(null),
    earlyStopping: earlyStopping.nullable().default(null),
  }).prefault({}).transform(({ schedule: s, ...t }) => ({
    ...t, schedule: s?.name === "cosine" ? { ...s, tMax: s.tMax ?? t.epochs } : s,
  })),
  output: z.strictObject({
    dir: filePath.nullable().default(null),
    tensorboard: z.boolean().default(false),
  }).prefault({}),
}).transform((c) => (c.data.text === null ? c : {
  // A text model (SPEC §12) is a classifier of the next token at every step.
  ...c, task: "classification" as const, targetsAt: "every" as const,
  model: { ...c.model, embedding: c.model.embedding ?? c.model.hiddenSize },
})).superRefine((c, ctx) => {
  if (c.model.bidirectional) {
    // SPEC §13: the reverse direction needs each sequence whole, from its own last step.
    if (c.training.bptt !== null) {
      ctx.addIssue({ code: "custom", path: ["training", "bptt"], message: "must be null with model.bidirectional (the reverse direction reads each sequence whole)" });
    }
    if (c.data.text !== null) {
      ctx.addIssue({ code: "custom", path: ["model", "bidirectional"], message: "is for sequence models: a text model (data.text) predicts each next token from the tokens before it (SPEC §13)" });
    } else if (c.data.sequenceColumn === null) {
      ctx.addIssue({ code: "custom", path: ["data", "sequenceColumn"], message: "must be set with model.bidirectional (the reverse direction starts at each sequence's own last step)" });
    }
  }
  const text = c.data.text !== null;
  if (!text && c.model.embedding !== null) {
    ctx.addIssue({ code: "custom", path: ["model", "embedding"], message: "is the token embedding of a data.text model (SPEC §12)" });
  }
  if (!text && c.task === "classification" && c.data.targets.length !== 1) {
    ctx.addIssue({ code: "custom", path: ["data", "targets"], message: "classification takes exactly one label column" });
  }
  if (c.data.validation !== null && c.data.validationSplit > 0) {
    ctx.addIssue({ code: "custom", path: ["data", "validationSplit"], message: "give data.validation or validationSplit, not both" });
  }
  if (c.targetsAt === "last" && c.data.shift > 0) {
    ctx.addIssue({ code: "custom", path: ["data", "shift"], message: "must be 0 with targetsAt: last (the target is read from each sequence's final row)" });
  }
  // A model too large to train or to save is refused here, before anything is allocated.
  // Classification's output count (the classes, a text's vocabulary) is not known yet: 2 is the least it can be.
  // (Refinements run even when a size failed its own range check: skip the estimate then.)
  const outputs = c.task === "regression" ? c.data.targets.length * outputsPerTarget(c.model) : 2;
  const sane = (v: number, max: number): boolean => Number.isSafeInteger(v) && v >= 1 && v <= max;
  if (!sane(c.model.hiddenSize, 65536) || !sane(c.model.layers, 64) || !(c.model.cell in GATES)) return;
  const need = modelBytes({ cell: c.model.cell, inputs: c.data.inputs.length, hiddenSize: c.model.hiddenSize, layers: c.model.layers, bias: c.model.bias, outputs, bidirectional: c.model.bidirectional },
    c.training.dtype, c.training.optimizer);
  if (need.checkpoint > MAX_CHECKPOINT_FILE) {
    ctx.addIssue({
      code: "custom", path: ["model", "hiddenSize"],
      message: `${c.model.layers} ${c.model.cell} layer(s) of hidden size ${c.model.hiddenSize} (${need.params.toExponential(2)} parameters) would need ${formatBytes(need.training)} for ${c.training.dtype} weights, gradients and ${c.training.optimizer.name} state, and a checkpoint of ${formatBytes(need.checkpoint)}; rnn reads checkpoints up to ${formatBytes(MAX_CHECKPOINT_FILE + 1)}`,
    });
  }
  if (c.training.earlyStopping !== null && c.data.validation === null && c.data.validationSplit === 0) {
    ctx.addIssue({ code: "custom", path: ["training", "earlyStopping"], message: "needs validation data (data.validation or data.validationSplit > 0)" });
  }
  if (c.model.likelihood !== null && c.model.quantiles !== null) {
    ctx.addIssue({ code: "custom", path: ["model", "quantiles"], message: "give model.likelihood or model.quantiles, not both" });
  }
  if (c.task === "classification") {
    for (const k of ["likelihood", "quantiles"] as const) {
      if (c.model[k] !== null) ctx.addIssue({ code: "custom", path: ["model", k], message: "is for regression only (task is classification)" });
    }
  }
  c.model.quantiles?.forEach((q, i, qs) => {
    if (i > 0 && !(q > qs[i - 1])) ctx.addIssue({ code: "custom", path: ["model", "quantiles", i], message: `must be strictly increasing (${q} follows ${qs[i - 1]})` });
  });
  if (c.model.cell !== "elman" && c.model.activation !== "tanh") {
    ctx.addIssue({ code: "custom", path: ["model", "activation"], message: `${c.model.cell} has fixed nonlinearities: activation must be tanh` });
  }
});

/** A config as written, defaults filled, paths still as written. */
export type Config = z.output<typeof configSchema>;
