import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import type { Clip } from "../core/clip.js";
import { InputError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { loadCheckpoint } from "../io/checkpoint.js";
import { num } from "../io/format.js";
import type { LinePlot, Point } from "../io/plot.js";
import type { Io } from "../io/terminal.js";

/** A run log's columns by name, read as numbers (NaN where a cell is empty). */
type Log = ReadonlyMap<string, readonly number[]>;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** What String(x) prints for the non-finite doubles. */
const NON_FINITE = new Set(["NaN", "Infinity", "-Infinity"]);

/**
 * Reads one of a run's CSV logs (SPEC §2): the named columns as numbers. A cell may be empty
 * (NaN) only in an `optional` column; NaN and ±Infinity are read as written. A last row cut
 * short with no newline after it is a row `rnn train` is appending right now, and is left
 * out; any other malformed row is an InputError naming the file and the line.
 */
export function readLog(file: string, required: readonly string[], optional: readonly string[]): Log {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? `${file}: not found (not a run directory?)` : `${file}: cannot read: ${code ?? String(e)}`);
  }
  let records: string[][];
  try {
    // Blank lines are kept as records (and skipped below), so that record i is line i + 1.
    records = parse(text, { bom: true, relax_column_count: true });
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
  const blank = (r: readonly string[]): boolean => r.length === 1 && r[0].trim() === "";
  if (records.length === 0 || blank(records[0])) throw new InputError(`${file}: empty file: a header row is required`);
  const header = records[0].map((h) => h.trim());
  const want = [...required, ...optional];
  const at = want.map((name) => {
    const i = header.indexOf(name);
    if (i < 0 && required.includes(name)) {
      throw new InputError(`${file}: line 1: missing column "${name}" (the header has ${header.map((h) => `"${h}"`).join(", ")})`);
    }
    return i;
  });
  const cols: number[][] = want.map(() => []);
  for (let r = 1; r < records.length; r++) {
    const rec = records[r];
    if (blank(rec)) continue;
    if (rec.length !== header.length) {
      if (r === records.length - 1 && rec.length < header.length && !text.endsWith("\n")) break;
      throw new InputError(`${file}: line ${r + 1}: ${rec.length} fields, the header has ${header.length}`);
    }
    want.forEach((name, k) => {
      const cell = at[k] < 0 ? "" : rec[at[k]].trim();
      if (cell === "" && k >= required.length) { cols[k].push(NaN); return; }
      if (!DECIMAL.test(cell) && !NON_FINITE.has(cell)) {
        const shown = cell.length > 40 ? `${cell.slice(0, 40)}…` : cell;
        throw new InputError(`${file}: line ${r + 1}, column "${name}": ${JSON.stringify(shown)} is not a number`);
      }
      cols[k].push(Number(cell));
    });
  }
  return new Map(want.map((name, k) => [name, cols[k]]));
}

function points(log: Log, x: string, y: string): Point[] {
  const xs = log.get(x) ?? [], ys = log.get(y) ?? [];
  return xs.map((xv, i) => ({ x: xv, y: ys[i] }));
}

/**
 * The plots of a run directory, from its updates.csv and epochs.csv (SPEC §2):
 * `loss.svg` — train_loss and val_loss per epoch, above the loss of every update by step;
 * `grad-norm.svg` — the gradient's global L2 norm before clipping, per update by step, with
 * the threshold drawn when the run clips by norm. Both on log y axes (losses and norms span
 * orders of magnitude; zero and non-finite values are left out). epochs.csv may be missing
 * (a run stopped inside its first epoch) and val_loss empty (no validation data).
 * Each file is written atomically; returns their paths.
 */
export async function writeRunPlots(dir: string, clip: Clip): Promise<string[]> {
  const updates = readLog(path.join(dir, "updates.csv"), ["step", "loss", "grad_norm"], []);
  const epochsFile = path.join(dir, "epochs.csv");
  const epochs = existsSync(epochsFile) ? readLog(epochsFile, ["epoch"], ["train_loss", "val_loss"]) : null;
  const name = path.basename(path.resolve(dir));

  const train = epochs ? points(epochs, "epoch", "train_loss") : [];
  const val = epochs ? points(epochs, "epoch", "val_loss") : [];
  const lossPlots: LinePlot[] = [
    {
      title: `${name}: loss per epoch`, xLabel: "epoch", yLabel: "loss", logY: true, integerX: true,
      // A run without validation data has no val_loss series rather than an empty one in the legend.
      series: [{ name: "train_loss", points: train }, ...(val.some((p) => !Number.isNaN(p.y)) ? [{ name: "val_loss", points: val }] : [])],
    },
    {
      title: `${name}: loss per update`, xLabel: "step", yLabel: "loss", logY: true,
      series: [{ name: "loss", points: points(updates, "step", "loss") }],
    },
  ];
  const how = clip === null ? " (no clipping)" : "value" in clip ? ` (clipped by value: each component to ±${num(clip.value)})` : "";
  const gradPlot: LinePlot = {
    title: `${name}: gradient norm per update${how}`, xLabel: "step", yLabel: "grad_norm before clipping", logY: true,
    series: [{ name: "grad_norm", points: points(updates, "step", "grad_norm") }],
    rules: clip !== null && "norm" in clip ? [{ y: clip.norm, label: `clip norm ${num(clip.norm)}` }] : [],
  };

  // Vega is loaded here, not at start-up: it takes a few hundred ms that only plotting needs.
  const { renderSvg } = await import("../io/plot.js");
  const files: [string, string][] = [
    [path.join(dir, "loss.svg"), await renderSvg(lossPlots)],
    [path.join(dir, "grad-norm.svg"), await renderSvg([gradPlot])],
  ];
  for (const [file, svg] of files) writeFileAtomic(file, svg);
  return files.map(([file]) => file);
}

/** The run's clipping setting, from its last (else best) checkpoint; null when it has none. */
function runClip(dir: string): Clip {
  for (const f of ["last.safetensors", "best.safetensors"]) {
    const file = path.join(dir, f);
    if (existsSync(file)) return loadCheckpoint(file).config.training.clip;
  }
  return null;
}

/**
 * `rnn plot <run dir>`: writes loss.svg and grad-norm.svg into the run directory (see
 * writeRunPlots) and names them on stderr. Works on a run in progress too.
 */
export async function plot(runDir: string, io: Io): Promise<number> {
  let isDir: boolean;
  try {
    isDir = statSync(runDir).isDirectory();
  } catch {
    throw new InputError(`${runDir}: no such run directory`);
  }
  if (!isDir) throw new InputError(`${runDir}: not a directory (rnn plot takes a run directory)`);
  const written = await writeRunPlots(runDir, runClip(runDir));
  for (const f of written) io.stderr.write(`${f}\n`);
  return 0;
}

/** Plotting may take about 1/(PLOT_RATIO + 1) of a training run's time, no more. */
const PLOT_RATIO = 10;

/**
 * The plots as `rnn train` keeps them: rewritten at the end of an epoch when the time since
 * the last write is at least PLOT_RATIO times what that write took, and at the end of the run
 * if an epoch has ended since. Why not after every epoch: a write costs ~0.1 s for 2500
 * updates (the first ~0.5 s, as Vega loads), more than a whole epoch of a small model.
 * A failed write is reported once through `warn` and not retried: plots never stop a run.
 */
export class RunPlotter {
  private due = -Infinity;
  private behind = false;
  private failed = false;

  constructor(private readonly dir: string, private readonly clip: Clip, private readonly warn: (message: string) => void,
    private readonly now: () => number = () => performance.now() / 1000) {}

  /** After an epoch (its rows flushed): writes the plots if due; true if written. */
  async epochEnd(): Promise<boolean> {
    this.behind = true;
    return this.now() >= this.due ? this.write() : false;
  }

  /** At the end of the run (finished, stopped or failed): writes them if an epoch was skipped. */
  async finish(): Promise<boolean> {
    return this.behind ? this.write() : false;
  }

  private async write(): Promise<boolean> {
    if (this.failed) return false;
    const t0 = this.now();
    try {
      await writeRunPlots(this.dir, this.clip);
    } catch (e) {
      this.failed = true;
      this.warn(`plots not written: ${(e as Error).message}`);
      return false;
    }
    const t1 = this.now();
    this.behind = false;
    this.due = t1 + PLOT_RATIO * (t1 - t0);
    return true;
  }
}
