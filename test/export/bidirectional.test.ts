import path from "node:path";
import { describe, expect, it } from "vitest";
import { closeTo } from "../helpers/compare.js";
import { tempDir } from "../helpers/cli.js";
import { EXPORT_TOLERANCE } from "../../src/export/verify.js";
import { openSession } from "../../src/export/ort.js";
import { exportBytes, ort, predictOutputs, rnnHere, variantName, writeData, writeVariant, type Variant } from "./helpers.js";

/**
 * SPEC §13's `export --onnx`: each layer one ONNX RNN/LSTM/GRU with direction = "bidirectional"
 * (W, R, B stacked forward then reverse), Y [T, 2, B, H] → [T, B, 2H]. A batch of sequences of
 * unequal lengths runs in one onnxruntime call with `sequence_lens` (the reverse pass from each
 * sequence's own last step), and must give `rnn predict`'s numbers on every real row — under
 * targetsAt: last, y/p [batch, 1, O] against predict's one row per sequence.
 */
const variants: (Variant & { label: string })[] = [];
let i = 0;
for (const cell of ["elman", "lstm", "gru"] as const) {
  for (const targetsAt of ["every", "last"] as const) {
    const task = i % 2 ? "classification" : "regression";
    const v: Variant = { cell, layers: 2, bias: i % 3 !== 2, activation: cell === "elman" && i > 0 ? "relu" : "tanh", normalize: i % 4 !== 3,
      task, dtype: i % 2 ? "float64" : "float32", hiddenSize: 4, bidirectional: { targetsAt } };
    variants.push({ ...v, label: `bidirectional targetsAt ${targetsAt} ${variantName(v)}` });
    i++;
  }
}

describe.skipIf(!ort)("ONNX export of bidirectional models agrees with rnn predict in onnxruntime (sequence_lens)", () => {
  const dir = tempDir("rnn-onnx-bidir-");
  const lengths = [7, 3, 9, 1, 5], data = path.join(dir, "data.csv");
  const seqs = writeData(data, lengths, 31);
  const T = Math.max(...lengths), I = seqs[0][0].length;

  it.each(variants.map((v, k) => [v.label, v, k] as const))("%s", async (_name, v, k) => {
    const ck = path.join(dir, `b${k}.safetensors`);
    writeVariant(ck, data, v, 500 + k);
    const pr = await rnnHere(["predict", ck, "--data", data]);
    expect(pr.code, pr.stderr).toBe(0);
    const want = predictOutputs(pr.stdout, v.task);
    const last = v.bidirectional?.targetsAt === "last";
    lengths.forEach((n, s) => expect(want.get(`s${s}`)!.length, `predict rows of s${s}`).toBe(last ? 1 : n));
    const session = await openSession(ort!, await exportBytes(ck, path.join(dir, `b${k}.onnx`)), 1);
    const x = new Float32Array(lengths.length * T * I);
    seqs.forEach((rows, b) => x.set(rows.flat(), b * T * I)); // zero padding after each sequence
    const res = await session.run({
      x: new ort!.Tensor("float32", x, [lengths.length, T, I]),
      sequence_lens: new ort!.Tensor("int32", Int32Array.from(lengths), [lengths.length]),
    });
    const out = res[v.task === "regression" ? "y" : "p"], O = out.dims[2];
    expect(out.dims).toEqual([lengths.length, last ? 1 : T, O]);
    expect(res.hn.dims).toEqual([2 * v.layers, lengths.length, v.hiddenSize]);
    const got: number[] = [], exp: number[] = [];
    lengths.forEach((n, b) => want.get(`s${b}`)!.forEach((row, t) => {
      for (let o = 0; o < O; o++) { got.push((out.data as Float32Array)[(b * (last ? 1 : T) + t) * O + o]); exp.push(row[o]); }
    }));
    closeTo(`${v.label}: onnx vs rnn predict`, Float32Array.from(got), exp, EXPORT_TOLERANCE);
    await session.release();
  });
});
