import { alloc, type Float } from "../core/tensor.js";
import type { CsvRow, RowView } from "../data/csv-cursor.js";
import { zScore } from "../data/dataset.js";
import { InputError } from "../errors.js";
import { csvLine, num } from "../io/format.js";
import { writeFileAtomic } from "../io/atomic.js";
import { renderSvg, type LinePlot, type Point } from "../io/plot.js";
import { feedBack, futureRowsNeeded, rolloutFeed } from "../io/rollout.js";
import { BufferedOut, type Io } from "../io/terminal.js";
import { openModelStream } from "./model.js";

export interface ForecastOptions {
  horizon: number;
  data?: string;
  plot?: string;
}

/** History steps run per forward call: memory stays bounded whatever a sequence's length. */
const CHUNK = 256;
/** Sequences a --plot draws (the first ones), and the history rows of each it keeps. */
const PLOT_SEQUENCES = 4;
const PLOT_HISTORY = 2000;

/**
 * `rnn forecast <checkpoint> --horizon h` (SPEC §7): each sequence of the data is run from s_0
 * through its n rows; the output after row n−1 forecasts row n, and each forecast (in original
 * units, then normalised as an input) is the input of the next step, h rows in all. Streamed
 * sequence by sequence.
 *
 * Beyond SPEC: a model with inputs that are not targets (covariates: calendar features, known
 * future values) forecasts when each sequence ends with rows whose target cells are all
 * missing — its future rows, which give the covariates of the steps rolled out (h − 1 of them
 * are needed). A sequence's history ends at its last row with a target; for an autoregressive
 * model, rows after it are ignored.
 */
export async function forecast(ckFile: string, o: ForecastOptions, io: Io): Promise<number> {
  const { ck, net, file, csv, dec, filler, inStats, outStats } = await openModelStream(ckFile, o.data, true, io);
  const cfg = ck.config;
  const feed = rolloutFeed(ckFile, cfg);
  const h = o.horizon;
  const I = net.shape.inputSize, O = net.shape.outputSize;
  const seqCol = cfg.data.sequenceColumn;

  const x: Float = alloc(net.dtype, CHUNK * I);
  const raw = new Float64Array(I);
  const targets: number[] = new Array<number>(O);
  const lastY = new Float64Array(O); // the latest output, in original units
  const state = net.zeroState(1);
  let pending = 0, n = 0;
  /** Rows read since the last row with a target: history if one follows, else future rows. */
  let held: CsvRow[] = [];
  const out = new BufferedOut(io);
  out.add(csvLine([...(seqCol !== null ? [seqCol] : []), "t", ...cfg.data.targets]));
  const plots: { id: string | null; history: Point[][]; forecast: Point[][] }[] = [];
  let plotted: (typeof plots)[number] | null = null;

  /** Runs the rows waiting in x; lastY is the output after the last of them. */
  const runPending = (): void => {
    if (pending === 0) return;
    net.forward(x, 0, state, pending, 1);
    net.stateAfter(pending, 1, state);
    const y = net.head.y, r = pending - 1;
    for (let k = 0; k < O; k++) lastY[k] = y[r * O + k] * outStats[k].std + outStats[k].mean;
    pending = 0;
  };
  /** Normalises raw (filled) into the next slot of x. */
  const push = (): void => {
    filler?.apply(raw, 0);
    for (let i = 0; i < I; i++) x[pending * I + i] = zScore(raw[i], inStats[i]);
    pending++;
  };
  const historyRow = (row: RowView): void => {
    dec.inputs(row, raw, 0);
    push();
    n++;
    if (plotted) {
      dec.targets(row, targets, 0);
      plotted.history.forEach((s, k) => {
        if (!Number.isNaN(targets[k])) s.push({ x: n - 1, y: targets[k] });
        if (s.length > 2 * PLOT_HISTORY) s.splice(0, s.length - PLOT_HISTORY); // the latest rows
      });
    }
    if (pending === CHUNK) runPending();
  };

  let id: string | null = null, started = false, firstLine = 0;
  const endSequence = async (): Promise<void> => {
    runPending();
    const where = `${file}: sequence ${seqCol !== null ? `${JSON.stringify(id)} ` : ""}(from line ${firstLine})`;
    if (n === 0) throw new InputError(`${where}: no row with a target value to forecast from`);
    const future = held;
    // A model with covariates and no future rows is not autoregressive: refused, as SPEC §7 says.
    const needed = futureRowsNeeded(feed, h);
    if (future.length < needed) {
      const cols = feed.covariates.map((c) => JSON.stringify(c)).join(", ");
      throw new InputError(`${where}: input column(s) ${cols} are not targets of the model, so forecast cannot roll them forward; give their future values in ${needed} row(s) after the sequence's last target, with the target cells empty (found ${future.length})`);
    }
    for (let k = 0; k < h; k++) {
      out.add(csvLine([...(seqCol !== null ? [id ?? ""] : []), String(n + k), ...Array.from(lastY, num)]));
      plotted?.forecast.forEach((s, j) => s.push({ x: n + k, y: lastY[j] }));
      if (k === h - 1) break;
      feedBack(feed, lastY, raw);
      feed.fromTarget.forEach((t, i) => { if (t < 0) raw[i] = dec.input(future[k], i); });
      push();
      runPending();
    }
    await out.flush();
  };
  const startSequence = (rid: string | null, line: number): void => {
    id = rid; started = true; firstLine = line; n = 0; held = [];
    for (const s of state) s.fill(0);
    filler?.startSequence();
    plotted = o.plot && plots.length < PLOT_SEQUENCES
      ? { id: rid, history: cfg.data.targets.map(() => []), forecast: cfg.data.targets.map(() => []) } : null;
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
  if (o.plot) writeFileAtomic(o.plot, await renderSvg(forecastPlots(plots, cfg.data.targets)));
  return 0;
}

/** One chart per target: each plotted sequence's history as a line, its forecast as another. */
function forecastPlots(plots: readonly { id: string | null; history: Point[][]; forecast: Point[][] }[], targets: readonly string[]): LinePlot[] {
  return targets.map((c, k) => ({
    title: `${c}: history and forecast`, xLabel: "t (row within the sequence)", yLabel: c, integerX: true,
    series: plots.flatMap((p) => {
      const name = p.id === null ? "" : `${p.id} `;
      return [{ name: `${name}history`, points: p.history[k] }, { name: `${name}forecast`, points: p.forecast[k] }];
    }),
  }));
}
