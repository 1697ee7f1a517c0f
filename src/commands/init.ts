import { createReadStream, fstatSync, readlinkSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { validateConfig } from "../config/load.js";
import { ColumnCursor, formatOf } from "../data/columnar.js";
import { openCsv, type CsvRow } from "../data/csv.js";
import { profileColumns, type Sample } from "../data/inspect.js";
import { InputError, RnnError } from "../errors.js";
import { ensureDir, writeFileAtomic } from "../io/atomic.js";
import { fsError } from "../io/fserror.js";
import { writeOut, type Io } from "../io/terminal.js";
import { guessStarter, type Entry, type InitTask, type StarterValue } from "./init-guess.js";

export interface InitOptions {
  target?: string[];
  /** A column; false: --no-sequence; undefined: guess. */
  sequence?: string | false;
  task?: InitTask;
  out?: string;
  force?: boolean;
}

/** Rows read to guess from: enough to see a file's columns, never a multi-GB file whole. */
const SAMPLE_ROWS = 50_000;
/** …and at most this many cells, for a file with thousands of columns. */
const SAMPLE_CELLS = 2_000_000;

/**
 * Reads the header and the first rows of a CSV (streamed with the project's reader; the rest
 * of the file is not read). The rows of a longer file are estimated from its size and the
 * bytes per sampled row.
 */
async function readSample(file: string): Promise<Sample> {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new InputError(`${file}: is a directory, not a data file`);
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === "ENOENT" ? "no such file" : `cannot read: ${code ?? (e as Error).message}`}`);
  }
  const format = formatOf(file);
  if (format !== "csv") {
    // Parquet and Arrow: the table's own rows, read by the project's reader (not as text).
    const cur = await ColumnCursor.open(file, format);
    const limit = Math.max(10, Math.min(SAMPLE_ROWS, Math.floor(SAMPLE_CELLS / Math.max(1, cur.header.length))));
    const rows: CsvRow[] = [];
    await cur.more();
    while (rows.length < limit && cur.next()) rows.push(cur.keep());
    return { file, header: cur.header, rows, complete: rows.length === cur.rows, totalRows: cur.rows };
  }
  const input = createReadStream(file);
  try {
    const csv = await openCsv(input, file);
    const limit = Math.max(10, Math.min(SAMPLE_ROWS, Math.floor(SAMPLE_CELLS / csv.header.length)));
    const rows: CsvRow[] = [];
    // Bytes of the rows as written (cells, commas, newline): quotes and CRs are not counted.
    const bytes = (cells: readonly string[]): number => cells.reduce((n, c) => n + Buffer.byteLength(c) + 1, 0);
    let read = 0, r = await csv.rows.next();
    for (; !r.done && rows.length < limit; r = await csv.rows.next()) {
      rows.push(r.value);
      read += bytes(r.value.cells);
    }
    const complete = r.done === true;
    const rest = size - bytes(csv.header);
    const totalRows = complete ? rows.length : Math.max(rows.length + 1, Math.round(rows.length * rest / read));
    return { file, header: csv.header, rows, complete, totalRows };
  } finally {
    input.destroy();
  }
}

/**
 * The regular file stdout is redirected to (`rnn init d.csv > configs/d.yaml`), so that paths
 * are written relative to it; null for a pipe or a terminal, or where /proc cannot name it.
 */
function stdoutFile(): string | null {
  try {
    const st = fstatSync(1);
    if (!st.isFile()) return null;
    const p = readlinkSync("/proc/self/fd/1");
    const named = statSync(p);
    return named.dev === st.dev && named.ino === st.ino ? p : null;
  } catch {
    return null;
  }
}

/** Where the config goes: --out, the file stdout is redirected to, or plain stdout (paths then relative to the current folder). */
interface Destination { readonly kind: "out" | "redirect" | "stdout"; readonly file: string | null; readonly dir: string }

/** True when stdout is the data file itself (`rnn init d.csv >> d.csv`): the same device and inode. */
function stdoutIs(file: string): boolean {
  try {
    const out = fstatSync(1), data = statSync(file);
    return out.isFile() && out.dev === data.dev && out.ino === data.ino;
  } catch {
    return false;
  }
}

function destination(o: InitOptions, csvFile: string): Destination {
  if (o.force && o.out === undefined) throw new InputError("--force goes with --out <config.yaml>: it lets rnn init replace that file");
  if (o.out === undefined) {
    if (stdoutIs(csvFile)) throw new InputError(`${csvFile}: stdout is the data file itself: the config would be written into the data; redirect it to another file, or use --out <config.yaml>`);
    const redirected = stdoutFile();
    return redirected ? { kind: "redirect", file: redirected, dir: path.dirname(redirected) } : { kind: "stdout", file: null, dir: process.cwd() };
  }
  const ext = path.extname(o.out).toLowerCase();
  if (ext !== ".yaml" && ext !== ".yml") throw new InputError(`${o.out}: rnn init writes YAML (with comments): name a .yaml or .yml file`);
  let st;
  try {
    st = statSync(o.out, { throwIfNoEntry: false });
  } catch (e) {
    throw fsError(o.out, e); // a file where a folder should be (ENOTDIR), no permission
  }
  if (st?.isDirectory()) throw new InputError(`${o.out}: is a directory`);
  if (st && !o.force) throw new InputError(`${o.out}: already exists; pass --force to replace it`);
  if (st && path.resolve(o.out) === path.resolve(csvFile)) throw new InputError(`${o.out}: is the data file itself`);
  return { kind: "out", file: o.out, dir: path.dirname(path.resolve(o.out)) };
}

/**
 * A path relative to a folder, with forward slashes (a config reads the same on every system);
 * absolute when the two meet only at the root (/tmp/c.yaml and /home/me/d.csv).
 */
function relativeTo(dir: string, file: string): string {
  const abs = path.resolve(file), rel = path.relative(dir, abs);
  const ups = rel.split(path.sep).filter((part) => part === "..").length;
  if (ups > 0 && path.resolve(dir, ...Array<string>(ups).fill("..")) === path.parse(abs).root) return abs;
  return rel.split(path.sep).join("/");
}
const stem = (file: string): string => path.basename(file, path.extname(file));
/** Text for a one-line comment: control characters and line separators shown as "?". */
const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, "?");

/** Strings plain when YAML reads them back as the same string, else double-quoted (JSON's quoting is YAML's). */
function yamlString(s: string): string {
  if (/^[A-Za-z0-9_./][A-Za-z0-9_./-]*$/.test(s) && parse(s) === s) return s;
  return JSON.stringify(s);
}

function yamlValue(v: StarterValue): string {
  if (v === null || typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return yamlString(v);
  if (Array.isArray(v)) return `[${(v as readonly (string | Readonly<Record<string, string | number>>)[]).map((x) => (typeof x === "string" ? yamlString(x) : yamlValue(x))).join(", ")}]`;
  return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${yamlValue(x as StarterValue)}`).join(", ")} }`;
}

/** Where comments start, as in configs/*.yaml. */
const COMMENT_COLUMN = 37;

/** The config as YAML: the lead comment, then one line per key with its note (sections by the key's first part). */
export function renderStarter(lead: readonly string[], entries: readonly Entry[]): string {
  const out = lead.map((l) => `# ${oneLine(l)}`.trimEnd());
  let section: string | null = null;
  for (const e of entries) {
    const dot = e.key.indexOf(".");
    const sec = dot < 0 ? null : e.key.slice(0, dot);
    if (sec !== null && sec !== section) out.push(`${sec}:`);
    section = sec;
    const text = `${sec === null ? "" : "  "}${e.key.slice(dot + 1)}: ${yamlValue(e.value)}`;
    out.push(`${text.padEnd(Math.max(COMMENT_COLUMN, text.length + 1))}# ${oneLine(e.note)}`);
  }
  return out.join("\n") + "\n";
}

/**
 * Checks the YAML reads back as the entries say and validates with the project's own schema:
 * a failure is rnn init's bug, reported as such (exit 1), never a config that `train` refuses.
 */
function checkStarter(text: string, entries: readonly Entry[]): void {
  const want: Record<string, unknown> = {};
  for (const e of entries) {
    const [a, b] = e.key.split(".");
    if (b === undefined) want[a] = e.value;
    else want[a] = { ...(want[a] as object | undefined), [b]: e.value };
  }
  const got: unknown = parse(text);
  try {
    validateConfig(got, "the starter config");
  } catch (e) {
    throw new Error(`rnn init made a config its schema refuses: ${e instanceof RnnError ? e.message : String(e)}`);
  }
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error("rnn init made a config that reads back other than written");
}

/**
 * `rnn init <data.csv>`: prints (or with --out writes) a starter config for the CSV, every key
 * commented, guessed from its header and first rows: the sequence column, targets, inputs,
 * task, missing values, sizes, validation, schedule and early stopping.
 */
export async function init(csvFile: string, o: InitOptions, io: Io): Promise<number> {
  const dest = destination(o, csvFile);
  const sample = await readSample(csvFile);
  const train = relativeTo(dest.dir, csvFile);
  const outputDir = `runs/${stem(dest.file ?? csvFile)}`;
  const starter = guessStarter(sample, profileColumns(sample), { targets: o.target, sequence: o.sequence, task: o.task }, { train, outputDir });
  const shownConfig = dest.file === null ? "config.yaml" : dest.kind === "out" ? dest.file : relativeTo(process.cwd(), dest.file);
  const read = sample.complete ? `its header and all ${sample.rows.length} rows`
    : `its header and first ${sample.rows.length} rows (of about ${sample.totalRows})`;
  const lead = [
    `Starter config for ${train}, written by \`rnn init\` from ${read}.`,
    "Every key is shown with why it was chosen; change what does not fit, then train:",
    `  rnn train ${shownConfig}        (a quick try first: --set training.epochs=2)`,
    ...(dest.kind === "stdout"
      ? ["Paths are relative to this file's folder, and were written for a file saved in the folder",
        "rnn init ran in (rnn init data.csv > config.yaml); rnn init --out <file.yaml> writes them for any folder."]
      : ["Paths are relative to this file's folder."]),
  ];
  const text = renderStarter(lead, starter.entries);
  checkStarter(text, starter.entries);
  if (dest.kind === "out" && dest.file !== null) {
    ensureDir(dest.dir, "the config's folder");
    writeFileAtomic(dest.file, text);
    io.stderr.write(`wrote ${dest.file}: ${starter.summary}\ntrain it: rnn train ${dest.file}\n`);
  } else {
    await writeOut(io, text);
    io.stderr.write(`${starter.summary}\n${dest.file === null ? "save it (> config.yaml), then train it: rnn train config.yaml" : `train it: rnn train ${shownConfig}`}\n`);
  }
  return 0;
}
