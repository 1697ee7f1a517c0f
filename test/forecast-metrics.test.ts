import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BacktestAccumulator, type BacktestScores, crpsSamples, crpsSorted, type PointScores, sampleQuantile, seasonalNaive,
} from "../src/core/forecast-metrics.js";
import { Rng } from "../src/core/rng.js";

/** Written by scripts/golden/make_special_fixtures.py from SPEC §10's definitions in numpy. */
interface Fixture {
  quantile: { sorted: number[]; q: number[]; want: number[] }[];
  crps: { samples: number[]; y: number; want: number }[];
  seasonalNaive: { history: number[]; h: number; m: number; want: number[] }[];
  backtest: {
    targets: number; season: number; horizon: number; samples: number;
    sequences: { history: number[]; actual: number[]; point: number[]; samples?: number[] }[];
    want: Omit<BacktestScores, "cells">;
  }[];
}
const fx = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures/special/metrics.json"), "utf8")) as Fixture;

/** Relative agreement with numpy: the pooled sums differ from numpy's pairwise sums in order only. */
const REL = 1e-13;

function expectScore(name: string, got: number | null | undefined, want: number | null | undefined): void {
  if (want === null || want === undefined) { expect(got, name).toBe(want); return; }
  expect(got, name).not.toBeNull();
  const g = got as number;
  expect(Math.abs(g - want), `${name}: got ${g}, numpy ${want}`).toBeLessThanOrEqual(REL * Math.abs(want) + 1e-15);
}

function expectPoint(name: string, got: PointScores, want: PointScores): void {
  for (const k of ["mae", "rmse", "smape", "mase"] as const) expectScore(`${name}.${k}`, got[k], want[k]);
}

/** The definition, all N² pairs: E|X − y| − ½·E|X − X′|. */
function crpsPairs(xs: ArrayLike<number>, y: number): number {
  const n = xs.length;
  let a = 0, b = 0;
  for (let i = 0; i < n; i++) {
    a += Math.abs(xs[i] - y);
    for (let j = 0; j < n; j++) b += Math.abs(xs[i] - xs[j]);
  }
  return a / n - 0.5 * b / (n * n);
}

describe("sampleQuantile", () => {
  it("equals numpy.quantile (method 'linear') bit for bit", () => {
    for (const c of fx.quantile) {
      c.q.forEach((q, i) => expect(sampleQuantile(c.sorted, q), `n ${c.sorted.length}, q ${q}`).toBe(c.want[i]));
    }
  });
  it("an empty sample has no quantile", () => expect(sampleQuantile([], 0.5)).toBeNaN());
});

describe("sample CRPS", () => {
  it("matches numpy's O(N²) definition", () => {
    for (const c of fx.crps) {
      const got = crpsSamples(c.samples, c.y);
      expect(Math.abs(got - c.want), `N ${c.samples.length}, y ${c.y}: ${got} vs ${c.want}`).toBeLessThanOrEqual(1e-13 * Math.abs(c.want) + 1e-15);
    }
  });
  it("the sorted-sample identity equals the pairwise sum on random samples, ties included", () => {
    const rng = new Rng(3);
    for (const n of [1, 2, 3, 10, 257]) {
      const xs = Array.from({ length: n }, () => Math.round(rng.uniform() * 20) / 4);
      const y = rng.uniform() * 5;
      const want = crpsPairs(xs, y);
      expect(Math.abs(crpsSamples(xs, y) - want)).toBeLessThanOrEqual(1e-13 * want + 1e-15);
      expect(crpsSorted(Float64Array.from(xs).sort(), y)).toBe(crpsSamples(xs, y));
    }
  });
  it("one sample is |x − y|", () => expect(crpsSamples([2], 5)).toBe(3));
});

describe("seasonalNaive", () => {
  it("matches numpy's y[n + k − m·ceil((k + 1)/m)]", () => {
    for (const c of fx.seasonalNaive) expect(Array.from(seasonalNaive(c.history, c.h, c.m)), `m ${c.m}`).toEqual(c.want);
  });
  it("m = 1 repeats the last value; m = 3 repeats the last season", () => {
    expect(Array.from(seasonalNaive([1, 2, 3, 4], 3, 1))).toEqual([4, 4, 4]);
    expect(Array.from(seasonalNaive([1, 2, 3, 4, 5], 7, 3))).toEqual([3, 4, 5, 3, 4, 5, 3]);
  });
  it("reads one target of a row-major history", () => {
    // Two targets: columns [1, 2, 3] and [10, 20, 30].
    expect(Array.from(seasonalNaive([1, 10, 2, 20, 3, 30], 2, 2, 2, 1))).toEqual([20, 30]);
  });
  it("refuses a history shorter than a season", () => expect(() => seasonalNaive([1, 2], 1, 3)).toThrow(/season 3/));
});

describe("BacktestAccumulator", () => {
  fx.backtest.forEach((c, i) => {
    it(`case ${i} (O ${c.targets}, m ${c.season}, h ${c.horizon}, N ${c.samples}, ${c.sequences.length} sequences) matches numpy`, () => {
      const acc = new BacktestAccumulator({ targets: c.targets, horizon: c.horizon, season: c.season, samples: c.samples });
      for (const s of c.sequences) acc.add(s);
      const got = acc.result();
      expect(got.sequences).toBe(c.want.sequences);
      expect(got.cells).toBe(c.sequences.length * c.horizon * c.targets);
      expectPoint("model", got, c.want);
      expectPoint("baseline", got.baseline, c.want.baseline);
      expectScore("crps", got.crps, c.want.crps);
      expectScore("coverage80", got.coverage80, c.want.coverage80);
    });
  });

  it("case 0 has only constant histories: mase is null, the other scores are not", () => {
    const c = fx.backtest[0];
    expect(c.want.mase).toBeNull();
    const acc = new BacktestAccumulator({ targets: 1, horizon: c.horizon, season: 1 });
    for (const s of c.sequences) acc.add(s);
    expect(acc.result().mase).toBeNull();
    expect(acc.result().mae).not.toBeNull();
    expect("crps" in acc.result()).toBe(false);
  });

  it("smape: y = ŷ = 0 counts 0, y = 0 ≠ ŷ counts 200", () => {
    const acc = new BacktestAccumulator({ targets: 1, horizon: 2 });
    acc.add({ history: [1, 2], actual: [0, 0], point: [0, 3] });
    expect(acc.result().smape).toBe(100); // (0 + 2)/2 · 100
  });

  it("coverage80 is inclusive at both sample quantiles", () => {
    // Paths 0 … 10: q0.1 = 1 and q0.9 = 9 exactly.
    const samples = Array.from({ length: 11 }, (_, s) => s);
    const inside = (y: number): number | null | undefined => {
      const acc = new BacktestAccumulator({ targets: 1, horizon: 1, samples: 11 });
      acc.add({ history: [0, 1], actual: [y], point: [y], samples });
      return acc.result().coverage80;
    };
    expect(inside(1)).toBe(1);
    expect(inside(9)).toBe(1);
    expect(inside(9.000001)).toBe(0);
    expect(inside(0.999999)).toBe(0);
  });

  it("a non-finite held-out value is not scored; nothing scored gives nulls", () => {
    const acc = new BacktestAccumulator({ targets: 1, horizon: 2, samples: 2 });
    expect(acc.result()).toEqual({ sequences: 0, cells: 0, mae: null, rmse: null, smape: null, mase: null, crps: null, coverage80: null,
      baseline: { mae: null, rmse: null, smape: null, mase: null } });
    acc.add({ history: [1, 3], actual: [NaN, 4], point: [100, 5], samples: [0, 4, 9, 4] });
    const r = acc.result();
    expect(r.cells).toBe(1);
    expect(r.mae).toBe(1);
    expect(r.mase).toBe(0.5); // |4 − 5| / |3 − 1|
    expect(r.baseline.mae).toBe(1); // naive 3 for 4
  });

  it("refuses shapes that do not fit", () => {
    const acc = new BacktestAccumulator({ targets: 2, horizon: 1, season: 2, samples: 3 });
    expect(() => acc.add({ history: [1, 2, 3, 4], actual: [1, 2], point: [1, 2], samples: [1, 2, 3, 4, 5, 6] })).toThrow(/n > 2 rows/);
    expect(() => acc.add({ history: [1, 2, 3, 4, 5, 6], actual: [1], point: [1, 2], samples: [1, 2, 3, 4, 5, 6] })).toThrow(/actual/);
    expect(() => acc.add({ history: [1, 2, 3, 4, 5, 6], actual: [1, 2], point: [1, 2] })).toThrow(/samples/);
    expect(() => new BacktestAccumulator({ targets: 0, horizon: 1 })).toThrow(/targets/);
  });
});
