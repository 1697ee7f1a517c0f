import type { Readable } from "node:stream";
import { InputError } from "../errors.js";
import { CsvCursor, CsvRow } from "./csv-cursor.js";

export { CsvRow };

/** A CSV being read as a stream: the header, then the rows on demand (one object per row). */
export interface CsvStream {
  readonly file: string;
  readonly header: readonly string[];
  readonly rows: AsyncIterator<CsvRow>;
}

/**
 * Reads a CSV from a stream, a row object at a time (rnn init's sample of a file's first rows;
 * the commands that read whole files use CsvCursor): BOM accepted, lines ended by CRLF or LF —
 * mixed too (a header saved on Windows above rows appended on Linux), quoted fields per RFC
 * 4180, blank lines skipped. Ragged rows are reported in order, so the rows before a bad one
 * are delivered first.
 */
export async function openCsv(input: Readable, file: string): Promise<CsvStream> {
  const cur = await CsvCursor.open(input, file);
  const rows: AsyncIterator<CsvRow> = {
    async next(): Promise<IteratorResult<CsvRow>> {
      while (!cur.next()) if (!await cur.more()) return { done: true, value: undefined };
      return { done: false, value: cur.keep() };
    },
    async return(): Promise<IteratorResult<CsvRow>> {
      cur.close();
      return { done: true, value: undefined };
    },
  };
  return { file, header: cur.header, rows };
}

/** The index of a named column; a missing column, or one named twice, is an error naming the file. */
export function columnIndex(csv: { file: string; header: readonly string[] }, name: string, role: string): number {
  const i = csv.header.indexOf(name);
  const again = i < 0 ? -1 : csv.header.indexOf(name, i + 1);
  if (again >= 0) {
    throw new InputError(`${csv.file}: line 1: ${role} column ${quoted(name, 40)} appears twice (fields ${i + 1} and ${again + 1}): rename one`);
  }
  if (i < 0) {
    const shownCols = csv.header.slice(0, 12).map((h) => quoted(h, 40)).join(", ");
    const more = csv.header.length > 12 ? `, … ${csv.header.length} columns in all` : "";
    throw new InputError(`${csv.file}: line 1: missing ${role} column ${quoted(name, 40)} (the header has ${shownCols}${more})`);
  }
  return i;
}

/** A cell or name in a message: JSON-quoted, cut at `max` characters. */
export function quoted(s: string, max: number): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A cell's value when it is a finite decimal number (surrounding blanks allowed), else null. */
export function decimalValue(cell: string): number | null {
  const s = cell.trim();
  const v = DECIMAL.test(s) ? Number(s) : NaN;
  return Number.isFinite(v) ? v : null;
}

/** A numeric cell as a decimal number; anything else (NaN, Infinity, hex, text) is rejected. */
export function parseNumber(cell: string, file: string, line: number, column: string): number {
  const v = decimalValue(cell);
  if (v === null) {
    throw new InputError(`${file}: line ${line}, column ${quoted(column, 40)}: ${quoted(cell, 40)} is not a finite decimal number`);
  }
  return v;
}
