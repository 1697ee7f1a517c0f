import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { InputError } from "../errors.js";

/**
 * The temp file name for `name` in its folder: `.<name>.tmp-<pid>-<base36 time>`. The pid tells
 * a stale temp (its process is gone) from a live one; the run directory sweeps only these.
 */
export function tempName(name: string): string {
  return `.${name}.tmp-${process.pid}-${Date.now().toString(36)}`;
}

/**
 * Writes a file atomically: a temp file in the same folder, fsync, rename over the target,
 * fsync the folder. A reader sees the old file or the new one, never half of one; a crash
 * leaves at most a stray `.<name>.tmp-*` file, which nothing reads.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, tempName(path.basename(file)));
  const fd = openSync(tmp, "w", 0o644);
  try {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  try {
    const dfd = openSync(dir, "r");
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some filesystems cannot fsync a folder; the rename is still atomic */ }
}

/**
 * Creates a folder and its missing parents (a run directory), one level at a time: a failure
 * is an InputError naming the folder, and a path whose parent exists yet refuses children
 * (under /proc) fails once instead of looping, as `mkdirSync(…, {recursive: true})` does
 * on Node 20.
 */
export function ensureDir(dir: string, what = "the run directory"): void {
  const fail = (why: string): InputError => new InputError(`${dir}: cannot create ${what}: ${why}`);
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw fail(code ?? (e as Error).message);
      missing.push(d);
      if (path.dirname(d) === d) break;
      continue;
    }
    if (!st.isDirectory()) throw fail(`${d} is not a directory`);
    break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw fail(code ?? (e as Error).message);
    }
  }
}
