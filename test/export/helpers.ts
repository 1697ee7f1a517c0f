import { readFileSync, writeFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { Chalk } from "chalk";
import { parse } from "csv-parse/sync";
import { paramSpecs, type ModelShape } from "../../src/core/network.js";
import { Rng } from "../../src/core/rng.js";
import { numel, type DType } from "../../src/core/tensor.js";
import type { CellKind } from "../../src/core/cell.js";
import type { ActivationName } from "../../src/core/activations.js";
import { validateConfig } from "../../src/config/load.js";
import { outputsPerTarget } from "../../src/config/schema.js";
import type { Normalization } from "../../src/data/dataset.js";
import { saveCheckpoint } from "../../src/io/checkpoint.js";
import { loadOrt, type OrtModule, type OrtSession } from "../../src/export/ort.js";
import { main } from "../../src/main.js";

/**
 * Helpers of the ONNX export tests: models of every kind written as checkpoints, the CLI run
 * in this process (120 variants would take minutes as child processes), onnxruntime calls.
 */

/** onnxruntime-node, loaded once; null when not installed (the tests then say so, loudly). */
export const ort: OrtModule | null = await loadOrt();
if (!ort) {
  // CI installs the devDependencies from the registry: there a missing onnxruntime is a failure, not a skip.
  if (process.env.CI) throw new Error("onnxruntime-node is not installed, in CI: the ONNX export tests cannot run");
  console.warn("\n*** onnxruntime-node is NOT installed: the ONNX export tests that run it are SKIPPED (npm install) ***\n");
}

export interface Run { code: number; stdout: string; stderr: string }

/** `rnn <args>` in this process, stdin from `input`. */
export async function rnnHere(args: string[], input = ""): Promise<Run> {
  const stdout = new PassThrough(), stderr = new PassThrough(), stdin = new PassThrough();
  let out = "", err = "";
  stdout.on("data", (d: Buffer) => { out += d.toString(); });
  stderr.on("data", (d: Buffer) => { err += d.toString(); });
  stdin.end(input);
  const code = await main(args, { stdout, stderr, stdin, interactive: false, color: new Chalk({ level: 0 }) });
  return { code, stdout: out, stderr: err };
}

/** One exported variant: the model's kind and what its data and checkpoint hold. */
export interface Variant {
  cell: CellKind;
  layers: number;
  bias: boolean;
  activation: ActivationName;
  normalize: boolean;
  task: "regression" | "classification";
  dtype: DType;
  hiddenSize: number;
  /** SPEC §10's head of a regression variant (default: the MSE point model). */
  head?: { likelihood?: "gaussian" | "studentT" | "negativeBinomial"; quantiles?: number[] };
  /** SPEC §13: a bidirectional model, reading the head at every step or (last) once per sequence. */
  bidirectional?: { targetsAt: "every" | "last" };
}

export const INPUTS = ["a", "b", "c"];
export const TARGETS = ["u", "v"];
export const CLASSES = ["down", "flat", "up"];
/** Column statistics far from (0, 1), so that a model that forgets them is far off. */
const IN_STATS = [{ mean: 3, std: 2 }, { mean: -2, std: 0.5 }, { mean: 0.5, std: 4 }];
const OUT_STATS = [{ mean: 10, std: 3 }, { mean: -1, std: 0.2 }];

export const variantName = (v: Variant): string =>
  `${v.cell} L${v.layers} ${v.bias ? "bias" : "nobias"} ${v.activation} ${v.normalize ? "normalised" : "raw"} ${v.task} ${v.dtype}`;

/** A data set: `lengths.length` sequences (column `id`), inputs drawn around IN_STATS. */
export function writeData(file: string, lengths: readonly number[], seed: number): number[][][] {
  const rng = new Rng(seed, 7);
  const seqs: number[][][] = [];
  let text = ["id", ...INPUTS, ...TARGETS, "label"].join(",") + "\n";
  lengths.forEach((T, s) => {
    const rows: number[][] = [];
    for (let t = 0; t < T; t++) {
      const x = IN_STATS.map((st) => Number((st.mean + st.std * (4 * rng.uniform() - 2)).toFixed(4)));
      rows.push(x);
      text += [`s${s}`, ...x, "", "", ""].join(",") + "\n";
    }
    seqs.push(rows);
  });
  writeFileSync(file, text);
  return seqs;
}

/**
 * A checkpoint of the variant with random weights (uniform, ±1.5/√H so the gates and the
 * nonlinearities are far from linear and every gate block differs), its config reading
 * `data` for training and validation.
 */
export function writeVariant(file: string, data: string, v: Variant, seed: number): void {
  const classification = v.task === "classification";
  const config = validateConfig({
    seed, task: v.task, ...(v.bidirectional ? { targetsAt: v.bidirectional.targetsAt } : {}),
    data: { train: data, validation: data, sequenceColumn: "id", inputs: INPUTS, targets: classification ? ["label"] : TARGETS, normalize: v.normalize },
    model: { cell: v.cell, hiddenSize: v.hiddenSize, layers: v.layers, activation: v.activation, bias: v.bias, ...v.head,
      ...(v.bidirectional ? { bidirectional: true } : {}) },
    training: { dtype: v.dtype },
  }, file);
  const shape: ModelShape = {
    cell: v.cell, inputSize: INPUTS.length, hiddenSize: v.hiddenSize, outputSize: classification ? CLASSES.length : TARGETS.length * outputsPerTarget(config.model),
    layers: v.layers, activation: v.activation, bias: v.bias,
    ...(v.bidirectional ? { bidirectional: true, targetsAt: v.bidirectional.targetsAt } : {}),
  };
  const n = paramSpecs(shape).reduce((a, s) => a + numel(s.shape), 0);
  const rng = new Rng(seed, 3), k = 1.5 / Math.sqrt(v.hiddenSize);
  const values = Array.from({ length: n }, () => (2 * rng.uniform() - 1) * k);
  const params = v.dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values);
  let normalization: Normalization | null = null;
  if (v.normalize) {
    const cols: [string, { mean: number; std: number }][] = INPUTS.map((c, i) => [c, IN_STATS[i]]);
    if (!classification && v.head?.likelihood !== "negativeBinomial") TARGETS.forEach((c, i) => cols.push([c, OUT_STATS[i]]));
    normalization = Object.fromEntries(cols);
  }
  saveCheckpoint(file, {
    config, shape, dtype: v.dtype, params, normalization, classes: classification ? CLASSES : null,
    epoch: 1, step: 1, optimizer: null, position: null, carry: null, bestValLoss: null,
  });
}

/** `rnn predict`'s output columns as numbers: [sequence][t][output] (regression preds or class probabilities). */
export function predictOutputs(csv: string, task: Variant["task"], columns?: readonly string[]): Map<string, number[][]> {
  const rows = parse(csv, { columns: true }) as Record<string, string>[];
  const cols = columns ?? (task === "regression" ? TARGETS.map((c) => `pred_${c}`) : CLASSES.map((c) => `p_${c}`));
  const out = new Map<string, number[][]>();
  for (const r of rows) {
    if (!out.has(r.id)) out.set(r.id, []);
    out.get(r.id)!.push(cols.map((c) => Number(r[c])));
  }
  return out;
}

/** The exported model of a checkpoint, through `rnn export` (with `extra` flags), as bytes. */
export async function exportBytes(ck: string, onnxFile: string, extra: readonly string[] = []): Promise<Uint8Array> {
  const r = await rnnHere(["export", ck, "--onnx", onnxFile, ...extra]);
  if (r.code !== 0) throw new Error(`rnn export ${ck}: exit ${r.code}: ${r.stderr}`);
  return readFileSync(onnxFile);
}

/** A float32 tensor of sequences [B][T][I] (equal lengths). */
export function batchTensor(o: OrtModule, seqs: readonly (readonly (readonly number[])[])[]): InstanceType<OrtModule["Tensor"]> {
  const B = seqs.length, T = seqs[0].length, I = seqs[0][0].length;
  return new o.Tensor("float32", Float32Array.from(seqs.flat(2)), [B, T, I]);
}

/** Runs a session; every output as a plain Float32Array with its dims. */
export async function runOrt(s: OrtSession, feeds: Record<string, InstanceType<OrtModule["Tensor"]>>):
  Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const r = await s.run(feeds);
  return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]));
}
