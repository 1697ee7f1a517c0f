import { closeSync, openSync, readSync, statSync } from "node:fs";
import { InputError } from "../errors.js";
import { memoryLimit, type MemoryLimit } from "../io/memory.js";

/**
 * Bytes a loaded value costs, all stages of `train` together: the Float64 value as read and
 * prepared in place (8), the batch it is copied into for training (8 at most: the targets stay
 * float64, the inputs are in the compute dtype), and the reader's growth and copy-out at the
 * end of a sequence (up to 1.5 × 8 more, for a moment). Measured: `rnn bench --data`.
 */
export const BYTES_PER_VALUE = 28;
/** A classification label: its string, shared or not, and the array slot. */
const BYTES_PER_LABEL = 40;
/** Bytes read from the file's start to learn its bytes per row. */
const SAMPLE_BYTES = 1 << 18;

/** What loading a data file would take. */
export interface DataEstimate {
  readonly rows: number;
  /** Values kept per row (inputs and regression targets; a label counts as one). */
  readonly values: number;
  readonly bytes: number;
}

/**
 * The rows of a CSV estimated from its size and the bytes per row of its first 256 KiB (exact
 * when the file is no longer), and the memory they will take once loaded. Null for a file
 * that cannot be measured (not a regular file): then it is read without the check.
 */
export function estimateData(file: string, values: number, labels: boolean): DataEstimate | null {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return null;
    size = st.size;
  } catch {
    return null; // the reader says why it cannot read it
  }
  const sample = Buffer.alloc(Math.min(size, SAMPLE_BYTES));
  let fd = -1;
  try {
    fd = openSync(file, "r");
    readSync(fd, sample, 0, sample.length, 0);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  let lines = 0;
  for (let i = sample.indexOf(10); i >= 0; i = sample.indexOf(10, i + 1)) lines++;
  const rows = sample.length === size ? Math.max(0, lines - 1) : Math.round(size / (sample.length / Math.max(1, lines)));
  const perRow = values * BYTES_PER_VALUE + (labels ? BYTES_PER_LABEL : 0);
  return { rows, values, bytes: rows * perRow };
}

/**
 * Refuses (exit 2, one line) data that would need more than 80% of the memory this process
 * may use, before any of it is read — as train refuses a model that will not fit.
 */
export function checkDataMemory(file: string, est: DataEstimate | null, have: MemoryLimit = memoryLimit()): void {
  if (est === null || est.bytes <= 0.8 * have.bytes) return;
  const of = have.source === "this machine" ? "this machine's" : `the limit of ${have.source}:`;
  throw new InputError(`${file}: about ${est.rows.toLocaleString("en-US")} rows × ${est.values} values would need about ${(est.bytes / 2 ** 30).toFixed(1)} GiB once loaded, more than 80% of ${of} ${(have.bytes / 2 ** 30).toFixed(1)} GiB; use fewer rows or columns, or a machine with more memory`);
}
