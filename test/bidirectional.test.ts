import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { InputError, loadModel } from "../src/api.js";
import { paramSpecs } from "../src/core/network.js";
import { parameterCount } from "../src/config/schema.js";
import { rnn, tempDir } from "./helpers/cli.js";
import { GOLDEN_BIDIR } from "./helpers/golden.js";

/** SPEC §13 beyond the golden runs: the tensor layout and the refusals (exit 2, naming the key). */
describe("bidirectional layers (SPEC §13)", () => {
  it("lists PyTorch's state_dict: per layer the four forward tensors then the four _reverse ones; layer 1 reads 2H; head [O, 2H]", () => {
    const specs = paramSpecs({ cell: "gru", inputSize: 3, hiddenSize: 4, outputSize: 2, layers: 2, activation: "tanh", bias: true, bidirectional: true });
    expect(specs.map((s) => `${s.name} ${s.shape.join("x")}`)).toEqual([
      "rnn.weight_ih_l0 12x3", "rnn.weight_hh_l0 12x4", "rnn.bias_ih_l0 12", "rnn.bias_hh_l0 12",
      "rnn.weight_ih_l0_reverse 12x3", "rnn.weight_hh_l0_reverse 12x4", "rnn.bias_ih_l0_reverse 12", "rnn.bias_hh_l0_reverse 12",
      "rnn.weight_ih_l1 12x8", "rnn.weight_hh_l1 12x4", "rnn.bias_ih_l1 12", "rnn.bias_hh_l1 12",
      "rnn.weight_ih_l1_reverse 12x8", "rnn.weight_hh_l1_reverse 12x4", "rnn.bias_ih_l1_reverse 12", "rnn.bias_hh_l1_reverse 12",
      "head.weight 2x8", "head.bias 2",
    ]);
    const n = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    expect(parameterCount({ cell: "gru", inputs: 3, hiddenSize: 4, layers: 2, bias: true, outputs: 2, bidirectional: true })).toBe(n);
  });

  const caseDir = (name: string): string => {
    const dir = tempDir();
    cpSync(path.join(GOLDEN_BIDIR, name), dir, { recursive: true });
    return dir;
  };
  const refusals: [string, string, string][] = [
    ["training.bptt: { truncate: 3 }", "bptt: null", "bptt: { truncate: 3 }"],
    ["data.sequenceColumn", "sequenceColumn: seq", "sequenceColumn: null"],
  ];
  for (const [key, from, to] of refusals) {
    it(`train refuses ${key} (exit 2, one line naming the key)`, () => {
      const dir = caseDir("gru-last-regression");
      const cfg = path.join(dir, "config.yaml");
      writeFileSync(cfg, readFileSync(cfg, "utf8").replace(from, to));
      const r = rnn(["train", "config.yaml", "--out", "run"], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(key.split(":")[0]);
      expect(r.stderr).toContain("model.bidirectional");
    });
  }

  it("forecast, backtest and grad-flow refuse a bidirectional model (exit 2, naming model.bidirectional)", () => {
    const dir = caseDir("gru-last-regression");
    for (const args of [["forecast", "init.safetensors", "--horizon", "2", "--data", "data.csv"],
      ["backtest", "init.safetensors", "--horizon", "2", "--data", "data.csv"],
      ["grad-flow", "init.safetensors", "--data", "data.csv"], ["grad-flow", "config.yaml"]]) {
      const r = rnn(args, { cwd: dir });
      expect(r.code, `rnn ${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain("model.bidirectional");
    }
  });

  it("grad-check with a bidirectional config passes", () => {
    const dir = caseDir("lstm-L2-every-regression");
    const r = rnn(["grad-check", "config.yaml", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
  });

  it("the library: predict() gives PyTorch's outputs (one row per sequence under targetsAt: last); step() refuses", () => {
    for (const name of ["lstm-last-classification", "elman-every-regression"]) {
      const dir = path.join(GOLDEN_BIDIR, name);
      const model = loadModel(path.join(dir, "expected_last.safetensors"));
      const data = readFileSync(path.join(dir, "data.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
      const want = readFileSync(path.join(dir, "expected_predict.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
      const got: number[][] = [];
      for (const id of [...new Set(data.map((r) => r[0]))]) {
        got.push(...model.predict(data.filter((r) => r[0] === id).map((r) => [Number(r[1]), Number(r[2])])));
      }
      const skip = model.task === "classification" ? 3 : 2; // seq, t (and the arg-max class)
      expect(got.length, name).toBe(want.length);
      got.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - Number(want[i][skip + j])), `${name} row ${i} column ${j}`).toBeLessThan(1e-9)));
      expect(() => model.step([0, 0])).toThrow(InputError);
    }
  });
});
