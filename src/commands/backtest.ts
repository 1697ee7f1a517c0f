import { likelihoodOf } from "../core/heads/index.js";
import { BacktestAccumulator, type BacktestScores } from "../core/forecast-metrics.js";
import { PathSampler } from "../core/paths.js";
import { Rng } from "../core/rng.js";
import { categoryLookup, columnSpec, inputStats } from "../data/load.js";
import { inputFill } from "../data/missing.js";
import { targetStats } from "../data/dataset.js";
import { targetPlan } from "../data/load.js";
import type { RawSequence } from "../data/table.js";
import { InputError } from "../errors.js";
import { withAbsoluteData } from "../io/checkpoint.js";
import { checkSampling, Roller, rolloutFeed } from "../io/rollout.js";
import { writeOut, type Io } from "../io/terminal.js";
import { SAMPLE_STREAM } from "./forecast.js";
import { loadModel, readHeldOut, refuseText, reportUnseen } from "./model.js";

export interface BacktestOptions {
  horizon: number;
  data?: string;
  samples?: number;
  season?: number;
  seed?: number;
  json?: boolean;
}

/** The JSON `rnn backtest` prints (SPEC §10). */
export interface BacktestReport extends Omit<BacktestScores, "baseline"> {
  readonly skipped: number;
  readonly horizon: number;
  readonly season: number;
  readonly baseline: BacktestScores["baseline"];
}

/**
 * `rnn backtest <checkpoint> --horizon h` (SPEC §10): holds out the last h rows of every sequence
 * whose history (the rows before them) has more than m = --season rows, forecasts them from that
 * history as `rnn forecast` does (the point forecast, or the mean of --samples paths, drawn as
 * forecast draws them), and scores the forecast beside the seasonal naive one on the same cells.
 * Prints one JSON object on stdout; without --json also a table on stderr.
 *
 * Where SPEC is silent: without --data it scores the checkpoint's own validation data (as eval);
 * a held-out cell with no target value is not scored; a model with covariates takes them from
 * the held-out rows (their future values are known in a backtest).
 */
export async function backtest(ckFile: string, o: BacktestOptions, io: Io): Promise<number> {
  const model = loadModel(ckFile);
  refuseText(model, "rnn backtest");
  const { ck, net, ts } = model;
  const cfg = withAbsoluteData(ckFile, ck.config);
  const feed = rolloutFeed(ckFile, cfg);
  if (ts.task !== "regression") throw new Error("rolloutFeed admits regression models only");
  const h = o.horizon, m = o.season ?? 1, N = o.samples ?? 0, O = ts.outputs, I = net.shape.inputSize;
  checkSampling(ckFile, o, cfg.model, O, net);
  const norm = ck.normalization;
  const filler = inputFill(cfg.data.missing, cfg.data.inputs, ck.fill, norm, ckFile);
  const roller = new Roller(net, ts.head, feed, inputStats(cfg, norm),
    targetStats(targetPlan(cfg), norm), filler, O);
  const sampler = N > 0 ? new PathSampler(net, likelihoodOf(cfg.model.likelihood!), O, N) : null;
  const seed = o.seed ?? cfg.seed;
  const acc = new BacktestAccumulator({ targets: O, horizon: h, season: m, samples: N });
  const point = new Float64Array(h * O), paths = sampler ? new Float64Array(N * h * O) : null;
  let skipped = 0;
  const score = (raws: RawSequence[]): void => {
    raws.forEach((s, index) => {
      const n = s.length - h; // history rows
      if (n <= m) { skipped++; return; }
      const y = s.y ?? new Float64Array(s.length * O).fill(NaN);
      roller.start();
      for (let t = 0; t < n; t++) roller.push(s.x.subarray(t * I, (t + 1) * I));
      // Step k's covariates are those of held-out row k − 1 (the row its input stands for).
      const covariate = (k: number, i: number): number => s.x[(n + k - 1) * I + i];
      if (sampler) {
        roller.sample(sampler, h, new Rng(seed, SAMPLE_STREAM + index), covariate, paths!);
        point.fill(0);
        for (let p = 0; p < N; p++) for (let i = 0; i < h * O; i++) point[i] += paths![p * h * O + i];
        for (let i = 0; i < h * O; i++) point[i] /= N;
      } else {
        roller.rollOut(h, covariate, (k) => { for (let j = 0; j < O; j++) point[k * O + j] = roller.row[j]; });
      }
      acc.add({ history: y.subarray(0, n * O), actual: y.subarray(n * O), point, ...(paths ? { samples: paths } : {}) });
    });
  };
  const cats = categoryLookup(cfg, ck.categories);
  const { file } = await readHeldOut(ckFile, cfg, o.data, io, columnSpec(cfg, true, cats), score);
  reportUnseen(io, cats, file);
  const r = acc.result();
  if (r.sequences === 0) {
    throw new InputError(`${file}: no sequence has more than --season ${m} rows before its last --horizon ${h} rows (${skipped} too short)`);
  }
  const { sequences, cells, baseline, ...scores } = r;
  const report: BacktestReport = { sequences, skipped, horizon: h, season: m, cells, ...scores, baseline };
  if (!o.json) io.stderr.write(table(report, N));
  await writeOut(io, JSON.stringify(report) + "\n");
  return 0;
}

/** The scores side by side, for people (stderr). */
function table(r: BacktestReport, N: number): string {
  const f = (v: number | null | undefined): string => (v === null || v === undefined ? "—" : v.toPrecision(4));
  const rows = (["mae", "rmse", "smape", "mase"] as const).map((k) => `${k.padEnd(11)} ${f(r[k]).padStart(10)} ${f(r.baseline[k]).padStart(10)}`);
  const extra = N > 0 ? [`crps        ${f(r.crps).padStart(10)}`, `coverage80  ${f(r.coverage80).padStart(10)}   (nominal 0.8)`] : [];
  return [`${r.sequences} sequence(s) scored, ${r.skipped} too short; horizon ${r.horizon}, season ${r.season}${N > 0 ? `, ${N} sample paths` : ""}`,
    `${"".padEnd(11)} ${"model".padStart(10)} ${"naive".padStart(10)}`, ...rows, ...extra, ""].join("\n");
}
