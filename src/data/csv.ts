import { CsvError, parse } from "csv-parse";
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

/** A parser message as one bounded line (it may quote a megabyte-long or binary field). */
function oneLine(message: string): string {
  const s = message.replace(/ on line \d+\.?$/, "").replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

function csvFailure(file: string, e: unknown): InputError {
  // Every parser error (its codes are not all CSV_-prefixed: INVALID_OPENING_QUOTE is not).
  if (e instanceof CsvError) {
    const lines = (e as CsvError & { lines?: number }).lines;
    return new InputError(`${file}: line ${lines ?? "?"}: ${oneLine(e.message)}`);
  }
  const sys = e as NodeJS.ErrnoException;
  if (sys && typeof sys.code === "string") return new InputError(`${file}: cannot read: ${sys.code}`);
  return new InputError(`${file}: ${oneLine((e as Error).message)}`);
}

/**
 * Reads a CSV from a stream (csv-parse): BOM accepted, lines ended by CRLF or LF — mixed too
 * (a header saved on Windows above rows appended on Linux), quoted fields per RFC 4180,
 * blank lines skipped. Ragged rows are reported by this reader, in order, so the rows
 * before a bad one are delivered first.
 */
export async function openCsv(input: Readable, file: string): Promise<CsvStream> {
  // Records as the parser makes them, in order. The stream's own iterator drops the records
  // it has buffered when a later one in the same chunk is malformed; these are delivered
  // first, so that predict prints every row before a bad one.
  type Parsed = { record: string[]; info: { lines: number } };
  const parsed: Parsed[] = [];
  const parser = input.pipe(parse({
    bom: true, info: true, skip_empty_lines: true, relax_column_count: true,
    // Not auto-detected from the first line: that would read every LF row after a CRLF header as one.
    record_delimiter: ["\r\n", "\n"],
    max_record_size: MAX_RECORD_BYTES,
    // With `info`, a record is { record, info } whatever the typings say.
    on_record: (r: string[]) => { parsed.push(r as unknown as Parsed); return r; },
  }));
  input.on("error", (e) => parser.destroy(e));
  const it = (parser as AsyncIterable<Parsed>)[Symbol.asyncIterator]();
  let failure: InputError | null = null;
  /** The next record, or null at the end; a parse error comes after every record before it. */
  const nextRecord = async (): Promise<Parsed | null> => {
    if (failure === null) {
      try {
        const r = await it.next();
        if (!r.done) {
          parsed.shift(); // the same record, delivered by the stream
          return r.value;
        }
      } catch (e) {
        failure = csvFailure(file, e);
      }
    }
    const rest = parsed.shift();
    if (rest) return rest;
    if (failure) throw failure;
    return null;
  };
  const first = await nextRecord();
  if (first === null) throw new InputError(`${file}: empty file: a header row is required`);
  const header = first.record.map((h) => h.trim());
  // UTF-16 (a spreadsheet's "Unicode text") decodes as UTF-8 into NULs around every character.
  if (header.some((h) => h.includes("\u0000"))) {
    throw new InputError(`${file}: line 1: the header holds NUL bytes: the file looks like UTF-16 text; save it as UTF-8`);
  }
  const rows: AsyncIterator<CsvRow> = {
    async next(): Promise<IteratorResult<CsvRow>> {
      const r = await nextRecord();
      if (r === null) return { done: true, value: undefined };
      const { record, info } = r;
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
