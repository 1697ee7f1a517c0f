import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { BIN, type Run } from "./cli.js";
import { closeTo } from "./compare.js";

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

/** Every tensor (model, optimizer, carried state) of two checkpoints within tol; same epoch and step. */
export function sameCheckpoint(what: string, got: string, want: string, tol: number): void {
  const g = decodeSafetensors(readFileSync(got), got), w = decodeSafetensors(readFileSync(want), want);
  expect([...g.tensors.keys()].sort(), `${what}: tensors`).toEqual([...w.tensors.keys()].sort());
  for (const [k, t] of w.tensors) closeTo(`${what}: ${k}`, g.tensors.get(k)!.data, t.data, tol);
  for (const k of ["epoch", "step", "normalization", "classes", "optimizer"]) expect(g.metadata[k], `${what}: metadata ${k}`).toBe(w.metadata[k]);
}

/** The numbers of a run's CSV log, row by row, within tol (epochs.csv without its seconds). */
export function sameLog(what: string, got: string, want: string, tol: number): void {
  const read = (f: string) => readFileSync(f, "utf8").trim().split("\n").map((l) => l.split(","));
  const [g, w] = [read(got), read(want)];
  expect(g.length, `${what}: rows`).toBe(w.length);
  expect(g[0]).toEqual(w[0]);
  const seconds = w[0].indexOf("seconds");
  w.slice(1).forEach((row, i) => row.forEach((v, j) => {
    if (j === seconds) return;
    if (v === "" || w[0][j] === "epoch" || w[0][j] === "step") expect(g[i + 1][j], `${what} row ${i + 1} ${w[0][j]}`).toBe(v);
    else closeTo(`${what} row ${i + 1} ${w[0][j]}`, [Number(g[i + 1][j])], [Number(v)], tol);
  }));
}

/** Two run directories: both checkpoints and both CSV logs within tol (the data-parallel runs against one process). */
export function sameRun(what: string, got: string, want: string, tol: number): void {
  for (const f of ["last.safetensors", "best.safetensors"]) {
    expect(existsSync(path.join(got, f)), `${what}: ${f}`).toBe(existsSync(path.join(want, f)));
    if (existsSync(path.join(want, f))) sameCheckpoint(`${what} ${f}`, path.join(got, f), path.join(want, f), tol);
  }
  sameLog(`${what} updates.csv`, path.join(got, "updates.csv"), path.join(want, "updates.csv"), tol);
  sameLog(`${what} epochs.csv`, path.join(got, "epochs.csv"), path.join(want, "epochs.csv"), tol);
}
