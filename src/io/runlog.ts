import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync } from "node:fs";
import { writeAll, writeFileAtomic } from "./atomic.js";
import { csvLine, num } from "./format.js";
import { fsError } from "./fserror.js";

export const UPDATES_HEADER = ["epoch", "step", "loss", "grad_norm", "lr"] as const;
export const EPOCHS_HEADER = ["epoch", "train_loss", "val_loss", "seconds"] as const;

/**
 * A run's CSV log (updates.csv or epochs.csv). Rows are buffered and appended when the run
 * saves a checkpoint, so the log always covers at least what the checkpoint holds; on resume
 * the rows past the checkpoint (from a run that was killed) are dropped.
 */
export class CsvLog {
  private pending: string[] = [];

  constructor(readonly file: string, readonly header: readonly string[]) {}

  /** Starts the file afresh with only its header. */
  reset(): void {
    writeFileAtomic(this.file, csvLine(this.header));
  }

  /** Keeps the rows whose value in column `key` is ≤ limit (resume); starts afresh if absent. */
  truncate(key: string, limit: number): void {
    if (!existsSync(this.file)) return this.reset();
    const lines = readFileSync(this.file, "utf8").split("\n");
    const col = this.header.indexOf(key);
    const keep = lines.slice(1).filter((l) => {
      const cells = l.split(",");
      return cells.length === this.header.length && /^\d+$/.test(cells[col]) && Number(cells[col]) <= limit;
    });
    writeFileAtomic(this.file, [csvLine(this.header).trimEnd(), ...keep].join("\n") + "\n");
  }

  add(values: readonly (number | null)[]): void {
    this.pending.push(csvLine(values.map((v) => (v === null || Number.isNaN(v) ? "" : num(v)))));
  }

  /**
   * Appends the pending rows. A failed append (a full disk) is cut back to the rows before it,
   * so the log never ends in a torn row, and is an InputError naming the log.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const buf = Buffer.from(this.pending.join(""));
    let fd: number | null = null, size = -1;
    try {
      fd = openSync(this.file, "a");
      size = fstatSync(fd).size;
      writeAll(fd, buf);
    } catch (e) {
      try { if (fd !== null && size >= 0) ftruncateSync(fd, size); } catch { /* the append's error is the one to report */ }
      throw fsError(this.file, e);
    } finally {
      try { if (fd !== null) closeSync(fd); } catch { /* nothing left to save */ }
    }
    this.pending = [];
  }
}
