import { describe, expect, it } from "vitest";
import { Rng } from "../src/core/rng.js";
import {
  NormalSpare, sampleGamma, sampleNegativeBinomial, sampleNormal, samplePoisson, sampleStudentT,
} from "../src/core/sample.js";
import { gammaIncP, gammaIncQ, lgamma, normalCdf, studentTCdf } from "../src/core/special.js";

/**
 * Statistical checks with fixed seeds, so each passes or fails the same way every run. The bounds
 * are set so a correct sampler passes with room (mean and variance within 5 standard errors; the
 * Kolmogorov–Smirnov √n·D below 1.95, its 0.1% point; the chi-square p-value above 1e-4) and a
 * sampler off by a few percent in scale or shape does not.
 */
const N = 200_000;

function draws(n: number, f: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f();
  return out;
}

/** Mean and variance within 5 standard errors of (mean, variance), given the 4th central moment. */
function expectMoments(xs: Float64Array, mean: number, variance: number, mu4: number): void {
  const n = xs.length;
  let m = 0;
  for (const x of xs) m += x;
  m /= n;
  let v = 0;
  for (const x of xs) v += (x - m) * (x - m);
  v /= n - 1;
  const seMean = Math.sqrt(variance / n), seVar = Math.sqrt((mu4 - variance * variance) / n);
  expect(Math.abs(m - mean), `mean ${m} vs ${mean} (se ${seMean})`).toBeLessThan(5 * seMean);
  expect(Math.abs(v - variance), `variance ${v} vs ${variance} (se ${seVar})`).toBeLessThan(5 * seVar);
}

/** √n · sup |F_n − F| of a continuous sample against its exact CDF. */
function ksStatistic(xs: Float64Array, cdf: (x: number) => number): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(s[i]);
    d = Math.max(d, (i + 1) / n - f, f - i / n);
  }
  return Math.sqrt(n) * d;
}

/**
 * The chi-square goodness-of-fit p-value of integer draws against an exact pmf: cells k in
 * [kMin, kMax] merged from the left until each expects ≥ 20, and one cell for everything outside
 * (expected: n times the mass the window misses); P(χ²_df > X²) = Q(df/2, X²/2).
 */
function chiSquarePValue(xs: Float64Array, pmf: (k: number) => number, kMin: number, kMax: number): number {
  const n = xs.length, width = kMax - kMin + 1;
  const counts = new Float64Array(width + 1); // the last: outside the window
  for (const x of xs) counts[x >= kMin && x <= kMax ? x - kMin : width]++;
  const expected = new Float64Array(width + 1);
  let mass = 0;
  for (let i = 0; i < width; i++) { const p = pmf(kMin + i); expected[i] = n * p; mass += p; }
  expected[width] = n * Math.max(0, 1 - mass);
  const obs: number[] = [], exp: number[] = [];
  let o = 0, e = 0;
  for (let i = 0; i < width; i++) {
    o += counts[i]; e += expected[i];
    if (e >= 20) { obs.push(o); exp.push(e); o = 0; e = 0; }
  }
  if (obs.length === 0) throw new Error("no cell with expected count ≥ 20");
  obs[obs.length - 1] += o; exp[exp.length - 1] += e;
  let x2 = 0;
  for (let i = 0; i < obs.length; i++) x2 += (obs[i] - exp[i]) ** 2 / exp[i];
  // The outside cell: expected ≈ 0 for these windows (12 standard deviations), so any draw there fails.
  if (counts[width] > 0 && expected[width] < 1) return 0;
  const df = obs.length - 1;
  return df === 0 ? 1 : gammaIncQ(df / 2, x2 / 2);
}

/** Mean, variance and 4th central moment of a pmf on 0 … kMax. */
function pmfMoments(pmf: (k: number) => number, kMax: number): [number, number, number] {
  let m = 0;
  for (let k = 0; k <= kMax; k++) m += k * pmf(k);
  let v = 0, m4 = 0;
  for (let k = 0; k <= kMax; k++) { const d = k - m; v += d * d * pmf(k); m4 += d * d * d * d * pmf(k); }
  return [m, v, m4];
}

const poissonPmf = (lambda: number) => (k: number): number => Math.exp(-lambda + k * Math.log(lambda) - lgamma(k + 1));
/** NB(μ, α) pmf: Γ(y + r)/(Γ(r)·y!)·(r/(r + μ))^r·(μ/(r + μ))^y, r = 1/α. */
const negBinPmf = (mu: number, alpha: number) => (k: number): number => {
  const r = 1 / alpha;
  return Math.exp(lgamma(k + r) - lgamma(r) - lgamma(k + 1) + r * Math.log(r / (r + mu)) + k * Math.log(mu / (r + mu)));
};

describe("samplers: determinism", () => {
  const samplers: [string, (rng: Rng, spare: NormalSpare) => number][] = [
    ["normal", (r, s) => sampleNormal(r, s)],
    ["gamma 0.4", (r, s) => sampleGamma(r, 0.4, s)],
    ["gamma 3", (r, s) => sampleGamma(r, 3, s)],
    ["poisson 4", (r) => samplePoisson(r, 4)],
    ["poisson 50", (r) => samplePoisson(r, 50)],
    ["studentT 3", (r, s) => sampleStudentT(r, 3, s)],
    ["negativeBinomial", (r, s) => sampleNegativeBinomial(r, 7, 0.3, s)],
  ];
  for (const [name, f] of samplers) {
    it(`${name}: the same seed gives the same sequence, another seed another`, () => {
      const run = (seed: number): number[] => {
        const rng = new Rng(seed), spare = new NormalSpare();
        return Array.from({ length: 500 }, () => f(rng, spare));
      };
      expect(run(42)).toEqual(run(42));
      expect(run(43)).not.toEqual(run(42));
    });
  }

  it("a spare halves the generator's work and keeps the pair's values", () => {
    const a = new Rng(5), b = new Rng(5), spare = new NormalSpare();
    const withSpare = [sampleNormal(a, spare), sampleNormal(a, spare)];
    const first = sampleNormal(b);
    expect(withSpare[0]).toBe(first);
    // b threw its second value away; a's next draw and b's next come from the same generator state.
    expect(sampleNormal(a, spare)).toBe(sampleNormal(b));
  });

  it("bad parameters give NaN; degenerate ones their point mass", () => {
    const rng = new Rng(1);
    expect(sampleGamma(rng, 0)).toBeNaN();
    expect(samplePoisson(rng, -1)).toBeNaN();
    expect(samplePoisson(rng, 0)).toBe(0);
    expect(sampleNegativeBinomial(rng, 0, 0.5)).toBe(0);
    expect(sampleNegativeBinomial(rng, 1, 0)).toBeNaN();
  });
});

describe("samplers: distributions (fixed seeds)", () => {
  it("normal: moments and Kolmogorov–Smirnov against Φ, with and without a spare", () => {
    for (const spare of [undefined, new NormalSpare()]) {
      const rng = new Rng(1234);
      const xs = draws(N, () => sampleNormal(rng, spare));
      expectMoments(xs, 0, 1, 3);
      expect(ksStatistic(xs, normalCdf)).toBeLessThan(1.95);
    }
  });

  for (const shape of [0.05, 0.3, 1, 2.5, 30]) {
    it(`gamma(${shape}): moments and Kolmogorov–Smirnov against P(a, x)`, () => {
      const rng = new Rng(99), spare = new NormalSpare();
      const xs = draws(N, () => sampleGamma(rng, shape, spare));
      expectMoments(xs, shape, shape, shape * shape * (3 + 6 / shape));
      expect(ksStatistic(xs, (x) => gammaIncP(shape, x))).toBeLessThan(1.95);
    });
  }

  for (const nu of [0.7, 2.5, 12]) {
    it(`studentT(${nu}): Kolmogorov–Smirnov against F_ν${nu > 4 ? ", moments" : ""}`, () => {
      const rng = new Rng(7), spare = new NormalSpare();
      const xs = draws(N, () => sampleStudentT(rng, nu, spare));
      expect(ksStatistic(xs, (t) => studentTCdf(t, nu))).toBeLessThan(1.95);
      if (nu > 4) {
        const v = nu / (nu - 2);
        expectMoments(xs, 0, v, v * v * (3 + 6 / (nu - 4)));
      }
    });
  }

  for (const lambda of [0.3, 3, 9.99, 10, 37.5, 1000, 1e6]) {
    it(`poisson(${lambda}): moments and chi-square against the pmf`, () => {
      const rng = new Rng(2024);
      const xs = draws(N, () => samplePoisson(rng, lambda));
      expect(xs.filter((x) => !(Number.isInteger(x) && x >= 0)).length).toBe(0);
      // μ4 of Poisson: λ(1 + 3λ).
      expectMoments(xs, lambda, lambda, lambda * (1 + 3 * lambda));
      const sd = Math.sqrt(lambda);
      const kMin = Math.max(0, Math.floor(lambda - 12 * sd)), kMax = Math.ceil(lambda + 12 * sd + 20);
      expect(chiSquarePValue(xs, poissonPmf(lambda), kMin, kMax)).toBeGreaterThan(1e-4);
    });
  }

  for (const [mu, alpha] of [[0.4, 2], [5, 0.5], [7, 0.3], [100, 0.1], [2000, 0.01]]) {
    it(`negativeBinomial(μ ${mu}, α ${alpha}): mean μ, variance μ + αμ², chi-square against the pmf`, () => {
      const rng = new Rng(31337), spare = new NormalSpare();
      const xs = draws(N, () => sampleNegativeBinomial(rng, mu, alpha, spare));
      const pmf = negBinPmf(mu, alpha);
      const kMax = Math.ceil(mu + 40 * Math.sqrt(mu + alpha * mu * mu) + 50);
      const [m, v, m4] = pmfMoments(pmf, kMax);
      expect(m).toBeCloseTo(mu, 8);
      expect(v).toBeCloseTo(mu + alpha * mu * mu, 6);
      expectMoments(xs, mu, v, m4);
      expect(chiSquarePValue(xs, pmf, 0, kMax)).toBeGreaterThan(1e-4);
    });
  }

  it("the checks have power: a gamma with 2% too large a scale fails them", () => {
    const rng = new Rng(99);
    const xs = draws(N, () => 1.02 * sampleGamma(rng, 2.5));
    expect(ksStatistic(xs, (x) => gammaIncP(2.5, x))).toBeGreaterThan(1.95);
    const ys = draws(N, () => samplePoisson(rng, 37.5 * 1.02));
    expect(chiSquarePValue(ys, poissonPmf(37.5), 0, 200)).toBeLessThan(1e-4);
  });
});
