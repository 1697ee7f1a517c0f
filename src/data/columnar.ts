import { readFile } from "node:fs/promises";
import { compressionRegistry, CompressionType, tableFromIPC } from "apache-arrow";
import { decompress as zstdDecompress } from "fzstd";
import { parquetMetadata, parquetRead } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import lz4 from "lz4js";
import { InputError } from "../errors.js";
import { CsvRow, type RowView } from "./csv-cursor.js";

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
 * stored NaNs) or text (null where null).
 */
type Column = { readonly kind: "number"; readonly values: Float64Array; readonly valid: Uint8Array | null }
  | { readonly kind: "text"; readonly values: readonly (string | null)[] };

/** Arrow IPC bodies compressed by pyarrow (Feather v2 defaults to LZ4 frames) or with zstd. */
let codecsRegistered = false;
function registerCodecs(): void {
  if (codecsRegistered) return;
  compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: (d: Uint8Array) => lz4.decompress(d) });
  compressionRegistry.set(CompressionType.ZSTD, { decode: (d: Uint8Array) => zstdDecompress(d) });
  codecsRegistered = true;
}

/** A column from a JS array of numbers, bigints, strings or nulls (what the readers give). */
function columnOf(values: ArrayLike<unknown>, n: number): Column {
  let text = false;
  for (let i = 0; i < n && !text; i++) {
    const v = values[i];
    text = v !== null && v !== undefined && typeof v !== "number" && typeof v !== "bigint";
  }
  if (text) return { kind: "text", values: Array.from({ length: n }, (_, i) => (values[i] === null || values[i] === undefined ? null : String(values[i]))) };
  const out = new Float64Array(n);
  let valid: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) { (valid ??= new Uint8Array(n).fill(1))[i] = 0; out[i] = NaN; } else out[i] = Number(v);
  }
  return { kind: "number", values: out, valid };
}

/** Reads a whole Parquet file's columns (hyparquet; snappy, gzip, zstd, brotli, lz4). */
async function readParquet(file: string, bytes: ArrayBuffer): Promise<{ names: string[]; columns: Column[]; rows: number }> {
  const meta = parquetMetadata(bytes);
  const rows = Number(meta.num_rows);
  const names = meta.schema.slice(1).filter((s) => !s.num_children).map((s) => s.name);
  const parts = new Map<string, { start: number; data: ArrayLike<unknown> }[]>(names.map((n) => [n, []]));
  await parquetRead({ file: bytes, compressors, onChunk: (c) => { parts.get(c.columnName)?.push({ start: c.rowStart, data: c.columnData }); } });
  const columns = names.map((name) => {
    const whole: unknown[] = new Array<unknown>(rows).fill(null);
    for (const p of parts.get(name) ?? []) for (let i = 0; i < p.data.length && p.start + i < rows; i++) whole[p.start + i] = p.data[i];
    return columnOf(whole, rows);
  });
  return { names, columns, rows };
}

/** Reads a whole Arrow IPC file or stream (Feather v2), compressed bodies too. */
function readArrow(bytes: Uint8Array): { names: string[]; columns: Column[]; rows: number } {
  registerCodecs();
  const t = tableFromIPC(bytes);
  const names = t.schema.fields.map((f) => f.name);
  const columns = names.map((name): Column => {
    const v = t.getChild(name);
    if (v === null) return { kind: "text", values: [] };
    const arr: unknown = v.toArray();
    if (v.nullCount === 0 && (arr instanceof Float64Array || arr instanceof Float32Array || arr instanceof Int32Array
      || arr instanceof Int16Array || arr instanceof Int8Array || arr instanceof Uint8Array || arr instanceof Uint16Array || arr instanceof Uint32Array)) {
      return { kind: "number", values: Float64Array.from(arr), valid: null };
    }
    // Nulls, 64-bit integers (bigint), text, dictionaries: value by value.
    return columnOf(Array.from({ length: t.numRows }, (_, i) => v.get(i) as unknown), t.numRows);
  });
  return { names, columns, rows: t.numRows };
}

/**
 * A Parquet or Arrow table walked row by row as CsvCursor walks a CSV, so that the same
 * RowDecoder applies the same column rules, sequence column and missing-value handling. A
 * null cell reads as an empty cell (a missing value: SPEC §4's empty target, data.missing for
 * inputs); a number cell as its double (a float32 column gives the doubles it holds). For
 * messages, row r is "line r + 2": the line it has in the CSV the table writes to.
 */
export class ColumnCursor implements RowView {
  line = 1;
  width = 0;
  private row = -1;
  private loaded = false;

  private constructor(readonly file: string, readonly header: readonly string[], private readonly columns: readonly Column[], readonly rows: number) {
    this.width = header.length;
  }

  /** Reads the whole file; a file the library cannot read is an InputError naming it. */
  static async open(file: string, format: Exclude<DataFormat, "csv">): Promise<ColumnCursor> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      const t = format === "parquet"
        ? await readParquet(file, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
        : readArrow(bytes);
      if (t.names.length === 0) throw new InputError(`${file}: empty file: a header row is required`);
      return new ColumnCursor(file, t.names.map((h) => h.trim()), t.columns, t.rows);
    } catch (e) {
      if (e instanceof InputError) throw e;
      const what = format === "parquet" ? "Parquet" : "Arrow IPC";
      throw new InputError(`${file}: not a ${what} file this reader can read: ${String((e as Error).message).split("\n")[0].slice(0, 200)}`);
    }
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
    if (col.kind === "text") return col.values[this.row] ?? "";
    return col.valid !== null && col.valid[this.row] === 0 ? "" : String(col.values[this.row]);
  }

  quick(c: number): number {
    const col = this.columns[c];
    if (col.kind === "text") return NaN;
    const v = col.values[this.row];
    return Number.isFinite(v) ? v : NaN; // NaN and ±Infinity: their text gives the message
  }

  cells(): string[] {
    return Array.from({ length: this.width }, (_, c) => this.text(c));
  }

  keep(): CsvRow {
    return new CsvRow(this.line, this.cells());
  }

  close(): void { /* nothing is held open */ }
}
