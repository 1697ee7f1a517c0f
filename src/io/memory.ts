import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import path from "node:path";

/** How much memory this process may use, and what sets that bound. */
export interface MemoryLimit {
  readonly bytes: number;
  /** "this machine" or the cgroup file that limits less than the machine has. */
  readonly source: string;
}

function read(file: string): string | null {
  try { return readFileSync(file, "utf8").trim(); } catch { return null; }
}

/** A cgroup limit file's value in bytes, or null for none ("max", or v1's "unlimited" of ~2^63). */
export function parseCgroupLimit(text: string | null): number | null {
  if (text === null || !/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n > 2 ** 60 ? null : n;
}

/**
 * The tightest memory limit of the cgroups this process is in — v2 `memory.max`, v1
 * `memory.limit_in_bytes` — along its cgroup path up to the root (a container's limit may be
 * set on a parent), else the machine's memory. A container sees the host's RAM in
 * os.totalmem(): without this, a model the container cannot hold passes the check and is then
 * killed by the kernel with nothing said. `root` and `self` are for tests.
 */
export function memoryLimit(root = "/sys/fs/cgroup", self = "/proc/self/cgroup"): MemoryLimit {
  let best: MemoryLimit = { bytes: totalmem(), source: "this machine" };
  const consider = (file: string): void => {
    const v = parseCgroupLimit(read(file));
    if (v !== null && v < best.bytes) best = { bytes: v, source: file };
  };
  for (const line of (read(self) ?? "").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, controllers, cgPath] = m;
    const v2 = controllers === "";
    if (!v2 && !controllers.split(",").includes("memory")) continue;
    const base = v2 ? root : path.join(root, "memory");
    const name = v2 ? "memory.max" : "memory.limit_in_bytes";
    // From the process's own cgroup up to the root of the hierarchy.
    for (let p = cgPath; ; p = path.posix.dirname(p)) {
      consider(path.join(base, p, name));
      if (p === "/" || p === "." || p === "") break;
    }
  }
  return best;
}
