import { parse } from "csv-parse/sync";
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
 * SPEC §10's heads exported (SPEC §8: y holds exactly predict's columns after `t`, in original
 * units): the location parameters folded into the head, σ = softplus·std, ν = 2 + softplus, a
 * count model's softplus μ and α, quantiles; each on a normalised model (a count model's targets
 * stay raw) and one without normalisation. onnxruntime's y must equal `rnn predict`'s columns.
 */
const heads: { name: string; head: NonNullable<Variant["head"]>; cell: Variant["cell"] }[] = [
  { name: "gaussian", head: { likelihood: "gaussian" }, cell: "lstm" },
  { name: "studentT", head: { likelihood: "studentT" }, cell: "elman" },
  { name: "negativeBinomial", head: { likelihood: "negativeBinomial" }, cell: "gru" },
  { name: "quantiles", head: { quantiles: [0.1, 0.5, 0.9] }, cell: "lstm" },
];
const variants = heads.flatMap((h, i) => [true, false].map((normalize, j): Variant & { label: string } => ({
  label: `${h.name} ${variantName({ cell: h.cell, layers: 2, bias: true, activation: "tanh", normalize, task: "regression", dtype: j ? "float64" : "float32", hiddenSize: 5 })}`,
  cell: h.cell, layers: 2, bias: true, activation: "tanh", normalize, task: "regression", dtype: (i + j) % 2 ? "float64" : "float32", hiddenSize: 5, head: h.head,
})));

describe.skipIf(!ort)("ONNX export of the likelihood and quantile heads agrees with rnn predict in onnxruntime", () => {
  const dir = tempDir("rnn-onnx-heads-");
  const T = 8, data = path.join(dir, "data.csv");
  const seqs = writeData(data, [T, T, T], 21);

  it.each(variants.map((v, i) => [v.label, v, i] as const))("%s", async (_name, v, i) => {
    const ck = path.join(dir, `h${i}.safetensors`);
    writeVariant(ck, data, v, 300 + i);
    const pr = await rnnHere(["predict", ck, "--data", data]);
    expect(pr.code, pr.stderr).toBe(0);
    const columns = pr.stdout.split("\n")[0].split(",").slice(2); // after id, t
    const P = v.head?.quantiles?.length ?? (v.head?.likelihood === "studentT" ? 3 : 2);
    expect(columns).toHaveLength(2 * P);
    const want = predictOutputs(pr.stdout, "regression", columns);
    const session = await openSession(ort!, await exportBytes(ck, path.join(dir, `h${i}.onnx`)), 1);
    const res = await session.run({ x: batchTensor(ort!, seqs), ...freshState(ort!, v) });
    expect(res.y.dims).toEqual([3, T, 2 * P]);
    closeTo(`${v.label}: onnx vs rnn predict`, res.y.data as Float32Array, [0, 1, 2].flatMap((s) => want.get(`s${s}`)!.flat()), EXPORT_TOLERANCE);
    // σ, ν, α are positive: the softplus nodes are there, not a copy of the raw outputs.
    if (v.head?.likelihood) {
      const rows = parse(pr.stdout, { columns: true }) as Record<string, string>[];
      for (const r of rows) for (const c of columns.filter((k) => !k.startsWith("pred_"))) expect(Number(r[c])).toBeGreaterThan(0);
    }
    await session.release();
  });
});
