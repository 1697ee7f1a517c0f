import path from "node:path";
import { describe, expect, it } from "vitest";
import { closeTo } from "../helpers/compare.js";
import { tempDir } from "../helpers/cli.js";
import { loadModel } from "../../src/commands/model.js";
import { zScore } from "../../src/data/dataset.js";
import { freshState, openSession, type OrtModule } from "../../src/export/ort.js";
import { Rng } from "../../src/core/rng.js";
import { INPUTS, TARGETS, batchTensor, exportBytes, ort, runOrt, writeData, writeVariant, type Variant } from "./helpers.js";

/**
 * The exported model's state (SPEC §8): h0/c0 are optional inputs, zero when left out (the
 * default export); a given state is used per layer, never baked in, and hn/cn let a caller
 * stream a sequence in pieces — tested on `--state-inputs required` exports, since
 * onnxruntime-node feeds no optional input (Python's onnxruntime does); the batch and time
 * axes are free.
 */
const REQUIRED = ["--state-inputs", "required"];
const L = 2, H = 5, B = 3, T = 10;
type Tensor = InstanceType<OrtModule["Tensor"]>;

const cases: Variant[] = (["elman", "lstm", "gru"] as const).map((cell) => ({
  cell, layers: L, bias: true, activation: "tanh", normalize: true, task: "regression", dtype: "float32", hiddenSize: H,
}));

describe.skipIf(!ort)("ONNX export: state in and out", () => {
  const dir = tempDir("rnn-onnx-state-");
  const data = path.join(dir, "data.csv");
  const seqs = writeData(data, [T, T, T], 5);
  const o = ort!;
  const states = (fill: (i: number) => number): Tensor => new o.Tensor("float32", Float32Array.from({ length: L * B * H }, (_, i) => fill(i)), [L, B, H]);

  it.each(cases.map((v) => [v.cell, v] as const))("%s: zeros [L, 1, H] start every row; halves with the state carried = one call; nothing is kept between calls", async (cell, v) => {
    const ck = path.join(dir, `${cell}.safetensors`);
    writeVariant(ck, data, v, 21);
    const s = await openSession(o, await exportBytes(ck, path.join(dir, `${cell}.onnx`), REQUIRED), 1);
    const fresh = freshState(o, v);
    const whole = await runOrt(s, { x: batchTensor(o, seqs), ...fresh });
    const zeros: Record<string, Tensor> = { h0: states(() => 0), ...(cell === "lstm" ? { c0: states(() => 0) } : {}) };
    const explicit = await runOrt(s, { x: batchTensor(o, seqs), ...zeros });
    closeTo(`${cell}: y, zeros [L, B, H] vs [L, 1, H]`, explicit.y.data, whole.y.data, 0);

    const cut = 4;
    const first = await runOrt(s, { x: batchTensor(o, seqs.map((q) => q.slice(0, cut))), ...fresh });
    const carried: Record<string, Tensor> = { h0: new o.Tensor("float32", first.hn.data, [L, B, H]) };
    if (cell === "lstm") carried.c0 = new o.Tensor("float32", first.cn.data, [L, B, H]);
    const second = await runOrt(s, { x: batchTensor(o, seqs.map((q) => q.slice(cut))), ...carried });
    const O = TARGETS.length;
    const joined = Array.from({ length: B }, (_, b) => [
      ...first.y.data.subarray(b * cut * O, (b + 1) * cut * O), ...second.y.data.subarray(b * (T - cut) * O, (b + 1) * (T - cut) * O)]).flat();
    closeTo(`${cell}: y of two halves vs one call`, joined, whole.y.data, 1e-6);
    closeTo(`${cell}: hn after two halves vs one call`, second.hn.data, whole.hn.data, 1e-6);
    if (cell === "lstm") closeTo(`${cell}: cn after two halves vs one call`, second.cn.data, whole.cn.data, 1e-6);
    // The carried state changes the second half: the model does not ignore h0.
    const restart = await runOrt(s, { x: batchTensor(o, seqs.map((q) => q.slice(cut))), ...fresh });
    expect(Math.max(...restart.y.data.map((y, i) => Math.abs(y - second.y.data[i])))).toBeGreaterThan(1e-3);
    // Nothing stays behind in the session.
    closeTo(`${cell}: the first call again`, (await runOrt(s, { x: batchTensor(o, seqs), ...fresh })).y.data, whole.y.data, 0);
    await s.release();
  });

  it.each(cases.map((v) => [v.cell, v] as const))("%s: a given h0 (and c0) is each layer's start state, as in the engine", async (cell, v) => {
    const ck = path.join(dir, `${cell}-h0.safetensors`);
    writeVariant(ck, data, v, 22);
    const s = await openSession(o, await exportBytes(ck, path.join(dir, `${cell}-h0.onnx`), REQUIRED), 1);
    const rng = new Rng(9);
    const h0 = Float32Array.from({ length: L * B * H }, () => 2 * rng.uniform() - 1);
    const c0 = Float32Array.from({ length: L * B * H }, () => 2 * rng.uniform() - 1);
    const res = await runOrt(s, { x: batchTensor(o, seqs), h0: new o.Tensor("float32", h0, [L, B, H]), ...(cell === "lstm" ? { c0: new o.Tensor("float32", c0, [L, B, H]) } : {}) });
    await s.release();

    // The engine from the same state: layer k's [B, stateSize] rows (LSTM: h then c).
    const { ck: c, net } = loadModel(ck);
    const S = net.stateSize;
    const state0 = Array.from({ length: L }, (_, k) => {
      const st = new Float32Array(B * S);
      for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) {
        st[b * S + j] = h0[(k * B + b) * H + j];
        if (cell === "lstm") st[b * S + H + j] = c0[(k * B + b) * H + j];
      }
      return st;
    });
    const I = INPUTS.length, O = TARGETS.length;
    const x = new Float32Array(T * B * I); // time-major, normalised
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let i = 0; i < I; i++) x[(t * B + b) * I + i] = zScore(seqs[b][t][i], c.normalization![INPUTS[i]]);
    net.forward(x, 0, state0, T, B);
    const want = new Float64Array(B * T * O);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let k = 0; k < O; k++) {
      const st = c.normalization![TARGETS[k]];
      want[(b * T + t) * O + k] = net.head.y[(t * B + b) * O + k] * st.std + st.mean;
    }
    closeTo(`${cell}: y from a given h0`, res.y.data, want, 1e-5);
  });

  it.each(cases.map((v) => [v.cell, v] as const))("%s: by default h0/c0 are optional, zero when absent: x alone gives the zero-state outputs", async (cell, v) => {
    const ck = path.join(dir, `${cell}-opt.safetensors`);
    writeVariant(ck, data, v, 24);
    const opt = await openSession(o, await exportBytes(ck, path.join(dir, `${cell}-opt.onnx`)), 1);
    const req = await openSession(o, await exportBytes(ck, path.join(dir, `${cell}-req.onnx`), REQUIRED), 1);
    expect(opt.inputNames).toEqual(["x"]); // h0/c0 are overridable initializers, not required inputs
    expect(req.inputNames).toEqual(cell === "lstm" ? ["x", "h0", "c0"] : ["x", "h0"]);
    const alone = await runOrt(opt, { x: batchTensor(o, seqs) });
    const zeros = await runOrt(req, { x: batchTensor(o, seqs), ...freshState(o, v) });
    closeTo(`${cell}: y of x alone vs zeros given`, alone.y.data, zeros.y.data, 0);
    closeTo(`${cell}: hn of x alone vs zeros given`, alone.hn.data, zeros.hn.data, 0);
    await opt.release(); await req.release();
  });

  it("the batch and time axes are free: one session runs [1, 1], [5, 13] and [2, 40]", async () => {
    const ck = path.join(dir, "axes.safetensors");
    writeVariant(ck, data, cases[1], 23);
    const s = await openSession(o, await exportBytes(ck, path.join(dir, "axes.onnx")), 1);
    const rng = new Rng(4);
    for (const [b, t] of [[1, 1], [5, 13], [2, 40]]) {
      const x = new o.Tensor("float32", Float32Array.from({ length: b * t * INPUTS.length }, () => rng.uniform()), [b, t, INPUTS.length]);
      const r = await runOrt(s, { x, ...freshState(o, cases[1]) });
      expect(r.y.dims).toEqual([b, t, TARGETS.length]);
      expect(r.hn.dims).toEqual([L, b, H]);
      expect(r.cn.dims).toEqual([L, b, H]);
    }
    await s.release();
  });
});
