/**
 * Parquet and Arrow IPC (Feather v2) data (issue 15): files written by pyarrow
 * (test/fixtures/columnar/make.py) read as the CSV holding the same table, with the same column
 * rules, sequence column, missing cells and messages; train and predict on them without conversion.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readSequencesFile, type ColumnSpec } from "../src/data/table.js";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { rnn, ROOT, tempDir } from "./helpers/cli.js";

const FIX = path.join(ROOT, "test/fixtures/columnar");
const panel: ColumnSpec = { inputs: ["x", "z", "w"], targets: ["y"], sequenceColumn: "id", task: "regression" };
const gaps: ColumnSpec = { inputs: ["x"], targets: ["y"], sequenceColumn: null, task: "regression" };
const FORMATS = ["parquet", "arrow", "plain.arrow"].map((f) => (f === "plain.arrow" ? "-plain.arrow" : `.${f}`));

describe("Parquet and Arrow read as the same table in CSV", () => {
  for (const ext of FORMATS) {
    it(`panel${ext}: sequences, int64 and float32 columns, null targets`, async () => {
      expect(await readSequencesFile(path.join(FIX, `panel${ext}`), panel)).toEqual(await readSequencesFile(path.join(FIX, "panel.csv"), panel));
    });

    it(`gaps${ext}: null inputs are missing cells — filled, or refused with the CSV's message`, async () => {
      const fill = { ...gaps, missing: { values: [""], inputs: "ffill" as const } };
      expect(await readSequencesFile(path.join(FIX, `gaps${ext}`), fill)).toEqual(await readSequencesFile(path.join(FIX, "gaps.csv"), fill));
      const file = path.join(FIX, `gaps${ext}`);
      await expect(readSequencesFile(file, gaps)).rejects.toThrow(`${file}: line 3, column "x": "" is a missing input cell (data.missing.inputs: ffill, mean or zero fills it)`);
    });
  }

  it("a column the config names but the file lacks: the CSV's message", async () => {
    const file = path.join(FIX, "panel.parquet");
    await expect(readSequencesFile(file, { ...panel, inputs: ["x", "q"] })).rejects.toThrow(`${file}: line 1: missing input column "q" (the header has "id", "x", "z", "w", "y")`);
  });

  it("a file that is not Parquet: exit 2, one line naming it", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "bad.parquet"), "x,y\n1,2\n");
    writeFileSync(path.join(dir, "c.yaml"), config("bad.parquet"));
    const r = rnn(["train", "c.yaml", "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("bad.parquet: not a Parquet file this reader can read");
  });
});

function config(train: string): string {
  return `seed: 3
data: { train: ${train}, validation: null, validationSplit: 0, sequenceColumn: id, inputs: [x, z, w], targets: [y], shift: 0, normalize: true }
task: regression
targetsAt: every
model: { cell: elman, hiddenSize: 4, layers: 1, activation: tanh, bias: true, init: null }
training: { epochs: 2, batchSize: 2, shuffle: true, dtype: float64, optimizer: { name: adam, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1.0e-8 } }
output: { dir: run }
`;
}

/** Model tensors of a checkpoint, as hex bytes. */
function weights(file: string): Record<string, string> {
  const st = decodeSafetensors(readFileSync(file), file);
  return Object.fromEntries([...st.tensors].map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));
}

describe("train and predict on Parquet and Arrow without conversion", () => {
  const runs = Object.fromEntries(["panel.csv", "panel.parquet", "panel.arrow"].map((f) => {
    const dir = tempDir();
    copyFileSync(path.join(FIX, f), path.join(dir, f));
    writeFileSync(path.join(dir, "c.yaml"), config(f));
    return [f, { dir, r: rnn(["train", "c.yaml", "--quiet"], { cwd: dir }) }];
  }));

  for (const f of ["panel.parquet", "panel.arrow"]) {
    it(`${f}: the very weights the CSV trains, and the same predictions`, () => {
      expect(runs[f].r.code, runs[f].r.stderr).toBe(0);
      const ck = path.join(runs["panel.csv"].dir, "run/last.safetensors");
      expect(weights(path.join(runs[f].dir, "run/last.safetensors"))).toEqual(weights(ck));
      const fromCsv = rnn(["predict", ck, "--data", path.join(FIX, "panel.csv")]);
      const fromFile = rnn(["predict", ck, "--data", path.join(FIX, f)]);
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(fromFile.stdout).toBe(fromCsv.stdout);
    });
  }
});
