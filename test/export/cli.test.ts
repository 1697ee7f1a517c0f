import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT, rnn, tempDir } from "../helpers/cli.js";
import { validateConfig } from "../../src/config/load.js";
import { saveCheckpoint } from "../../src/io/checkpoint.js";
import { ort, rnnHere, writeData, writeVariant, type Variant } from "./helpers.js";

/** `rnn export` on the command line: usage, bad input, unwritable output and --verify's outcomes. */
const v: Variant = { cell: "gru", layers: 1, bias: true, activation: "tanh", normalize: false, task: "regression", dtype: "float32", hiddenSize: 3 };
const dir = tempDir("rnn-onnx-cli-");
const data = path.join(dir, "data.csv");
writeData(data, [5, 4], 8);
const ck = path.join(dir, "ck.safetensors");
writeVariant(ck, data, v, 51);

describe("rnn export: usage and bad input (exit 2, one line)", () => {
  it.each([
    [["export", ck], /required option '--onnx <file.onnx>'/],
    [["export", ck, "--onnx", path.join(dir, "m.txt")], /--onnx .*m\.txt: the file name must end in \.onnx/],
    [["export", path.join(dir, "missing.safetensors"), "--onnx", path.join(dir, "m.onnx")], /missing\.safetensors: cannot read checkpoint: ENOENT/],
    [["export", data, "--onnx", path.join(dir, "m.onnx")], /data\.csv: not a valid safetensors checkpoint/],
    [["export", ck, "--onnx", path.join(dir, "no/such/dir/m.onnx")], /m\.onnx: cannot write: no such directory/],
  ])("%j", async (args, message) => {
    const r = await rnnHere(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
  });

  it("--help names the command", () => {
    const r = rnn(["export", "--help"]);
    expect(r.stderr).toMatch(/--onnx <file\.onnx>/);
    expect(r.stderr).toMatch(/--verify/);
  });
});

describe.skipIf(!ort)("rnn export --verify", () => {
  it("passes on the checkpoint's own data and says so", async () => {
    const r = await rnnHere(["export", ck, "--onnx", path.join(dir, "ok.onnx"), "--verify"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/verified in onnxruntime .*: 2 sequence\(s\), 9 rows of .*data\.csv: largest difference/);
  });

  it("--data - reads the data to compare on from stdin", async () => {
    const r = await rnnHere(["export", ck, "--onnx", path.join(dir, "stdin.onnx"), "--verify", "--data", "-"], "id,a,b,c\nq,1,2,3\nq,4,5,6\n");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 sequence\(s\), 2 rows of <stdin>/);
  });

  it("fails (exit 1) where float32 cannot hold the inputs: a column whose mean dwarfs its spread", async () => {
    // Inputs around 1e5 with std 1e-3: float32 keeps ~0.008 of each raw value, i.e. 8 standard deviations.
    const file = path.join(dir, "wide.safetensors");
    const config = validateConfig({
      task: "regression", data: { train: data, sequenceColumn: "id", inputs: ["a"], targets: ["u"], normalize: true },
      model: { cell: "elman", hiddenSize: 2 }, training: { dtype: "float64" },
    }, file);
    saveCheckpoint(file, {
      config, shape: { cell: "elman", inputSize: 1, hiddenSize: 2, outputSize: 1, layers: 1, activation: "tanh", bias: true },
      dtype: "float64", params: Float64Array.from([0.5, -0.3, 0.2, 0.4, 0.1, 0.1, 0.2, -0.1, 0.3, 0.1, 1, -1, 0.5]),
      normalization: { a: { mean: 100000, std: 0.001 }, u: { mean: 0, std: 1 } }, classes: null,
      epoch: 1, step: 1, optimizer: null, position: null, carry: null, bestValLoss: null,
    });
    const csv = path.join(dir, "wide.csv");
    writeFileSync(csv, "id,a\nq,100000.0011\nq,99999.9993\nq,100000.0004\n");
    const r = await rnnHere(["export", file, "--onnx", path.join(dir, "wide.onnx"), "--verify", "--data", csv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wide\.onnx: onnxruntime disagrees with rnn predict on 1 sequence\(s\), 3 rows of .*wide\.csv: .* at sequence q, t \d, pred_u: onnx .*, rnn /);
  });
});

describe("rnn export --verify without onnxruntime-node", () => {
  it("writes the model, says what to install, exits 1", () => {
    // A copy of the installed package whose node_modules lacks onnxruntime-node.
    const inst = tempDir("rnn-no-ort-");
    for (const f of ["bin", "dist", "package.json", ...(existsSync(path.join(ROOT, "build")) ? ["build"] : [])]) {
      symlinkSync(path.join(ROOT, f), path.join(inst, f));
    }
    mkdirSync(path.join(inst, "node_modules"));
    for (const m of readdirSync(path.join(ROOT, "node_modules"))) {
      if (!m.startsWith("onnxruntime-") && !m.startsWith(".")) symlinkSync(path.join(ROOT, "node_modules", m), path.join(inst, "node_modules", m));
    }
    const out = path.join(dir, "no-ort.onnx");
    // dist/ is symlinked: resolve it from the copy, not from the repository (Node follows symlinks unless told).
    const r = spawnSync(process.execPath, ["--preserve-symlinks", "--preserve-symlinks-main", path.join(inst, "bin/rnn.js"), "export", ck, "--onnx", out, "--verify"],
      { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^wrote .*no-ort\.onnx/m);
    expect(r.stderr).toMatch(/no-ort\.onnx: written but not verified: onnxruntime-node is not installed/);
    expect(existsSync(out)).toBe(true);
  });
});
