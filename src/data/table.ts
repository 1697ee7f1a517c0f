import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { InputError } from "../errors.js";
import { columnIndex, openCsv, parseNumber, quoted, type CsvRow, type CsvStream } from "./csv.js";
import { MissingCells, NO_MISSING, type MissingSpec } from "./missing.js";

/** Which columns a reader takes from a CSV (config `data.*`). */
export interface ColumnSpec {
  readonly inputs: readonly string[];
  /** Target columns; null when they are not read (predict ignores them). */
  readonly targets: readonly string[] | null;
  readonly sequenceColumn: string | null;
  readonly task: "regression" | "classification";
  /** Missing cells (config `data.missing`); default: an empty target cell is no target, an empty input an error. */
  readonly missing?: MissingSpec;
}

/** One sequence as read, before shift, masking and normalisation. */
export interface RawSequence {
  readonly id: string | null;
  readonly length: number;
  /** [length, I] input values, NaN for a missing cell (when data.missing.inputs fills them). */
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
 * Shared by the in-memory loader (train, eval) and the streaming `predict`.
 */
export class RowDecoder {
  private readonly inputIdx: number[];
  private readonly targetIdx: number[];
  private readonly seqIdx: number;
  private readonly seen = new Set<string>();
  private current: string | null = null;
  private readonly missing: MissingCells;

  constructor(readonly csv: CsvStream, readonly spec: ColumnSpec) {
    this.missing = new MissingCells(spec.missing ?? NO_MISSING);
    this.inputIdx = spec.inputs.map((c) => columnIndex(csv, c, "input"));
    this.targetIdx = (spec.targets ?? []).map((c) => columnIndex(csv, c, "target"));
    this.seqIdx = spec.sequenceColumn === null ? -1 : columnIndex(csv, spec.sequenceColumn, "sequence");
  }

  /** The sequence id of a row (null without a sequence column); throws if an id reappears. */
  sequenceId(row: CsvRow): string | null {
    if (this.seqIdx < 0) return null;
    const id = row.cells[this.seqIdx];
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
  inputs(row: CsvRow, out: Float64Array | number[], off: number): void {
    for (let i = 0; i < this.inputIdx.length; i++) out[off + i] = this.input(row, i);
  }

  /** Input i of the row: NaN for a missing cell when a fill policy will fill it, else an error. */
  input(row: CsvRow, i: number): number {
    const cell = row.cells[this.inputIdx[i]];
    if (this.missing.input(cell)) {
      if ((this.spec.missing ?? NO_MISSING).inputs !== "error") return NaN;
      throw new InputError(`${this.csv.file}: line ${row.line}, column ${quoted(this.spec.inputs[i], 40)}: ${quoted(cell, 40)} is a missing input cell (data.missing.inputs: ffill, mean or zero fills it)`);
    }
    return parseNumber(cell, this.csv.file, row.line, this.spec.inputs[i]);
  }

  /** Regression targets into out[off..off+O), NaN for a missing cell. */
  targets(row: CsvRow, out: number[], off: number): void {
    this.targetIdx.forEach((c, o) => {
      const cell = row.cells[c];
      out[off + o] = this.missing.target(cell) ? NaN
        : parseNumber(cell, this.csv.file, row.line, (this.spec.targets ?? [])[o]);
    });
  }

  /** The classification label cell, null when missing. */
  label(row: CsvRow): string | null {
    const cell = row.cells[this.targetIdx[0]];
    return this.missing.target(cell) ? null : cell.trim();
  }
}

/** Opens a CSV file for streaming; a path Node refuses outright (a NUL byte) is an InputError. */
function openFile(file: string): Readable {
  try {
    return createReadStream(file);
  } catch (e) {
    throw new InputError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Opens a CSV file, or stdin for "-". */
export function openInput(file: string, stdin: NodeJS.ReadableStream): Readable {
  return file === "-" ? (stdin as Readable) : openFile(file);
}

/** Reads every sequence of a CSV into memory (train and eval data). */
export async function readSequences(input: Readable, file: string, spec: ColumnSpec): Promise<RawSequence[]> {
  const csv = await openCsv(input, file);
  const dec = new RowDecoder(csv, spec);
  const I = spec.inputs.length, O = spec.targets?.length ?? 0;
  const out: RawSequence[] = [];
  let id: string | null = null, line = 0, xs: number[] = [], ys: number[] = [], labels: (string | null)[] = [];
  const flush = (): void => {
    if (xs.length === 0) return;
    out.push({
      id, line, length: xs.length / I, x: Float64Array.from(xs),
      y: spec.task === "regression" && spec.targets ? Float64Array.from(ys) : null,
      labels: spec.task === "classification" && spec.targets ? labels : null,
    });
    xs = []; ys = []; labels = [];
  };
  for (let r = await csv.rows.next(); !r.done; r = await csv.rows.next()) {
    const row = r.value;
    const rid = dec.sequenceId(row);
    if (rid !== id || xs.length === 0) { flush(); id = rid; line = row.line; }
    const t = xs.length / I;
    dec.inputs(row, xs, t * I);
    if (spec.targets) {
      if (spec.task === "regression") dec.targets(row, ys, t * O);
      else labels.push(dec.label(row));
    }
  }
  flush();
  if (out.length === 0) throw new InputError(`${file}: no data rows`);
  return out;
}

/** Reads a CSV file from disk into sequences. */
export async function readSequencesFile(file: string, spec: ColumnSpec): Promise<RawSequence[]> {
  return readSequences(openFile(file), file, spec);
}
