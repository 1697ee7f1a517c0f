import type { Readable } from "node:stream";
import { ColumnCursor, formatOf } from "./columnar.js";
import { CsvCursor, type CsvRow, type RowView } from "./csv-cursor.js";

/**
 * Rows of a data file, walked without an object per row: `more()` loads the next part,
 * `next()` moves to its next row, the RowView reads the current row's cells. A CSV (CsvCursor)
 * or a Parquet / Arrow table (ColumnCursor): the decoder does not ask which.
 */
export interface RowSource extends RowView {
  readonly file: string;
  readonly header: readonly string[];
  readonly width: number;
  /** Why column c cannot be read (a Parquet/Arrow type rnn does not read), or null; absent for a CSV. */
  unreadable?(c: number): string | null;
  more(): Promise<boolean>;
  next(): boolean;
  cells(): string[];
  /** The current row, kept whole (valid after `next()`). */
  keep(): CsvRow;
  close(): void;
}

/**
 * Opens a data source: "-" reads CSV from `stdin`; a path ending in .parquet, .arrow, .feather
 * or .ipc is read as that format; anything else as CSV. `name` is the file named in messages.
 */
export async function openRows(src: string, name: string, open: (src: string) => Readable): Promise<RowSource> {
  const format = src === "-" ? "csv" : formatOf(src);
  return format === "csv" ? CsvCursor.open(open(src), name) : ColumnCursor.open(src, format);
}
