import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { stringify } from "yaml";
import { z } from "zod";
import { checkAxes, expandGrid, keysOverlap, parseGridArg, pointLabel, setDotted, type GridPoint, type Scalar } from "../config/grid.js";
import { checkAgainst, checkConfig, formatIssue, issueKeys, loadConfig, readConfigFile, resolvePaths } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { InputError } from "../errors.js";
import { ensureDir, writeFileAtomic } from "../io/atomic.js";
import { loadCheckpoint } from "../io/checkpoint.js";
import { csvLine, num } from "../io/format.js";
import { LAST } from "../io/rundir.js";
import { writeOut, type Io } from "../io/terminal.js";
import { readLog } from "./plot.js";

const MANIFEST = "sweep.json";
/** A manifest holds a few hundred bytes per point; MAX_POINTS of them stay far below this. */
const MAX_MANIFEST_BYTES = 64 << 20;

/** Where `rnn train <folder>` looks for the point to train when --index is not given, in order. */
const INDEX_ENV = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] as const;

const scalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** sweep.json, as `rnn sweep` writes it and `rnn train <folder>` and `rnn sweep summary` read it. */
const manifestSchema = z.object({
  config: z.string(),
  grid: z.array(z.object({ key: z.string().min(1), values: z.array(scalarSchema).min(1) })).min(1),
  points: z.array(z.object({
    index: z.int().min(0),
    file: z.string().min(1),
    values: z.record(z.string(), scalarSchema),
    runDir: z.string().min(1),
  })).min(1),
}).superRefine((m, ctx) => {
  m.points.forEach((p, i) => {
    if (p.index !== i) ctx.addIssue({ code: "custom", path: ["points", i, "index"], message: `must be ${i} (points are listed in order)` });
  });
});

type Manifest = z.output<typeof manifestSchema>;

/** Reads a sweep folder's sweep.json; paths in it are absolute or relative to the folder. */
async function readManifest(folder: string): Promise<Manifest> {
  const file = path.join(folder, MANIFEST);
  if (!existsSync(file)) throw new InputError(`${folder}: no ${MANIFEST} here (not a sweep folder written by rnn sweep)`);
  const r = checkAgainst(manifestSchema, await readConfigFile(file, MAX_MANIFEST_BYTES));
  if (!r.ok) throw new InputError(formatIssue(file, r.issue));
  return r.value;
}

/** "the sweep has 4 points (0–3)": what an index must be, for error messages. */
function pointRange(m: Manifest): string {
  const n = m.points.length;
  return n === 1 ? "the sweep has 1 point (0)" : `the sweep has ${n} points (0–${n - 1})`;
}

/**
 * What `rnn train <arg>` trains: `arg` itself when it is a config file; when it is a sweep
 * folder, the config file of one point, chosen by --index, else by the job scheduler's
 * array index (Slurm job arrays, Kubernetes Indexed Jobs), so that one command line serves
 * every task of an array job.
 */
export async function resolveTrainConfig(arg: string, index: string | undefined,
  env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const isDir = statSync(arg, { throwIfNoEntry: false })?.isDirectory() === true;
  if (!isDir && index !== undefined) throw new InputError(`--index ${index}: ${arg} is not a sweep folder (--index picks one of its points)`);
  // Another directory is left to train, which refuses it as it refuses anything but a file.
  if (!isDir || (index === undefined && !existsSync(path.join(arg, MANIFEST)))) return arg;
  const m = await readManifest(arg);
  // An empty variable is taken as unset: a job script's `export X=` is not a choice of point.
  const from = index !== undefined ? { name: "--index", text: index }
    : INDEX_ENV.map((name) => ({ name, text: env[name] ?? "" })).find((e) => e.text !== "");
  if (!from) throw new InputError(`${arg}: which point? pass --index i or set ${INDEX_ENV.join(" or ")}; ${pointRange(m)}`);
  if (!/^\d+$/.test(from.text)) throw new InputError(`${arg}: ${from.name} ${JSON.stringify(from.text)} is not a point index; ${pointRange(m)}`);
  const i = Number(from.text);
  if (i >= m.points.length) throw new InputError(`${arg}: ${from.name} ${from.text}: no such point; ${pointRange(m)}`);
  return path.resolve(arg, m.points[i].file);
}

export interface SweepOptions {
  grid?: string[];
  out?: string;
  force?: boolean;
}

/** One point, validated and ready to write. */
interface Planned {
  readonly point: GridPoint;
  readonly file: string;
  readonly runDir: string;
  readonly config: Config;
}

/**
 * One grid point's config: the source config as written, the point's values set, validated
 * as any config file, paths made absolute. An invalid point names the grid values the
 * schema's complaint is about (all of the point's values when it is about none of them).
 */
function planPoint(raw: unknown, source: string, folder: string, point: GridPoint, count: number): Planned {
  const checked = checkConfig(point.settings.reduce<unknown>((c, s) => setDotted(c, s.key, s.value), raw));
  if (!checked.ok) {
    const about = issueKeys(checked.issue);
    const culprits = point.settings.filter((s) => about.some((k) => k !== "" && keysOverlap(s.key, k)));
    const named = (culprits.length > 0 ? culprits : point.settings).map((s) => `${s.key}=${s.text}`).join(", ");
    throw new InputError(formatIssue(`${path.basename(source)}: --grid ${named}`, checked.issue));
  }
  const { file: _source, ...resolved } = resolvePaths(checked.value, source);
  const label = pointLabel(point.index, count);
  // Points must not share a run directory: one would refuse to start or overwrite the other.
  const runDir = point.settings.some((s) => s.key === "output.dir") ? resolved.output.dir : path.resolve(folder, "runs", label);
  return { point, file: path.resolve(folder, `point-${label}.yaml`), runDir, config: { ...resolved, output: { ...resolved.output, dir: runDir } } };
}

/** A point's file: a comment saying where it comes from, then the complete config. */
function pointYaml(p: Planned, count: number, source: string, folder: string): string {
  const lines = [
    // Paths are quoted: a line break in a file name would end the comment.
    `# Point ${p.point.index} of ${count} of the sweep in ${JSON.stringify(folder)}, made by rnn sweep from ${JSON.stringify(source)}:`,
    ...p.point.settings.map((s) => `#   ${s.key}: ${JSON.stringify(s.value)}`),
    `# Train it with: rnn train ${JSON.stringify(folder)} --index ${p.point.index}`,
  ];
  return `${lines.join("\n")}\n${stringify(p.config, { aliasDuplicateObjects: false })}`;
}

/**
 * `rnn sweep <config> --grid key=v1,v2,… …`: writes one complete config per point of the
 * grid, and sweep.json listing them, into the sweep folder. Every point is validated before
 * anything is written; sweep.json is written last, so a folder without it holds no sweep.
 */
export async function sweep(configPath: string, o: SweepOptions, io: Io): Promise<number> {
  const axes = (o.grid ?? []).map(parseGridArg);
  checkAxes(axes);
  const source = path.resolve(configPath);
  const raw = await readConfigFile(configPath);
  const folder = o.out ?? path.join(path.dirname(configPath), `${path.basename(configPath, path.extname(configPath))}-sweep`);
  const absFolder = path.resolve(folder);
  const replaced = existsSync(path.join(folder, MANIFEST));
  if (replaced && !o.force) {
    throw new InputError(`${folder}: already holds a sweep (${MANIFEST}); pass --force to replace it`);
  }
  // A folder of other files is not the sweep's to fill: its point-*.yaml would be overwritten.
  const held = !replaced && statSync(folder, { throwIfNoEntry: false })?.isDirectory() === true ? readdirSync(folder) : [];
  if (held.length > 0 && !o.force) {
    throw new InputError(`${folder}: holds ${held.length} file(s) but no sweep (${MANIFEST}), e.g. ${JSON.stringify(held[0])}; choose an empty or new folder, or pass --force to write the sweep among them`);
  }
  // The point files of the sweep replaced, which its manifest lists: only those may be removed.
  const earlier = replaced ? await readManifest(folder).then((m) => m.points.map((p) => path.resolve(folder, p.file)), () => []) : [];

  const points = expandGrid(axes);
  const planned = points.map((p) => planPoint(raw, source, absFolder, p, points.length));
  const owner = new Map<string, number>();
  for (const p of planned) {
    const other = owner.get(p.runDir);
    if (other !== undefined) throw new InputError(`--grid: points ${other} and ${p.point.index} would share the run directory ${p.runDir}`);
    owner.set(p.runDir, p.point.index);
  }

  ensureDir(folder, "the sweep folder");
  for (const p of planned) writeFileAtomic(p.file, pointYaml(p, planned.length, source, absFolder));
  const manifest: Manifest = {
    config: source,
    grid: axes.map((a) => ({ key: a.key, values: [...a.values] })),
    points: planned.map((p) => ({
      index: p.point.index, file: p.file, runDir: p.runDir,
      values: Object.fromEntries(p.point.settings.map((s) => [s.key, s.value])),
    })),
  };
  writeFileAtomic(path.join(folder, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  // Point files of a replaced, larger sweep would look like points of this one; nothing else is removed.
  const current = new Set(planned.map((p) => p.file));
  for (const f of earlier) {
    if (/^point-\d+\.yaml$/.test(path.basename(f)) && path.dirname(f) === absFolder && !current.has(f)) rmSync(f, { force: true });
  }

  const count = (n: number): string => `${n} point${n === 1 ? "" : "s"}`;
  const existing = planned.filter((p) => existsSync(p.runDir)).length;
  if (existing > 0) {
    io.stderr.write(`${io.color.yellow("warning")}: the run directories of ${count(existing)} exist already (an earlier sweep?); rnn train refuses those that hold a checkpoint unless given --force\n`);
  }
  io.stderr.write(`${count(planned.length)} in ${folder}; train one with: rnn train ${folder} --index i\n`);
  await writeOut(io, planned.map((p) => `${path.join(folder, path.basename(p.file))}\n`).join(""));
  return 0;
}

/** `stale`: the run directory holds a run of another config (an earlier sweep's point). */
type Status = "done" | "partial" | "missing" | "stale";

/** One point's line of the summary. */
interface SummaryRow {
  readonly index: number;
  readonly values: readonly Scalar[];
  readonly bestValLoss: number | null;
  readonly bestEpoch: number | null;
  readonly epochs: number;
  readonly status: Status;
}

/** What a run trains, as a key: its config but for where it writes (and the path it was read from). */
function runKey(c: Config): string {
  const { seed, data, task, targetsAt, model, training } = c;
  return JSON.stringify({ seed, data, task, targetsAt, model, training });
}

/**
 * A point's progress from its run directory's epochs.csv (absent: the run has not ended an epoch).
 * The run counts only when its checkpoint was trained with the point's config (`key`): after
 * `sweep --force` with other grid values, the old run in the same folder is `stale`, not credited.
 */
function runProgress(runDir: string, configured: number, key: string): Omit<SummaryRow, "index" | "values"> {
  const file = path.join(runDir, "epochs.csv");
  if (!existsSync(file)) return { bestValLoss: null, bestEpoch: null, epochs: 0, status: "missing" };
  const ckpt = path.join(runDir, LAST);
  if (existsSync(ckpt)) {
    let trained: string | null = null;
    try { trained = runKey(loadCheckpoint(ckpt).config); } catch { /* unreadable: not this point's run either */ }
    if (trained !== key) return { bestValLoss: null, bestEpoch: null, epochs: 0, status: "stale" };
  }
  const log = readLog(file, ["epoch"], ["val_loss"]);
  const epochs = log.get("epoch") ?? [], val = log.get("val_loss") ?? [];
  let best: number | null = null, bestEpoch: number | null = null;
  // Strictly lower, as rnn train picks best.safetensors: of equal losses the first epoch wins.
  for (let i = 0; i < val.length; i++) {
    if (!Number.isNaN(val[i]) && (best === null || val[i] < best)) { best = val[i]; bestEpoch = epochs[i]; }
  }
  const done = epochs.reduce((a, b) => Math.max(a, b), 0);
  return { bestValLoss: best, bestEpoch, epochs: done, status: done >= configured ? "done" : "partial" };
}

function cell(v: Scalar): string {
  return v === null ? "" : typeof v === "number" ? num(v) : String(v);
}

/**
 * `rnn sweep summary <folder>`: one row per point — its grid values, the lowest val_loss in
 * its epochs.csv and that epoch, the epochs done, and done / partial / missing — as CSV, or
 * as one JSON array with --json.
 */
export async function sweepSummary(folder: string, o: { json?: boolean }, io: Io): Promise<number> {
  const m = await readManifest(folder);
  const keys = m.grid.map((g) => g.key);
  const rows: SummaryRow[] = [];
  for (const p of m.points) {
    const point = await loadConfig(path.resolve(folder, p.file));
    const values = keys.map((k) => (Object.hasOwn(p.values, k) ? p.values[k] : null));
    rows.push({ index: p.index, values, ...runProgress(path.resolve(folder, p.runDir), point.training.epochs, runKey(point)) });
  }
  if (o.json) {
    await writeOut(io, JSON.stringify(rows.map((r) => ({
      index: r.index, ...Object.fromEntries(keys.map((k, i) => [k, r.values[i]])),
      best_val_loss: r.bestValLoss, best_epoch: r.bestEpoch, epochs: r.epochs, status: r.status,
    }))) + "\n");
    return 0;
  }
  const lines = [csvLine(["index", ...keys, "best_val_loss", "best_epoch", "epochs", "status"])];
  for (const r of rows) {
    lines.push(csvLine([num(r.index), ...r.values.map(cell), ...[r.bestValLoss, r.bestEpoch].map(cell), num(r.epochs), r.status]));
  }
  await writeOut(io, lines.join(""));
  return 0;
}
