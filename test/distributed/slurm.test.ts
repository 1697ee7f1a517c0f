/**
 * Under a real Slurm (SPEC §9, issue 23): scripts/slurm-up.sh starts munged, slurmctld and
 * slurmd as daemons with a generated one-node slurm.conf (MpiDefault none), and they are stopped
 * at the end (scripts/slurm-down.sh). Tested: `srun -n 2 --mpi=pmix rnn train` trains the
 * single-process model (1e-9, float64); srun without PMIx (`--mpi=none`, `--mpi=pmi2`) is refused
 * in one line before MPI_Init, exit 2; `sbatch --array` trains a `rnn sweep` folder, one point a
 * task, and `rnn sweep summary` reads it; `scancel --signal=TERM` stops a batch job's run with
 * its checkpoint, and `scontrol requeue` runs the job again, resuming to the uninterrupted result.
 * Skipped (loudly) where Slurm is missing or its daemons cannot start; CI installs slurm-wlm and
 * munge (.ci/run), and there a Slurm that does not start fails.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { BIN, ROOT, rnn, tempDir } from "../helpers/cli.js";
import { sameCheckpoint, sameRun } from "../helpers/mpi.js";
import { sequenceCsv } from "../robustness/util.js";

const STATE = mkdtempSync(path.join(tmpdir(), "rnn-slurm-"));
const SLURM_CONF = path.join(STATE, "slurm.conf");

/** Starts the daemons; null when they run, else why not. */
const slurmSkipReason: string | null = (() => {
  const up = spawnSync("bash", [path.join(ROOT, "scripts/slurm-up.sh"), STATE], { encoding: "utf8", timeout: 90_000 });
  if (up.status === 0) return null;
  // Whatever started before it failed (or timed out) is stopped.
  spawnSync("bash", [path.join(ROOT, "scripts/slurm-down.sh"), STATE], { timeout: 60_000 });
  rmSync(STATE, { recursive: true, force: true });
  return up.status === 3 ? `${up.stderr.trim()}` : `scripts/slurm-up.sh ${STATE}: exit ${up.status}: ${up.stderr.trim().split("\n").slice(0, 12).join(" | ")}`;
})();
if (slurmSkipReason) {
  if (process.env.CI) throw new Error(`Slurm tests cannot run in CI: ${slurmSkipReason} (.ci/run installs slurm-wlm and munge)`);
  console.warn(`\n*** SLURM TESTS SKIPPED: ${slurmSkipReason} ***\n`);
}
afterAll(() => {
  spawnSync("bash", [path.join(ROOT, "scripts/slurm-down.sh"), STATE], { timeout: 60_000 });
  rmSync(STATE, { recursive: true, force: true });
});

/**
 * `rnn` on the jobs' PATH, as an installed rnn is: this Node and this checkout's CLI. The batch
 * scripts of the docs (scripts/slurm/*.sbatch) call plain `rnn` and are submitted as they are.
 */
const SHIM = mkdtempSync(path.join(tmpdir(), "rnn-slurm-bin-"));
writeFileSync(path.join(SHIM, "rnn"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`, { mode: 0o755 });
afterAll(() => rmSync(SHIM, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env, NO_COLOR: "1", SLURM_CONF, PATH: `${SHIM}:${process.env.PATH ?? ""}`, ...extra,
});

/** A Slurm client command (srun, sbatch, scancel, scontrol, squeue) against the test cluster; `extra`: the job's environment. */
function slurm(cmd: string, args: readonly string[], cwd: string, timeout = 180_000, extra: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: env(extra), timeout });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** The docs' batch scripts, submitted as they are. */
const SWEEP_SBATCH = path.join(ROOT, "scripts/slurm/sweep.sbatch");
const TRAIN_SBATCH = path.join(ROOT, "scripts/slurm/train.sbatch");


/** A float64 LSTM run: data-parallel runs agree with one process to 1e-9 (summation order). */
function project(prefix: string, epochs: number, sequences: number, steps: number): string {
  const dir = tempDir(prefix);
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(sequences, steps, 7));
  writeFileSync(path.join(dir, "c.yaml"), `seed: 4
data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.2, normalize: true }
model: { cell: lstm, hiddenSize: 16, layers: 2 }
training: { epochs: ${epochs}, batchSize: 5, shuffle: true, dtype: float64, bptt: { truncate: 6, stride: 3 }, optimizer: { name: adam, lr: 0.01 }, clip: { norm: 1.0 } }
output: { dir: run }
`);
  return dir;
}

const job = (out: string): { state: string; restarts: number; exit: string } => {
  const r = slurm("scontrol", ["show", "job", out], ROOT, 30_000).stdout;
  return { state: /JobState=(\S+)/.exec(r)?.[1] ?? "", restarts: Number(/Restarts=(\d+)/.exec(r)?.[1] ?? -1), exit: /ExitCode=(\S+)/.exec(r)?.[1] ?? "" };
};

/** The live processes of this Node whose arguments hold `out` (srun's tasks of one run), with their SLURM_PROCID. */
function taskPids(out: string): [number, string | undefined][] {
  const found: [number, string | undefined][] = [];
  for (const p of readdirSync("/proc").filter((f) => /^\d+$/.test(f))) {
    try {
      if (/\) [ZX] /.test(readFileSync(`/proc/${p}/stat`, "utf8"))) continue;
      const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      if (argv[0] !== process.execPath || !argv.includes(out)) continue;
      const rank = readFileSync(`/proc/${p}/environ`, "utf8").split("\0").find((v) => v.startsWith("SLURM_PROCID="))?.slice(13);
      if (rank !== undefined) found.push([Number(p), rank]);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

/** Polls `ok` every 0.1 s; past `seconds`, fails with `detail()` (the job as slurmctld sees it, its output). */
async function until(what: string, ok: () => boolean, seconds: number, detail: () => string = () => ""): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}\n${detail()}`);
}

const on = slurmSkipReason ? describe.skip : describe;

on("srun on a real Slurm", () => {
  const dir = project("rnn-srun-", 2, 30, 12);

  it("srun -n 2 --mpi=pmix rnn train: 2 ranks, the single-process model to 1e-9", () => {
    const solo = rnn(["train", "c.yaml", "--out", "solo", "--quiet"], { cwd: dir });
    expect(solo.code, solo.stderr).toBe(0);
    const r = slurm("srun", ["-n", "2", "--mpi=pmix", process.execPath, BIN, "train", "c.yaml", "--out", "pmix"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^done: \d+ updates in .* on 2 ranks/m);
    expect(r.stderr.match(/^epoch 1\//gm)).toHaveLength(1); // rank 0 alone prints
    sameRun("srun --mpi=pmix at 2 ranks", path.join(dir, "pmix"), path.join(dir, "solo"), 1e-9);
  }, 180_000);

  for (const mpi of ["none", "pmi2"]) {
    it(`srun -n 2 --mpi=${mpi}: one line naming SLURM_STEP_NUM_TASKS, the missing PMIX_RANK and the fix, exit 2, nothing written`, () => {
      const r = slurm("srun", ["-n", "2", `--mpi=${mpi}`, process.execPath, BIN, "train", "c.yaml", "--out", mpi], dir);
      expect(r.code, r.stderr).toBe(2);
      const ours = r.stderr.split("\n").filter((l) => l.startsWith("rnn:"));
      expect(ours).toHaveLength(1);
      expect(ours[0]).toMatch(/^rnn: srun started 2 tasks \(SLURM_STEP_NUM_TASKS=2\) with no PMIx \(PMIX_RANK is not set.*\), which Open MPI .* needs to start under srun: launch with srun --mpi=pmix, or set MpiDefault=pmix in slurm\.conf$/);
      // Nothing else from rnn or Open MPI: srun's own lines at most ("srun: error: vm: tasks 0-1: Exited with exit code 2").
      expect(r.stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("rnn:") && !l.startsWith("srun: ")), r.stderr).toEqual([]);
      expect(r.stderr).not.toMatch(/MPI_ERRORS_ARE_FATAL|NULL communicator/);
      expect(existsSync(path.join(dir, mpi))).toBe(false);
    }, 120_000);
  }
});

on("sbatch --array over a sweep folder", () => {
  it("each array task trains its point (SLURM_ARRAY_TASK_ID), as rnn train --index does; rnn sweep summary reads every run", () => {
    const dir = project("rnn-sbatch-array-", 2, 20, 10);
    const sw = rnn(["sweep", "c.yaml", "--grid", "model.hiddenSize=3,6", "--grid", "training.optimizer.lr=0.01,0.03", "--out", "sweep"], { cwd: dir });
    expect(sw.code, sw.stderr).toBe(0);
    // As docs/sweeps.md says: SWEEP=sweep sbatch --array=0-3 scripts/slurm/sweep.sbatch
    const r = slurm("sbatch", ["--wait", "--parsable", "--array=0-3", SWEEP_SBATCH], dir, 300_000, { SWEEP: "sweep" });
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    const id = r.stdout.trim().split(";")[0];
    for (let i = 0; i < 4; i++) {
      expect(readFileSync(path.join(dir, `rnn-sweep-${id}_${i}.out`), "utf8")).toContain(`sweep point: ${path.join(dir, "sweep", `point-00${i}.yaml`)}`);
    }
    const sum = rnn(["sweep", "summary", "sweep", "--json"], { cwd: dir });
    expect(sum.code, sum.stderr).toBe(0);
    const rows = JSON.parse(sum.stdout) as { status: string; best_val_loss: number | null; epochs: number }[];
    expect(rows.map((x) => [x.status, x.epochs])).toEqual(Array.from({ length: 4 }, () => ["done", 2]));
    for (const x of rows) expect(Number.isFinite(x.best_val_loss)).toBe(true);
    // Point 2, trained here by --index, is the array task's run, bit for bit.
    const local = rnn(["train", "sweep", "--index", "2", "--out", "local2", "--quiet"], { cwd: dir });
    expect(local.code, local.stderr).toBe(0);
    sameCheckpoint("array task 2 vs --index 2", path.join(dir, "sweep/runs/002/last.safetensors"), path.join(dir, "local2/last.safetensors"), 0);
  }, 360_000);
});

on("scancel --signal=TERM and scontrol requeue; a rank killed", () => {
  const dir = project("rnn-sbatch-requeue-", 4, 120, 30);
  it("the uninterrupted reference (one process)", () => {
    const ref = rnn(["train", "c.yaml", "--out", "ref", "--quiet"], { cwd: dir });
    expect(ref.code, ref.stderr).toBe(0);
  }, 120_000);

  it("a batch job stopped by scancel --signal=TERM saves its checkpoint (exit 143); requeued, it resumes to the uninterrupted run", async () => {
    // As docs/distributed.md says: CONFIG=… RUN=… sbatch --ntasks=2 scripts/slurm/train.sbatch
    const sub = slurm("sbatch", ["--parsable", "--ntasks=2", TRAIN_SBATCH], dir, 180_000, { CONFIG: "c.yaml", RUN: "run" });
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim().split(";")[0];
    const out = `rnn-train-${id}.out`;
    const seen = (): string => `${slurm("scontrol", ["show", "job", id], dir, 30_000).stdout}\n${out}:\n${existsSync(path.join(dir, out)) ? readFileSync(path.join(dir, out), "utf8") : "(none)"}`;
    // Stopped once epoch 1 is saved: inside epoch 2.
    await until("epoch 1's checkpoint", () => existsSync(path.join(dir, "run/last.safetensors")), 240, seen);
    const cancel = slurm("scancel", ["--signal=TERM", id], dir, 30_000);
    expect(cancel.code, cancel.stderr).toBe(0);
    await until("the job to end", () => ["FAILED", "COMPLETED", "CANCELLED"].includes(job(id).state), 120, seen);
    expect(job(id)).toMatchObject({ state: "FAILED", exit: "143:0" });
    const ck = loadCheckpoint(path.join(dir, "run/last.safetensors"));
    expect(ck.position, "saved inside an epoch").not.toBeNull();
    expect(readFileSync(path.join(dir, "run/updates.csv"), "utf8").trim().split("\n").length - 1).toBe(ck.step);
    expect(readFileSync(path.join(dir, out), "utf8")).toMatch(/^rnn: stopped by SIGTERM; last.safetensors holds the run so far/m);

    const rq = slurm("scontrol", ["requeue", id], dir, 30_000);
    expect(rq.code, rq.stderr).toBe(0);
    // Requeued, the job waits (Slurm 22.05 sets its begin time two minutes on) until told to start now.
    await until("the requeue to take effect", () => { const j = job(id); return j.restarts === 1 && j.state !== "FAILED"; }, 60, seen);
    const now = slurm("scontrol", ["update", `JobId=${id}`, "StartTime=now"], dir, 30_000);
    expect(now.code, now.stderr).toBe(0);
    const ended = (): boolean => ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL"].includes(job(id).state);
    await until("the requeued job to end", ended, 300, seen);
    expect(job(id), readFileSync(path.join(dir, out), "utf8")).toMatchObject({ state: "COMPLETED", restarts: 1, exit: "0:0" });
    sameRun("stopped by scancel, requeued and resumed at 2 ranks", path.join(dir, "run"), path.join(dir, "ref"), 1e-9);
  }, 720_000);

  it("a rank killed (SIGKILL, as Slurm's OOM killer sends) ends the srun step non-zero; the last checkpoint loads and resumes in one process to the uninterrupted run", async () => {
    const child = spawn("srun", ["-n", "2", "--mpi=pmix", process.execPath, BIN, "train", "c.yaml", "--out", "killed", "--quiet"], { cwd: dir, env: env(), stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    const ended = new Promise<number | null>((res) => child.on("close", (code) => res(code)));
    await until("epoch 1's checkpoint", () => existsSync(path.join(dir, "killed/last.safetensors")), 240);
    const rank1 = taskPids("killed").find(([, rank]) => rank === "1");
    expect(rank1, "rank 1's process").toBeDefined();
    process.kill(rank1![0], "SIGKILL");
    const code = await ended;
    expect(code, stderr).not.toBe(0);
    expect(code, stderr).not.toBeNull();
    expect(stderr).toMatch(/task 1: Killed/);
    const ck = loadCheckpoint(path.join(dir, "killed/last.safetensors"));
    expect(ck.epoch).toBeGreaterThanOrEqual(1);
    // Slurm ends rank 0 too (its lock left behind): the next run takes the stale lock over.
    await until("every task to be gone", () => taskPids("killed").length === 0, 60);
    const r = rnn(["train", "c.yaml", "--out", "killed", "--resume", "killed/last.safetensors", "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    sameRun("rank 1 killed under srun, resumed in one process", path.join(dir, "killed"), path.join(dir, "ref"), 1e-9);
  }, 360_000);
});
