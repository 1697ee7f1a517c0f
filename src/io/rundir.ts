import { existsSync, linkSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { InputError } from "../errors.js";
import { ensureDir, removeFile, tempName } from "./atomic.js";
import { fsError } from "./fserror.js";
import { saveCheckpoint, type SaveArgs } from "./checkpoint.js";
import { CsvLog, EPOCHS_HEADER, UPDATES_HEADER } from "./runlog.js";
import { removeEventFiles, TensorBoardLog, truncateEventFiles } from "./tensorboard.js";

export const LAST = "last.safetensors";
export const BEST = "best.safetensors";
export const LOCK = "rnn.lock";
const UPDATES = "updates.csv";
const EPOCHS = "epochs.csv";
/** The plots RunPlotter and `rnn plot` write into a run directory. */
const PLOTS = ["loss.svg", "grad-norm.svg"] as const;
/** TensorBoard's tags (SPEC §14): train/loss … at each update's step, epoch/train_loss … at the epoch. */
const UPDATE_TAGS = "train/";
const EPOCH_TAGS = "epoch/";
/** Every file `rnn train` makes in a run directory: all that --force may remove. */
const OURS = [LAST, BEST, UPDATES, EPOCHS, ...PLOTS, LOCK] as const;

/**
 * Our own atomic-write temp files (`.<one of OURS>.tmp-<pid>-<base36 time>`, see
 * writeFileAtomic): only these are swept, never another program's `.x.tmp-…`.
 */
const OUR_TEMP = new RegExp(`^\\.(${OURS.map((f) => f.replace(/[.]/g, "\\.")).join("|")})\\.tmp-(\\d+)-[0-9a-z]+$`);

/** Fields 3… of Linux's /proc/<pid>/stat (state, ppid, …), or null elsewhere or when gone. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the name in (…) may hold spaces
  } catch {
    return null;
  }
}

/**
 * Is a process of this machine alive? (EPERM: alive, someone else's.) A zombie is not: a
 * SIGKILLed run whose parent has not reaped it yet (mpirun's daemons, a container whose init
 * reaps nothing) still answers kill(pid, 0).
 */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try { process.kill(pid, 0); } catch (e) { if ((e as NodeJS.ErrnoException).code !== "EPERM") return false; }
  const state = procStat(pid)?.[0];
  return state !== "Z" && state !== "X";
}

/**
 * When a process started (Linux: clock ticks since boot, field 22 of /proc/<pid>/stat), or null
 * elsewhere: with the pid it tells a live holder from an unrelated process that got its pid again.
 */
function processStart(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/** Deletes the temp files that killed runs left behind (ours, of a process that is gone). */
function removeStaleTemps(dir: string): void {
  for (const f of readdirSync(dir)) {
    const m = OUR_TEMP.exec(f);
    if (m && !alive(Number(m[2]))) rmSync(path.join(dir, f), { force: true });
  }
}

/** What a lock file holds: who runs in the directory, on which machine, since when. */
interface LockInfo {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken (for people). */
  readonly started: string;
  /** The holder's /proc start time (Linux), to see through pid reuse. */
  readonly procStart: string | null;
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (Number.isSafeInteger(v.pid) && typeof v.host === "string" && typeof v.started === "string") {
      return { pid: v.pid as number, host: v.host, started: v.started, procStart: typeof v.procStart === "string" ? v.procStart : null };
    }
  } catch { /* not ours, or damaged: refused below */ }
  return null;
}

/**
 * A lock is stale when its holder is gone: on this host, its pid is dead, or alive but started
 * at another time (the pid was reused). A lock from another host (a shared file system) is
 * never judged stale: its pid means nothing here.
 */
function isStale(l: LockInfo): boolean {
  if (l.host !== hostname()) return false;
  if (!alive(l.pid)) return true;
  return l.procStart !== null && l.pid !== process.pid && processStart(l.pid) !== l.procStart;
}

/** Locks this process holds, removed at exit (also after process.exit on a second Ctrl-C). */
const held = new Set<string>();
process.on("exit", () => { for (const f of held) releaseLock(f); });

function releaseLock(file: string): void {
  held.delete(file);
  // Only our own lock: a directory taken over after we were thought dead is not ours to free.
  try {
    if (parseLock(readFileSync(file, "utf8"))?.pid === process.pid) unlinkSync(file);
  } catch { /* already gone */ }
}

/**
 * Takes the run directory's lock, or refuses (exit 2) naming the holder. The lock appears
 * whole and atomically: its content is written to a temp file that is then hard-linked to
 * `rnn.lock`, which fails if one exists (as O_EXCL does, and on NFS too). A stale lock (a
 * SIGKILLed run) is moved aside and taken over; moving it aside is checked afterwards, so two
 * runs that find one stale lock at once do not both take over.
 */
function acquireLock(dir: string): string {
  const file = path.join(dir, LOCK);
  const mine: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), procStart: processStart(process.pid) };
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = path.join(dir, tempName(LOCK));
    try {
      writeFileSync(tmp, JSON.stringify(mine) + "\n", { flag: "wx", mode: 0o644 });
      linkSync(tmp, file);
      held.add(file);
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(file, e, "cannot create the run directory's lock");
    } finally {
      rmSync(tmp, { force: true });
    }
    let text: string;
    try { text = readFileSync(file, "utf8"); } catch { continue; } // released meanwhile: try again
    const holder = parseLock(text);
    if (!holder) throw new InputError(`${file}: run directory locked by a lock file rnn cannot read; remove it if no run is using ${dir}`);
    if (!isStale(holder)) {
      const where = holder.host === hostname() ? "" : ` on host ${holder.host}`;
      throw new InputError(`${dir}: in use by rnn process ${holder.pid}${where} since ${holder.started} (${LOCK}); wait for it to end${where ? `, or remove ${file} if that run is gone` : ""}`);
    }
    const aside = path.join(dir, tempName(LOCK));
    try { renameSync(file, aside); } catch { continue; }
    // Another run may have taken over between our read and the rename: put its lock back.
    if (readFileSync(aside, "utf8") !== text) { try { linkSync(aside, file); } catch { /* a third run holds it */ } }
    rmSync(aside, { force: true });
  }
  throw new InputError(`${file}: could not take the run directory's lock (other runs keep taking it)`);
}

/** Names the first file `rnn train` would lose: a checkpoint, a log with rows, a plot. */
function previousResult(dir: string): string | null {
  for (const f of [LAST, BEST]) if (existsSync(path.join(dir, f))) return f;
  // A log holding only its header is what a run killed before its first save leaves: nothing to lose.
  for (const f of [UPDATES, EPOCHS]) {
    const p = path.join(dir, f);
    if (existsSync(p) && statSync(p).isFile() && readFileSync(p, "utf8").trim().includes("\n")) return f;
  }
  for (const f of PLOTS) if (existsSync(path.join(dir, f))) return f;
  return null;
}

/**
 * A run directory (SPEC §2): last.safetensors, best.safetensors, updates.csv, epochs.csv and
 * the plots. All that writes there lives here: the lock that keeps a second run out, the
 * refusal to overwrite a run's results, the sweep of temp files that killed runs left, the logs
 * (cut back to the checkpoint on resume) and the checkpoints, saved with the logs flushed first
 * so the logs always cover what a checkpoint holds.
 */
export class RunDir {
  readonly updates: CsvLog;
  readonly epochs: CsvLog;
  /** The TensorBoard event file (SPEC §14), mirroring both logs' rows: output.tensorboard. */
  readonly tensorboard: TensorBoardLog | null;

  private constructor(readonly dir: string, private readonly lock: string, valMetrics: readonly string[], tensorboard: TensorBoardLog | null) {
    const epochsHeader = [...EPOCHS_HEADER, ...valMetrics];
    this.tensorboard = tensorboard;
    // train/loss, train/grad_norm, train/lr at step; epoch/train_loss, epoch/val_… at epoch.
    this.updates = new CsvLog(path.join(dir, UPDATES), UPDATES_HEADER,
      tensorboard?.rows(UPDATES_HEADER, "step", (c) => (c === "epoch" || c === "step" ? null : `${UPDATE_TAGS}${c}`)));
    this.epochs = new CsvLog(path.join(dir, EPOCHS), epochsHeader,
      tensorboard?.rows(epochsHeader, "epoch", (c) => (c === "train_loss" || c.startsWith("val_") ? `${EPOCH_TAGS}${c}` : null)));
  }

  /**
   * Refuses (exit 2) a directory that holds a run's results — a checkpoint, or logs or plots
   * of a run that saved none (one that diverged in its first epoch) — unless resuming (a
   * checkpoint) or forced. Early, before the data are read; RunDir.open checks again under the lock.
   */
  static refuseFinished(dir: string, resuming: boolean, force: boolean): void {
    if (force) return;
    const found = previousResult(dir);
    if (found === LAST || found === BEST) {
      if (!resuming) throw new InputError(`${dir}: already holds a checkpoint; pass --resume ${path.join(dir, LAST)} to continue it or --force to start over`);
    } else if (found !== null && !resuming) {
      throw new InputError(`${path.join(dir, found)}: the run directory holds another run's ${found}; pass --force to start over (it removes rnn's files only)`);
    }
  }

  /**
   * Opens the directory for a run, holding its lock until close() or exit: a resumed one
   * (`at`: the checkpoint's step and completed epochs) keeps the log rows up to it; a new one
   * starts the logs afresh and, forced, removes the files an earlier run made (only those).
   * `valMetrics` are epochs.csv's columns after `seconds` (SPEC §6: with validation data).
   * `tensorboard` adds an event file (a new one on resume, the old ones cut back to the
   * checkpoint; --force removes them).
   */
  static open(dir: string, at: { readonly step: number; readonly epoch: number } | null, force: boolean, valMetrics: readonly string[] = [], tensorboard = false): RunDir {
    ensureDir(dir);
    const lock = acquireLock(dir);
    try {
      RunDir.refuseFinished(dir, at !== null, force);
      removeStaleTemps(dir);
      if (!at && force) {
        for (const f of [LAST, BEST, ...PLOTS]) removeFile(path.join(dir, f));
        removeEventFiles(dir);
      }
      // The event files are cut back as the CSV logs are: epoch/… scalars to the epoch, train/… to the step.
      if (at) truncateEventFiles(dir, (tag, step) => step <= (tag.startsWith(EPOCH_TAGS) ? at.epoch : at.step));
      const run = new RunDir(dir, lock, valMetrics, tensorboard ? new TensorBoardLog(dir) : null);
      if (at) {
        run.updates.truncate("step", at.step);
        run.epochs.truncate("epoch", at.epoch);
      } else {
        run.updates.reset();
        run.epochs.reset();
      }
      return run;
    } catch (e) {
      releaseLock(lock);
      throw e;
    }
  }

  /** Releases the lock (also done at exit, whatever the way out). */
  close(): void {
    releaseLock(this.lock);
  }

  path(file: string): string {
    return path.join(this.dir, file);
  }

  /** Appends the buffered log rows. */
  flush(): void {
    this.updates.flush();
    this.epochs.flush();
    this.tensorboard?.flush();
  }

  /** Writes a checkpoint atomically, after the log rows it covers. */
  save(file: typeof LAST | typeof BEST, a: SaveArgs): void {
    this.flush();
    saveCheckpoint(this.path(file), a);
  }
}
