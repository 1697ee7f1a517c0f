import { readFile } from "node:fs/promises";
import { compressionRegistry, CompressionType, DataType, Precision, tableFromIPC, type Vector } from "apache-arrow";
import { decompress as zstdDecompress } from "fzstd";
import { parquetMetadata, parquetRead, type FileMetaData, type SchemaElement } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import lz4 from "lz4js";
import { InputError } from "../errors.js";
import { quoted } from "./csv.js";
import { CsvRow, type RowView } from "./csv-cursor.js";
import { BYTES_PER_VALUE, checkDataMemory } from "./estimate.js";

/** Data file formats read by extension (SPEC §4's CSV otherwise). */
export type DataFormat = "csv" | "parquet" | "arrow";

/** The format a data file's name says: .parquet, .arrow / .feather / .ipc, else CSV. */
export function formatOf(file: string): DataFormat {
  const f = file.toLowerCase();
  if (f.endsWith(".parquet")) return "parquet";
  if (f.endsWith(".arrow") || f.endsWith(".feather") || f.endsWith(".ipc")) return "arrow";
  return "csv";
}

/**
 * One column as the decoder reads it: numbers (NaN where null, `valid` telling nulls from
 * stored NaNs; `exact` the text of a value its double does not hold — an int64 past 2^53, a
 * decimal — so that sequence ids compare exactly), text (null where null), or a type rnn does
 * not read (`why` names it; refused when a config uses the column).
 */
type Column = { readonly kind: "number"; readonly values: Float64Array; readonly valid: Uint8Array | null; readonly exact: readonly (string | undefined)[] | null }
  | { readonly kind: "text"; readonly values: readonly (string | null)[] }
  | { readonly kind: "refused"; readonly why: string };

/** How a column's values are read, from its type in the file's schema. */
type Reading = { readonly as: "number" } | { readonly as: "text" } | { readonly as: "decimal"; readonly scale: number }
  | { readonly as: "refused"; readonly why: string };

const DATE_TIME = "rnn reads numbers and text: store a date/time as a number (seconds, days) or as text";
const BINARY = "rnn reads numbers and text: store binary values as a string column";
const NESTED = "rnn reads flat columns, not nested ones: flatten it into columns of numbers or text";
const refused = (kind: string, advice: string): Reading => ({ as: "refused", why: `a ${kind} column: ${advice}` });

/** Arrow IPC bodies compressed by pyarrow (Feather v2 defaults to LZ4 frames) or with zstd. */
let codecsRegistered = false;
function registerCodecs(): void {
  if (codecsRegistered) return;
  // A fresh buffer each: arrow views 8-byte values in place, and a decoder's output can start
  // at any byte of a larger buffer ("start offset of Float64Array should be a multiple of 8").
  const own = (d: Uint8Array): Uint8Array => (d.byteOffset % 8 === 0 ? d : d.slice());
  compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (d: Uint8Array) => own(lz4.decompress(d)) });
  compressionRegistry.set(CompressionType.ZSTD, { decode: (d: Uint8Array) => own(zstdDecompress(d)) });
  codecsRegistered = true;
}

/** The exact decimal text of unscaled × 10^−scale ("0.001344", "-12.500000", "7"). */
function decimalText(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const neg = unscaled < 0n, digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  return `${neg ? "-" : ""}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** A big-endian two's-complement integer (Parquet's FIXED_LEN_BYTE_ARRAY / BYTE_ARRAY decimal). */
function bigEndianInt(b: Uint8Array): bigint {
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return b.length > 0 && (b[0] & 0x80) !== 0 ? v - (1n << BigInt(8 * b.length)) : v;
}

/** A little-endian two's-complement integer in 32-bit words (Arrow's decimal). */
function littleEndianWords(w: ArrayLike<number>): bigint {
  let v = 0n;
  for (let k = w.length - 1; k >= 0; k--) v = (v << 32n) | BigInt(w[k] >>> 0);
  return w.length > 0 && (w[w.length - 1] & 0x80000000) !== 0 ? v - (1n << BigInt(32 * w.length)) : v;
}

/**
 * A column from the values a reader gives (numbers, bigints, strings, nulls; for a decimal the
 * unscaled integers), read as `how` says. A value of another kind than its type promises is an
 * InputError naming the column.
 */
function columnOf(values: ArrayLike<unknown>, n: number, how: Reading, where: string): Column {
  if (how.as === "refused") return { kind: "refused", why: how.why };
  if (how.as === "text") {
    return { kind: "text", values: Array.from({ length: n }, (_, i) => { const v = values[i]; return v === null || v === undefined ? null : String(v); }) };
  }
  const out = new Float64Array(n);
  let valid: Uint8Array | null = null, exact: (string | undefined)[] | null = null;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) { (valid ??= new Uint8Array(n).fill(1))[i] = 0; out[i] = NaN; continue; }
    if (how.as === "decimal") {
      const unscaled = typeof v === "bigint" ? v : typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v)
        : v instanceof Uint8Array ? bigEndianInt(v) : ArrayBuffer.isView(v) ? littleEndianWords(v as unknown as Uint32Array) : null;
      if (unscaled === null) throw new InputError(`${where}: a decimal column holds ${typeof v} values`);
      const text = decimalText(unscaled, how.scale);
      out[i] = Number(text);
      (exact ??= new Array<string | undefined>(n))[i] = text;
    } else if (typeof v === "number") {
      out[i] = v;
    } else if (typeof v === "bigint") {
      out[i] = Number(v);
      // Past 2^53 neighbouring ids are the same double: the exact text keeps them apart.
      if (!Number.isSafeInteger(out[i])) (exact ??= [])[i] = v.toString();
    } else {
      throw new InputError(`${where}: a number column holds a ${typeof v} value`);
    }
  }
  if (exact !== null && exact.length < n) exact.length = n;
  return { kind: "number", values: out, valid, exact };
}

/** A name and the type of each top-level field, for messages. */
const described = (e: SchemaElement): string => e.logical_type?.type ?? e.converted_type ?? e.type ?? "group";

/** How a flat Parquet column is read, from its physical, converted and logical types. */
function parquetReading(e: SchemaElement): Reading {
  const ct = e.converted_type, lt = e.logical_type?.type, kind = described(e).toLowerCase();
  if (ct === "DECIMAL" || lt === "DECIMAL") {
    const scale = e.scale ?? (e.logical_type?.type === "DECIMAL" ? e.logical_type.scale : 0) ?? 0;
    return { as: "decimal", scale };
  }
  if (e.type === "INT96" || ct === "INTERVAL" || lt === "DATE" || lt === "TIME" || lt === "TIMESTAMP"
    || ct === "DATE" || ct === "TIME_MILLIS" || ct === "TIME_MICROS" || ct === "TIMESTAMP_MILLIS" || ct === "TIMESTAMP_MICROS") {
    return refused(kind, DATE_TIME);
  }
  if (ct === "JSON" || ct === "BSON" || lt === "JSON" || lt === "BSON" || lt === "UUID" || lt === "VARIANT" || lt === "GEOMETRY" || lt === "GEOGRAPHY") {
    return refused(kind, BINARY);
  }
  if (e.type === "BYTE_ARRAY" || e.type === "FIXED_LEN_BYTE_ARRAY") {
    if (ct === "UTF8" || ct === "ENUM" || lt === "STRING" || lt === "ENUM") return { as: "text" };
    if (lt === "FLOAT16") return { as: "number" };
    return refused("binary", BINARY);
  }
  if (e.type === "BOOLEAN") return { as: "text" };
  return { as: "number" };
}

/** The top-level fields of a Parquet schema: each leaf's reading; a group (struct, list, map) refused. */
function parquetFields(meta: FileMetaData): { name: string; how: Reading; element: SchemaElement }[] {
  const s = meta.schema, out: { name: string; how: Reading; element: SchemaElement }[] = [];
  // Walks the flat, depth-first list: a field with children is followed by its whole subtree.
  const skip = (i: number): number => {
    let next = i + 1;
    for (let k = 0; k < (s[i].num_children ?? 0); k++) next = skip(next);
    return next;
  };
  let i = 1;
  for (let f = 0; f < (s[0]?.num_children ?? 0) && i < s.length; f++) {
    const e = s[i];
    const nested = (e.num_children ?? 0) > 0 || e.repetition_type === "REPEATED";
    out.push({ name: e.name, element: e, how: nested ? refused((e.logical_type?.type ?? e.converted_type ?? "struct").toLowerCase(), NESTED) : parquetReading(e) });
    i = skip(i);
  }
  return out;
}

/** Bytes a cell of the file costs while a table is open: the decoder's value and the column's double. */
const CURSOR_BYTES = 32;

/** A table as read: column names, columns, rows. */
interface Table { names: string[]; columns: Column[]; rows: number }

/**
 * Reads a whole Parquet file's columns (hyparquet; snappy, gzip, zstd, brotli, lz4). The rows are
 * those the column chunks hold: the footer's and the row groups' counts must agree with them,
 * and `budget(rows, columns)` is asked before anything is decoded.
 */
async function readParquet(file: string, bytes: ArrayBuffer, budget: (rows: number, columns: number) => void): Promise<Table> {
  const meta = parquetMetadata(bytes);
  const fields = parquetFields(meta);
  const read = fields.filter((f) => f.how.as !== "refused");
  const claimed = Number(meta.num_rows);
  let rows = 0;
  meta.row_groups.forEach((g, k) => {
    const n = Number(g.num_rows);
    if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`${file}: row group ${k} claims ${String(g.num_rows)} rows: the file is damaged`);
    for (const c of g.columns) {
      const name = c.meta_data?.path_in_schema[0];
      const f = read.find((r) => r.name === name);
      if (f !== undefined && Number(c.meta_data?.num_values) !== n) {
        throw new InputError(`${file}: column ${quoted(f.name, 40)}: row group ${k} holds ${String(c.meta_data?.num_values)} values for its ${n} rows: the file is damaged`);
      }
    }
    rows += n;
  });
  if (claimed !== rows) throw new InputError(`${file}: the footer says ${String(meta.num_rows)} rows, its row groups hold ${rows}: the file is damaged`);
  budget(rows, read.length);
  // Decimals are read as their unscaled integers (exact), not as hyparquet's doubles.
  const plain: FileMetaData = { ...meta, schema: meta.schema.map((e) => (read.some((r) => r.element === e && r.how.as === "decimal")
    ? { ...e, converted_type: undefined, logical_type: undefined } : e)) };
  const parts = new Map<string, { start: number; data: ArrayLike<unknown> }[]>(read.map((f) => [f.name, []]));
  if (read.length > 0 && rows > 0) {
    await parquetRead({ file: bytes, metadata: plain, columns: read.map((f) => f.name), compressors, utf8: true,
      onChunk: (c) => { parts.get(c.columnName)?.push({ start: c.rowStart, data: c.columnData }); } });
  }
  const columns = fields.map((f): Column => {
    if (f.how.as === "refused") return { kind: "refused", why: f.how.why };
    // The decoded chunks must cover the rows once each, in order: nothing is allocated for rows
    // the data does not hold.
    const chunks = (parts.get(f.name) ?? []).sort((a, b) => a.start - b.start);
    let at = 0;
    for (const p of chunks) {
      if (p.start !== at) break;
      at += p.data.length;
    }
    if (at !== rows) throw new InputError(`${file}: column ${quoted(f.name, 40)}: its pages hold ${at} values for ${rows} rows: the file is damaged`);
    const whole: unknown[] = [];
    for (const p of chunks) for (let i = 0; i < p.data.length; i++) whole.push(p.data[i]);
    return columnOf(whole, rows, f.how, `${file}: column ${quoted(f.name, 40)}`);
  });
  return { names: fields.map((f) => f.name), columns, rows };
}

/** How an Arrow column is read, from its type. */
function arrowReading(t: DataType): Reading {
  const kind = String(t).toLowerCase();
  if (DataType.isDictionary(t)) {
    const v = arrowReading(t.dictionary);
    return v.as === "decimal" ? refused(kind, "rnn reads decimals as plain (not dictionary-encoded) columns") : v;
  }
  if (DataType.isInt(t) || DataType.isFloat(t) || DataType.isNull(t)) return { as: "number" };
  if (DataType.isDecimal(t)) return { as: "decimal", scale: t.scale };
  if (DataType.isUtf8(t) || DataType.isLargeUtf8(t) || DataType.isUtf8View(t) || DataType.isBool(t)) return { as: "text" };
  if (DataType.isDate(t) || DataType.isTime(t) || DataType.isTimestamp(t) || DataType.isDuration(t) || DataType.isInterval(t)) return refused(kind, DATE_TIME);
  if (DataType.isBinary(t) || DataType.isLargeBinary(t) || DataType.isBinaryView(t) || DataType.isFixedSizeBinary(t)) return refused(kind, BINARY);
  return refused(kind, NESTED);
}

/** The values of an Arrow column for columnOf: its typed array when that is the values, else each value. */
function arrowValues(v: Vector, how: Reading): ArrayLike<unknown> {
  const t = v.type as DataType;
  if (how.as === "number" && v.nullCount === 0 && (DataType.isInt(t) || (DataType.isFloat(t) && t.precision !== Precision.HALF))) {
    return v.toArray() as ArrayLike<unknown>; // float16 and decimals are raw words there
  }
  return Array.from({ length: v.length }, (_, i) => v.get(i) as unknown);
}

/** Reads a whole Arrow IPC file or stream (Feather v2), compressed bodies too. */
function readArrow(file: string, bytes: Uint8Array, budget: (rows: number, columns: number) => void): Table {
  registerCodecs();
  const magic = Buffer.from("ARROW1");
  if (bytes.length >= 6 && magic.equals(bytes.subarray(0, 6)) && !(bytes.length >= 12 && magic.equals(bytes.subarray(bytes.length - 6)))) {
    throw new InputError(`${file}: a truncated Arrow IPC file (it begins with ARROW1 but does not end with it)`);
  }
  const t = tableFromIPC(bytes);
  const names = t.schema.fields.map((f) => f.name);
  const hows = t.schema.fields.map((f) => arrowReading(f.type as DataType));
  budget(t.numRows, hows.filter((h) => h.as !== "refused").length);
  const columns = names.map((name, c): Column => {
    const v = t.getChildAt(c), how = hows[c];
    if (v === null) throw new InputError(`${file}: column ${quoted(name, 40)} has no data: the file is damaged`);
    if (how.as === "refused") return { kind: "refused", why: how.why };
    if (v.length !== t.numRows) throw new InputError(`${file}: column ${quoted(name, 40)} holds ${v.length} values for ${t.numRows} rows: the file is damaged`);
    return columnOf(arrowValues(v, how), t.numRows, how, `${file}: column ${quoted(name, 40)}`);
  });
  return { names, columns, rows: t.numRows };
}

/** The first line of a reader's message; its internals (a TypeError on a damaged file) as words. */
function readerMessage(e: unknown): string {
  if (e instanceof TypeError || e instanceof RangeError) return "the file is damaged or truncated";
  return String((e as Error).message).split("\n")[0].slice(0, 200);
}

/**
 * A Parquet or Arrow table walked row by row as CsvCursor walks a CSV, so that the same
 * RowDecoder applies the same column rules, sequence column and missing-value handling. A
 * null cell reads as an empty cell (a missing value: SPEC §4's empty target, data.missing for
 * inputs); a number cell as its double (a float32 column gives the doubles it holds), its text
 * exact (an int64 id past 2^53, a decimal). A column of a type rnn does not read (date/time,
 * binary, nested) is refused by name when it is used (`unreadable`). For messages, row r is
 * "line r + 2": the line it has in the CSV the table writes to.
 */
export class ColumnCursor implements RowView {
  line = 1;
  width = 0;
  private row = -1;
  private loaded = false;

  private constructor(readonly file: string, readonly header: readonly string[], private readonly columns: readonly Column[], readonly rows: number) {
    this.width = header.length;
  }

  /**
   * Reads the whole file; a file the library cannot read is an InputError naming it. What the
   * table will take in memory — its columns as decoded, and `values` per row kept by the caller
   * (BYTES_PER_VALUE each) — is checked against this process's memory before any value is
   * decoded, from the counts the file claims.
   */
  static async open(file: string, format: Exclude<DataFormat, "csv">, values = 0): Promise<ColumnCursor> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const budget = (rows: number, columns: number): void => {
      checkDataMemory(file, { rows, values: values + columns, bytes: rows * (values * BYTES_PER_VALUE + columns * CURSOR_BYTES) });
    };
    try {
      const t = format === "parquet"
        ? await readParquet(file, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, budget)
        : readArrow(file, bytes, budget);
      if (t.names.length === 0) throw new InputError(`${file}: empty file: a header row is required`);
      return new ColumnCursor(file, t.names.map((h) => h.trim()), t.columns, t.rows);
    } catch (e) {
      if (e instanceof InputError) throw e;
      const what = format === "parquet" ? "Parquet" : "Arrow IPC";
      throw new InputError(`${file}: not a ${what} file this reader can read: ${readerMessage(e)}`);
    }
  }

  /** Why column c cannot be read (its type), or null: the decoder asks for each column it uses. */
  unreadable(c: number): string | null {
    const col = this.columns[c];
    return col.kind === "refused" ? col.why : null;
  }

  /** Every row is loaded at once: true the first time, so the caller's loop runs once. */
  async more(): Promise<boolean> {
    if (this.loaded) return false;
    this.loaded = true;
    return this.rows > 0;
  }

  next(): boolean {
    if (this.row + 1 >= this.rows) return false;
    this.row++;
    this.line = this.row + 2;
    return true;
  }

  text(c: number): string {
    const col = this.columns[c];
    if (col.kind === "refused") throw new InputError(`${this.file}: column ${quoted(this.header[c], 40)}: ${col.why}`);
    if (col.kind === "text") return col.values[this.row] ?? "";
    if (col.valid !== null && col.valid[this.row] === 0) return "";
    return col.exact?.[this.row] ?? String(col.values[this.row]);
  }

  quick(c: number): number {
    const col = this.columns[c];
    if (col.kind !== "number") return NaN;
    const v = col.values[this.row];
    return Number.isFinite(v) ? v : NaN; // NaN and ±Infinity: their text gives the message
  }

  /** Every cell's text; a column of a type rnn does not read is empty (the decoder refuses it when used). */
  cells(): string[] {
    return Array.from({ length: this.width }, (_, c) => (this.columns[c].kind === "refused" ? "" : this.text(c)));
  }

  keep(): CsvRow {
    return new CsvRow(this.line, this.cells());
  }

  close(): void { /* nothing is held open */ }
}
