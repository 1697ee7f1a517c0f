import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { rnn, tempDir } from "./helpers/cli.js";

/**
 * `rnn forecast` (SPEC §7) against an independent path through the CLI: `rnn predict` run again
 * and again on the history with each forecast appended as a row — a roll-out by hand — and
 * missing-value fills (SPEC §6) against the same data filled by hand. (PyTorch roll-outs:
 * test/golden-control.)
 */
const lines = (s: string): string[][] => s.trim().split("\n").map((l) => l.split(","));

function seriesCsv(ids: string[], steps: number, covariate: boolean): string {
  const rows = [covariate ? "id,a,b,c" : "id,a,b"];
  ids.forEach((id, s) => {
    for (let t = 0; t < steps + s; t++) {
      const a = Math.sin(0.3 * t + s), b = Math.cos(0.2 * t) * 2 + 5;
      rows.push([id, a.toFixed(4), b.toFixed(4), ...(covariate ? [String(t % 7)] : [])].join(","));
    }
  });
  return rows.join("\n") + "\n";
}

function train(dir: string, inputs: string, cell: string, extra = ""): void {
  writeFileSync(path.join(dir, "c.yaml"), `seed: 2
data: { train: d.csv, sequenceColumn: id, inputs: [${inputs}], targets: [a, b], shift: 1, normalize: true${extra} }
model: { cell: ${cell}, hiddenSize: 5 }
training: { epochs: 2, batchSize: 2, dtype: float64, optimizer: { name: adam, lr: 0.05 } }
output: { dir: run }
`);
  const r = rnn(["train", "c.yaml", "--quiet"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
}

/** Rolls forward by hand: predict the history, append the last prediction as the next row, repeat. */
function rollByPredict(dir: string, header: string, history: string[], h: number, covariates: string[] = []): string[][] {
  const rows = [...history], got: string[][] = [];
  for (let k = 0; k < h; k++) {
    writeFileSync(path.join(dir, "h.csv"), [header, ...rows].join("\n") + "\n");
    const r = rnn(["predict", "run/last.safetensors", "--data", "h.csv", "--last"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const [, last] = lines(r.stdout);
    got.push([last[0], last[1], last[2], last[3]]);
    rows.push([last[0], last[2], last[3], ...(covariates[k] !== undefined ? [covariates[k]] : [])].join(","));
  }
  return got.map(([id, t, a, b]) => [id, String(Number(t) + 1), a, b]);
}

describe("rnn forecast", () => {
  for (const cell of ["elman", "lstm", "gru"]) {
    it(`${cell}: each sequence rolled forward equals predict run on its own forecasts`, () => {
      const dir = tempDir();
      writeFileSync(path.join(dir, "d.csv"), seriesCsv(["s1", "s2", "s3"], 12, false));
      train(dir, "a, b", cell);
      const r = rnn(["forecast", "run/last.safetensors", "--horizon", "4", "--data", "d.csv"], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const out = lines(r.stdout);
      expect(out[0]).toEqual(["id", "t", "a", "b"]);
      expect(out).toHaveLength(1 + 3 * 4);
      const data = lines(seriesCsv(["s1", "s2", "s3"], 12, false)).slice(1);
      for (const id of ["s1", "s2", "s3"]) {
        const history = data.filter((row) => row[0] === id).map((row) => row.join(","));
        const want = rollByPredict(dir, "id,a,b", history, 4);
        const got = out.filter((row) => row[0] === id);
        expect(got.map((row) => row[1])).toEqual(want.map((row) => row[1]));
        got.forEach((row, k) => [2, 3].forEach((j) => expect(Number(row[j])).toBeCloseTo(Number(want[k][j]), 9)));
      }
    });
  }

  it("a model with a covariate input forecasts from future rows whose targets are empty, and is refused without them", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "d.csv"), seriesCsv(["s1", "s2"], 15, true));
    train(dir, "a, b, c", "gru");
    const history = lines(seriesCsv(["s1"], 15, true)).slice(1).map((row) => row.join(","));
    const future = ["s1,,,1", "s1,,,2"];
    writeFileSync(path.join(dir, "f.csv"), ["id,a,b,c", ...history, ...future].join("\n") + "\n");
    const r = rnn(["forecast", "run/last.safetensors", "--horizon", "3", "--data", "f.csv"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const got = lines(r.stdout).slice(1);
    const want = rollByPredict(dir, "id,a,b,c", history, 3, ["1", "2"]);
    expect(got.map((row) => row[1])).toEqual(["15", "16", "17"]);
    got.forEach((row, k) => [2, 3].forEach((j) => expect(Number(row[j])).toBeCloseTo(Number(want[k][j]), 9)));
    const refused = rnn(["forecast", "run/last.safetensors", "--horizon", "3", "--data", "d.csv"], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/input column\(s\) "c" are not targets of the model/);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses a model that does not predict the next row, naming data.shift", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "d.csv"), seriesCsv(["s1", "s2"], 10, false));
    writeFileSync(path.join(dir, "c.yaml"), `data: { train: d.csv, sequenceColumn: id, inputs: [a], targets: [b] }
training: { epochs: 1, batchSize: 2 }
output: { dir: run }
`);
    expect(rnn(["train", "c.yaml", "--quiet"], { cwd: dir }).code).toBe(0);
    const r = rnn(["forecast", "run/last.safetensors", "--horizon", "2", "--data", "d.csv"], { cwd: dir });
    expect([r.code, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toContain("data.shift");
  });
});

describe("missing values (data.missing)", () => {
  const csv = `id,x,y
a,1,NA
a,NA,2
a,3,2.5
a,,3
b,NA,1
b,2,NA
b,4,2
c,1.5,1
c,2,
c,NA,2
`;
  // Training means of x's present cells: (1 + 3 + 2 + 4 + 1.5 + 2) / 6.
  const mean = String((1 + 3 + 2 + 4 + 1.5 + 2) / 6);
  const filled: Record<string, string[]> = {
    ffill: ["1", "1", "3", "3", mean, "2", "4", "1.5", "2", "2"],
    mean: ["1", mean, "3", mean, mean, "2", "4", "1.5", "2", mean],
  };
  const isMissing = (i: number): boolean => ["NA", ""].includes(csv.split("\n")[i + 1].split(",")[1]);
  /** The CSV with x filled as given and NA targets written as the empty cells SPEC §4 masks. */
  const byHand = (xs: readonly string[]): string => csv.trim().split("\n").map((l, i) => {
    if (i === 0) return l;
    const [id, , y] = l.split(",");
    return [id, xs[i - 1], y === "NA" ? "" : y].join(",");
  }).join("\n") + "\n";
  const config = (file: string, missing: string, out: string, normalize: boolean): string => `seed: 4
data: { train: ${file}, sequenceColumn: id, inputs: [x], targets: [y], normalize: ${normalize}${missing} }
model: { cell: lstm, hiddenSize: 3 }
training: { epochs: 3, batchSize: 2, dtype: float64, shuffle: false }
output: { dir: ${out} }
`;
  for (const how of ["ffill", "mean", "zero"] as const) {
    for (const normalize of [false, true]) {
      it(`inputs: ${how}${normalize ? ", normalised" : ""}: eval and predict fill as training did, the data filled by hand agrees`, () => {
        const dir = tempDir();
        writeFileSync(path.join(dir, "d.csv"), csv);
        // zero is 0 in the model's units: the mean in original units when normalised.
        const xs = how === "zero" ? filled.mean.map((v, i) => (isMissing(i) ? (normalize ? mean : "0") : v)) : filled[how];
        writeFileSync(path.join(dir, "h.csv"), byHand(xs));
        writeFileSync(path.join(dir, "m.yaml"), config("d.csv", `, missing: { values: ["", "NA"], inputs: ${how} }`, "m", normalize));
        writeFileSync(path.join(dir, "h.yaml"), config("h.csv", "", "h", normalize));
        for (const c of ["m.yaml", "h.yaml"]) { const r = rnn(["train", c, "--quiet"], { cwd: dir }); expect(r.code, r.stderr).toBe(0); }
        const ev = (run: string, data: string): unknown => JSON.parse(rnn(["eval", `${run}/last.safetensors`, "--json", "--data", data], { cwd: dir }).stdout);
        // Training on the filled cells is training on the hand-filled data, unless normalisation
        // statistics differ (they take the present cells only, the hand-filled data all).
        if (!normalize) expect(ev("m", "d.csv")).toEqual(ev("h", "h.csv"));
        expect(ev("m", "d.csv")).toEqual(ev("m", "h.csv"));
        const pm = rnn(["predict", "m/last.safetensors", "--data", "d.csv"], { cwd: dir });
        const ph = rnn(["predict", "m/last.safetensors", "--data", "h.csv"], { cwd: dir });
        expect(pm.code, pm.stderr).toBe(0);
        expect(pm.stdout).toBe(ph.stdout);
      });
    }
  }

  it("without a fill a missing input is refused with its line and column", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "d.csv"), csv);
    writeFileSync(path.join(dir, "c.yaml"), `data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y], missing: { values: ["NA"] } }
output: { dir: run }
`);
    const r = rnn(["train", "c.yaml"], { cwd: dir });
    expect([r.code, r.stderr.trim()]).toEqual([2, `rnn: ${path.join(dir, "d.csv")}: line 3, column "x": "NA" is a missing input cell (data.missing.inputs: ffill, mean or zero fills it)`]);
  });
});
