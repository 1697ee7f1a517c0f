import { CsvError, parse } from "csv-parse";
import type { Readable } from "node:stream";
import { InputError } from "../errors.js";
import { addonFunction, type Addon } from "../kernels/native.js";
import { DecimalScan } from "./decimal.js";

/** A data row as it is read: its line number in the file (the header is line 1) and its cells. */
export interface RowView {
  readonly line: number;
  /** Cell c's text, untrimmed, as csv-parse gives it. */
  text(c: number): string;
  /** Cell c as a plain decimal number, or NaN when only its text can tell (see DecimalScan). */
  quick(c: number): number;
}

/** A row kept whole (a row held for later, or one csv-parse read). */
export class CsvRow implements RowView {
  constructor(readonly line: number, readonly cells: string[]) {}
  text(c: number): string { return this.cells[c]; }
  quick(): number { return NaN; }
}

/** Longest field or record accepted, so a file with no line breaks cannot take all memory. */
export const MAX_RECORD_BYTES = 1 << 20;
const COMMA = 44, LF = 10, CR = 13, QUOTE = 34;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * The addon's scanRows (native/csv.cc): the rows of buf from pos on, split and read as
 * `nextFast` does, a block at a time — row r's first field, width and line (counted from pos) at
 * rows[3r…3r+2], its fields in starts, ends and values; out = [rows, pos after them, lines after
 * them]. Returns why it stopped: AGAIN, MORE or SLOW.
 */
export type ScanRows = Addon["scanRows"];

/** Why a block scan stopped: its room was full, the next row needs more input, or it is csv-parse's. */
const AGAIN = 0, MORE = 1, SLOW = 2;
/** Rows and fields a block holds: one addon call per thousand rows of 16 columns. */
const BLOCK_ROWS = 1024, BLOCK_FIELDS = 1 << 14;

/** The native block scanner; null where the addon is not built, or RNN_BACKEND=js asks for the TypeScript path. */
export function nativeScanRows(): ScanRows | null {
  return process.env.RNN_BACKEND === "js" ? null : addonFunction("scanRows");
}

/** A parser message as one bounded line (it may quote a megabyte-long or binary field). */
function oneLine(message: string): string {
  const s = message.replace(/ on line \d+\.?$/, "").replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}

/** A read or parse failure as an InputError; `offset` lines came before what csv-parse was given. */
function csvFailure(file: string, e: unknown, offset: number): InputError {
  // Every parser error (its codes are not all CSV_-prefixed: INVALID_OPENING_QUOTE is not).
  if (e instanceof CsvError) {
    const lines = (e as CsvError & { lines?: number }).lines;
    const message = lines === undefined ? e.message : e.message.replace(`at line ${lines}`, `at line ${lines + offset}`);
    return new InputError(`${file}: line ${lines === undefined ? "?" : lines + offset}: ${oneLine(message)}`);
  }
  const sys = e as NodeJS.ErrnoException;
  if (sys && typeof sys.code === "string") return new InputError(`${file}: cannot read: ${sys.code}`);
  return new InputError(`${file}: ${oneLine((e as Error).message)}`);
}

/**
 * csv-parse over `chunks`, for the rest of a file from a line on: records as the parser makes
 * them, in order. The stream's own iterator drops the records it has buffered when a later one
 * in the same chunk is malformed; these are delivered first, so that predict prints every row
 * before a bad one.
 */
class SlowRows {
  private readonly parsed: { record: string[]; info: { lines: number } }[] = [];
  private readonly it: AsyncIterator<unknown>;
  private failure: InputError | null = null;
  private readonly parser: ReturnType<typeof parse>;

  constructor(chunks: AsyncIterable<Buffer>, private readonly file: string, private readonly offset: number) {
    this.parser = parse({
      bom: true, info: true, skip_empty_lines: true, relax_column_count: true,
      // Not auto-detected from the first line: that would read every LF row after a CRLF header as one.
      record_delimiter: ["\r\n", "\n"],
      max_record_size: MAX_RECORD_BYTES,
      // With `info`, a record is { record, info } whatever the typings say.
      on_record: (r: string[]) => { this.parsed.push(r as unknown as SlowRows["parsed"][number]); return r; },
    });
    const parser = this.parser;
    void (async () => {
      try {
        for await (const c of chunks) if (!parser.write(c)) await new Promise((ok) => parser.once("drain", ok));
        parser.end();
      } catch (e) { parser.destroy(e as Error); }
    })();
    this.it = (parser as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  }

  /** The next record, or null at the end; a parse error comes after every record before it. */
  async next(): Promise<CsvRow | null> {
    if (this.failure === null) {
      try {
        const r = await this.it.next();
        if (!r.done) this.parsed.shift(); // the same record, delivered by the stream
        if (!r.done) return this.row(r.value as SlowRows["parsed"][number]);
      } catch (e) {
        this.failure = csvFailure(this.file, e, this.offset);
      }
    }
    const rest = this.parsed.shift();
    if (rest) return this.row(rest);
    if (this.failure) throw this.failure;
    return null;
  }

  private row(r: SlowRows["parsed"][number]): CsvRow {
    return new CsvRow(r.info.lines + this.offset, r.record);
  }

  close(): void { this.parser.destroy(); }
}

/**
 * What a header with NUL bytes is, for its message: UTF-16 text (every other byte NUL), a
 * Parquet or Arrow file under another name, else binary — described, never quoted.
 */
function binaryKind(h: string): string {
  if (h.startsWith("PAR1")) return "the file holds NUL bytes: it is a Parquet file; name it .parquet to read it as one";
  if (h.startsWith("ARROW1") || h.startsWith("\uFFFD\uFFFD\uFFFD\uFFFD")) return "the file holds NUL bytes: it is not CSV text (an Arrow IPC file? name it .arrow to read it as one)";
  // UTF-16 of Latin text: one byte of every pair NUL, on the same side, the other not.
  const pairs = Math.floor(Math.min(h.length, 200) / 2);
  let even = 0, odd = 0;
  for (let i = 0; i < pairs; i++) {
    const a = h.charCodeAt(2 * i) === 0, b = h.charCodeAt(2 * i + 1) === 0;
    if (a && !b) even++;
    else if (b && !a) odd++;
  }
  if (pairs > 0 && Math.max(even, odd) >= 0.8 * pairs) return "the header holds NUL bytes: the file looks like UTF-16 text; save it as UTF-8";
  return "the file holds NUL bytes: it is binary, not CSV text";
}

/**
 * A CSV read row by row without a JS object per row: `more()` loads the next chunk of the
 * input, `next()` moves to its next complete row, and the row's cells are read in place —
 * numbers straight from the bytes (quickDecimal), text only when asked for. The addon splits
 * a block of rows per call (`ScanRows`) where it is built; `nextFast` is the same in TypeScript.
 *
 * Lines without a quote are split here on commas (LF or CRLF ends, blank lines skipped), which
 * is what csv-parse makes of them. From the first line that holds a quote, a lone CR or more
 * than MAX_RECORD_BYTES (or from the start of a UTF-16 file), the rest of the input goes through csv-parse (as `SlowRows`), so quoted
 * fields and every parser message — line numbers included — are exactly csv-parse's.
 */
export class CsvCursor implements RowView {
  line = 0;
  /** Fields in the current row. */
  width = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Where `buf` is joined from a chunk and the end of the one before (see `join`). */
  private room: Buffer = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  private bom = false;
  private starts: Int32Array;
  private ends: Int32Array;
  /** Each field as a number, NaN where only its text can tell. */
  private values: Float64Array;
  /** The current row's first field in starts, ends and values (always 0 on the TypeScript path). */
  private field0 = 0;
  private readonly dec = new DecimalScan();
  /** The native path: the rows of the last block scanned, 3 numbers each (see ScanRows). */
  private readonly block = new Int32Array(3 * BLOCK_ROWS);
  private readonly blockOut = new Int32Array(3);
  private blockRows = 0;
  private blockAt = 0;
  /** Lines read before the block, and up to where it stopped. */
  private blockLine = 0;
  private blockEnd = 0;
  private blockStop = AGAIN;
  private slow: SlowRows | null = null;
  private slowRow: CsvRow | null = null;
  private pendingSlow: CsvRow | null = null;
  private readonly chunks: AsyncIterator<Buffer | string>;
  header: readonly string[] = [];

  private constructor(input: Readable, readonly file: string, private readonly scan: ScanRows | null) {
    this.chunks = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
    const fields = scan ? BLOCK_FIELDS : 64;
    this.starts = new Int32Array(fields);
    this.ends = new Int32Array(fields);
    this.values = new Float64Array(fields);
  }

  /**
   * Opens a CSV stream and reads its header (trimmed); an empty input or UTF-16 text is refused.
   * `scan` null reads it with the TypeScript path.
   */
  static async open(input: Readable, file: string, scan: ScanRows | null = nativeScanRows()): Promise<CsvCursor> {
    const c = new CsvCursor(input, file, scan);
    let got = c.next();
    while (!got && await c.more()) { c.refuseBinary(); got = c.next(); }
    if (!got) throw new InputError(`${file}: empty file: a header row is required`);
    const header = c.cells().map((h) => h.trim());
    // UTF-16 (a spreadsheet's "Unicode text") decodes as UTF-8 into NULs around every character;
    // a binary file (a Parquet or Arrow file by another name, a program) holds them anywhere.
    if (header.some((h) => h.includes("\u0000"))) throw new InputError(`${file}: line 1: ${binaryKind(header.join(","))}`);
    c.header = header;
    return c;
  }

  /**
   * Before the header is read: a header line with NUL bytes is binary or UTF-16 (the header's
   * check names which), refused before any of it is parsed or quoted. UTF-16 with its byte-order
   * mark is read as such.
   */
  private refuseBinary(): void {
    if (this.line !== 0 || this.slow) return;
    const head = this.buf.subarray(0, Math.min(this.buf.length, 4096));
    if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return;
    // The header line only: a NUL in a later row is that row's fault, named by its line.
    const nul = head.indexOf(0), lf = head.indexOf(10);
    if (nul >= 0 && (lf < 0 || nul < lf)) throw new InputError(`${this.file}: line 1: ${binaryKind(head.toString("latin1"))}`);
  }

  /** Loads more of the input; false once every row has been loaded (and moved past). */
  async more(): Promise<boolean> {
    if (this.slow) {
      this.pendingSlow = await this.slow.next();
      return this.pendingSlow !== null;
    }
    if (this.blockAt < this.blockRows) this.unscan();
    this.blockStop = AGAIN; // the row it stopped at may be whole now
    if (this.eof) return this.pos < this.buf.length;
    let r: IteratorResult<Buffer | string>;
    try {
      r = await this.chunks.next();
    } catch (e) {
      throw csvFailure(this.file, e, 0);
    }
    if (r.done) { this.eof = true; return this.pos < this.buf.length; }
    this.join(typeof r.value === "string" ? Buffer.from(r.value, "utf8") : r.value);
    if (this.line === 0 && !this.bom && this.buf.length >= 3 && this.buf.subarray(0, 3).equals(BOM)) {
      this.bom = true;
      this.pos = 3;
    }
    return true;
  }

  /**
   * The buffer becomes the rest of it (a row cut by the chunk's end) and then `chunk`. Joined in
   * a buffer kept for it, not a new one per chunk: a megabyte less for the GC to see each time.
   */
  private join(chunk: Buffer): void {
    const rest = this.buf.subarray(this.pos);
    this.pos = 0;
    if (rest.length === 0) { this.buf = chunk; return; }
    const n = rest.length + chunk.length;
    if (this.room.length < n) this.room = Buffer.allocUnsafe(Math.max(n, 2 * this.room.length));
    rest.copy(this.room, 0); // rest may lie in room itself: copy moves overlapping bytes correctly
    chunk.copy(this.room, rest.length);
    this.buf = this.room.subarray(0, n);
  }

  /**
   * Moves to the next complete row loaded; false when `more()` must load more first. A row whose
   * field count differs from the header's is an error naming its line.
   */
  next(): boolean {
    const got = this.slow ? this.nextSlow() : this.scan ? this.nextBlock(this.scan) : this.nextFast();
    if (got && this.header.length > 0 && this.width !== this.header.length) {
      throw new InputError(`${this.file}: line ${this.line}: ${this.width} fields, the header has ${this.header.length}`);
    }
    return got;
  }

  private nextSlow(): boolean {
    const r = this.pendingSlow;
    if (r === null) return false;
    this.pendingSlow = null;
    this.slowRow = r;
    this.line = r.line;
    this.width = r.cells.length;
    return true;
  }

  private nextFast(): boolean {
    const b = this.buf, n = b.length;
    for (;;) {
      const s = this.pos;
      if (s >= n) return false;
      // UTF-16LE's byte-order mark: csv-parse decodes the file as UTF-16.
      if (this.line === 0 && s === 0 && n >= 2 && b[0] === 0xff && b[1] === 0xfe) return this.toSlow();
      let w = 0, i = s, end = -1, next = -1;
      // One pass per field: a number is read as the field is found (DecimalScan), and a field
      // that is not one is scanned on to its delimiter.
      for (;;) {
        const f = i;
        let v = this.dec.scan(b, f, n);
        if (v === v) i = this.dec.end; // not NaN
        const stop = i;
        for (; i < n; i++) {
          const c = b[i];
          if (c === COMMA || c === LF) break;
          if (c === QUOTE) return this.toSlow();
          if (c === CR) {
            if (i + 1 < n) { if (b[i + 1] !== LF) return this.toSlow(); break; }
            if (!this.eof) return false; // the LF may come in the next chunk
            return this.toSlow();
          }
        }
        if (i !== stop) v = NaN; // text after the number: not a number after all
        this.field(w++, f, i, v);
        if (i >= n) {
          if (n - s > MAX_RECORD_BYTES) return this.toSlow();
          if (!this.eof) return false;
          end = n; next = n;
          break;
        }
        if (b[i] === COMMA) { i++; continue; }
        end = i; next = b[i] === CR ? i + 2 : i + 1;
        break;
      }
      if (end - s > MAX_RECORD_BYTES) return this.toSlow();
      this.line++;
      this.pos = next;
      if (end === s) continue; // a blank line
      this.width = w;
      return true;
    }
  }

  /** The next row of the block the addon scanned, scanning the next block once it is used up. */
  private nextBlock(scan: ScanRows): boolean {
    for (;;) {
      if (this.blockAt < this.blockRows) {
        const k = 3 * this.blockAt++;
        this.field0 = this.block[k];
        this.width = this.block[k + 1];
        this.line = this.blockLine + this.block[k + 2];
        return true;
      }
      this.line = this.blockEnd;
      if (this.blockStop === SLOW) return this.toSlow();
      if (this.blockStop === MORE) return false;
      const out = this.blockOut;
      this.blockStop = scan(this.buf, this.pos, this.eof ? 1 : 0, this.line === 0 ? 1 : 0, this.block,
        this.starts, this.ends, this.values, out);
      this.blockRows = out[0];
      this.blockAt = 0;
      this.pos = out[1];
      this.blockLine = this.line;
      this.blockEnd = this.line + out[2];
      if (this.blockStop === AGAIN && this.blockRows === 0) this.grow(); // a row wider than the room
    }
  }

  /**
   * Gives back the rows of the block not walked yet (the header's block when `open` returns):
   * `more()` moves the buffer, so they are scanned again from it.
   */
  private unscan(): void {
    const k = 3 * this.blockAt;
    this.pos = this.starts[this.block[k]];
    this.line = this.blockEnd = this.blockLine + this.block[k + 2] - 1;
    this.blockRows = this.blockAt = 0;
  }

  private field(k: number, s: number, e: number, v: number): void {
    if (k >= this.starts.length) this.grow();
    this.starts[k] = s; this.ends[k] = e; this.values[k] = v;
  }

  /** Twice the room for fields. */
  private grow(): void {
    const twice = <A extends Int32Array | Float64Array>(a: A): A => {
      const g = new (a.constructor as new (n: number) => A)(a.length * 2); g.set(a); return g;
    };
    this.starts = twice(this.starts); this.ends = twice(this.ends); this.values = twice(this.values);
  }

  /** Hands the rest of the input, from the current line on, to csv-parse. */
  private toSlow(): boolean {
    const head = this.buf.subarray(this.pos);
    const chunks = this.chunks, bom = this.bom;
    async function* rest(): AsyncGenerator<Buffer> {
      // The BOM again, so that csv-parse's messages say what they said when it read it all.
      if (bom) yield BOM;
      yield head;
      for (let r = await chunks.next(); !r.done; r = await chunks.next()) {
        yield typeof r.value === "string" ? Buffer.from(r.value, "utf8") : r.value;
      }
    }
    this.slow = new SlowRows(rest(), this.file, this.line);
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    return false;
  }

  text(c: number): string {
    if (this.slow) return (this.slowRow as CsvRow).cells[c];
    const f = this.field0 + c;
    return this.buf.toString("utf8", this.starts[f], this.ends[f]);
  }

  quick(c: number): number {
    return this.slow ? NaN : this.values[this.field0 + c];
  }

  /** The current row's cells as text. */
  cells(): string[] {
    return Array.from({ length: this.width }, (_, c) => this.text(c));
  }

  /** The current row, kept whole (it stays valid after `next()`). */
  keep(): CsvRow {
    return this.slow ? (this.slowRow as CsvRow) : new CsvRow(this.line, this.cells());
  }

  /** Stops reading (the rest of the input is not read). */
  close(): void {
    this.slow?.close();
    void this.chunks.return?.();
  }
}
