import { decimalValue, type CsvRow } from "./csv.js";

/**
 * What `rnn init` learns about a CSV from the rows at its start: per column, whether its cells
 * are numbers, which missing-value texts it holds and its distinct values; the runs of a
 * sequence column; whether a column counts time. Pure: the rows are handed in.
 */

/** Rows read from the start of a CSV; `complete` when they are the whole file. */
export interface Sample {
  readonly file: string;
  readonly header: readonly string[];
  readonly rows: readonly CsvRow[];
  readonly complete: boolean;
  /** Data rows in the whole file: exact when complete, else estimated from its size. */
  readonly totalRows: number;
}

/**
 * Cell texts (trimmed, compared in lower case) taken for "missing": what pandas' read_csv and
 * R's read.csv read as NA, and the placeholders spreadsheets export.
 */
const MISSING_TEXTS: ReadonlySet<string> = new Set(["", "na", "n/a", "nan", "null", "none", "nil", "?", "-", ".", "#n/a", "missing"]);

export function isMissingText(cell: string): boolean {
  return MISSING_TEXTS.has(cell.trim().toLowerCase());
}

/** Distinct values kept per column: more than this is no label column anyway. */
export const MAX_DISTINCT = 1000;

export interface ColumnProfile {
  readonly name: string;
  readonly index: number;
  /** Cells holding a value: not one of the missing texts. */
  readonly present: number;
  /** Missing cells by their exact (trimmed) text, in order of first appearance. */
  readonly missing: ReadonlyMap<string, number>;
  /** There is a present cell, and every present cell is a finite decimal number. */
  readonly numeric: boolean;
  /** The first present cell that is not a number (for messages), or null. */
  readonly firstText: { readonly line: number; readonly cell: string } | null;
  /** Numeric, and every value is whole. */
  readonly integers: boolean;
  /** The distinct present values (trimmed), at most MAX_DISTINCT + 1 of them. */
  readonly distinct: ReadonlySet<string>;
}

/** Profiles every column of the sample, in header order. */
export function profileColumns(s: Sample): ColumnProfile[] {
  return s.header.map((name, index) => {
    let present = 0, integers = true;
    let firstText: ColumnProfile["firstText"] = null;
    const missing = new Map<string, number>(), distinct = new Set<string>();
    for (const row of s.rows) {
      const cell = row.cells[index].trim();
      if (isMissingText(cell)) { missing.set(cell, (missing.get(cell) ?? 0) + 1); continue; }
      present++;
      if (distinct.size <= MAX_DISTINCT) distinct.add(cell);
      const v = decimalValue(cell);
      if (v === null) firstText ??= { line: row.line, cell };
      else if (!Number.isInteger(v)) integers = false;
    }
    const numeric = present > 0 && firstText === null;
    return { name, index, present, missing, numeric, firstText, integers: numeric && integers, distinct };
  });
}

/** The runs of equal ids in a column, as RowDecoder reads sequences (SPEC §4: contiguous). */
export interface Runs {
  /** Index into the sample's rows where each run starts. */
  readonly starts: readonly number[];
  /** The first id that comes back after another id (not a valid sequence column), or null. */
  readonly reappears: { readonly line: number; readonly id: string } | null;
  /** Rows in the longest run. */
  readonly longest: number;
}

export function runsOf(s: Sample, column: number): Runs {
  const starts: number[] = [], seen = new Set<string>();
  let reappears: Runs["reappears"] = null, current: string | null = null;
  s.rows.forEach((row, r) => {
    const id = row.cells[column];
    if (id === current) return;
    if (seen.has(id)) reappears ??= { line: row.line, id };
    seen.add(id);
    starts.push(r);
    current = id;
  });
  const lengths = starts.map((st, k) => (starts[k + 1] ?? s.rows.length) - st);
  return { starts, reappears, longest: Math.max(0, ...lengths) };
}

/** The runs as [start, end) row ranges; with an incomplete sample the last one, likely cut, is left out. */
function wholeRuns(s: Sample, runs: Runs): [number, number][] {
  const all = runs.starts.map((st, k): [number, number] => [st, runs.starts[k + 1] ?? s.rows.length]);
  return s.complete || all.length < 2 ? all : all.slice(0, -1);
}

/** Column names that say "this is a time": no sequence id, and an input only when it is no index. */
const TIME_NAME = /^(t|ts|time|timestamp|datetime|date|step|timestep|time_step)$/i;
/** Column names that say "this counts rows" (pandas writes its index as "Unnamed: 0" once read and saved again). */
const ROW_NAME = /^(index|idx|row|row_id|id|unnamed: \d+)$/i;

export function isTimeName(name: string): boolean {
  return TIME_NAME.test(name.trim());
}

/**
 * A time or row index: named like one, numeric with no missing cell, and strictly increasing within
 * each sequence (within `runs`, or over the whole sample for one long series).
 */
export function isTimeIndex(s: Sample, p: ColumnProfile, runs: Runs | null): boolean {
  if (!(isTimeName(p.name) || ROW_NAME.test(p.name.trim())) || !p.numeric || p.missing.size > 0) return false;
  const ranges = runs ? wholeRuns(s, runs) : [[0, s.rows.length]];
  return ranges.every(([a, b]) => {
    for (let r = a + 1; r < b; r++) {
      if (!(Number(s.rows[r].cells[p.index]) > Number(s.rows[r - 1].cells[p.index]))) return false;
    }
    return true;
  });
}

/**
 * Whether a target belongs to whole sequences: in every sequence its final row holds a value
 * and every other row holds that value or none (a sequence label repeated on every row, or
 * given on the last row only) — what `targetsAt: last` reads.
 */
export function oneTargetPerRun(s: Sample, column: number, runs: Runs): boolean {
  return wholeRuns(s, runs).every(([a, b]) => {
    const last = s.rows[b - 1].cells[column].trim();
    if (isMissingText(last)) return false;
    for (let r = a; r < b - 1; r++) {
      const cell = s.rows[r].cells[column].trim();
      if (!isMissingText(cell) && cell !== last) return false;
    }
    return true;
  });
}

/** Looks like a calendar date or a clock time (2024-01-31, 31/01/2024, 12:30): not a sequence id. */
export function looksLikeDate(cell: string): boolean {
  return /^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}/.test(cell.trim()) || /^\d{1,2}:\d{2}/.test(cell.trim());
}
