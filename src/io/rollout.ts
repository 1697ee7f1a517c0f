import type { Config } from "../config/schema.js";
import type { RegressionHead } from "../core/heads/index.js";
import { trainingBytes, type Network } from "../core/network.js";
import type { PathSampler } from "../core/paths.js";
import type { Rng } from "../core/rng.js";
import { alloc, type Float } from "../core/tensor.js";
import { zScore, type ColumnStats } from "../data/dataset.js";
import type { InputFill } from "../data/missing.js";
import { InputError } from "../errors.js";
import { memoryLimit } from "./memory.js";

/**
 * How a model's inputs are fed while it rolls forward (SPEC §7): input i is the forecast of
 * target `fromTarget[i]`, or (−1) a covariate, whose future values the caller must give.
 * Shared by `rnn forecast` (rows of a CSV) and the library's `Model.forecast` (arrays).
 * SPEC §11's categorical columns are the last `categorical.length` inputs of a row, always
 * covariates: from future rows where there are some, else the history's constant value.
 */
export interface Feed {
  readonly fromTarget: readonly number[];
  /** The numeric covariates (inputs that are not targets), which need future rows. */
  readonly covariates: readonly string[];
  readonly categorical: readonly string[];
}

/**
 * The feed of a model that can roll forward; refuses (InputError naming `source`) one that
 * cannot: not regression, or not trained with shift 1. Inputs that are not targets are covariates.
 */
export function rolloutFeed(source: string, cfg: Config): Feed {
  const inputs = cfg.data.inputs.map((c) => JSON.stringify(c)).join(", ");
  if (cfg.model.bidirectional) {
    throw new InputError(`${source}: model.bidirectional: forecast cannot run a bidirectional model (its reverse direction reads each sequence from its end, which a forecast has not seen)`);
  }
  if (cfg.task !== "regression") {
    throw new InputError(`${source}: forecast needs a regression model; this one is a classifier, so its input column(s) ${inputs} cannot be forecast`);
  }
  if (cfg.data.shift !== 1) {
    throw new InputError(`${source}: forecast needs a model trained to predict the next row (data.shift 1); this one has data.shift ${cfg.data.shift}, so its input column(s) ${inputs} cannot be forecast`);
  }
  if (cfg.model.quantiles !== null && !cfg.model.quantiles.includes(0.5)) {
    throw new InputError(`${source}: forecast feeds back the median, and this model's model.quantiles ${JSON.stringify(cfg.model.quantiles)} have no 0.5`);
  }
  const fromTarget = cfg.data.inputs.map((c) => cfg.data.targets.indexOf(c));
  const categorical = cfg.data.categorical.map((k) => k.column);
  return { fromTarget: [...fromTarget, ...categorical.map(() => -1)], covariates: cfg.data.inputs.filter((_, i) => fromTarget[i] < 0), categorical };
}

/**
 * The checks of `--samples` (forecast, backtest): its companion flags need it, it needs a
 * likelihood model, and N paths of `horizon` steps of O targets must fit in memory.
 */
export function checkSampling(source: string, o: { samples?: number; horizon: number; quantiles?: unknown; seed?: unknown; paths?: unknown },
  model: { readonly likelihood: string | null; readonly quantiles: readonly number[] | null }, O: number,
  net: Pick<Network, "shape" | "dtype">): void {
  if (o.samples === undefined) {
    for (const [flag, given] of [["--quantiles", o.quantiles], ["--seed", o.seed], ["--paths", o.paths]] as const) {
      if (given !== undefined) throw new InputError(`${flag} needs --samples`);
    }
    return;
  }
  if (model.likelihood === null) {
    throw new InputError(`${source}: --samples needs a model with model.likelihood; this one is a ${model.quantiles ? "quantile" : "point (MSE)"} model, whose forecast is deterministic`);
  }
  // The paths, and the network's buffers for a batch of N rows.
  const bytes = o.samples * o.horizon * O * 8 + trainingBytes(net.shape, net.dtype, 1, o.samples);
  const have = memoryLimit().bytes;
  if (bytes > 0.5 * have) {
    throw new InputError(`--samples ${o.samples} × --horizon ${o.horizon} × ${O} target(s) needs ${(bytes / 2 ** 30).toFixed(1)} GiB for the paths and the network's rows, more than half of the ${(have / 2 ** 30).toFixed(1)} GiB available`);
  }
}

/** Future rows a roll-out of `horizon` steps needs for its covariates: none without any. */
export function futureRowsNeeded(feed: Feed, horizon: number): number {
  return feed.covariates.length === 0 ? 0 : Math.max(1, horizon - 1);
}

/** The next step's raw inputs: the forecasts `y` (original units) fed back; covariates NaN, for the caller. */
export function feedBack(feed: Feed, y: ArrayLike<number>, raw: Float64Array): void {
  feed.fromTarget.forEach((t, i) => { raw[i] = t >= 0 ? y[t] : NaN; });
}

/**
 * One sequence's roll-out (SPEC §7, §10), for `rnn forecast` and `rnn backtest`: the history's
 * raw rows go in (filled and normalised as training did), then either the deterministic roll-out
 * — each step's fed-back value (the mean, or ŷ_0.5) becomes the next input — or N sample paths.
 * Covariates of the steps rolled out come from the caller (`covariate(k, i)`: input i of future
 * step k ≥ 1, raw). Buffers are allocated once and reused for every sequence.
 */
export class Roller {
  private readonly x: Float;
  private readonly raw: Float64Array;
  private readonly lastRaw: Float64Array;
  private readonly state: Float[];
  private pending = 0;
  /** History rows pushed since `start`. */
  rows = 0;
  /** SPEC §11: each categorical input's first value in the history, and whether it stayed so. */
  private readonly catFirst: Float64Array;
  private readonly catConstant: boolean[];
  /** predict's values of the latest step, and forecast's values of it (the first O fed back). */
  readonly predicted: Float64Array;
  readonly row: Float64Array;

  constructor(private readonly net: Network, private readonly head: RegressionHead, private readonly feed: Feed,
    private readonly inStats: readonly ColumnStats[], private readonly outStats: readonly ColumnStats[],
    private readonly filler: InputFill | null, private readonly O: number) {
    const I = net.shape.inputSize, W = net.shape.outputSize;
    this.x = alloc(net.dtype, CHUNK * I);
    this.raw = new Float64Array(I);
    this.lastRaw = new Float64Array(W);
    this.state = net.zeroState(1);
    this.predicted = new Float64Array(W);
    this.row = new Float64Array(head.forecastWidth(O));
    this.catFirst = new Float64Array(feed.categorical.length);
    this.catConstant = feed.categorical.map(() => true);
  }

  /**
   * Categorical input j's value for steps past the future rows given (SPEC §11: repeated when
   * the column is constant over the history), or null when it changes there.
   */
  constantCategory(j: number): number | null {
    return this.catConstant[j] ? this.catFirst[j] : null;
  }

  /** The categorical columns that change over the history (forecast cannot repeat them). */
  varyingCategories(): string[] {
    return this.feed.categorical.filter((_, j) => !this.catConstant[j]);
  }

  /** A new sequence, from s_0. */
  start(): void {
    for (const s of this.state) s.fill(0);
    this.filler?.startSequence();
    this.pending = 0; this.rows = 0;
    this.catConstant.fill(true);
  }

  /** One history row's raw inputs (missing cells NaN, filled here). */
  push(raw: ArrayLike<number>): void {
    for (let i = 0; i < this.raw.length; i++) this.raw[i] = raw[i];
    const C = this.catFirst.length, I = this.raw.length - C;
    for (let j = 0; j < C; j++) {
      if (this.rows === 0) this.catFirst[j] = raw[I + j];
      else if (raw[I + j] !== this.catFirst[j]) this.catConstant[j] = false;
    }
    this.put();
    this.rows++;
    if (this.pending === CHUNK) this.run();
  }

  /** Fills and normalises this.raw into the next slot of x. */
  private put(): void {
    const I = this.raw.length;
    this.filler?.apply(this.raw, 0);
    for (let i = 0; i < I; i++) this.x[this.pending * I + i] = zScore(this.raw[i], this.inStats[i]);
    this.pending++;
  }

  /** Runs the rows waiting in x; lastRaw holds the head's outputs after the last of them. */
  private run(): void {
    if (this.pending === 0) return;
    const { net } = this, W = net.shape.outputSize;
    net.forward(this.x, 0, this.state, this.pending, 1);
    net.stateAfter(this.pending, 1, this.state);
    const y = net.head.y, r = this.pending - 1;
    for (let k = 0; k < W; k++) this.lastRaw[k] = y[r * W + k];
    this.pending = 0;
  }

  /**
   * The deterministic roll-out of h steps from the history: `onStep(k)` sees step k's values in
   * `predicted` (predict's) and `row` (forecast's).
   */
  rollOut(h: number, covariate: (k: number, i: number) => number, onStep: (k: number) => void): void {
    this.run();
    const { head, O, raw, feed } = this;
    for (let k = 0; k < h; k++) {
      head.predictRow(this.lastRaw, 0, O, this.outStats, this.predicted, 0);
      head.forecastRow(this.predicted, O, this.row);
      onStep(k);
      if (k === h - 1) break;
      feedBack(feed, this.row, raw);
      feed.fromTarget.forEach((t, i) => { if (t < 0) raw[i] = covariate(k + 1, i); });
      this.put();
      this.run();
    }
  }

  /** N sample paths of h steps from the history into out [N, h, O] (PathSampler, from `rng`). */
  sample(sampler: PathSampler, h: number, rng: Rng, covariate: (k: number, i: number) => number, out: Float64Array): void {
    this.run();
    const { O, raw, feed, inStats } = this, N = sampler.N, I = raw.length;
    sampler.sample(this.state, this.lastRaw, this.outStats, h, rng, (k, draws, xs) => {
      // The covariates of step k, filled once for every path; then each path's own draws.
      for (let i = 0; i < I; i++) { const t = feed.fromTarget[i]; raw[i] = t >= 0 ? draws[t] : covariate(k, i); }
      this.filler?.apply(raw, 0);
      for (let p = 0; p < N; p++) {
        for (let i = 0; i < I; i++) {
          const t = feed.fromTarget[i];
          xs[p * I + i] = zScore(t >= 0 ? draws[p * O + t] : raw[i], inStats[i]);
        }
      }
    }, out);
  }
}

/** History rows run per forward call: memory stays bounded whatever a sequence's length. */
const CHUNK = 256;
