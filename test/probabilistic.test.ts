import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { outputsPerTarget } from "../src/config/schema.js";
import { paramSpecs, type ModelShape } from "../src/core/network.js";
import { Rng } from "../src/core/rng.js";
import { studentTCdf } from "../src/core/special.js";
import { numel } from "../src/core/tensor.js";
import { saveCheckpoint } from "../src/io/checkpoint.js";
import { rnn, tempDir } from "./helpers/cli.js";

/**
 * SPEC §10's sampled forecasts and backtest through the CLI: `forecast --samples` draws from the
 * distribution the deterministic forecast reports (moments of many paths), is a function of
 * the seed alone (thread count included), its summary is the mean and numpy-linear quantiles of
 * its `--paths`; `backtest` equals the same numbers computed here from `rnn forecast` of each
 * history (point, and the sample CRPS / coverage of the paths by their definitions).
 */
type Lik = "gaussian" | "studentT" | "negativeBinomial";
const dir = tempDir("rnn-prob-");

/** An autoregressive model (input u, target u, shift 1) with seeded weights; counts for negativeBinomial. */
function model(name: string, head: { likelihood?: Lik; quantiles?: number[] }, seed: number): string {
  const file = path.join(dir, `${name}.safetensors`);
  const config = validateConfig({
    seed: 5, data: { train: "d.csv", sequenceColumn: "id", inputs: ["u"], targets: ["u"], shift: 1, normalize: true },
    model: { cell: "lstm", hiddenSize: 6, ...head }, training: { dtype: "float64" },
  }, file);
  const shape: ModelShape = { cell: "lstm", inputSize: 1, hiddenSize: 6, outputSize: outputsPerTarget(config.model), layers: 1, activation: "tanh", bias: true };
  const n = paramSpecs(shape).reduce((a, s) => a + numel(s.shape), 0);
  const rng = new Rng(seed, 3);
  const params = Float64Array.from({ length: n }, () => (2 * rng.uniform() - 1) * 0.5);
  const counts = head.likelihood === "negativeBinomial";
  saveCheckpoint(file, {
    config, shape, dtype: "float64", params, classes: null, epoch: 1, step: 1, optimizer: null, position: null, carry: null, bestValLoss: null,
    normalization: counts ? { u: { mean: 4, std: 2 } } : { u: { mean: 10, std: 3 } },
  });
  return file;
}

/** Sequences of u (id s0, s1, …), counts or values near the model's scale. */
function data(file: string, lengths: readonly number[], counts: boolean): number[][] {
  const rng = new Rng(17, 1);
  const seqs = lengths.map((T) => Array.from({ length: T }, (_, t) => (counts ? Math.floor(8 * rng.uniform()) : Number((10 + 3 * Math.sin(t / 2) + rng.uniform()).toFixed(3)))));
  writeFileSync(file, ["id,u", ...seqs.flatMap((s, i) => s.map((v) => `s${i},${v}`))].join("\n") + "\n");
  return seqs;
}

const rows = (csv: string): Record<string, string>[] => parse(csv, { columns: true }) as Record<string, string>[];
const ok = (args: string[], env?: Record<string, string>): string => {
  const r = rnn(args, { cwd: dir, env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};

/** numpy.quantile's default (linear) on a sorted array, written out here independently. */
function npQuantile(sorted: readonly number[], q: number): number {
  const p = (sorted.length - 1) * q, lo = Math.floor(p), hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (p - lo);
}

describe("forecast --samples draws from the forecast's distribution", () => {
  const csv = path.join(dir, "hist.csv");
  data(csv, [12, 7], false);
  const counts = path.join(dir, "counts.csv");
  data(counts, [12, 7], true);
  const N = 8000;

  for (const lik of ["gaussian", "studentT", "negativeBinomial"] as const) {
    it(`${lik}: the first step's paths have the mean and variance of the reported distribution`, () => {
      const ck = model(lik, { likelihood: lik }, 40);
      const src = lik === "negativeBinomial" ? counts : csv;
      const point = rows(ok(["forecast", ck, "--horizon", "1", "--data", src]));
      const paths = rows(ok(["forecast", ck, "--horizon", "1", "--data", src, "--samples", String(N), "--paths", "--seed", "3"]));
      for (const p of point) {
        const xs = paths.filter((r) => r.id === p.id).map((r) => Number(r.u));
        expect(xs).toHaveLength(N);
        const mu = Number(p.u);
        if (lik === "studentT") {
          // ν may be below 4 (no fourth moment): check the distribution function at μ ± σ and μ instead.
          const sigma = Number(p.sigma_u), nu = Number(p.nu_u);
          for (const z of [-1, 0, 1]) {
            const f = xs.filter((x) => x <= mu + z * sigma).length / N, want = studentTCdf(z, nu);
            expect(Math.abs(f - want), `${p.id}: F(μ ${z >= 0 ? "+" : "−"} ${Math.abs(z)}σ)`).toBeLessThan(5 * Math.sqrt(want * (1 - want) / N));
          }
          continue;
        }
        const mean = xs.reduce((a, b) => a + b, 0) / N;
        const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (N - 1);
        const variance = lik === "gaussian" ? Number(p.sigma_u) ** 2 : mu + Number(p.alpha_u) * mu * mu;
        expect(Math.abs(mean - mu), `${p.id}: mean ${mean} vs μ ${mu}`).toBeLessThan(5 * Math.sqrt(variance / N));
        // The sample variance's standard error is about √(2/N) of it (plus the excess kurtosis's share).
        expect(Math.abs(v / variance - 1), `${p.id}: variance ${v} vs ${variance}`).toBeLessThan(lik === "gaussian" ? 5 * Math.sqrt(2 / N) : 0.12);
        if (lik === "negativeBinomial") expect(xs.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
      }
    });
  }

  it("same checkpoint, data and seed: the same bytes, at 1 or 2 threads; another seed: other paths", () => {
    const ck = model("gauss-det", { likelihood: "gaussian" }, 41);
    const args = ["forecast", ck, "--horizon", "6", "--data", csv, "--samples", "300", "--seed", "9"];
    const a = ok(args, { RNN_THREADS: "1" }), b = ok(args, { RNN_THREADS: "2" }), c = ok(args);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(ok([...args.slice(0, -1), "10"])).not.toBe(a);
    // Without --seed: the checkpoint's seed (5).
    expect(ok(args.slice(0, -2))).toBe(ok([...args.slice(0, -1), "5"]));
  });

  it("the summary is the mean and the numpy-linear quantiles of --paths", () => {
    const ck = model("gauss-sum", { likelihood: "gaussian" }, 42);
    const base = ["forecast", ck, "--horizon", "4", "--data", csv, "--samples", "101", "--seed", "2"];
    const summary = rows(ok([...base, "--quantiles", "0.05,0.5,0.975"]));
    const paths = rows(ok([...base, "--paths"]));
    expect(Object.keys(summary[0])).toEqual(["id", "t", "u", "u_q0.05", "u_q0.5", "u_q0.975"]);
    expect(Object.keys(paths[0])).toEqual(["id", "sample", "t", "u"]);
    expect(summary.map((r) => `${r.id}:${r.t}`)).toEqual(["s0:12", "s0:13", "s0:14", "s0:15", "s1:7", "s1:8", "s1:9", "s1:10"]);
    for (const s of summary) {
      const xs = paths.filter((r) => r.id === s.id && r.t === s.t).map((r) => Number(r.u));
      expect(xs).toHaveLength(101);
      const sorted = [...xs].sort((a, b) => a - b);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(Number(s.u)).toBeCloseTo(mean, 12);
      for (const q of [0.05, 0.5, 0.975]) expect(Number(s[`u_q${q}`])).toBeCloseTo(npQuantile(sorted, q), 12);
    }
  });

  it("refusals: --samples of a point or quantile model, flags without --samples, 0 or too many samples (exit 2, nothing on stdout)", () => {
    const point = model("point", {}, 43), quant = model("quant", { quantiles: [0.1, 0.5, 0.9] }, 44), g = model("g", { likelihood: "gaussian" }, 45);
    const cases: [string[], RegExp][] = [
      [["forecast", point, "--horizon", "2", "--data", csv, "--samples", "10"], /--samples needs a model with model\.likelihood; this one is a point/],
      [["forecast", quant, "--horizon", "2", "--data", csv, "--samples", "10"], /this one is a quantile model/],
      [["backtest", point, "--horizon", "2", "--data", csv, "--samples", "10"], /--samples needs a model with model\.likelihood/],
      [["forecast", g, "--horizon", "2", "--data", csv, "--paths"], /--paths needs --samples/],
      [["forecast", g, "--horizon", "2", "--data", csv, "--seed", "3"], /--seed needs --samples/],
      [["forecast", g, "--horizon", "2", "--data", csv, "--samples", "0"], /--samples must be a whole number ≥ 1/],
      [["forecast", g, "--horizon", "0", "--data", csv], /--horizon must be a whole number ≥ 1/],
      [["forecast", g, "--horizon", "1.5", "--data", csv], /--horizon must be a whole number ≥ 1/],
      [["forecast", g, "--horizon", "1000000", "--data", csv, "--samples", "10000000"], /--samples 10000000 × --horizon 1000000 × 1 target\(s\) needs .* GiB/],
      [["forecast", g, "--horizon", "2", "--data", csv, "--samples", "5", "--quantiles", "0.5,0.1"], /--quantiles must be strictly increasing/],
    ];
    for (const [args, msg] of cases) {
      const r = rnn(args, { cwd: dir });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
  });
});

describe("backtest against the same scores computed here from rnn forecast", () => {
  const h = 4, m = 2;
  const csv = path.join(dir, "bt.csv");
  const seqs = data(csv, [20, 15, 3, 11], false); // s2: a history of 0 rows < m, skipped

  /** The histories (all but the last h rows) of the sequences long enough, as a forecast input. */
  function histories(): { file: string; kept: number[] } {
    const kept = seqs.map((_, i) => i).filter((i) => seqs[i].length - h > m);
    const file = path.join(dir, "bt-hist.csv");
    writeFileSync(file, ["id,u", ...kept.flatMap((i) => seqs[i].slice(0, -h).map((v) => `s${i},${v}`))].join("\n") + "\n");
    return { file, kept };
  }

  /** mae, rmse, smape, mase of forecasts f[i][k] of the held-out values, by SPEC §10's definitions. */
  function scores(kept: number[], f: (i: number, k: number) => number): Record<string, number> {
    let ae = 0, se = 0, sm = 0, cells = 0, mase = 0;
    for (const i of kept) {
      const y = seqs[i], n = y.length - h;
      let seqAe = 0;
      for (let k = 0; k < h; k++) {
        const e = y[n + k] - f(i, k);
        ae += Math.abs(e); se += e * e; cells++; seqAe += Math.abs(e);
        sm += 2 * Math.abs(e) / (Math.abs(y[n + k]) + Math.abs(f(i, k)));
      }
      let d = 0;
      for (let t = m; t < n; t++) d += Math.abs(y[t] - y[t - m]);
      mase += (seqAe / h) / (d / (n - m));
    }
    return { mae: ae / cells, rmse: Math.sqrt(se / cells), smape: 100 * sm / cells, mase: mase / kept.length };
  }

  it("point forecast: mae, rmse, smape, mase and the seasonal naive baseline", () => {
    const ck = model("bt-g", { likelihood: "gaussian" }, 50);
    const { file, kept } = histories();
    const fc = rows(ok(["forecast", ck, "--horizon", String(h), "--data", file]));
    const r = JSON.parse(ok(["backtest", ck, "--horizon", String(h), "--season", String(m), "--data", csv, "--json"])) as Record<string, unknown>;
    expect([r.sequences, r.skipped, r.horizon]).toEqual([3, 1, h]);
    const want = scores(kept, (i, k) => Number(fc.find((x) => x.id === `s${i}` && Number(x.t) === seqs[i].length - h + k)!.u));
    for (const [k, v] of Object.entries(want)) expect(r[k] as number, k).toBeCloseTo(v, 11);
    // ŷ_{n+k} = y_{n+k−m⌈(k+1)/m⌉}: with m = 2, the last two history values repeated.
    const naive = scores(kept, (i, k) => { const n = seqs[i].length - h; return seqs[i][n + k - m * Math.ceil((k + 1) / m)]; });
    const base = r.baseline as Record<string, number>;
    for (const [k, v] of Object.entries(naive)) expect(base[k], `baseline ${k}`).toBeCloseTo(v, 11);
    expect(r).not.toHaveProperty("crps");
  });

  it("with --samples: the mean of the paths, crps (E|X − y| − ½E|X − X′|) and coverage80 of forecast --paths", () => {
    const ck = model("bt-t", { likelihood: "studentT" }, 51);
    const N = 60;
    const { file, kept } = histories();
    // forecast numbers its sequences' streams in input order; the backtest in the data's order.
    // Sequence s2 (skipped) comes third, so compare the first two sequences' paths only.
    const paths = rows(ok(["forecast", ck, "--horizon", String(h), "--data", file, "--samples", String(N), "--paths", "--seed", "4"]));
    const two = path.join(dir, "bt-two.csv");
    writeFileSync(two, readFileSync(csv, "utf8").split("\n").filter((l, i) => i === 0 || l.startsWith("s0,") || l.startsWith("s1,")).join("\n") + "\n");
    const r = JSON.parse(ok(["backtest", ck, "--horizon", String(h), "--season", String(m), "--data", two, "--samples", String(N), "--seed", "4", "--json"])) as Record<string, number>;
    const firstTwo = kept.slice(0, 2);
    const draws = (i: number, k: number): number[] => paths.filter((x) => x.id === `s${i}` && Number(x.t) === seqs[i].length - h + k).map((x) => Number(x.u));
    const want = scores(firstTwo, (i, k) => draws(i, k).reduce((a, b) => a + b, 0) / N);
    for (const [k, v] of Object.entries(want)) expect(r[k], k).toBeCloseTo(v, 10);
    let crps = 0, inside = 0, cells = 0;
    for (const i of firstTwo) {
      for (let k = 0; k < h; k++) {
        const xs = draws(i, k), y = seqs[i][seqs[i].length - h + k];
        let a = 0, b = 0;
        for (const x of xs) { a += Math.abs(x - y); for (const x2 of xs) b += Math.abs(x - x2); }
        crps += a / N - b / (2 * N * N);
        const sorted = [...xs].sort((p, q) => p - q);
        if (npQuantile(sorted, 0.1) <= y && y <= npQuantile(sorted, 0.9)) inside++;
        cells++;
      }
    }
    expect(r.crps).toBeCloseTo(crps / cells, 10);
    expect(r.coverage80).toBeCloseTo(inside / cells, 12);
  });

  it("refuses data where no sequence is long enough (exit 2, naming the flags)", () => {
    const ck = model("bt-short", { likelihood: "gaussian" }, 52);
    const r = rnn(["backtest", ck, "--horizon", "12", "--season", "9", "--data", csv], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no sequence has more than --season 9 rows before its last --horizon 12 rows \(4 too short\)/);
  });
});
