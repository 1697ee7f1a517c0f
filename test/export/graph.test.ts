import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/cli.js";
import { loadCheckpoint, type Checkpoint } from "../../src/io/checkpoint.js";
import { buildOnnxModel, OPSET } from "../../src/export/model.js";
import type { onnx as P } from "onnx-proto";
import { encodeModel, onnx } from "../../src/export/graph.js";
import { EXPORT_TOLERANCE } from "../../src/export/verify.js";
import { freshState, openSession } from "../../src/export/ort.js";
import { CLASSES, INPUTS, TARGETS, batchTensor, exportBytes, ort, predictOutputs, rnnHere, writeData, writeVariant, type Variant } from "./helpers.js";

/**
 * What the exported file holds (SPEC §8: standard operators, opset, names, axes, metadata),
 * and that the agreement tests can fail: a wrong gate order, a lost normalisation or an
 * ignored head are far outside the tolerance.
 */
const base: Variant = { cell: "lstm", layers: 2, bias: true, activation: "tanh", normalize: true, task: "regression", dtype: "float32", hiddenSize: 4 };
const dir = tempDir("rnn-onnx-graph-");
const data = path.join(dir, "data.csv");
const seqs = writeData(data, [6, 6], 3);

async function decoded(v: Variant, name: string): Promise<P.ModelProto> {
  const ck = path.join(dir, `${name}.safetensors`);
  writeVariant(ck, data, v, 41);
  return onnx.ModelProto.decode(await exportBytes(ck, path.join(dir, `${name}.onnx`)));
}

const dims = (vi: P.IValueInfoProto): (string | number)[] =>
  vi.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
const attr = (n: P.INodeProto, name: string): P.IAttributeProto | undefined => n.attribute!.find((a) => a.name === name);
const text = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array());

describe("ONNX export: the file", () => {
  it("LSTM regression: opset, one LSTM per layer with layout 0, inputs and outputs with free axes, metadata", async () => {
    const m = await decoded(base, "lstm");
    expect(m.opsetImport!.map((o) => [o.domain, Number(o.version)])).toEqual([["", OPSET]]);
    expect(OPSET).toBeGreaterThanOrEqual(14);
    const g = m.graph!;
    expect(g.node!.every((n) => !n.domain)).toBe(true); // the default (standard) domain only
    const cells = g.node!.filter((n) => n.opType === "LSTM");
    expect(cells).toHaveLength(2);
    for (const n of cells) {
      expect(Number(attr(n, "layout")!.i)).toBe(0);
      expect(Number(attr(n, "hidden_size")!.i)).toBe(4);
      expect(attr(n, "input_forget")).toBeUndefined();
    }
    expect(g.input!.map((i) => [i.name, dims(i)])).toEqual([
      ["x", ["batch", "time", 3]], ["h0", [2, "state_batch", 4]], ["c0", [2, "state_batch", 4]]]);
    expect(g.output!.map((i) => [i.name, dims(i)])).toEqual([
      ["y", ["batch", "time", 2]], ["hn", [2, "batch", 4]], ["cn", [2, "batch", 4]]]);
    expect(g.initializer!.every((t) => t.dataType === onnx.TensorProto.DataType.FLOAT || t.dataType === onnx.TensorProto.DataType.INT64)).toBe(true);
    const meta = Object.fromEntries(m.metadataProps!.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.inputs!)).toEqual(INPUTS);
    expect(JSON.parse(meta.targets!)).toEqual(TARGETS);
    expect(meta.task).toBe("regression");
    expect(meta.classes).toBeUndefined();
  });

  it("GRU classification: linear_before_reset = 1, softmax output p, class names in metadata", async () => {
    const m = await decoded({ ...base, cell: "gru", task: "classification", layers: 3 }, "gru");
    const cells = m.graph!.node!.filter((n) => n.opType === "GRU");
    expect(cells).toHaveLength(3);
    for (const n of cells) expect(Number(attr(n, "linear_before_reset")!.i)).toBe(1);
    expect(m.graph!.node!.filter((n) => n.opType === "Softmax")).toHaveLength(1);
    expect(m.graph!.output!.map((o) => o.name)).toEqual(["p", "hn"]);
    const meta = Object.fromEntries(m.metadataProps!.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta.classes!)).toEqual(CLASSES);
    expect(JSON.parse(meta.targets!)).toEqual(["label"]);
  });

  it.each(["tanh", "relu", "sigmoid"] as const)("Elman %s: ONNX RNN with activations [%s]", async (act) => {
    const m = await decoded({ ...base, cell: "elman", activation: act, layers: 1, bias: false }, `elman-${act}`);
    const [n] = m.graph!.node!.filter((x) => x.opType === "RNN");
    expect(attr(n, "activations")!.strings!.map(text)).toEqual([{ tanh: "Tanh", relu: "Relu", sigmoid: "Sigmoid" }[act]]);
    expect(n.input![3]).toBe(""); // no bias tensor
  });
});

/** rnn predict's numbers and onnxruntime's on a model built from `mutate(checkpoint)`: the largest relative gap. */
async function gap(v: Variant, name: string, mutate: (ck: Checkpoint) => Checkpoint): Promise<number> {
  const file = path.join(dir, `${name}.safetensors`);
  writeVariant(file, data, v, 42);
  const pr = await rnnHere(["predict", file, "--data", data]);
  const want = [0, 1].flatMap((s) => predictOutputs(pr.stdout, v.task).get(`s${s}`)!.flat());
  const s = await openSession(ort!, encodeModel(buildOnnxModel(mutate(loadCheckpoint(file)), "test")), 1);
  const got = (await s.run({ x: batchTensor(ort!, seqs), ...freshState(ort!, v) }))[v.task === "regression" ? "y" : "p"].data as Float32Array;
  await s.release();
  return Math.max(...want.map((w, i) => Math.abs(got[i] - w) / (1 + Math.abs(w))));
}

/** The checkpoint with PyTorch's gate blocks in another order (what a wrong permutation would export). */
function swapGates(ck: Checkpoint, G: number): Checkpoint {
  const params = new Map(ck.params);
  for (const [name, t] of ck.params) {
    if (!name.startsWith("rnn.")) continue;
    const n = t.length / G, out = t.slice();
    out.set(t.subarray(0, n), n); out.set(t.subarray(n, 2 * n), 0); // blocks 0 and 1 swapped
    params.set(name, out);
  }
  return { ...ck, params };
}

describe.skipIf(!ort)("ONNX export: the agreement tests can fail", () => {
  it("unchanged, the gap is within the tolerance", async () => {
    expect(await gap(base, "same", (ck) => ck)).toBeLessThan(EXPORT_TOLERANCE);
  });
  it.each([["lstm", 4], ["gru", 3]] as const)("%s with two gate blocks swapped: far off", async (cell, G) => {
    expect(await gap({ ...base, cell }, `swap-${cell}`, (ck) => swapGates(ck, G))).toBeGreaterThan(100 * EXPORT_TOLERANCE);
  });
  it("without the normalisation: far off", async () => {
    expect(await gap(base, "nonorm", (ck) => ({ ...ck, normalization: null }))).toBeGreaterThan(100 * EXPORT_TOLERANCE);
  });
  it("classification without the softmax's inputs' bias: far off", async () => {
    const v = { ...base, cell: "gru" as const, task: "classification" as const };
    expect(await gap(v, "nobias-head", (ck) => ({ ...ck, params: new Map([...ck.params].map(([k, t]) => [k, k === "head.bias" ? t.map(() => 0) : t])) }))).toBeGreaterThan(100 * EXPORT_TOLERANCE);
  });
});

it("an export is deterministic: the same checkpoint gives the same bytes", async () => {
  const file = path.join(dir, "twice.safetensors");
  writeVariant(file, data, base, 43);
  const a = await exportBytes(file, path.join(dir, "a.onnx")), b = await exportBytes(file, path.join(dir, "b.onnx"));
  expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
});
