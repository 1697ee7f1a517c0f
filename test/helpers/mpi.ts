import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { BIN, type Run } from "./cli.js";

/**
 * Real MPI for the data-parallel tests: Open MPI's (or MPICH's) mpirun, 2–3 ranks over TCP
 * on this machine. `mpiSkipReason` is null when mpirun runs; CI installs it (.ci/run), so
 * there a missing mpirun fails instead of skipping.
 */
export const mpiSkipReason: string | null = (() => {
  const r = spawnSync("mpirun", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? null : "mpirun not found (apt-get install openmpi-bin libopenmpi-dev, then npm rebuild)";
})();

const isOpenMpi = mpiSkipReason === null && /Open MPI/i.test(spawnSync("mpirun", ["--version"], { encoding: "utf8" }).stdout);
const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** mpirun's arguments for N ranks over TCP (Open MPI: --oversubscribe, btl tcp,self; as root --allow-run-as-root). */
export function mpirunArgs(np: number, extra: readonly string[] = []): string[] {
  const ompi = isOpenMpi ? [...(asRoot ? ["--allow-run-as-root"] : []), "--oversubscribe", "--mca", "btl", "tcp,self"] : [];
  return [...ompi, ...extra, "-np", String(np)];
}

const env = (): NodeJS.ProcessEnv => ({ ...process.env, NO_COLOR: "1" });

/** `mpirun -np N rnn …`, waited for. */
export function rnnMpi(np: number, args: readonly string[], cwd: string, extra: readonly string[] = []): Run {
  const r = spawnSync("mpirun", [...mpirunArgs(np, extra), process.execPath, BIN, ...args], { cwd, encoding: "utf8", env: env(), timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** `mpirun -np N rnn …`, started (signal and kill tests). */
export function rnnMpiAsync(np: number, args: readonly string[], cwd: string, extra: readonly string[] = []): ChildProcess {
  return spawn("mpirun", [...mpirunArgs(np, extra), process.execPath, BIN, ...args], { cwd, env: env(), stdio: ["ignore", "pipe", "pipe"] });
}

/** The rank processes mpirun started (its children running node). */
export function rankPids(mpirun: number): number[] {
  const r = spawnSync("pgrep", ["-P", String(mpirun), "-f", "rnn"], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}
