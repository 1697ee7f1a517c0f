import { z } from "zod";

const positiveInt = z.int().min(1);
const columnName = z.string().min(1, { error: "must be a non-empty column name" });
/** Optional keys may be left out or written as null (`init: null`). */
const optionalPath = z.string().min(1).nullable().default(null);

const sgd = z.strictObject({
  name: z.literal("sgd"),
  lr: z.number().positive(),
  momentum: z.number().min(0).max(1, { error: "must be in [0, 1)" }).default(0),
});

const adam = z.strictObject({
  name: z.literal("adam"),
  lr: z.number().positive().default(0.001),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
});

const bptt = z.strictObject({
  truncate: positiveInt,
  stride: positiveInt.optional(),
}).transform((b) => ({ truncate: b.truncate, stride: b.stride ?? b.truncate }))
  .refine((b) => b.stride <= b.truncate, { error: "must be ≤ truncate", path: ["stride"] });

const clip = z.union([
  z.strictObject({ norm: z.number().positive() }),
  z.strictObject({ value: z.number().positive() }),
], { error: "must be { norm: c } or { value: c } with c > 0, or null" });

/** The config file of SPEC §3: every key, its type and its default. Unknown keys are errors. */
export const configSchema = z.strictObject({
  seed: z.int().min(0).max(2 ** 32 - 1).default(0),
  data: z.strictObject({
    train: z.string().min(1),
    validation: optionalPath,
    validationSplit: z.number().min(0).lt(1).default(0),
    sequenceColumn: columnName.nullable().default(null),
    inputs: z.array(columnName).min(1),
    targets: z.array(columnName).min(1),
    shift: z.int().min(0).default(0),
    normalize: z.boolean().default(false),
  }),
  task: z.enum(["regression", "classification"]).default("regression"),
  targetsAt: z.enum(["every", "last"]).default("every"),
  model: z.strictObject({
    cell: z.enum(["elman", "lstm", "gru"]).default("elman"),
    hiddenSize: positiveInt.max(65536).default(32),
    layers: positiveInt.max(64).default(1),
    activation: z.enum(["tanh", "relu", "sigmoid"]).default("tanh"),
    bias: z.boolean().default(true),
    init: optionalPath,
  }).prefault({}),
  training: z.strictObject({
    epochs: positiveInt.default(10),
    batchSize: positiveInt.default(16),
    shuffle: z.boolean().default(true),
    dtype: z.enum(["float32", "float64"]).default("float32"),
    bptt: bptt.nullable().default(null),
    optimizer: z.discriminatedUnion("name", [sgd, adam], {
      error: "must be { name: sgd, lr, momentum } or { name: adam, lr, beta1, beta2, eps }",
    }).default({ name: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
    clip: clip.nullable().default(null),
  }).prefault({}),
  output: z.strictObject({
    dir: z.string().min(1).nullable().default(null),
  }).prefault({}),
}).superRefine((c, ctx) => {
  if (c.task === "classification" && c.data.targets.length !== 1) {
    ctx.addIssue({ code: "custom", path: ["data", "targets"], message: "classification takes exactly one label column" });
  }
  if (c.data.validation !== null && c.data.validationSplit > 0) {
    ctx.addIssue({ code: "custom", path: ["data", "validationSplit"], message: "give data.validation or validationSplit, not both" });
  }
  if (c.targetsAt === "last" && c.data.shift > 0) {
    ctx.addIssue({ code: "custom", path: ["data", "shift"], message: "must be 0 with targetsAt: last (the target is read from each sequence's final row)" });
  }
  if (c.model.cell !== "elman" && c.model.activation !== "tanh") {
    ctx.addIssue({ code: "custom", path: ["model", "activation"], message: `${c.model.cell} has fixed nonlinearities: activation must be tanh` });
  }
});

/** A config as written, defaults filled, paths still as written. */
export type Config = z.output<typeof configSchema>;
