/**
 * The scores `rnn backtest` reports (SPEC §10): sample quantiles and the sample CRPS of forecast
 * paths, the seasonal naive baseline, and an accumulator that pools mae, rmse, smape, mase,
 * crps and coverage80 over sequences fed one at a time. Pure: no I/O.
 *
 * Layouts, as the forecast command holds them (O targets, h held-out steps, N paths):
 * history [n, O] and actual / point [h, O] row-major (index t·O + o); samples [N, h, O]
 * path-major (index (s·h + k)·O + o), as `forecast --paths` prints them.
 */

/**
 * numpy.quantile(a, q) with the default method 'linear' (Hyndman & Fan type 7) on an ascending
 * array: position p = (n − 1)·q between order statistics lo = ⌊p⌋ and lo + 1, interpolated as
 * numpy's _lerp does (a + (b − a)·t, or b − (b − a)·(1 − t) for t ≥ ½) so results match bit for bit.
 * q ∈ [0, 1]; NaN for an empty array.
 */
export function sampleQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const p = (n - 1) * q;
  if (p >= n - 1) return sorted[n - 1];
  if (p <= 0) return sorted[0];
  const lo = Math.floor(p), t = p - lo;
  const a = sorted[lo], b = sorted[lo + 1], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * The sample CRPS estimator of SPEC §10 on an ascending array of N samples:
 * E|X − y| − ½·E|X − X′| = (1/N)·Σᵢ |xᵢ − y| − (1/N²)·Σᵢ (2i − N + 1)·x₍ᵢ₎ (i = 0 … N−1), since
 * Σᵢ Σⱼ |xᵢ − xⱼ| = 2·Σᵢ (2i − N + 1)·x₍ᵢ₎ over the sorted sample; all N² pairs, i = j included
 * (scoringRules' crps_sample). O(N).
 */
export function crpsSorted(sorted: ArrayLike<number>, y: number): number {
  const n = sorted.length;
  let absDev = 0, spread = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i];
    absDev += Math.abs(x - y);
    spread += (2 * i - n + 1) * x;
  }
  return absDev / n - spread / (n * n);
}

/** crpsSorted on a sorted copy of `samples` (any order): O(N log N). */
export function crpsSamples(samples: ArrayLike<number>, y: number): number {
  return crpsSorted(Float64Array.from(samples).sort(), y);
}

/**
 * The seasonal naive forecast of SPEC §10 for a history y₀ … y_(n−1):
 * ŷ_(n+k) = y_(n+k−m·⌈(k+1)/m⌉), k = 0 … h−1 — the value one whole season back from the last
 * season of the history (m = 1: the last value repeated). Needs n ≥ m.
 * `stride` and `offset` read one target of a row-major [n, O] history (stride O, offset o).
 */
export function seasonalNaive(history: ArrayLike<number>, h: number, m: number, stride = 1, offset = 0): Float64Array {
  const n = Math.floor((history.length - offset + stride - 1) / stride);
  if (!(Number.isInteger(m) && m >= 1) || n < m) throw new Error(`seasonalNaive: a history of ${n} rows for season ${m}`);
  const out = new Float64Array(h);
  for (let k = 0; k < h; k++) out[k] = history[(n + k - m * Math.ceil((k + 1) / m)) * stride + offset];
  return out;
}

/** mae, rmse, smape (0–200) and mase of one forecast; null where no cell (or no MASE pair) counted. */
export interface PointScores { mae: number | null; rmse: number | null; smape: number | null; mase: number | null }

/** Everything `rnn backtest` prints from the scores (the command adds `skipped` and `horizon`). */
export interface BacktestScores extends PointScores {
  /** Sequences added. */
  sequences: number;
  /** Held-out target cells scored (non-finite actual values are not). */
  cells: number;
  /** With samples: mean sample CRPS over cells, and the fraction inside [q0.1, q0.9] inclusive. */
  crps?: number | null;
  coverage80?: number | null;
  /** The seasonal naive forecast on the same cells. */
  baseline: PointScores;
}

/** One sequence of one backtest: its history, the held-out values and the forecasts of them. */
export interface BacktestSequence {
  /** [n, O], n > season. */
  history: ArrayLike<number>;
  /** [h, O]: the held-out rows. A non-finite cell is not scored. */
  actual: ArrayLike<number>;
  /** [h, O]: the point forecast (`forecast`'s fed-back value, or the mean of the paths). */
  point: ArrayLike<number>;
  /** [N, h, O]: the sample paths, when the backtest samples. */
  samples?: ArrayLike<number>;
}

/** Sums behind PointScores, pooled over cells; MASE as a mean over (sequence, target) ratios. */
class PointSums {
  private absSum = 0; private sqSum = 0; private smapeSum = 0; private cells = 0;
  private maseSum = 0; private maseCount = 0;

  /** One cell: e = y − ŷ; smape term 2|e|/(|y| + |ŷ|), 0 when y = ŷ = 0. Returns |e|. */
  cell(y: number, f: number): number {
    const e = y - f, ae = Math.abs(e), den = Math.abs(y) + Math.abs(f);
    this.absSum += ae; this.sqSum += e * e; this.cells++;
    if (den !== 0) this.smapeSum += 2 * ae / den; // a NaN forecast makes den NaN and stays visible
    return ae;
  }

  /** One (sequence, target) pair: mean |e| over its cells / the in-sample mean |y_t − y_(t−m)|. */
  mase(meanAbsError: number, scale: number): void {
    if (scale !== 0 && Number.isFinite(scale)) { this.maseSum += meanAbsError / scale; this.maseCount++; }
  }

  scores(): PointScores {
    const c = this.cells;
    return {
      mae: c ? this.absSum / c : null,
      rmse: c ? Math.sqrt(this.sqSum / c) : null,
      smape: c ? 100 * this.smapeSum / c : null,
      mase: this.maseCount ? this.maseSum / this.maseCount : null,
    };
  }
}

/**
 * Pools the backtest scores over sequences added one at a time, keeping only sums (and one
 * N-long scratch array for sorting a cell's paths), so a command can stream sequences through it.
 *
 * mae, rmse, smape: pooled over every scored (step, target) cell of every sequence. mase: for each
 * sequence and target, mean |e| over its scored held-out cells divided by the mean in-sample
 * |y_t − y_(t−m)| (t = m … n−1, pairs with a non-finite value left out) of its history, averaged
 * over the pairs whose denominator is not 0; null when no pair qualifies (e.g. every history
 * constant), as the other scores are null when no cell was scored. crps and coverage80 (only when
 * constructed with `samples`): the mean over cells of crpsSorted of the cell's N path values, and
 * the fraction of cells with q0.1 ≤ y ≤ q0.9 by sampleQuantile. The baseline is the seasonal
 * naive forecast, scored like the point forecast on the same cells.
 */
export class BacktestAccumulator {
  readonly targets: number;
  readonly horizon: number;
  readonly season: number;
  readonly samples: number;
  private readonly model = new PointSums();
  private readonly naive = new PointSums();
  private sequences = 0;
  private cells = 0;
  private crpsSum = 0;
  private inside = 0;
  private readonly scratch: Float64Array;

  /** targets O ≥ 1, horizon h ≥ 1, season m ≥ 1 (default 1), samples N per cell (0: none). */
  constructor(opts: { targets: number; horizon: number; season?: number; samples?: number }) {
    this.targets = opts.targets;
    this.horizon = opts.horizon;
    this.season = opts.season ?? 1;
    this.samples = opts.samples ?? 0;
    for (const [k, v] of [["targets", this.targets], ["horizon", this.horizon], ["season", this.season]] as const) {
      if (!(Number.isInteger(v) && v >= 1)) throw new Error(`BacktestAccumulator: ${k} ${v} is not a whole number ≥ 1`);
    }
    if (!(Number.isInteger(this.samples) && this.samples >= 0)) throw new Error(`BacktestAccumulator: samples ${this.samples}`);
    this.scratch = new Float64Array(this.samples);
  }

  /** Scores one sequence (layouts in the file comment); throws on a shape that does not fit. */
  add(seq: BacktestSequence): void {
    const O = this.targets, h = this.horizon, m = this.season, N = this.samples;
    const n = seq.history.length / O;
    if (!Number.isInteger(n) || n <= m) throw new Error(`BacktestAccumulator.add: history of ${seq.history.length} values is not n > ${m} rows of ${O}`);
    if (seq.actual.length !== h * O || seq.point.length !== h * O) throw new Error(`BacktestAccumulator.add: actual/point need ${h}·${O} values`);
    if (N > 0 && seq.samples?.length !== N * h * O) throw new Error(`BacktestAccumulator.add: samples need ${N}·${h}·${O} values`);
    this.sequences++;
    for (let o = 0; o < O; o++) {
      let absModel = 0, absNaive = 0, scored = 0;
      for (let k = 0; k < h; k++) {
        const y = seq.actual[k * O + o];
        if (!Number.isFinite(y)) continue;
        scored++;
        absModel += this.model.cell(y, seq.point[k * O + o]);
        absNaive += this.naive.cell(y, seq.history[(n + k - m * Math.ceil((k + 1) / m)) * O + o]);
        if (N > 0 && seq.samples !== undefined) this.sampleCell(seq.samples, k, o, y);
      }
      this.cells += scored;
      if (scored === 0) continue;
      const scale = seasonalScale(seq.history, n, O, o, m);
      this.model.mase(absModel / scored, scale);
      this.naive.mase(absNaive / scored, scale);
    }
  }

  private sampleCell(samples: ArrayLike<number>, k: number, o: number, y: number): void {
    const N = this.samples, h = this.horizon, O = this.targets, xs = this.scratch;
    for (let s = 0; s < N; s++) xs[s] = samples[(s * h + k) * O + o];
    xs.sort();
    this.crpsSum += crpsSorted(xs, y);
    if (sampleQuantile(xs, 0.1) <= y && y <= sampleQuantile(xs, 0.9)) this.inside++;
  }

  /** The pooled scores so far. */
  result(): BacktestScores {
    const out: BacktestScores = { sequences: this.sequences, cells: this.cells, ...this.model.scores(), baseline: this.naive.scores() };
    if (this.samples > 0) {
      out.crps = this.cells ? this.crpsSum / this.cells : null;
      out.coverage80 = this.cells ? this.inside / this.cells : null;
    }
    return out;
  }
}

/** MASE's denominator: mean |y_t − y_(t−m)| over t = m … n−1 of target o, non-finite pairs left out. */
function seasonalScale(history: ArrayLike<number>, n: number, O: number, o: number, m: number): number {
  let sum = 0, count = 0;
  for (let t = m; t < n; t++) {
    const d = Math.abs(history[t * O + o] - history[(t - m) * O + o]);
    if (Number.isFinite(d)) { sum += d; count++; }
  }
  return count ? sum / count : 0;
}
