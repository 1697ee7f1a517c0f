import { writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/api.js";
import { rnn, tempDir } from "./helpers/cli.js";

/**
 * SPEC §11 in forecast and the library: an autoregressive model (shift 1) with the store and
 * the series id as categorical inputs. A forecast must equal predict run on the history extended
 * by the forecasts (predict itself is checked against PyTorch in golden-categorical): with a
 * constant store the value is repeated, with future rows it is read from them, and a store that
 * changes without future rows is refused naming the column. The library reads category texts.
 */
const dir = tempDir();
const rows = (csv: string): Record<string, string>[] => parse(csv, { columns: true }) as Record<string, string>[];
const STORES = ["kiosk", "Mall", "depot"];

beforeAll(() => {
  let text = "series,store,sales\n";
  for (let s = 0; s < 6; s++) {
    for (let t = 0; t < 12; t++) text += `s${s},${STORES[(s + (t > 7 && s % 2 ? 1 : 0)) % 3]},${(Math.sin(t / 2 + s) + s / 3).toFixed(4)}\n`;
  }
  writeFileSync(path.join(dir, "d.csv"), text);
  writeFileSync(path.join(dir, "c.yaml"), [
    "seed: 3", "data: { train: d.csv, sequenceColumn: series, inputs: [sales], targets: [sales], shift: 1, normalize: true,",
    "  categorical: [{ column: store }, { column: series, size: 2 }] }",
    "model: { cell: gru, hiddenSize: 6 }", "training: { epochs: 3, batchSize: 3, dtype: float64, optimizer: { name: adam, lr: 0.01 } }",
  ].join("\n"));
  const r = rnn(["train", "c.yaml", "--out", "run", "--quiet"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
});

/** predict's prediction at the last row of `csv`. */
function lastPrediction(csv: string): number {
  writeFileSync(path.join(dir, "p.csv"), csv);
  const r = rnn(["predict", "run/last.safetensors", "--data", "p.csv", "--last"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return Number(rows(r.stdout)[0].pred_sales);
}

describe("forecast with categorical inputs", () => {
  const history = "series,store,sales\nx1,Mall,0.2\nx1,Mall,0.5\nx1,Mall,0.9\n";
  it("repeats a store that is constant over the history, and equals predict on the extended history", () => {
    writeFileSync(path.join(dir, "h.csv"), history);
    const r = rnn(["forecast", "run/last.safetensors", "--horizon", "3", "--data", "h.csv"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const f = rows(r.stdout).map((x) => Number(x.sales));
    let ext = history;
    for (let k = 0; k < 3; k++) {
      expect(f[k]).toBeCloseTo(lastPrediction(ext), 12);
      ext += `x1,Mall,${f[k]}\n`;
    }
    // The series id x1 is a category training never saw: index 0, said on stderr (3 history rows).
    expect(r.stderr).toMatch(/3 categorical cells held a category training never saw \(3 in "series"\)/);
  });
  it("reads the store of future steps from future rows", () => {
    const h = "series,store,sales\ns1,Mall,0.2\ns1,kiosk,0.5\ns1,Mall,0.9\ns1,depot,\ns1,kiosk,\n";
    writeFileSync(path.join(dir, "f.csv"), h);
    const r = rnn(["forecast", "run/last.safetensors", "--horizon", "3", "--data", "f.csv"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const f = rows(r.stdout).map((x) => Number(x.sales));
    let ext = "series,store,sales\ns1,Mall,0.2\ns1,kiosk,0.5\ns1,Mall,0.9\n";
    expect(f[0]).toBeCloseTo(lastPrediction(ext), 12);
    ext += `s1,depot,${f[0]}\n`;
    expect(f[1]).toBeCloseTo(lastPrediction(ext), 12);
    ext += `s1,kiosk,${f[1]}\n`;
    expect(f[2]).toBeCloseTo(lastPrediction(ext), 12);
  });
  it("refuses a store that changes over the history without future rows, naming the column", () => {
    writeFileSync(path.join(dir, "v.csv"), "series,store,sales\ns1,Mall,0.2\ns1,kiosk,0.5\n");
    const r = rnn(["forecast", "run/last.safetensors", "--horizon", "3", "--data", "v.csv"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/categorical column\(s\) "store" change over the sequence's history/);
  });
});

describe("the library with categorical inputs", () => {
  it("predict takes category texts (array rows after the inputs, or by name) as rnn predict does", () => {
    const m = loadModel(path.join(dir, "run", "last.safetensors"));
    expect(m.categorical).toEqual(["store", "series"]);
    expect(m.categories?.store).toEqual(["Mall", "depot", "kiosk"]);
    const seq = [[0.1, "kiosk", "s2"], [0.4, "depot", "s2"], [0.3, "outlet", "s2"]] as const;
    const a = m.predict(seq.map((r) => [...r]));
    const b = m.predict(seq.map(([sales, store, series]) => ({ sales, store, series })));
    expect(b).toEqual(a);
    const cli = lastPrediction(`series,store,sales\n${seq.map(([v, st, id]) => `${id},${st},${v}`).join("\n")}\n`);
    expect(a[2][0]).toBeCloseTo(cli, 12);
    const f = m.forecast([{ sales: 0.2, store: "Mall", series: "x1" }, { sales: 0.5, store: "Mall", series: "x1" }, { sales: 0.9, store: "Mall", series: "x1" }], 2);
    expect(f[0][0]).toBeCloseTo(lastPrediction("series,store,sales\nx1,Mall,0.2\nx1,Mall,0.5\nx1,Mall,0.9\n"), 12);
  });
});
