import path from "node:path";
import { describe, expect, it } from "vitest";
import { closeTo } from "../helpers/compare.js";
import { tempDir } from "../helpers/cli.js";
import { EXPORT_TOLERANCE } from "../../src/export/verify.js";
import { freshState, openSession } from "../../src/export/ort.js";
import {
  batchTensor, exportBytes, ort, predictOutputs, rnnHere, variantName, writeData, writeVariant, type Variant,
} from "./helpers.js";

/**
 * Every kind of model rnn trains, exported and run in onnxruntime: each cell × 1–3 layers ×
 * bias on/off × tanh/relu/sigmoid (Elman) × normalised or not × regression/classification,
 * float32 and float64 checkpoints alternating, on a batch of 3 sequences. onnxruntime's
 * output must agree with `rnn predict` on the same CSV to 1e-5 relative (SPEC §8).
 */
const variants: Variant[] = [];
for (const cell of ["elman", "lstm", "gru"] as const) {
  for (const layers of [1, 2, 3]) {
    for (const bias of [true, false]) {
      for (const activation of cell === "elman" ? (["tanh", "relu", "sigmoid"] as const) : (["tanh"] as const)) {
        for (const normalize of [false, true]) {
          for (const task of ["regression", "classification"] as const) {
            variants.push({ cell, layers, bias, activation, normalize, task, dtype: variants.length % 2 ? "float64" : "float32", hiddenSize: 5 });
          }
        }
      }
    }
  }
}

describe.skipIf(!ort)("ONNX export: every variant agrees with rnn predict in onnxruntime", () => {
  const dir = tempDir("rnn-onnx-variants-");
  const T = 9, data = path.join(dir, "data.csv");
  const seqs = writeData(data, [T, T, T], 11);

  it("covers 120 variants", () => expect(variants.length).toBe(120));

  it.each(variants.map((v, i) => [variantName(v), v, i] as const))("%s", async (_name, v, i) => {
    const ck = path.join(dir, `v${i}.safetensors`);
    writeVariant(ck, data, v, 100 + i);
    const pr = await rnnHere(["predict", ck, "--data", data]);
    expect(pr.code, pr.stderr).toBe(0);
    const want = predictOutputs(pr.stdout, v.task);
    const session = await openSession(ort!, await exportBytes(ck, path.join(dir, `v${i}.onnx`)), 1);
    const res = await session.run({ x: batchTensor(ort!, seqs), ...freshState(ort!, v) });
    const got = res[v.task === "regression" ? "y" : "p"];
    const O = v.task === "regression" ? 2 : 3;
    expect(got.dims).toEqual([3, T, O]);
    closeTo(`${variantName(v)}: onnx vs rnn predict`, got.data as Float32Array, [0, 1, 2].flatMap((s) => want.get(`s${s}`)!.flat()), EXPORT_TOLERANCE);
    expect(res.hn.dims).toEqual([v.layers, 3, 5]);
    if (v.cell === "lstm") expect(res.cn.dims).toEqual([v.layers, 3, 5]);
    await session.release();
  });
});
