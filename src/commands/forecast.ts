import { likelihoodOf } from "../core/heads/index.js";
import { PathSampler } from "../core/paths.js";
import { Rng } from "../core/rng.js";
import { sampleQuantile } from "../core/forecast-metrics.js";
import type { CsvRow, RowView } from "../data/csv-cursor.js";
import { InputError } from "../errors.js";
import { csvLine, num } from "../io/format.js";
import { writeFileAtomic } from "../io/atomic.js";
import { renderSvg, type LinePlot, type Point } from "../io/plot.js";
import { checkSampling, futureRowsNeeded, Roller, rolloutFeed } from "../io/rollout.js";
import { BufferedOut, type Io } from "../io/terminal.js";
import { openModelStream, reportUnseen } from "./model.js";

export interface ForecastOptions {
  horizon: number;
  data?: string;
  plot?: string;
  /** Sample paths per sequence (likelihood models, SPEC §10). */
  samples?: number;
  /** Quantiles of the paths to print (default 0.1, 0.5, 0.9). */
  quantiles?: number[];
  seed?: number;
  /** Print the paths themselves instead of their mean and quantiles. */
  paths?: boolean;
}

/** Sequences a --plot draws (the first ones), and the history rows of each it keeps. */
const PLOT_SEQUENCES = 4;
const PLOT_HISTORY = 2000;
/** The generator stream of sequence i's sample paths is SAMPLE_STREAM + i (one stream per sequence). */
export const SAMPLE_STREAM = 1 << 24;
const DEFAULT_QUANTILES = [0.1, 0.5, 0.9];

interface Plotted { id: string | null; history: Point[][]; forecast: Point[][]; low: Point[][]; high: Point[][] }

/**
 * `rnn forecast <checkpoint> --horizon h` (SPEC §7, §10): each sequence of the data is run from
 * s_0 through its n rows; the output after row n−1 forecasts row n, and each forecast's fed-back
 * value (the mean of a likelihood model, ŷ_0.5 of a quantile model; in original units, then
 * normalised as an input) is the input of the next step, h rows in all. With `--samples N` a
 * likelihood model draws N paths instead, each draw fed back (PathSampler). Streamed sequence
 * by sequence.
 *
 * Beyond SPEC: a model with inputs that are not targets (covariates: calendar features, known
 * future values) forecasts when each sequence ends with rows whose target cells are all
 * missing — its future rows, which give the covariates of the steps rolled out (h − 1 of them
 * are needed). A sequence's history ends at its last row with a target; for an autoregressive
 * model, rows after it are ignored.
 */
export async function forecast(ckFile: string, o: ForecastOptions, io: Io): Promise<number> {
  const { ck, net, ts, file, csv, dec, filler, inStats, outStats, cats } = await openModelStream(ckFile, o.data, true, io);
  const cfg = ck.config;
  const feed = rolloutFeed(ckFile, cfg);
  if (ts.task !== "regression") throw new Error("rolloutFeed admits regression models only");
  const head = ts.head, h = o.horizon;
  const I = net.shape.inputSize, O = ts.outputs, W = net.shape.outputSize;
  checkSampling(ckFile, o, cfg.model, O, net);
  const seqCol = cfg.data.sequenceColumn;
  const N = o.samples ?? 0;
  const qs = o.quantiles ?? DEFAULT_QUANTILES;
  const sampler = N > 0 ? new PathSampler(net, likelihoodOf(cfg.model.likelihood!), O, N) : null;
  const seed = o.seed ?? cfg.seed;

  const roller = new Roller(net, head, feed, inStats, outStats, filler, O);
  const raw = new Float64Array(I);
  const targets: number[] = new Array<number>(O);
  const paths = sampler ? new Float64Array(h * N * O) : null;
  const sorted = new Float64Array(N);
  let sequences = 0;
  /** Rows read since the last row with a target: history if one follows, else future rows. */
  let held: CsvRow[] = [];
  const out = new BufferedOut(io);
  const key = seqCol !== null ? [seqCol] : [];
  out.add(csvLine(!sampler ? [...key, "t", ...head.forecastColumns(cfg.data.targets)]
    : o.paths ? [...key, "sample", "t", ...cfg.data.targets]
      : [...key, "t", ...cfg.data.targets, ...qs.flatMap((q) => cfg.data.targets.map((c) => `${c}_q${String(q)}`))]));
  const plots: Plotted[] = [];
  let plotted: Plotted | null = null;

  const historyRow = (r: RowView): void => {
    dec.inputs(r, raw, 0);
    roller.push(raw);
    if (plotted) {
      const n = roller.rows;
      dec.targets(r, targets, 0);
      plotted.history.forEach((s, k) => {
        if (!Number.isNaN(targets[k])) s.push({ x: n - 1, y: targets[k] });
        if (s.length > 2 * PLOT_HISTORY) s.splice(0, s.length - PLOT_HISTORY); // the latest rows
      });
    }
  };
  const plotStep = (k: number, mid: ArrayLike<number>, low: ArrayLike<number> | null, high: ArrayLike<number> | null): void => {
    if (!plotted) return;
    const n = roller.rows;
    for (let j = 0; j < O; j++) {
      plotted.forecast[j].push({ x: n + k, y: mid[j] });
      if (low && high) { plotted.low[j].push({ x: n + k, y: low[j] }); plotted.high[j].push({ x: n + k, y: high[j] }); }
    }
  };
  const lik = cfg.model.likelihood !== null ? likelihoodOf(cfg.model.likelihood) : null;
  const theta = new Float64Array(lik?.P ?? 0), lo = new Float64Array(O), hi = new Float64Array(O);
  /** The 10% and 90% quantiles of a deterministic step, where the model gives them (a fan chart's band). */
  const band = (): boolean => {
    const p = roller.predicted;
    if (lik?.quantile) {
      for (let j = 0; j < O; j++) {
        for (let k = 0; k < lik.P; k++) theta[k] = p[k * O + j];
        lo[j] = lik.quantile(theta, 0.1); hi[j] = lik.quantile(theta, 0.9);
      }
      return true;
    }
    const q = cfg.model.quantiles, a = q?.indexOf(0.1) ?? -1, b = q?.indexOf(0.9) ?? -1;
    if (a < 0 || b < 0) return false;
    for (let j = 0; j < O; j++) { lo[j] = p[a * O + j]; hi[j] = p[b * O + j]; }
    return true;
  };

  /**
   * Input i of future step k ≥ 1, raw: a numeric covariate from future row k − 1; a categorical
   * one (SPEC §11) from it too when there is one, else the history's constant value.
   */
  const In = cfg.data.inputs.length;
  const covariateOf = (future: readonly CsvRow[]) => (k: number, i: number): number => {
    if (i < In) return dec.input(future[k - 1], i);
    return k <= future.length ? dec.category(future[k - 1], i - In) : roller.constantCategory(i - In) ?? 0;
  };

  /** The deterministic roll-out of a sequence: each step's fed-back value is the next input. */
  const rollOut = (future: readonly CsvRow[], id: string | null): void => {
    const n = roller.rows;
    roller.rollOut(h, covariateOf(future), (k) => {
      out.add(csvLine([...(seqCol !== null ? [id ?? ""] : []), String(n + k), ...Array.from(roller.row, num)]));
      if (plotted) { const b = band(); plotStep(k, roller.row, b ? lo : null, b ? hi : null); }
    });
  };

  /** N sample paths of a sequence, printed as paths or as their mean and quantiles. */
  const samplePaths = (future: readonly CsvRow[], id: string | null): void => {
    const n = roller.rows;
    roller.sample(sampler!, h, new Rng(seed, SAMPLE_STREAM + sequences), covariateOf(future), paths!);
    const ids = seqCol !== null ? [id ?? ""] : [];
    if (o.paths) {
      for (let p = 0; p < N; p++) {
        for (let k = 0; k < h; k++) out.add(csvLine([...ids, String(p), String(n + k), ...Array.from(paths!.subarray((p * h + k) * O, (p * h + k + 1) * O), num)]));
      }
      return;
    }
    const mean = new Float64Array(O), qv = new Float64Array(qs.length * O), median = new Float64Array(O);
    for (let k = 0; k < h; k++) {
      for (let j = 0; j < O; j++) {
        let s = 0;
        for (let p = 0; p < N; p++) { sorted[p] = paths![(p * h + k) * O + j]; s += sorted[p]; }
        mean[j] = s / N;
        sorted.sort();
        qs.forEach((q, a) => { qv[a * O + j] = sampleQuantile(sorted, q); });
        lo[j] = sampleQuantile(sorted, 0.1); hi[j] = sampleQuantile(sorted, 0.9); median[j] = sampleQuantile(sorted, 0.5);
      }
      out.add(csvLine([...ids, String(n + k), ...Array.from(mean, num), ...Array.from(qv, num)]));
      plotStep(k, median, lo, hi);
    }
  };

  let id: string | null = null, started = false, firstLine = 0;
  const endSequence = async (): Promise<void> => {
    const n = roller.rows;
    const where = `${file}: sequence ${seqCol !== null ? `${JSON.stringify(id)} ` : ""}(from line ${firstLine})`;
    if (n === 0) throw new InputError(`${where}: no row with a target value to forecast from`);
    const future = held;
    // A model with covariates and no future rows is not autoregressive: refused, as SPEC §7 says.
    const needed = futureRowsNeeded(feed, h);
    if (future.length < needed) {
      const cols = feed.covariates.map((c) => JSON.stringify(c)).join(", ");
      throw new InputError(`${where}: input column(s) ${cols} are not targets of the model, so forecast cannot roll them forward; give their future values in ${needed} row(s) after the sequence's last target, with the target cells empty (found ${future.length})`);
    }
    const varying = future.length < h - 1 ? roller.varyingCategories() : [];
    if (varying.length > 0) {
      throw new InputError(`${where}: categorical column(s) ${varying.map((c) => JSON.stringify(c)).join(", ")} change over the sequence's history, so forecast cannot repeat them; give their future values in ${h - 1} row(s) after the sequence's last target, with the target cells empty (found ${future.length})`);
    }
    if (sampler) samplePaths(future, id); else rollOut(future, id);
    sequences++;
    await out.flush();
  };
  const startSequence = (rid: string | null, line: number): void => {
    id = rid; started = true; firstLine = line; held = [];
    roller.start();
    const series = (): Point[][] => cfg.data.targets.map(() => []);
    plotted = o.plot && plots.length < PLOT_SEQUENCES ? { id: rid, history: series(), forecast: series(), low: series(), high: series() } : null;
    if (plotted) plots.push(plotted);
  };

  try {
    while (await csv.more()) {
      while (csv.next()) {
        const rid = dec.sequenceId(csv);
        if (started && rid !== id) await endSequence();
        if (!started || rid !== id) startSequence(rid, csv.line);
        dec.targets(csv, targets, 0);
        if (targets.every((v) => Number.isNaN(v))) { held.push(csv.keep()); continue; }
        for (const f of held) historyRow(f);
        held = [];
        historyRow(csv);
      }
    }
    if (!started) throw new InputError(`${file}: no data rows`);
    await endSequence();
  } finally {
    // The sequences forecast before a bad row stay printed (a failed write is second to it).
    await out.flush(true).catch(() => undefined);
  }
  reportUnseen(io, cats, file);
  if (o.plot) writeFileAtomic(o.plot, await renderSvg(forecastPlots(plots, cfg.data.targets, sampler !== null)));
  return 0;
}

/**
 * One chart per target: each plotted sequence's history as a line, its forecast as another
 * (the median of the paths with --samples), and for a probabilistic model the 10–90% band.
 */
function forecastPlots(plots: readonly Plotted[], targets: readonly string[], sampled: boolean): LinePlot[] {
  return targets.map((c, k) => ({
    title: `${c}: history and forecast`, xLabel: "t (row within the sequence)", yLabel: c, integerX: true,
    series: plots.flatMap((p) => {
      const name = p.id === null ? "" : `${p.id} `;
      return [{ name: `${name}history`, points: p.history[k] }, { name: `${name}${sampled ? "median" : "forecast"}`, points: p.forecast[k] }];
    }),
    bands: plots.filter((p) => p.low[k].length > 0).map((p) => ({
      name: `${p.id === null ? "" : `${p.id} `}10–90%`,
      like: `${p.id === null ? "" : `${p.id} `}${sampled ? "median" : "forecast"}`,
      points: p.low[k].map((l, i) => ({ x: l.x, low: l.y, high: p.high[k][i].y })),
    })),
  }));
}
