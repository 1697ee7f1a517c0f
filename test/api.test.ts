import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, loadModel, train, type EpochInfo } from "../src/api.js";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { ROOT, rnn, tempDir } from "./helpers/cli.js";
import { closeTo } from "./helpers/compare.js";
import { GOLDEN_HEADS } from "./helpers/golden.js";
import { sequenceCsv } from "./robustness/util.js";

/**
 * The library (issue 12): `train` gives what `rnn train` gives, `loadModel` what `rnn predict`
 * and `rnn forecast` print — compared with the CLI's own output — and the package imports by
 * name from a project that installed it, as a user's would.
 */
const csvRows = (s: string): string[][] => s.trim().split("\n").map((l) => l.split(","));
const tensors = (file: string): Record<string, string> => Object.fromEntries([...decodeSafetensors(readFileSync(file), file).tensors]
  .map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));

function project(): { dir: string; config: Record<string, unknown> } {
  const dir = tempDir();
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(30, 12));
  const config = {
    seed: 3,
    data: { train: path.join(dir, "d.csv"), sequenceColumn: "id", inputs: ["x"], targets: ["y"], validationSplit: 0.2, normalize: true },
    model: { cell: "gru", hiddenSize: 5, layers: 2, dropout: 0.2 },
    training: { epochs: 4, batchSize: 4, dtype: "float64", optimizer: { name: "adamw", lr: 0.02 }, schedule: { name: "step", stepSize: 2 } },
    output: { dir: path.join(dir, "lib") },
  };
  writeFileSync(path.join(dir, "c.json"), JSON.stringify({ ...config, output: { dir: "cli" } }));
  return { dir, config };
}

describe("train() from the library", () => {
  it("reports every epoch, and trains the weights rnn train trains", async () => {
    const { dir, config } = project();
    const seen: EpochInfo[] = [];
    const r = await train(config, { onEpoch: (e) => { seen.push(e); } });
    expect(r.status).toBe("done");
    expect(seen.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(Object.keys(seen[0].valMetrics)).toEqual(["val_mse", "val_rmse", "val_mae"]);
    const cli = rnn(["train", "c.json", "--quiet"], { cwd: dir });
    expect(cli.code, cli.stderr).toBe(0);
    expect(tensors(r.last)).toEqual(tensors(path.join(dir, "cli/last.safetensors")));
    expect(r.steps).toBe(seen[3].step);
  });

  it("an AbortSignal stops after the current update with a checkpoint that resumes to the same run", async () => {
    const { dir, config } = project();
    const whole = await train({ ...config, output: { dir: path.join(dir, "whole") } });
    const ac = new AbortController();
    const r = await train(config, { signal: ac.signal, onEpoch: (e) => { if (e.epoch === 2) ac.abort(); } });
    expect(r.status).toBe("aborted");
    const resumed = await train(config, { resume: r.last });
    expect(resumed.status).toBe("done");
    expect(tensors(resumed.last)).toEqual(tensors(whole.last));
  });

  it("bad input rejects with the CLI's InputError", async () => {
    const { config } = project();
    await expect(train({ ...config, training: { epochs: 0 } })).rejects.toThrow(InputError);
    await expect(train({ ...config, training: { epochs: 0 } })).rejects.toThrow("config: training.epochs: must be ≥ 1");
  });
});

describe("loadModel()", () => {
  it("predict and step give what rnn predict prints; forecast what rnn forecast prints", async () => {
    const { dir, config } = project();
    const fc = { ...config, data: { ...(config.data as object), targets: ["x"], shift: 1 }, output: { dir: path.join(dir, "fc") } };
    const [reg, ar] = [await train(config), await train(fc)];
    const data = csvRows(readFileSync(path.join(dir, "d.csv"), "utf8"));
    const xi = data[0].indexOf("x");
    const seq = data.slice(1).filter((r) => r[0] === data[1][0]);
    const m = loadModel(reg.last);
    expect([m.inputs, m.targets, m.task, m.classes]).toEqual([["x"], ["y"], "regression", null]);
    const got = m.predict(seq.map((r) => ({ x: Number(r[xi]) })));
    const want = csvRows(rnn(["predict", reg.last, "--data", "d.csv"], { cwd: dir }).stdout).slice(1).filter((r) => r[0] === data[1][0]);
    expect(got.map((y) => String(y[0]))).toEqual(want.map((r) => r[2]));
    let state = m.initialState();
    const stepped = seq.map((r) => { const s = m.step([Number(r[xi])], state); state = s.state; return s.y[0]; });
    expect(stepped.map(String)).toEqual(want.map((r) => r[2]));
    const a = loadModel(ar.last);
    const f = a.forecast(seq.map((r) => [Number(r[xi])]), 3);
    writeFileSync(path.join(dir, "one.csv"), [data[0].join(","), ...seq.map((r) => r.join(","))].join("\n") + "\n");
    const cf = csvRows(rnn(["forecast", ar.last, "--horizon", "3", "--data", "one.csv"], { cwd: dir }).stdout).slice(1);
    expect(f.map((y) => String(y[0]))).toEqual(cf.map((r) => r[2]));
    expect(() => m.forecast([[1]], 2)).toThrow("data.shift 1");
    expect(() => m.predict([{ x: "oops" }])).toThrow(InputError);
  });
});

describe("loadModel() of SPEC §10's heads", () => {
  // PyTorch-made checkpoints and the forecasts the PyTorch reference rolled out (test/golden/heads).
  const dir = path.join(GOLDEN_HEADS, "forecast-heads");
  for (const [name, data] of [["gaussian", "data.csv"], ["studentt", "data.csv"], ["quantiles", "data.csv"], ["negbin", "counts.csv"]] as const) {
    it(`${name}: outputs name rnn predict's columns; predict gives its values, forecast the reference's roll-out`, () => {
      const ck = path.join(dir, `${name}.safetensors`);
      const m = loadModel(ck);
      const rows = csvRows(readFileSync(path.join(dir, data), "utf8"));
      const head = rows[0], body = rows.slice(1), first = body.filter((r) => r[0] === body[0][0]);
      const pr = csvRows(rnn(["predict", ck, "--data", path.join(dir, data)]).stdout);
      expect(m.outputs).toEqual(pr[0].slice(2));
      const asRow = (r: string[]): Record<string, number> => Object.fromEntries(m.inputs.map((c) => [c, Number(r[head.indexOf(c)])]));
      const got = m.predict(first.map(asRow));
      expect(got.map((y) => y.map(String))).toEqual(pr.slice(1, 1 + first.length).map((r) => r.slice(2)));
      const want = csvRows(readFileSync(path.join(dir, `expected_forecast_${name}.csv`), "utf8"));
      expect(m.forecastOutputs).toEqual(want[0].slice(2));
      const f = m.forecast(first.map(asRow), 5);
      const ref = want.slice(1).filter((r) => r[0] === first[0][0]).map((r) => r.slice(2).map(Number));
      closeTo(`${name} forecast`, f.flat(), ref.flat(), 1e-9);
    });
  }
});

describe("loadModel(): rows and states checked as the CLI checks a CSV row (issue 24, item 6)", () => {
  it("a number for a row, a wrong count, a misspelled key, hex text or a wrong-shaped state: one InputError naming the row and input", async () => {
    const { dir, config } = project();
    const filled = { ...config, data: { ...(config.data as object), inputs: ["x", "y"], targets: ["y"], missing: { inputs: "mean" } }, training: { epochs: 1 }, output: { dir: path.join(dir, "m") } };
    const m = loadModel((await train(filled)).last);
    const refused = (f: () => unknown, message: string): void => {
      expect(f).toThrow(InputError);
      expect(f).toThrow(message);
    };
    // Were: every one of these a missing cell, filled with the training mean, without a word.
    refused(() => m.predict([0.1, 0.2] as unknown as number[][]), "predict: row 0: number is not a row (an array of the 2 input(s) [\"x\",\"y\"], or an object keyed by them)");
    refused(() => m.predict([[0.1]]), "predict: row 0: 1 value(s), the model has 2 input(s) [\"x\",\"y\"]");
    refused(() => m.predict([[0.1, 0.2, 0.3]]), "predict: row 0: 3 value(s), the model has 2 input(s)");
    refused(() => m.predict([{ x: 0.1, y: 0.2 }, { x: 0.1, yy: 0.2 }]), "predict: row 1, input \"y\": no such key in the row (it has \"yy\"); give null for a missing value");
    refused(() => m.predict([{ x: "0x10", y: 1 }]), "predict: row 0, input \"x\": \"0x10\" is not a finite decimal number"); // was: 16
    refused(() => m.predict([{ x: true, y: 1 } as unknown as Record<string, number>]), "predict: row 0, input \"x\": a boolean is not a number");
    refused(() => m.step([1, 2], { layers: [new Float64Array(3)], last: null }), "step: the state is not one this model's initialState() or step() returned"); // was: NaN
    refused(() => m.step([1, 2], { ...m.initialState(), last: null }), "step: the state is not one");
    // What the CLI accepts still works: a decimal text, a missing value given as null, s_0's shape.
    expect(m.predict([{ x: " 0.5 ", y: null }, [0.25, Number.NaN]])).toHaveLength(2);
    const s = m.step([1, 2]);
    expect(m.step([1, 2], s.state).y.every(Number.isFinite)).toBe(true);
  });
});

describe("the package, installed by a user's project", () => {
  it("imports by name with its types, and trains and predicts", () => {
    const out = tempDir("rnn-pack-");
    execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", out], { cwd: ROOT, stdio: "pipe" });
    const tgz = readdirSync(out).find((f) => f.endsWith(".tgz"));
    expect(tgz).toBeDefined();
    const app = path.join(out, "app");
    mkdirSync(app);
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    execFileSync("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--silent", path.join(out, tgz!)], { cwd: app, stdio: "pipe", timeout: 120_000 });
    writeFileSync(path.join(app, "d.csv"), sequenceCsv(12, 8));
    writeFileSync(path.join(app, "main.ts"), `import { loadModel, train, type TrainResult } from "rnn";
const r: TrainResult = await train({ data: { train: "d.csv", sequenceColumn: "id", inputs: ["x"], targets: ["y"] },
  training: { epochs: 1, batchSize: 4 }, output: { dir: "run" } });
const y: number[][] = loadModel(r.last).predict([[0.5], [0.25]]);
console.log(JSON.stringify({ status: r.status, rows: y.length, finite: y.every((v) => v.every(Number.isFinite)) }));
`);
    writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, types: [] }, files: ["main.ts"] }));
    // The declarations resolve through package.json "exports", as in the user's editor.
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "."], { cwd: app, stdio: "pipe" });
    const printed = execFileSync(process.execPath, ["main.js"], { cwd: app, encoding: "utf8", env: { ...process.env, RNN_BACKEND: "js" } });
    expect(JSON.parse(printed)).toEqual({ status: "done", rows: 2, finite: true });
  }, 180_000);
});
