import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { InputError } from "../errors.js";
import { columnIndex, decimalValue, parseNumber, quoted } from "./csv.js";
import { CsvCursor, type RowView } from "./csv-cursor.js";
import { checkDataMemory, estimateData } from "./estimate.js";
import { ColumnCursor, formatOf } from "./columnar.js";
import { openRows, type RowSource } from "./rows.js";
import { MissingCells, NO_MISSING, type MissingSpec } from "./missing.js";
import type { CategoryCoder } from "./categorical.js";

/** Which columns a reader takes from a CSV (config `data.*`). */
export interface ColumnSpec {
  readonly inputs: readonly string[];
  /** Target columns; null when they are not read (predict ignores them). */
  readonly targets: readonly string[] | null;
  readonly sequenceColumn: string | null;
  readonly task: "regression" | "classification";
  /** Missing cells (config `data.missing`); default: an empty target cell is no target, an empty input an error. */
  readonly missing?: MissingSpec;
  /**
   * SPEC §11's categorical input columns (config `data.categorical`), read as text after the
   * numeric inputs: each row's C cells become numbers through `coder` (0 for a missing cell).
   */
  readonly categorical?: { readonly columns: readonly string[]; readonly coder: CategoryCoder } | null;
}

/** One sequence as read, before shift, masking and normalisation. */
export interface RawSequence {
  readonly id: string | null;
  readonly length: number;
  /**
   * [length, I + C] input values, NaN for a missing cell (when data.missing.inputs fills them),
   * then the C categorical columns' codes (ColumnSpec.categorical; 0 for a missing cell).
   */
  readonly x: Float64Array;
  /** Regression: [length, O] target values, NaN for an empty cell. */
  readonly y: Float64Array | null;
  /** Classification: the label cell per row, null when empty. */
  readonly labels: (string | null)[] | null;
  /** Line of the sequence's first row, for messages. */
  readonly line: number;
}

/**
 * Turns CSV rows into typed values and checks that each sequence's rows are contiguous.
 * Shared by the in-memory loader (train, eval) and the streaming `predict` and `forecast`.
 * A plain decimal cell is read from its bytes (RowView.quick); its text is made only when
 * that cannot answer: a missing cell, a bad one (for its message), an unusual number.
 */
export class RowDecoder {
  private readonly inputIdx: number[];
  private readonly targetIdx: number[];
  private readonly seqIdx: number;
  private readonly catIdx: number[];
  private readonly seen = new Set<string>();
  private current: string | null = null;
  private readonly missing: MissingCells;
  /** A missing-value text that reads as a number ("-999") rules out the byte path. */
  private readonly quickOk: boolean;

  /** `csv.unreadable(c)` says why a column cannot be read (a Parquet/Arrow type), for the columns used. */
  constructor(readonly csv: { readonly file: string; readonly header: readonly string[]; unreadable?(c: number): string | null }, readonly spec: ColumnSpec) {
    this.missing = new MissingCells(spec.missing ?? NO_MISSING);
    this.quickOk = !(spec.missing ?? NO_MISSING).values.some((v) => decimalValue(v) !== null);
    const used = (c: string, role: string): number => {
      const i = columnIndex(csv, c, role), why = csv.unreadable?.(i) ?? null;
      if (why !== null) throw new InputError(`${csv.file}: ${role} column ${quoted(c, 40)}: ${why}`);
      return i;
    };
    this.inputIdx = spec.inputs.map((c) => used(c, "input"));
    this.targetIdx = (spec.targets ?? []).map((c) => used(c, "target"));
    this.seqIdx = spec.sequenceColumn === null ? -1 : used(spec.sequenceColumn, "sequence");
    this.catIdx = (spec.categorical?.columns ?? []).map((c) => used(c, "categorical (data.categorical)"));
  }

  /** Values a row's inputs take: I numeric, then C categorical. */
  get width(): number { return this.inputIdx.length + this.catIdx.length; }

  /** The sequence id of a row (null without a sequence column); throws if an id reappears. */
  sequenceId(row: RowView): string | null {
    if (this.seqIdx < 0) return null;
    const id = row.text(this.seqIdx);
    if (id !== this.current) {
      if (this.seen.has(id)) {
        throw new InputError(`${this.csv.file}: line ${row.line}, column ${quoted(this.spec.sequenceColumn ?? "", 40)}: sequence ${quoted(id, 40)} reappears after another sequence (rows of one sequence must be contiguous)`);
      }
      this.seen.add(id);
      this.current = id;
    }
    return id;
  }

  /** Writes the row's inputs into out[off..off+I): NaN for a missing cell when a fill policy will fill it. */
  inputs(row: RowView, out: Float64Array | number[], off: number): void {
    for (let i = 0; i < this.inputIdx.length; i++) {
      // A plain number is stored on a path of its own: merged with NaN or with what `input`
      // returns, V8 boxes every value (a heap object per cell, a GC every few thousand rows).
      if (this.quickOk) {
        const v = row.quick(this.inputIdx[i]);
        if (v === v) { out[off + i] = v; continue; }
      }
      out[off + i] = this.input(row, i);
    }
    if (this.catIdx.length > 0) this.categories(row, out, off + this.inputIdx.length);
  }

  /** Categorical cell j of the row, as the coder numbers it (0 for a missing cell). */
  category(row: RowView, j: number): number {
    const cell = row.text(this.catIdx[j]), coder = this.spec.categorical?.coder;
    return this.missing.target(cell) || !coder ? 0 : coder.code(j, cell.trim());
  }

  /** Writes the row's C categorical cells, as the coder numbers them, into out[off..off+C): 0 for a missing cell. */
  categories(row: RowView, out: Float64Array | number[], off: number): void {
    for (let j = 0; j < this.catIdx.length; j++) out[off + j] = this.category(row, j);
  }

  /** Input i of the row: NaN for a missing cell when a fill policy will fill it, else an error. */
  input(row: RowView, i: number): number {
    const v = this.quickOk ? row.quick(this.inputIdx[i]) : NaN;
    if (v === v) return v; // not NaN: a plain decimal number
    const cell = row.text(this.inputIdx[i]);
    if (this.missing.input(cell)) {
      if ((this.spec.missing ?? NO_MISSING).inputs !== "error") return NaN;
      throw new InputError(`${this.csv.file}: line ${row.line}, column ${quoted(this.spec.inputs[i], 40)}: ${quoted(cell, 40)} is a missing input cell (data.missing.inputs: ffill, mean or zero fills it)`);
    }
    return parseNumber(cell, this.csv.file, row.line, this.spec.inputs[i]);
  }

  /** Regression targets into out[off..off+O), NaN for a missing cell. */
  targets(row: RowView, out: Float64Array | number[], off: number): void {
    for (let o = 0; o < this.targetIdx.length; o++) {
      const c = this.targetIdx[o];
      if (this.quickOk) { // on its own path, as in `inputs`
        const v = row.quick(c);
        if (v === v) { out[off + o] = v; continue; }
      }
      const cell = row.text(c);
      out[off + o] = this.missing.target(cell) ? NaN
        : parseNumber(cell, this.csv.file, row.line, (this.spec.targets ?? [])[o]);
    }
  }

  /** The classification label cell, null when missing. */
  label(row: RowView): string | null {
    const cell = row.text(this.targetIdx[0]);
    return this.missing.target(cell) ? null : cell.trim();
  }
}

/** Opens a CSV file for streaming; a path Node refuses outright (a NUL byte) is an InputError. */
function openFile(file: string): Readable {
  try {
    // Large reads: fewer chunks to join a row across.
    return createReadStream(file, { highWaterMark: 1 << 20 });
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Opens a CSV file, or stdin for "-". */
export function openInput(file: string, stdin: NodeJS.ReadableStream): Readable {
  return file === "-" ? (stdin as Readable) : openFile(file);
}

/** Reads a `--data` argument whole: CSV from stdin for "-" (named <stdin>), else the file (any format). */
export function readDataArg(src: string, stdin: NodeJS.ReadableStream, spec: ColumnSpec): Promise<RawSequence[]> {
  return src === "-" ? readSequences(openInput(src, stdin), "<stdin>", spec) : readSequencesFile(src, spec);
}

/** Opens data rows to stream (predict, forecast): stdin for "-", a Parquet/Arrow or CSV file. */
export function openInputRows(src: string, name: string, stdin: NodeJS.ReadableStream): Promise<RowSource> {
  return openRows(src, name, (f) => openInput(f, stdin));
}

/** Values a block of a Column holds (512 KiB). */
const COLUMN_BLOCK = 1 << 16;

/**
 * Values appended a row at a time (at data[length…], a row's values together), taken out as one
 * array. Filled in blocks, not one array grown by copying: each value is written once and copied
 * once, and the blocks are used again after `take`.
 */
class Column {
  data: Float64Array = new Float64Array(0);
  length = 0;
  /** The blocks filled since the last take, each as far as it is filled. */
  private readonly filled: Float64Array[] = [];
  private readonly spare: Float64Array[] = [];
  /** Room for `n` more values from `length` on. */
  reserve(n: number): void {
    if (this.length + n <= this.data.length) return;
    if (this.length > 0) this.filled.push(this.data.subarray(0, this.length));
    const b = this.spare.pop();
    this.data = b !== undefined && b.length >= n ? b : new Float64Array(Math.max(COLUMN_BLOCK, n));
    this.length = 0;
  }
  /** Every value appended since the last take, as its own array. */
  take(): Float64Array {
    const parts = [...this.filled, this.data.subarray(0, this.length)];
    const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    for (const b of this.filled) this.spare.push(new Float64Array(b.buffer));
    this.filled.length = 0;
    this.length = 0;
    return out;
  }
}

/**
 * Reads every sequence of a CSV into memory (train and eval data). Values go straight from the
 * bytes into blocks of Float64Arrays; a sequence's rows are copied out once it ends.
 */
export async function readSequences(input: Readable, file: string, spec: ColumnSpec): Promise<RawSequence[]> {
  return readRows(await CsvCursor.open(input, file), spec);
}

/** Reads every sequence of a row source (a CSV, a Parquet or Arrow table) into memory. */
async function readRows(cur: RowSource, spec: ColumnSpec): Promise<RawSequence[]> {
  const file = cur.file;
  const dec = new RowDecoder(cur, spec);
  const I = dec.width, O = spec.targets?.length ?? 0;
  const regression = spec.task === "regression" && spec.targets !== null;
  const out: RawSequence[] = [];
  const xs = new Column(), ys = new Column();
  let id: string | null = null, line = 0, rows = 0, labels: (string | null)[] = [];
  const flush = (): void => {
    if (rows === 0) return;
    out.push({
      id, line, length: rows, x: xs.take(),
      y: regression ? ys.take() : null,
      labels: spec.task === "classification" && spec.targets ? labels : null,
    });
    rows = 0; labels = [];
  };
  while (await cur.more()) {
    while (cur.next()) {
      const rid = dec.sequenceId(cur);
      if (rid !== id || rows === 0) { flush(); id = rid; line = cur.line; }
      xs.reserve(I);
      dec.inputs(cur, xs.data, xs.length);
      xs.length += I;
      if (spec.targets) {
        if (regression) { ys.reserve(O); dec.targets(cur, ys.data, ys.length); ys.length += O; }
        else labels.push(dec.label(cur));
      }
      rows++;
    }
  }
  flush();
  if (out.length === 0) throw new InputError(`${file}: no data rows`);
  return out;
}

/**
 * Reads a CSV file from disk into sequences, after checking that what it holds will fit in
 * memory (estimated from its size: refused at once, not after minutes of reading).
 */
export async function readSequencesFile(file: string, spec: ColumnSpec): Promise<RawSequence[]> {
  const targets = spec.targets?.length ?? 0, classification = spec.task === "classification" && targets > 0;
  const values = spec.inputs.length + (spec.categorical?.columns.length ?? 0) + (classification ? 0 : targets), format = formatOf(file);
  if (format === "csv") {
    checkDataMemory(file, estimateData(file, values, classification));
    return readSequences(openFile(file), file, spec);
  }
  // Parquet and Arrow: checked from the row count the file claims, before any value is decoded.
  return readRows(await ColumnCursor.open(file, format, values), spec);
}
