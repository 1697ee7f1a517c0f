import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ActivationName } from "../src/core/activations.js";
import { lossSum, type Targets } from "../src/core/loss.js";
import { Network } from "../src/core/network.js";
import type { DType } from "../src/core/tensor.js";
import { backends } from "./helpers/backends.js";
import { closeTo } from "./helpers/compare.js";

/** A fixture written by scripts/golden/make_core_fixtures.py (PyTorch autograd). */
interface Fixture {
  name: string; dtype: DType; activation: ActivationName; cell?: "elman" | "lstm" | "gru";
  layers: number; inputSize: number; hiddenSize: number; outputSize: number; bias: boolean;
  task: "regression" | "classification"; T: number; B: number; lossStart: number;
  x: number[]; h0: number[]; c0?: number[]; targets: (number | null)[];
  params: Record<string, number[]>; shapes: Record<string, number[]>;
  expected: { y: number[]; hT: number[]; cT?: number[]; loss: number; grads: Record<string, number[]>; dh0: number[]; dc0?: number[] };
}

const dir = path.join(import.meta.dirname, "fixtures/core");
const fixtures: Fixture[] = readdirSync(dir).filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Fixture);

describe.each(backends())("one window forward and backward against PyTorch (%s kernels)", (_name, kernels) => {
  it("has fixtures", () => expect(fixtures.length).toBeGreaterThanOrEqual(8));
  for (const fx of fixtures) {
    it(fx.name, () => {
      const tol = fx.dtype === "float64" ? 1e-10 : 1e-5;
      const { T, B, hiddenSize: H, layers: L } = fx;
      const cell = fx.cell ?? "elman";
      const net = new Network({ cell, inputSize: fx.inputSize, hiddenSize: H,
        outputSize: fx.outputSize, layers: L, activation: fx.activation, bias: fx.bias }, fx.dtype, { kernels });
      expect(net.layout.slots.map((s) => s.name).sort()).toEqual(Object.keys(fx.params).sort());
      for (const s of net.layout.slots) {
        expect(s.shape, s.name).toEqual(fx.shapes[s.name]);
        net.params.set(fx.params[s.name], s.offset);
      }
      const x = fx.dtype === "float64" ? Float64Array.from(fx.x) : Float32Array.from(fx.x);
      // The carried state per batch row is h (Elman, GRU) or [h | c] (LSTM).
      const state0 = net.zeroState(B);
      const S = net.stateSize;
      const toState = (h: number[], c: number[] | undefined, l: number, b: number, j: number): number =>
        j < H ? h[(l * B + b) * H + j] : (c ?? [])[(l * B + b) * H + j - H];
      state0.forEach((s, l) => { for (let b = 0; b < B; b++) for (let j = 0; j < S; j++) s[b * S + j] = toState(fx.h0, fx.c0, l, b, j); });
      const part = (bufs: ArrayLike<number>[], from: number): number[] =>
        bufs.flatMap((s) => Array.from({ length: B * H }, (_, i) => s[Math.floor(i / H) * S + from + (i % H)]));
      const targets: Targets = fx.task === "regression"
        ? { task: "regression", outputs: fx.outputSize, values: Float64Array.from(fx.targets, (v) => v ?? NaN) }
        : { task: "classification", classes: fx.outputSize, labels: Int32Array.from(fx.targets, (v) => v ?? -1) };

      net.forward(x, 0, state0, T, B);
      closeTo("y", net.head.y.subarray(0, T * B * fx.outputSize), fx.expected.y, tol);
      const hT = net.zeroState(B);
      net.stateAfter(T, B, hT);
      closeTo("hT", part(hT, 0), fx.expected.hT, tol);
      if (cell === "lstm") closeTo("cT", part(hT, H), fx.expected.cT ?? [], tol);

      const r = lossSum(net.head.y, targets, 0, fx.lossStart * B, T * B, net.head.dy);
      closeTo("loss", [r.sum / r.count], [fx.expected.loss], tol);
      const dy = net.head.dy;
      dy.fill(0, 0, fx.lossStart * B * fx.outputSize);
      for (let i = 0; i < T * B * fx.outputSize; i++) dy[i] /= r.count;
      net.grads.fill(0);
      net.backward(T, B);
      for (const s of net.layout.slots) {
        closeTo(`grad ${s.name}`, net.layout.view(net.grads, s.name), fx.expected.grads[s.name], tol);
      }
      closeTo("dh0", part(net.layers.map((l) => l.dState0), 0), fx.expected.dh0, tol);
      if (cell === "lstm") closeTo("dc0", part(net.layers.map((l) => l.dState0), H), fx.expected.dc0 ?? [], tol);
    });
  }
});
