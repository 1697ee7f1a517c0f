import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import { InputError } from "../errors.js";
import { fsCause, fsError } from "./fserror.js";

/** Writes all of `buf` at the file offset (writeSync may write less than asked). */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/**
 * The temp file name for `name` in its folder: `.<name>.tmp-<pid>-<base36 time>`. The pid tells
 * a stale temp (its process is gone) from a live one; the run directory sweeps only these.
 */
export function tempName(name: string): string {
  return `.${name}.tmp-${process.pid}-${Date.now().toString(36)}`;
}

/**
 * Appends all of `buf` to a log file (created if absent). A failed append (a full disk) is cut
 * back to the file's size before it, so the log never ends in a torn row or record, and is an
 * InputError naming the file.
 */
export function appendWhole(file: string, buf: Uint8Array): void {
  let fd: number | null = null, size = -1;
  try {
    fd = openSync(file, "a");
    size = fstatSync(fd).size;
    writeAll(fd, buf);
  } catch (e) {
    try { if (fd !== null && size >= 0) ftruncateSync(fd, size); } catch { /* the append's error is the one to report */ }
    throw fsError(file, e);
  } finally {
    try { if (fd !== null) closeSync(fd); } catch { /* nothing left to save */ }
  }
}

/**
 * Writes a file atomically: a temp file in the same folder, fsync, rename over the target,
 * fsync the folder. A reader sees the old file or the new one, never half of one; a crash
 * leaves at most a stray `.<name>.tmp-*` file, which nothing reads. A failure (no space, a
 * read-only disk, a missing folder, a directory in the way) removes the temp file, leaves the
 * old file as it was and is an InputError naming `file`. A target that exists but is no
 * regular file (/dev/stdout, /dev/full, a FIFO) is written into, not replaced: renaming over
 * it would swap a device for a file.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  let st;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    throw fsError(file, e);
  }
  if (st && !st.isFile() && !st.isDirectory()) return writeInto(file, buf);
  const dir = path.dirname(file);
  const tmp = path.join(dir, tempName(path.basename(file)));
  let fd: number | null = null;
  try {
    fd = openSync(tmp, "w", 0o644);
    writeAll(fd, buf);
    fsyncSync(fd);
    closeSync(fd); // close may be where NFS reports a full disk
    fd = null;
    renameSync(tmp, file);
  } catch (e) {
    try { if (fd !== null) closeSync(fd); } catch { /* the write's error is the one to report */ }
    try { rmSync(tmp, { force: true }); } catch { /* a read-only folder never held it */ }
    throw fsError(file, e);
  }
  try {
    const dfd = openSync(dir, "r");
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch { /* some filesystems cannot fsync a folder; the rename is still atomic */ }
}

/** Removes a file if it is there; a failure (a read-only disk, a directory in the way) is an InputError naming it. */
export function removeFile(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch (e) {
    throw fsError(file, e, "cannot remove");
  }
}

/** Writes into an existing special file (a device, a FIFO), as a shell's `>` would. */
function writeInto(file: string, buf: Uint8Array): void {
  let fd: number | null = null;
  try {
    fd = openSync(file, "w");
    writeAll(fd, buf);
  } catch (e) {
    throw fsError(file, e);
  } finally {
    try { if (fd !== null) closeSync(fd); } catch { /* reported above if it mattered */ }
  }
}

/**
 * Creates a folder and its missing parents (a run directory), one level at a time: a failure
 * is an InputError naming the folder, and a path whose parent exists yet refuses children
 * (under /proc) fails once instead of looping, as `mkdirSync(…, {recursive: true})` does
 * on Node 20.
 */
export function ensureDir(dir: string, what = "the run directory"): void {
  const fail = (why: string): InputError => new InputError(`${dir}: cannot create ${what}: ${why}`);
  const cause = (e: unknown): string => fsCause(e) ?? (e as Error).message;
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let d = abs; ; d = path.dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw fail(cause(e));
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
      throw fail(cause(e));
    }
  }
}
