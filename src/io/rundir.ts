import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { InputError } from "../errors.js";
import { ensureDir, removeFile } from "./atomic.js";
import { saveCheckpoint, type SaveArgs } from "./checkpoint.js";
import { CsvLog, EPOCHS_HEADER, UPDATES_HEADER } from "./runlog.js";

export const LAST = "last.safetensors";
export const BEST = "best.safetensors";

/** Deletes temp files that killed runs left behind (`.<name>.tmp-<pid>-…` of a process that is gone). */
function removeStaleTemps(dir: string): void {
  for (const f of readdirSync(dir)) {
    const m = /^\..+\.tmp-(\d+)-/.exec(f);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    try { if (!alive) { process.kill(pid, 0); alive = true; } } catch (e) { alive = (e as NodeJS.ErrnoException).code === "EPERM"; }
    if (!alive) rmSync(path.join(dir, f), { force: true });
  }
}

/**
 * A run directory (SPEC §2): last.safetensors, best.safetensors, updates.csv, epochs.csv. All
 * that writes there lives here: the refusal to overwrite a finished run, the sweep of temp
 * files that killed runs left, the logs (cut back to the checkpoint on resume) and the
 * checkpoints, saved with the logs flushed first so the logs always cover what a checkpoint holds.
 */
export class RunDir {
  readonly updates: CsvLog;
  readonly epochs: CsvLog;

  private constructor(readonly dir: string) {
    this.updates = new CsvLog(path.join(dir, "updates.csv"), UPDATES_HEADER);
    this.epochs = new CsvLog(path.join(dir, "epochs.csv"), EPOCHS_HEADER);
  }

  /** Refuses (exit 2) a directory that already holds a checkpoint, unless resuming or forced. */
  static refuseFinished(dir: string, resuming: boolean, force: boolean): void {
    if (!resuming && !force && (existsSync(path.join(dir, LAST)) || existsSync(path.join(dir, BEST)))) {
      throw new InputError(`${dir}: already holds a checkpoint; pass --resume ${path.join(dir, LAST)} to continue it or --force to start over`);
    }
  }

  /**
   * Opens the directory for a run: a resumed one (`at`: the checkpoint's step and completed
   * epochs) keeps the log rows up to it; a new one starts the logs afresh and, forced, removes
   * the old checkpoints.
   */
  static open(dir: string, at: { readonly step: number; readonly epoch: number } | null, force: boolean): RunDir {
    ensureDir(dir);
    removeStaleTemps(dir);
    const run = new RunDir(dir);
    if (at) {
      run.updates.truncate("step", at.step);
      run.epochs.truncate("epoch", at.epoch);
    } else {
      if (force) for (const f of [LAST, BEST]) removeFile(path.join(dir, f));
      run.updates.reset();
      run.epochs.reset();
    }
    return run;
  }

  path(file: string): string {
    return path.join(this.dir, file);
  }

  /** Appends the buffered log rows. */
  flush(): void {
    this.updates.flush();
    this.epochs.flush();
  }

  /** Writes a checkpoint atomically, after the log rows it covers. */
  save(file: typeof LAST | typeof BEST, a: SaveArgs): void {
    this.flush();
    saveCheckpoint(this.path(file), a);
  }
}
