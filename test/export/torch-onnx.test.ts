import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { closeTo } from "../helpers/compare.js";
import { rnn, tempDir } from "../helpers/cli.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { freshState, openSession, type OrtModule } from "../../src/export/ort.js";
import { exportBytes, ort, predictOutputs, rnnHere, runOrt } from "./helpers.js";

/**
 * PyTorch's exporter against ours: each case under test/golden/onnx holds a checkpoint, the same
 * weights exported by torch.onnx.export (scripts/golden/make_onnx_fixtures.py) and torch's outputs
 * from a random non-zero state. In onnxruntime, torch's file reproduces torch; ours, exported from
 * the checkpoint, reproduces torch's file on every output (y or p, hn, cn); and `rnn predict`
 * reproduces torch's zero-state outputs.
 */
interface OnnxCase {
  name: string; cell: string; task: "regression" | "classification"; layers: number; hiddenSize: number;
  inputs: string[]; outputs: string[]; zeroStateOutput: string; tol: number;
}

const root = path.join(import.meta.dirname, "../golden/onnx");
const cases = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
type Tensor = InstanceType<OrtModule["Tensor"]>;

describe.skipIf(!ort)("ONNX export: PyTorch's exporter and ours agree in onnxruntime", () => {
  const o = ort!;
  const dir = tempDir("rnn-onnx-torch-");

  it("has the four cases", () => expect(cases).toHaveLength(4));

  it.each(cases)("%s", async (name) => {
    const src = path.join(root, name);
    const c = JSON.parse(readFileSync(path.join(src, "case.json"), "utf8")) as OnnxCase;
    const io = decodeSafetensors(readFileSync(path.join(src, "io.safetensors")), "io.safetensors").tensors;
    const tensor = (n: string): Tensor => { const t = io.get(n)!; return new o.Tensor("float32", Float32Array.from(t.data), t.shape); };
    const feeds = Object.fromEntries(c.inputs.map((n) => [n, tensor(n)]));

    const theirs = await openSession(o, readFileSync(path.join(src, "torch.onnx")), 1);
    const t = await runOrt(theirs, feeds);
    for (const n of c.outputs) closeTo(`${name}: torch.onnx in onnxruntime vs torch, ${n}`, t[n].data, io.get(n)!.data, c.tol);

    const ours = await openSession(o, await exportBytes(path.join(src, "ckpt.safetensors"), path.join(dir, `${name}.onnx`), ["--state-inputs", "required"]), 1);
    const r = await runOrt(ours, feeds);
    for (const n of c.outputs) {
      expect(r[n].dims, `${name}: ${n} dims`).toEqual(t[n].dims);
      closeTo(`${name}: rnn export vs torch.onnx, ${n}`, r[n].data, t[n].data, c.tol);
    }
    const fromZero = await runOrt(ours, { x: feeds.x, ...freshState(o, { cell: c.cell as "elman", layers: c.layers, hiddenSize: c.hiddenSize }) });
    const out = c.outputs[0];
    closeTo(`${name}: rnn export from zero state vs torch`, fromZero[out].data, io.get(c.zeroStateOutput)!.data, c.tol);

    const pr = await rnnHere(["predict", path.join(src, "ckpt.safetensors"), "--data", path.join(src, "data.csv")]);
    expect(pr.code, pr.stderr).toBe(0);
    const want = io.get(c.zeroStateOutput)!, [B] = want.shape;
    const got = predictOutputs(pr.stdout, c.task);
    closeTo(`${name}: rnn predict vs torch`, Array.from({ length: B }, (_, b) => got.get(`s${b}`)!.flat()).flat(), want.data, c.tol);
    await theirs.release(); await ours.release();
  });

  it("rnn export --verify (the real CLI) checks a PyTorch-written checkpoint on its validation data", () => {
    const ck = path.join(root, "lstm-l2-regression-normalized/ckpt.safetensors");
    const r = rnn(["export", ck, "--onnx", path.join(dir, "verify.onnx"), "--verify"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^wrote .*verify\.onnx .*2-layer lstm H 5/m);
    expect(r.stderr).toMatch(/^verified in onnxruntime [\d.]+: 3 sequence\(s\), 24 rows of .*data\.csv: largest difference \d\.\d\de-\d+/m);
  });
});
