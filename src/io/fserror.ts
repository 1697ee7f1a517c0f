import { getSystemErrorMap } from "node:util";
import { InputError } from "../errors.js";

/**
 * Where libuv's own words would mislead: a path is "a directory" (not "an illegal operation"
 * on one), and a file that cannot be created is missing its folder, not itself.
 */
const PLAIN: Readonly<Record<string, string>> = {
  EISDIR: "is a directory",
  ENOENT: "no such directory",
  EIO: "input/output error",
  ENAMETOOLONG: "file name too long",
};

/** The errno name of a failed system call; rmSync's ERR_FS_EISDIR keeps it in `info`. */
function errnoOf(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { info?: { code?: unknown } };
  const code = typeof e.info?.code === "string" ? e.info.code : e.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : null;
}

/** What went wrong, in words ("no space left on device"), or null if `err` is not a system error. */
export function fsCause(err: unknown): string | null {
  const code = errnoOf(err);
  if (code === null) return null;
  if (PLAIN[code]) return PLAIN[code];
  for (const [name, words] of getSystemErrorMap().values()) if (name === code) return words;
  return code;
}

/**
 * A failed write, as the user must see it (exit 2, one line): the path they named, never a
 * temp file, and the cause in words. Node's own message names the syscall and the temp path
 * instead. Anything that is not a system error is returned unchanged (a bug stays a bug).
 */
export function fsError(file: string, err: unknown, doing = "cannot write"): Error {
  const cause = fsCause(err);
  if (cause === null) return err instanceof Error ? err : new Error(String(err));
  return new InputError(`${file}: ${doing}: ${cause}`);
}
