import { existsSync, readFileSync } from "node:fs";
import { appendWhole, writeFileAtomic } from "./atomic.js";
import { csvLine, num } from "./format.js";

export const UPDATES_HEADER = ["epoch", "step", "loss", "grad_norm", "lr"] as const;
export const EPOCHS_HEADER = ["epoch", "train_loss", "val_loss", "seconds"] as const;

/**
 * A run's CSV log (updates.csv or epochs.csv). Rows are buffered and appended when the run
 * saves a checkpoint, so the log always covers at least what the checkpoint holds; on resume
 * the rows past the checkpoint (from a run that was killed) are dropped.
 */
export class CsvLog {
  private pending: string[] = [];

  /** `mirror` sees every row added, as numbers (the TensorBoard log). */
  constructor(readonly file: string, readonly header: readonly string[], private readonly mirror?: (values: readonly (number | null)[]) => void) {}

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
    this.mirror?.(values);
    this.pending.push(csvLine(values.map((v) => (v === null || Number.isNaN(v) ? "" : num(v)))));
  }

  /** Appends the pending rows, whole or not at all (appendWhole). */
  flush(): void {
    if (this.pending.length === 0) return;
    appendWhole(this.file, Buffer.from(this.pending.join("")));
    this.pending = [];
  }
}
