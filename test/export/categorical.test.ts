import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { onnx } from "../../src/export/graph.js";
import { freshState, openSession } from "../../src/export/ort.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { tempDir } from "../helpers/cli.js";
import { GOLDEN_CATEGORICAL, casesIn } from "../helpers/golden.js";
import { exportBytes, ort } from "./helpers.js";

/**
 * SPEC §11's export: the PyTorch-trained checkpoints of test/golden/categorical exported, then run
 * in onnxruntime on their predict.csv with x [batch, time, inputs] (raw) and the int64 input
 * c [batch, time, columns] built here from the model's own metadata_props (its categories: entry k
 * is index k + 1, anything else 0) — compared with the PyTorch reference's predictions
 * (expected_predict.csv, which `rnn predict` matches at 1e-9) to SPEC §8's 1e-5.
 */
describe.skipIf(!ort)("export --onnx of a model with categorical inputs", () => {
  for (const name of casesIn(GOLDEN_CATEGORICAL)) {
    it(`${name}: onnxruntime agrees with predict (x and int64 c, categories from metadata_props)`, async () => {
      const dir = path.join(GOLDEN_CATEGORICAL, name), ck = path.join(dir, "trained.safetensors");
      const bytes = await exportBytes(ck, path.join(tempDir(), "m.onnx"));
      const model = onnx.ModelProto.decode(bytes);
      const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
      const columns = JSON.parse(meta.categorical) as string[], categories = JSON.parse(meta.categories) as Record<string, string[]>;
      const inputs = JSON.parse(meta.inputs) as string[];
      expect(categories).toEqual(loadCheckpoint(ck).categories);
      expect(model.graph!.input!.find((i) => i.name === "c")!.type!.tensorType!.elemType).toBe(onnx.TensorProto.DataType.INT64);
      const rows = parse(readFileSync(path.join(dir, "predict.csv")), { columns: true }) as Record<string, string>[];
      const want = parse(readFileSync(path.join(dir, "expected_predict.csv")), { columns: true }) as Record<string, string>[];
      const session = await openSession(ort!, bytes, 1);
      const shape = loadCheckpoint(ck).shape;
      let checked = 0;
      for (const id of [...new Set(rows.map((r) => r.series))]) {
        const seq = rows.filter((r) => r.series === id), T = seq.length;
        const x = new ort!.Tensor("float32", Float32Array.from(seq.flatMap((r) => inputs.map((c) => Number(r[c])))), [1, T, inputs.length]);
        const c = new ort!.Tensor("int64", BigInt64Array.from(seq.flatMap((r) => columns.map((col) => BigInt(categories[col].indexOf(r[col].trim()) + 1)))), [1, T, columns.length]);
        const y = (await session.run({ x, c, ...freshState(ort!, shape) })).y.data as Float32Array;
        const exp = want.filter((r) => r.series === id).map((r) => Number(r.pred_sales));
        exp.forEach((w, t) => { expect(Math.abs(y[t] - w) / (1 + Math.abs(w)), `${id} t ${t}`).toBeLessThan(1e-5); checked++; });
      }
      expect(checked).toBe(want.length);
      await session.release();
    });
  }
});
