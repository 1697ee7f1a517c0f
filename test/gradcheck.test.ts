import { describe, expect, it } from "vitest";
import { activations } from "../src/core/activations.js";
import { tbpttWindows } from "../src/core/bptt.js";
import { builtinSuite, checkSynthetic, relError } from "../src/core/gradcheck.js";
import { referenceKernels, type Kernels } from "../src/core/kernels.js";
import { backends } from "./helpers/backends.js";
import type { NetworkOptions } from "../src/core/network.js";

describe("TBPTT window schedule (SPEC §1)", () => {
  it("TBPTT(6,2) starts [0,2) [0,4) [0,6) [2,8)", () => {
    const w = tbpttWindows(9, { truncate: 6, stride: 2 });
    expect(w.map((x) => [x.start, x.end])).toEqual([[0, 2], [0, 4], [0, 6], [2, 8], [3, 9]]);
    expect(w.map((x) => x.lossStart)).toEqual([0, 2, 4, 6, 8]);
  });
  it("short last window still updates; truncate = stride is the detach recipe", () => {
    expect(tbpttWindows(8, { truncate: 3, stride: 3 }).map((x) => [x.start, x.lossStart, x.end]))
      .toEqual([[0, 0, 3], [3, 3, 6], [5, 6, 8]]);
    expect(tbpttWindows(14, { truncate: 5, stride: 3 }).map((x) => [x.start, x.end]))
      .toEqual([[0, 3], [1, 6], [4, 9], [7, 12], [9, 14]]);
  });
  it("null is full BPTT: one window", () => {
    expect(tbpttWindows(7, null)).toEqual([{ start: 0, lossStart: 0, end: 7 }]);
  });
});

describe("grad-check built-in suite", () => {
  const suite = builtinSuite();
  it("covers every activation, 1 and 2 layers, both losses, overlap and masks", () => {
    for (const a of ["tanh", "relu", "sigmoid"]) for (const L of [1, 2]) for (const t of ["regression", "classification"]) {
      expect(suite.some((s) => s.model.activation === a && s.model.layers === L && s.task === t
        && s.bptt !== null && s.bptt.stride < s.bptt.truncate
        && new Set(s.lengths).size > 1)).toBe(true);
    }
    for (const cell of ["lstm", "gru"]) for (const L of [1, 2]) for (const t of ["regression", "classification"]) {
      expect(suite.some((s) => s.model.cell === cell && s.model.layers === L && s.task === t
        && s.bptt !== null && s.bptt.stride < s.bptt.truncate)).toBe(true);
    }
  });
  for (const [backend, kernels] of backends()) for (const spec of suite) {
    it(`${spec.name} matches finite differences (${backend} kernels)`, () => {
      const r = checkSynthetic(spec, { kernels });
      expect(r.checked).toBeGreaterThan(40);
      expect(r.maxRelError).toBeLessThan(1e-6);
    });
  }
  it("relError is SPEC's formula", () => {
    expect(relError(1, 1.5)).toBeCloseTo(1 / 3, 15);
    expect(relError(1e-6, 2e-6)).toBeCloseTo(1e-3, 15);
  });
});

/** A planted bug must make grad-check fail: the check is shown to detect errors. */
describe("grad-check detects broken gradients", () => {
  const spec = builtinSuite().find((s) => s.model.activation === "tanh" && s.model.layers === 2 && s.task === "regression")!;
  const withKernels = (k: Partial<Kernels>): NetworkOptions => ({ kernels: { ...referenceKernels, ...k } });
  const cases: [string, NetworkOptions][] = [
    ["a wrong activation derivative (tanh' = 1 − y² + 1e-3)",
      withKernels({ activateBackward: (act, dp, dpo, dh, dho, dn, s, so, n) => {
        for (let i = 0; i < n; i++) dp[dpo + i] = (dh[dho + i] + dn[i]) * (activations[act].gradFromOutput(s[so + i]) + 1e-3);
      } })],
    ["the recurrent term dropped (no gradient from s_t into s_{t-1})",
      withKernels({ matmulNN: (o, oo, a, ao, b, bo, M, N, K, acc) => {
        if (N === K && N === spec.model.hiddenSize && M === 3) { for (let i = 0; i < M * N; i++) o[oo + i] = acc ? o[oo + i] : 0; return; }
        referenceKernels.matmulNN(o, oo, a, ao, b, bo, M, N, K, acc);
      } })],
    ["weight gradients scaled by 1.0001",
      withKernels({ matmulTN: (o, oo, a, ao, b, bo, M, N, K, acc) => {
        referenceKernels.matmulTN(o, oo, a, ao, b, bo, M, N, K, acc);
        for (let i = 0; i < M * N; i++) o[oo + i] *= 1.0001;
      } })],
  ];
  for (const [what, opts] of cases) {
    it(what, () => {
      expect(checkSynthetic(spec, opts).maxRelError).toBeGreaterThan(1e-6);
    });
  }
});
