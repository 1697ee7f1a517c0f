import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ActivationName } from "../src/core/activations.js";
import type { Kernels } from "../src/core/kernels.js";
import { lossSum, type Targets } from "../src/core/loss.js";
import { pointHead } from "../src/core/heads/point.js";
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
  expected: Expected;
}
interface Expected { y: number[]; hT: number[]; cT?: number[]; loss: number; grads: Record<string, number[]>; dh0: number[]; dc0?: number[] }

const dir = path.join(import.meta.dirname, "fixtures/core");
const fixtures: Fixture[] = readdirSync(dir).filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as Fixture);

/** One window forward and backward of a fixture's model on our kernels; everything it is checked on. */
function run(fx: Fixture, kernels: Kernels): Expected {
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
  const S = net.stateSize;
  const state0 = net.zeroState(B);
  state0.forEach((s, l) => {
    for (let b = 0; b < B; b++) for (let j = 0; j < S; j++) s[b * S + j] = j < H ? fx.h0[(l * B + b) * H + j] : (fx.c0 ?? [])[(l * B + b) * H + j - H];
  });
  const part = (bufs: readonly ArrayLike<number>[], from: number): number[] =>
    bufs.flatMap((s) => Array.from({ length: B * H }, (_, i) => s[Math.floor(i / H) * S + from + (i % H)]));
  const targets: Targets = fx.task === "regression"
    ? { task: "regression", outputs: fx.outputSize, values: Float64Array.from(fx.targets, (v) => v ?? NaN), head: pointHead }
    : { task: "classification", classes: fx.outputSize, labels: Int32Array.from(fx.targets, (v) => v ?? -1) };

  net.forward(x, 0, state0, T, B);
  const y = Array.from(net.head.y.subarray(0, T * B * fx.outputSize));
  const hT = net.zeroState(B);
  net.stateAfter(T, B, hT);
  const r = lossSum(net.head.y, targets, 0, fx.lossStart * B, T * B, net.head.dy);
  const dy = net.head.dy;
  dy.fill(0, 0, fx.lossStart * B * fx.outputSize);
  for (let i = 0; i < T * B * fx.outputSize; i++) dy[i] /= r.count;
  net.grads.fill(0);
  net.backward(T, B);
  const d0 = net.layers.map((l) => l.dState0);
  return {
    y, hT: part(hT, 0), cT: cell === "lstm" ? part(hT, H) : undefined, loss: r.sum / r.count,
    grads: Object.fromEntries(net.layout.slots.map((s) => [s.name, Array.from(net.layout.view(net.grads, s.name))])),
    dh0: part(d0, 0), dc0: cell === "lstm" ? part(d0, H) : undefined,
  };
}

function compare(got: Expected, want: Expected, tol: number): void {
  closeTo("y", got.y, want.y, tol);
  closeTo("hT", got.hT, want.hT, tol);
  if (want.cT) closeTo("cT", got.cT ?? [], want.cT, tol);
  closeTo("loss", [got.loss], [want.loss], tol);
  for (const [name, g] of Object.entries(want.grads)) closeTo(`grad ${name}`, got.grads[name], g, tol);
  closeTo("dh0", got.dh0, want.dh0, tol);
  if (want.dc0) closeTo("dc0", got.dc0 ?? [], want.dc0, tol);
}

describe.each(backends())("one window forward and backward against PyTorch (%s kernels)", (_name, kernels) => {
  it("has fixtures of every cell", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(8);
    for (const c of ["elman", "lstm", "gru"]) expect(fixtures.some((f) => (f.cell ?? "elman") === c)).toBe(true);
  });
  for (const fx of fixtures) {
    it(fx.name, () => compare(run(fx, kernels), fx.expected, fx.dtype === "float64" ? 1e-10 : 1e-5));
  }
  // The float32 fixtures are float32 copies of float64 ones: float32 training stays within
  // 1e-4 of the float64 reference.
  const twins = fixtures.filter((f) => f.dtype === "float32").map((f) => [f, fixtures.find((g) => g.name === f.name.replace(/-f32$/, ""))] as const);
  it("every float32 fixture has a float64 twin", () => expect(twins.every(([, t]) => t !== undefined)).toBe(true));
  for (const [f32, f64] of twins) {
    if (f64) it(`${f32.name} in float32 is within 1e-4 of the float64 reference`, () => compare(run(f32, kernels), f64.expected, 1e-4));
  }
});
