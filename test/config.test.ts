import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, resolvePaths, validateConfig } from "../src/config/load.js";
import { rnn, tempDir } from "./helpers/cli.js";

const data = { train: "a.csv", inputs: ["x"], targets: ["y"] };

/** Every config error path: a bad config and the exact one-line message it gets. */
const table: [string, unknown, string][] = [
  ["unknown top-level key", { data, not_a_key: 3 }, "config.yaml: not_a_key: unknown key"],
  ["unknown nested key", { data: { ...data, colums: 1 } }, "config.yaml: data.colums: unknown key"],
  ["missing data", {}, "config.yaml: data: is required"],
  ["missing data.train", { data: { inputs: ["x"], targets: ["y"] } }, "config.yaml: data.train: is required"],
  ["empty inputs", { data: { ...data, inputs: [] } }, "config.yaml: data.inputs: must be ≥ 1 long"],
  ["inputs not a list", { data: { ...data, inputs: "x" } }, 'config.yaml: data.inputs: must be a list, got "x"'],
  ["negative shift", { data: { ...data, shift: -1 } }, "config.yaml: data.shift: must be ≥ 0"],
  ["fractional shift", { data: { ...data, shift: 1.5 } }, "config.yaml: data.shift: must be an integer, got 1.5"],
  ["validationSplit 1", { data: { ...data, validationSplit: 1 } }, "config.yaml: data.validationSplit: must be < 1"],
  ["both validations", { data: { ...data, validation: "v.csv", validationSplit: 0.2 } }, "config.yaml: data.validationSplit: give data.validation or validationSplit, not both"],
  ["bad task", { data, task: "ranking" }, 'config.yaml: task: must be one of "regression", "classification", got "ranking"'],
  ["bad targetsAt", { data, targetsAt: "first" }, 'config.yaml: targetsAt: must be one of "every", "last", got "first"'],
  ["classification with two targets", { data: { ...data, targets: ["a", "b"] }, task: "classification" }, "config.yaml: data.targets: classification takes exactly one label column"],
  ["shift with targetsAt last", { data: { ...data, shift: 2 }, targetsAt: "last" }, "config.yaml: data.shift: must be 0 with targetsAt: last (the target is read from each sequence's final row)"],
  ["bad cell", { data, model: { cell: "transformer" } }, 'config.yaml: model.cell: must be one of "elman", "lstm", "gru", got "transformer"'],
  ["zero hiddenSize", { data, model: { hiddenSize: 0 } }, "config.yaml: model.hiddenSize: must be ≥ 1"],
  ["string hiddenSize", { data, model: { hiddenSize: "big" } }, 'config.yaml: model.hiddenSize: must be a number, got "big"'],
  ["huge hiddenSize", { data, model: { hiddenSize: 1e6 } }, "config.yaml: model.hiddenSize: must be ≤ 65536"],
  ["bad activation", { data, model: { activation: "gelu" } }, 'config.yaml: model.activation: must be one of "tanh", "relu", "sigmoid", got "gelu"'],
  ["lstm with relu", { data, model: { cell: "lstm", activation: "relu" } }, "config.yaml: model.activation: lstm has fixed nonlinearities: activation must be tanh"],
  ["bias not boolean", { data, model: { bias: "yes" } }, 'config.yaml: model.bias: must be a boolean, got "yes"'],
  ["zero epochs", { data, training: { epochs: 0 } }, "config.yaml: training.epochs: must be ≥ 1"],
  ["bad dtype", { data, training: { dtype: "float16" } }, 'config.yaml: training.dtype: must be one of "float32", "float64", got "float16"'],
  ["stride > truncate", { data, training: { bptt: { truncate: 3, stride: 5 } } }, "config.yaml: training.bptt.stride: must be ≤ truncate"],
  ["zero truncate", { data, training: { bptt: { truncate: 0 } } }, "config.yaml: training.bptt.truncate: must be ≥ 1"],
  ["unknown optimizer", { data, training: { optimizer: { name: "rmsprop", lr: 1 } } }, "config.yaml: training.optimizer.name: must be { name: sgd, lr, momentum, weightDecay }, { name: adam, lr, beta1, beta2, eps, weightDecay } or { name: adamw, … }"],
  ["sgd without lr", { data, training: { optimizer: { name: "sgd" } } }, "config.yaml: training.optimizer.lr: is required"],
  ["negative lr", { data, training: { optimizer: { name: "adam", lr: -1 } } }, "config.yaml: training.optimizer.lr: must be > 0"],
  ["beta1 of 1", { data, training: { optimizer: { name: "adam", beta1: 1 } } }, "config.yaml: training.optimizer.beta1: must be < 1"],
  ["unknown optimizer key", { data, training: { optimizer: { name: "sgd", lr: 0.1, nesterov: true } } }, "config.yaml: training.optimizer.nesterov: unknown key"],
  ["negative clip norm", { data, training: { clip: { norm: -1 } } }, "config.yaml: training.clip.norm: must be > 0"],
  ["clip of neither kind", { data, training: { clip: { foo: 1 } } }, "config.yaml: training.clip: must be { norm: c } or { value: c } with c > 0, or null"],
  ["model null", { data, model: null }, "config.yaml: model: must be an object, got null"],
  ["early stopping without validation data", { data, training: { earlyStopping: { patience: 3 } } }, "config.yaml: training.earlyStopping: needs validation data (data.validation or data.validationSplit > 0)"],
  ["schedule of no kind", { data, training: { schedule: { name: "linear" } } }, "config.yaml: training.schedule.name: must be { name: step, stepSize, gamma }, { name: cosine, tMax, etaMin } or { name: plateau, factor, patience, threshold, cooldown, minLr }"],
  ["step schedule without stepSize", { data, training: { schedule: { name: "step" } } }, "config.yaml: training.schedule.stepSize: is required"],
  ["plateau factor of 1", { data, training: { schedule: { name: "plateau", factor: 1 } } }, "config.yaml: training.schedule.factor: must be < 1"],
  ["dropout of 1", { data, model: { dropout: 1 } }, "config.yaml: model.dropout: must be < 1"],
  ["negative weight decay", { data, training: { optimizer: { name: "adamw", weightDecay: -0.1 } } }, "config.yaml: training.optimizer.weightDecay: must be ≥ 0"],
  ["unknown missing fill", { data: { ...data, missing: { inputs: "interpolate" } } }, 'config.yaml: data.missing.inputs: must be one of "error", "ffill", "mean", "zero", got "interpolate"'],
];

describe("config validation", () => {
  for (const [what, cfg, msg] of table) {
    it(what, () => expect(() => validateConfig(cfg, "config.yaml")).toThrow(msg));
  }

  it("fills every default", () => {
    const c = validateConfig({ data }, "config.yaml");
    expect(c).toEqual({
      seed: 0,
      data: { train: "a.csv", text: null, tokens: "char", validation: null, validationSplit: 0, sequenceColumn: null, inputs: ["x"], targets: ["y"], shift: 0, normalize: false,
        missing: { values: [""], inputs: "error" }, categorical: [] },
      task: "regression", targetsAt: "every",
      model: { cell: "elman", hiddenSize: 32, layers: 1, activation: "tanh", bias: true, init: null, dropout: 0, recurrentDropout: 0,
        likelihood: null, quantiles: null, bidirectional: false, embedding: null },
      training: { epochs: 10, batchSize: 16, shuffle: true, dtype: "float32", bptt: null,
        optimizer: { name: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, clip: null,
        schedule: null, earlyStopping: null },
      output: { dir: null, tensorboard: false },
    });
  });

  it("fills AdamW's defaults and cosine's tMax from the epochs", () => {
    const c = validateConfig({ data, training: { epochs: 7, optimizer: { name: "adamw" }, schedule: { name: "cosine" } } }, "c.yaml");
    expect(c.training.optimizer).toEqual({ name: "adamw", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
    expect(c.training.schedule).toEqual({ name: "cosine", tMax: 7, etaMin: 0 });
  });

  it("stride defaults to truncate", () => {
    expect(validateConfig({ data, training: { bptt: { truncate: 7 } } }, "c.yaml").training.bptt).toEqual({ truncate: 7, stride: 7 });
  });

  it("resolves paths relative to the config file", () => {
    const c = resolvePaths(validateConfig({ data: { ...data, validation: "../v.csv" }, model: { init: "w.safetensors" } }, "c.yaml"), "/p/q/c.yaml");
    expect([c.data.train, c.data.validation, c.model.init, c.output.dir]).toEqual(["/p/q/a.csv", "/p/v.csv", "/p/q/w.safetensors", "/p/q/runs/c"]);
  });
});

describe("config files through the CLI", () => {
  const dir = tempDir();
  const cases: [string, string, RegExp][] = [
    ["bad.yaml", "seed: 1\ndata: [\n", /^rnn: bad\.yaml:\d+:\d+: not valid YAML: Flow sequence/],
    ["bad.json", "{\"seed\": 1,", /^rnn: bad\.json: not valid JSON: /],
    ["c.toml", "seed = 1", /^rnn: c\.toml: a config must be \.yaml, \.yml or \.json/],
    ["dup.yaml", "seed: 1\nseed: 2\n", /^rnn: dup\.yaml:2:1: not valid YAML: Map keys must be unique$/m],
    ["bomb.yaml", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", /^rnn: bomb\.yaml: .*alias/i],
  ];
  for (const [name, text, re] of cases) {
    it(`${name}: exit 2, one line`, () => {
      writeFileSync(path.join(dir, name), text);
      const r = rnn(["train", name], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
    });
  }
  it("a missing config file", () => {
    const r = rnn(["train", "nope.yaml"], { cwd: dir });
    expect([r.code, r.stderr.trim()]).toEqual([2, "rnn: nope.yaml: cannot read config: ENOENT"]);
  });
});

describe("the shipped configs", () => {
  const dir = path.resolve(import.meta.dirname, "../configs");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".yaml"))) {
    it(`${f} is valid and its data files exist`, async () => {
      const c = await loadConfig(path.join(dir, f));
      for (const p of [c.data.train, c.data.validation, c.model.init]) if (p !== null) expect(existsSync(p), p).toBe(true);
    });
  }
});
