import { parse, type CsvError } from "csv-parse";
import type { Readable } from "node:stream";
import { InputError } from "../errors.js";

/** One data row: its line number in the file (the header is line 1) and its cells. */
export interface CsvRow {
  readonly line: number;
  readonly cells: string[];
}

/** A CSV being read as a stream: the header, then the rows on demand. */
export interface CsvStream {
  readonly file: string;
  readonly header: readonly string[];
  readonly rows: AsyncIterator<CsvRow>;
}

/** Longest field or record accepted, so a file with no line breaks cannot take all memory. */
const MAX_RECORD_BYTES = 1 << 20;

function csvFailure(file: string, e: unknown): InputError {
  const err = e as CsvError & { lines?: number };
  if (err && typeof err.code === "string" && err.code.startsWith("CSV_")) {
    return new InputError(`${file}: line ${err.lines ?? "?"}: ${err.message.replace(/ on line \d+\.?$/, "")}`);
  }
  const sys = e as NodeJS.ErrnoException;
  if (sys && typeof sys.code === "string") return new InputError(`${file}: cannot read: ${sys.code}`);
  return new InputError(`${file}: ${(e as Error).message}`);
}

/**
 * Reads a CSV from a stream (csv-parse): BOM and CRLF accepted, quoted fields per RFC 4180,
 * blank lines skipped. Ragged rows are reported by this reader, in order, so the rows
 * before a bad one are delivered first.
 */
export async function openCsv(input: Readable, file: string): Promise<CsvStream> {
  const parser = input.pipe(parse({
    bom: true, info: true, skip_empty_lines: true, relax_column_count: true,
    max_record_size: MAX_RECORD_BYTES,
  }));
  input.on("error", (e) => parser.destroy(e));
  const it = (parser as AsyncIterable<{ record: string[]; info: { lines: number } }>)[Symbol.asyncIterator]();
  let first: IteratorResult<{ record: string[]; info: { lines: number } }>;
  try {
    first = await it.next();
  } catch (e) {
    throw csvFailure(file, e);
  }
  if (first.done) throw new InputError(`${file}: empty file: a header row is required`);
  const header = first.value.record.map((h) => h.trim());
  const rows: AsyncIterator<CsvRow> = {
    async next(): Promise<IteratorResult<CsvRow>> {
      let r: IteratorResult<{ record: string[]; info: { lines: number } }>;
      try {
        r = await it.next();
      } catch (e) {
        throw csvFailure(file, e);
      }
      if (r.done) return { done: true, value: undefined };
      const { record, info } = r.value;
      if (record.length !== header.length) {
        throw new InputError(`${file}: line ${info.lines}: ${record.length} fields, the header has ${header.length}`);
      }
      return { done: false, value: { line: info.lines, cells: record } };
    },
    async return(): Promise<IteratorResult<CsvRow>> {
      parser.destroy();
      return { done: true, value: undefined };
    },
  };
  return { file, header, rows };
}

/** The index of a named column; a missing column is an error naming the file. */
export function columnIndex(csv: { file: string; header: readonly string[] }, name: string, role: string): number {
  const i = csv.header.indexOf(name);
  if (i < 0) {
    throw new InputError(`${csv.file}: line 1: missing ${role} column "${name}" (the header has ${csv.header.map((h) => `"${h}"`).join(", ")})`);
  }
  return i;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A numeric cell as a decimal number; anything else (NaN, Infinity, hex, text) is rejected. */
export function parseNumber(cell: string, file: string, line: number, column: string): number {
  const s = cell.trim();
  const v = DECIMAL.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(v)) {
    const shown = cell.length > 40 ? `${cell.slice(0, 40)}…` : cell;
    throw new InputError(`${file}: line ${line}, column "${column}": ${JSON.stringify(shown)} is not a finite decimal number`);
  }
  return v;
}
