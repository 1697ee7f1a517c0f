import { createReadStream } from "node:fs";
import { openRows } from "../data/rows.js";
import { readSequencesFile } from "../data/table.js";
import { InputError } from "../errors.js";
import { writeOut, type Io } from "../io/terminal.js";

export interface BenchDataOptions {
  /** Comma-separated data files; every column is read as a numeric input. */
  data: string;
  rounds?: number;
  json?: boolean;
}

export interface DataBenchResult {
  readonly file: string;
  readonly rows: number;
  readonly columns: number;
  /** Median seconds to read the whole file into typed arrays, and rows per second. */
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** Bytes the values take once read, per cell (the Float64Arrays the reader fills). */
  readonly bytesPerCell: number;
  /** The process's peak RSS so far, in MB. */
  readonly peakRssMB: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The header of a data file: every column is read as an input. */
async function columnsOf(file: string): Promise<readonly string[]> {
  const cur = await openRows(file, file, (f) => createReadStream(f));
  cur.close();
  return cur.header;
}

/**
 * `rnn bench --data <files>`: ingest speed of the data path that train, eval, predict and
 * forecast share — each file (CSV, Parquet or Arrow, by extension) read whole into typed arrays
 * `rounds` times (every column as a numeric input, one series), the median reported with the
 * bytes each cell takes.
 */
export async function benchData(o: BenchDataOptions, io: Io): Promise<number> {
  const files = o.data.split(",").filter((f) => f !== "");
  if (files.length === 0) throw new InputError("--data: no file given");
  const rounds = o.rounds ?? 5;
  const results: DataBenchResult[] = [];
  for (const file of files) {
    const inputs = await columnsOf(file);
    // Empty cells are read as missing (NaN), as data.missing.inputs ffill would take them.
    const spec = { inputs, targets: null, sequenceColumn: null, task: "regression" as const, missing: { values: [""], inputs: "ffill" as const } };
    const times: number[] = [];
    let rows = 0, bytes = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const seqs = await readSequencesFile(file, spec);
      times.push((performance.now() - t0) / 1000);
      rows = seqs.reduce((n, s) => n + s.length, 0);
      bytes = seqs.reduce((n, s) => n + s.x.byteLength + (s.y?.byteLength ?? 0), 0);
    }
    const seconds = median(times);
    results.push({
      file, rows, columns: inputs.length, seconds, rowsPerSecond: rows / seconds,
      bytesPerCell: bytes / (rows * inputs.length), peakRssMB: process.resourceUsage().maxRSS / 1024,
    });
  }
  if (o.json) {
    await writeOut(io, JSON.stringify({ rounds, results }) + "\n");
  } else {
    for (const r of results) {
      io.stderr.write(`${r.file}: ${r.rows} rows × ${r.columns} columns in ${r.seconds.toFixed(3)} s (median of ${rounds}): ${(r.rowsPerSecond / 1e6).toFixed(2)}M rows/s, ${r.bytesPerCell} bytes/cell, peak RSS ${r.peakRssMB.toFixed(0)} MB\n`);
    }
  }
  return 0;
}
