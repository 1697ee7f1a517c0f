/**
 * Data-parallel training under a real MPI (SPEC §9): `mpirun -np N rnn train` over TCP on this
 * machine, 2 and 3 ranks, must train the model one process trains — against the PyTorch golden
 * runs and against single-process runs (1e-9 in float64) — write only from rank 0, stop every
 * rank at the same update on a signal, survive a killed rank with a loadable checkpoint, and
 * resume at another world size. Skipped (loudly) where mpirun is missing; CI installs it.
 */
import { spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { BIN, rnn, rnnAsync, tempDir } from "../helpers/cli.js";
import { casesIn, checkGoldenCase, GOLDEN_BIDIR, GOLDEN_CATEGORICAL, GOLDEN_HEADS, GOLDEN_TEXT, goldenCases } from "../helpers/golden.js";
import { mpirunArgs, mpiSkipReason, rankPids, rnnMpi, rnnMpiAsync, sameRun } from "../helpers/mpi.js";
import { readWithTensorBoard, scalarsOfCsv, tensorboardSkipReason } from "../helpers/tensorboard.js";

if (mpiSkipReason) {
  if (process.env.CI) throw new Error(`MPI tests cannot run in CI: ${mpiSkipReason} (.ci/run installs it)`);
  console.warn(`\n*** MPI TESTS SKIPPED: ${mpiSkipReason} ***\n`);
}
const mpi = mpiSkipReason ? describe.skip : describe;

/** Variable-length sequences `id,x1,x2,y,label` (label: a class name at every step). */
function dataCsv(sequences: number, seed: number, minT = 5, maxT = 14): string {
  const rng = new Rng(seed);
  const lines = ["id,x1,x2,y,label"];
  for (let s = 0; s < sequences; s++) {
    const T = minT + Math.floor(rng.uniform() * (maxT - minT + 1));
    let m = 0;
    for (let t = 0; t < T; t++) {
      const a = 2 * rng.uniform() - 1, b = 2 * rng.uniform() - 1;
      m = 0.7 * m + 0.3 * a * b;
      const label = m > 0.05 ? "up" : m < -0.05 ? "down" : "flat";
      lines.push(`q${s},${a.toFixed(6)},${b.toFixed(6)},${t % 4 === 1 ? "" : (m + 0.1 * b).toFixed(6)},${label}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** One long series `x` (batchify): a noisy sum of two sines. */
function seriesCsv(rows: number, seed: number): string {
  const rng = new Rng(seed);
  const lines = ["x"];
  for (let t = 0; t < rows; t++) lines.push((Math.sin(t / 5) + 0.5 * Math.sin(t / 3.1) + 0.1 * (rng.uniform() - 0.5)).toFixed(6));
  return lines.join("\n") + "\n";
}

const CASES: Record<string, { data: string; config: string }> = {
  // LSTM, shuffled batches of 7 (2 ranks: 3+4 rows, 3 ranks: 2+2+3), stride < truncate, normalised, validation split;
  // dropout between the layers and on the recurrence (each rank keeps its rows of the batch's masks).
  "lstm-shuffle-overlap": {
    data: dataCsv(23, 1),
    config: `seed: 11
data: { train: d.csv, sequenceColumn: id, inputs: [x1, x2], targets: [y], validationSplit: 0.15, normalize: true }
model: { cell: lstm, hiddenSize: 5, layers: 2, dropout: 0.2, recurrentDropout: 0.3 }
training: { epochs: 2, batchSize: 7, shuffle: true, dtype: float64, bptt: { truncate: 6, stride: 3 }, optimizer: { name: adam, lr: 0.02 }, clip: { norm: 0.5 } }
output: { dir: run }
`,
  },
  // GRU classification with one target per sequence; 8 training sequences in batches 3,3,2: at 3
  // ranks, rank 0 has no rows in the last batch and still joins every sum.
  "gru-classify-last": {
    data: dataCsv(10, 2),
    config: `seed: 5
data: { train: d.csv, sequenceColumn: id, inputs: [x1, x2], targets: [label], validationSplit: 0.2 }
task: classification
targetsAt: last
model: { cell: gru, hiddenSize: 4 }
training: { epochs: 3, batchSize: 3, shuffle: false, dtype: float64, bptt: { truncate: 4, stride: 4 }, optimizer: { name: sgd, lr: 0.3, momentum: 0.9 }, clip: { value: 0.2 } }
output: { dir: run }
`,
  },
  // One long series in 5 streams (batchify), shift 1, normalised, 2 relu layers, TBPTT(4,2).
  "elman-batchify-shift": {
    data: seriesCsv(260, 3),
    config: `seed: 2
data: { train: d.csv, inputs: [x], targets: [x], shift: 1, validationSplit: 0.1, normalize: true }
model: { cell: elman, hiddenSize: 6, layers: 2, activation: relu }
training: { epochs: 2, batchSize: 5, shuffle: false, dtype: float64, bptt: { truncate: 4, stride: 2 }, optimizer: { name: adam, lr: 0.01 }, clip: { norm: 1.0 } }
output: { dir: run }
`,
  },
  // SPEC §13: bidirectional LSTM, 2 layers, shuffled batches of 7, dropout between the layers (over
  // the 2H output) and a recurrent mask per direction, every rank keeping its rows; full BPTT.
  "lstm-bidirectional": {
    data: dataCsv(19, 5),
    config: `seed: 13
data: { train: d.csv, sequenceColumn: id, inputs: [x1, x2], targets: [y], validationSplit: 0.15, normalize: true }
model: { cell: lstm, hiddenSize: 4, layers: 2, dropout: 0.2, recurrentDropout: 0.3, bidirectional: true }
training: { epochs: 2, batchSize: 7, shuffle: true, dtype: float64, bptt: null, optimizer: { name: adam, lr: 0.02 }, clip: { norm: 0.5 } }
output: { dir: run }
`,
  },
  // float32: summation order moves the last bits; within 1e-4 as float32 vs float64 elsewhere.
  "elman-float32": {
    data: dataCsv(17, 4),
    config: `seed: 9
data: { train: d.csv, sequenceColumn: id, inputs: [x1, x2], targets: [y], validationSplit: 0.2, normalize: true }
model: { hiddenSize: 8 }
training: { epochs: 2, batchSize: 6, shuffle: true, dtype: float32, bptt: { truncate: 5, stride: 5 }, optimizer: { name: adam, lr: 0.01 }, clip: { norm: 1.0 } }
output: { dir: run }
`,
  },
};

function setUp(name: string): string {
  const dir = tempDir(`rnn-mpi-${name}-`);
  writeFileSync(path.join(dir, "d.csv"), CASES[name].data);
  writeFileSync(path.join(dir, "c.yaml"), CASES[name].config);
  return dir;
}

mpi("mpirun -np N rnn train: the PyTorch golden runs", () => {
  for (const np of [2, 3]) {
    for (const name of goldenCases) {
      it(`${name} on ${np} ranks`, () => checkGoldenCase(name, (args, cwd, i) => (i === 0 ? rnnMpi(np, args, cwd) : rnn(args, { cwd }))));
    }
  }
});

mpi("mpirun -np 2 rnn train: a bidirectional PyTorch golden run (SPEC §13)", () => {
  it("lstm-L2-every-regression on 2 ranks", () => checkGoldenCase("lstm-L2-every-regression",
    (args, cwd, i) => (i === 0 ? rnnMpi(2, args, cwd) : rnn(args, { cwd })), GOLDEN_BIDIR));
});

mpi("mpirun -np N rnn train: SPEC §10's heads against the PyTorch reference (validation metrics summed over ranks)", () => {
  // The training cases of test/golden/heads (their train command under mpirun; eval, predict as they are).
  const heads = casesIn(GOLDEN_HEADS).filter((name) => {
    const c = JSON.parse(readFileSync(path.join(GOLDEN_HEADS, name, "case.json"), "utf8")) as { commands: string[][]; exit?: number[] };
    return c.commands[0][0] === "train" && (c.exit?.[0] ?? 0) === 0;
  });
  it("has the heads' training cases", () => expect(heads.length).toBeGreaterThanOrEqual(4));
  for (const name of heads) {
    it(`${name} on 2 ranks`, () => checkGoldenCase(name, (args, cwd, i) => (i === 0 ? rnnMpi(2, args, cwd) : rnn(args, { cwd })), GOLDEN_HEADS));
  }
});

mpi("mpirun -np N rnn train: SPEC §12's text models against the PyTorch reference (each rank its share of the streams)", () => {
  // The cases of test/golden/text, their train command under mpirun (eval and sample as they are).
  const texts = casesIn(GOLDEN_TEXT);
  it("has the text cases", () => expect(texts.length).toBeGreaterThanOrEqual(3));
  for (const name of texts) {
    it(`${name} on 2 ranks`, () => checkGoldenCase(name, (args, cwd, i) => (i === 0 ? rnnMpi(2, args, cwd) : rnn(args, { cwd })), GOLDEN_TEXT));
  }
});

mpi("mpirun -np N rnn train: the model one process trains", () => {
  for (const name of Object.keys(CASES)) {
    // The bidirectional case runs at 2 ranks only (issue 22): its row split is the other cases'.
    const worlds = name === "lstm-bidirectional" ? [2] : [2, 3];
    it(name, () => {
      const dir = setUp(name);
      const one = rnn(["train", "c.yaml", "--out", "one", "--quiet"], { cwd: dir });
      expect(one.code, one.stderr).toBe(0);
      const tol = name.endsWith("float32") ? 1e-4 : 1e-9;
      for (const np of worlds) {
        const r = rnnMpi(np, ["train", "c.yaml", "--out", `np${np}`, "--json"], dir);
        expect(r.code, r.stderr).toBe(0);
        sameRun(`${np} ranks`, path.join(dir, `np${np}`), path.join(dir, "one"), tol);
        // Rank 0 alone prints: one JSON line per epoch, one "done" line.
        const epochs = Number(/epochs: (\d+)/.exec(CASES[name].config)![1]);
        expect(r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { epoch: number }).epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
        expect(r.stderr.match(/^done: /gm)?.length, r.stderr).toBe(1);
        expect(r.stderr).toContain(`on ${np} ranks`);
      }
    });
  }

  it("a bad config: exit 2, one line from rank 0, nothing written", () => {
    const dir = setUp("elman-float32");
    writeFileSync(path.join(dir, "bad.yaml"), CASES["elman-float32"].config.replace("hiddenSize: 8", "hiddenSize: 0"));
    const r = rnnMpi(3, ["train", "bad.yaml"], dir);
    expect(r.code).toBe(2);
    const ours = r.stderr.split("\n").filter((l) => l.startsWith("rnn:"));
    expect(ours).toEqual(["rnn: bad.yaml: model.hiddenSize: must be ≥ 1"]);
    expect(existsSync(path.join(dir, "run"))).toBe(false);
  });

  it("a run directory that holds a checkpoint is refused on every rank (exit 2)", () => {
    const dir = setUp("elman-float32");
    expect(rnn(["train", "c.yaml", "--quiet"], { cwd: dir }).code).toBe(0);
    const before = readFileSync(path.join(dir, "run/last.safetensors"));
    const r = rnnMpi(2, ["train", "c.yaml"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("rnn:"))).toHaveLength(1);
    expect(r.stderr).toContain("already holds a checkpoint");
    expect(readFileSync(path.join(dir, "run/last.safetensors")).equals(before)).toBe(true);
  });
});

/** `mpirun` with one rank per argument list (MPMD: `-np 1 rnn … : -np 1 rnn …`), waited for. */
function rnnMpmd(cwd: string, ...ranks: (readonly string[])[]): { code: number | null; stderr: string; stdout: string } {
  const args = mpirunArgs(1).slice(0, -2);
  ranks.forEach((a, i) => args.push(...(i > 0 ? [":"] : []), "-np", "1", process.execPath, BIN, ...a));
  const r = spawnSync("mpirun", args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

mpi("ranks that read different configs, flags or files (issue 24, items 5 and 12)", () => {
  const base = "elman-float32";
  /** Exit 2 on every rank, one line from rank 0 naming the difference, no MPI error, nothing trained. */
  const refused = (r: { code: number | null; stderr: string }, dir: string, what: RegExp): void => {
    expect(r.code, r.stderr).toBe(2);
    const ours = r.stderr.split("\n").filter((l) => l.startsWith("rnn:"));
    expect(ours, r.stderr).toHaveLength(1);
    expect(ours[0]).toMatch(/^rnn: .*c\.yaml: the 2 ranks do not read the same run: /);
    expect(ours[0]).toMatch(what);
    expect(r.stderr).not.toMatch(/MPI_ERR|MPI_ABORT/);
    expect(existsSync(path.join(dir, "run/last.safetensors"))).toBe(false);
  };

  it("another epoch count on one rank (was: rank 0 done, rank 1 waiting forever)", () => {
    const dir = setUp(base);
    refused(rnnMpmd(dir, ["train", "c.yaml"], ["train", "c.yaml", "--set", "training.epochs=5"]), dir, /config key training\.epochs differs \(rank 0 has training\.epochs \d+\)/);
  });

  it("another --seed on one rank (was: a mixed model, exit 0)", () => {
    const dir = setUp(base);
    refused(rnnMpmd(dir, ["train", "c.yaml"], ["train", "c.yaml", "--seed", "99"]), dir, /config key seed differs/);
  });

  it("another hidden size on one rank (was: MPI_ERR_TRUNCATE, exit 1)", () => {
    const dir = setUp(base);
    writeFileSync(path.join(dir, "c2.yaml"), CASES[base].config.replace("hiddenSize: 8", "hiddenSize: 9"));
    refused(rnnMpmd(dir, ["train", "c.yaml"], ["train", "c2.yaml"]), dir, /config key model\.hiddenSize differs/);
  });

  it("another data file of another size, or of the same size, on one rank (was: a mixed model, exit 0)", () => {
    const dir = setUp(base);
    const data = CASES[base].data;
    writeFileSync(path.join(dir, "e.csv"), data + data.split("\n").slice(-3).join("\n"));
    writeFileSync(path.join(dir, "f.csv"), data.replace(",0.", ",1."));
    writeFileSync(path.join(dir, "ce.yaml"), CASES[base].config.replace("train: d.csv", "train: e.csv"));
    writeFileSync(path.join(dir, "cf.yaml"), CASES[base].config.replace("train: d.csv", "train: f.csv"));
    refused(rnnMpmd(dir, ["train", "c.yaml"], ["train", "ce.yaml"]), dir, /data\.train .*d\.csv differs: \d+ to \d+ bytes/);
    refused(rnnMpmd(dir, ["train", "c.yaml"], ["train", "cf.yaml"]), dir, /data\.train .*d\.csv differs in content \(\d+ bytes on every rank\)/);
  });

  it("the same run on both ranks still trains (the check costs one all-reduce)", () => {
    const dir = setUp(base);
    const r = rnnMpmd(dir, ["train", "c.yaml", "--quiet"], ["train", "c.yaml", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, "run/last.safetensors"))).toBe(true);
  });
});

/**
 * A run long enough to be stopped in the middle: LSTM, 4 epochs of many small updates, with
 * recurrent dropout (a stop inside a batch resumes with the batch's masks).
 */
function longRun(): string {
  const dir = tempDir("rnn-mpi-stop-");
  writeFileSync(path.join(dir, "d.csv"), dataCsv(160, 7, 30, 50));
  writeFileSync(path.join(dir, "c.yaml"), `seed: 4
data: { train: d.csv, sequenceColumn: id, inputs: [x1, x2], targets: [y], validationSplit: 0.1, normalize: true }
model: { cell: lstm, hiddenSize: 32, recurrentDropout: 0.2 }
training: { epochs: 4, batchSize: 5, shuffle: true, dtype: float64, bptt: { truncate: 6, stride: 3 }, optimizer: { name: adam, lr: 0.01 }, clip: { norm: 1.0 } }
output: { dir: run }
`);
  return dir;
}

interface Exit { code: number | null; stderr: string }

/** True while a process exists and is not a zombie. */
const running = (pid: number): boolean => { try { return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8")); } catch { return false; } };

/**
 * Waits for the run to end; calls `act` once `out`/last.safetensors exists (rank 0 wrote it after
 * epoch 1). The file, not rank 0's "epoch 1" line: mpirun forwards the ranks' output late. mpirun
 * may exit before the ranks it signalled have ended, and until then rank 0 holds the run
 * directory's lock (and could still write): wait for them too, as a user would.
 */
function runUntil(child: ChildProcess, out: string, act: () => void): Promise<Exit> {
  let stderr = "", ranks: number[] = [];
  child.stdout?.resume();
  child.stderr?.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  const poll = setInterval(() => {
    if (existsSync(path.join(out, "last.safetensors"))) { clearInterval(poll); ranks = rankPids(child.pid!); act(); }
  }, 10);
  return new Promise((res) => child.on("close", async (code) => {
    clearInterval(poll);
    for (let i = 0; i < 300 && ranks.some(running); i++) await new Promise((r) => setTimeout(r, 100));
    res({ code, stderr });
  }));
}

mpi("signals, a killed rank, resume at another world size", () => {
  const dir = longRun();
  it("the uninterrupted reference (one process)", () => {
    const r = rnn(["train", "c.yaml", "--out", "ref", "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);

  it("SIGTERM to every rank (srun, scancel, Kubernetes): all stop at one update, rank 0 saves, exit 143; resumed at 3 ranks and in one process it ends as the uninterrupted run", async () => {
    const child = rnnMpiAsync(2, ["train", "c.yaml", "--out", "stop"], dir);
    const end = await runUntil(child, path.join(dir, "stop"), () => { for (const pid of rankPids(child.pid!)) process.kill(pid, "SIGTERM"); });
    // mpirun reports the ranks' 143 (it may drop their last lines as it ends the job).
    expect(end.code, end.stderr).toBe(143);
    const ck = loadCheckpoint(path.join(dir, "stop/last.safetensors"));
    expect(ck.position, "saved inside an epoch").not.toBeNull();
    // The whole batch's carried state, gathered from both ranks: [B × 2H] for the LSTM's (h, c).
    expect(ck.carry!.map((c) => c.length)).toEqual([5 * 64]);
    expect(readFileSync(path.join(dir, "stop/updates.csv"), "utf8").trim().split("\n").length - 1).toBe(ck.step);
    cpSync(path.join(dir, "stop"), path.join(dir, "stop1"), { recursive: true });
    const at3 = rnnMpi(3, ["train", "c.yaml", "--out", "stop", "--resume", "stop/last.safetensors", "--quiet"], dir);
    expect(at3.code, at3.stderr).toBe(0);
    sameRun("stopped at 2 ranks, resumed at 3", path.join(dir, "stop"), path.join(dir, "ref"), 1e-9);
    const at1 = rnn(["train", "c.yaml", "--out", "stop1", "--resume", "stop1/last.safetensors", "--quiet"], { cwd: dir });
    expect(at1.code, at1.stderr).toBe(0);
    sameRun("stopped at 2 ranks, resumed in one process", path.join(dir, "stop1"), path.join(dir, "ref"), 1e-9);
  }, 180_000);

  it("SIGUSR1 to mpirun (passed on as it is): every rank stops at one update, rank 0 saves, exit 138; resumed at 2 ranks it ends as the uninterrupted run", async () => {
    const child = rnnMpiAsync(3, ["train", "c.yaml", "--out", "usr1"], dir);
    const end = await runUntil(child, path.join(dir, "usr1"), () => child.kill("SIGUSR1"));
    expect(end.code, end.stderr).toBe(138);
    expect(loadCheckpoint(path.join(dir, "usr1/last.safetensors")).position, "saved inside an epoch").not.toBeNull();
    const resumed = rnnMpi(2, ["train", "c.yaml", "--out", "usr1", "--resume", "usr1/last.safetensors", "--quiet"], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    sameRun("SIGUSR1 at 3 ranks, resumed at 2", path.join(dir, "usr1"), path.join(dir, "ref"), 1e-9);
  }, 180_000);

  it("SIGINT to mpirun (SIGTERM to the ranks, SIGKILL a second later): the job ends non-zero, the checkpoint loads and resumes to the uninterrupted run", async () => {
    const child = rnnMpiAsync(3, ["train", "c.yaml", "--out", "int"], dir);
    const end = await runUntil(child, path.join(dir, "int"), () => child.kill("SIGINT"));
    expect(end.code).not.toBe(0);
    // Saved at the stop when the ranks managed within Open MPI's second, else epoch 1's: whole either way.
    const ck = loadCheckpoint(path.join(dir, "int/last.safetensors"));
    expect(ck.epoch + (ck.position ? 1 : 0)).toBeGreaterThanOrEqual(1);
    const resumed = rnnMpi(2, ["train", "c.yaml", "--out", "int", "--resume", "int/last.safetensors", "--quiet"], dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    sameRun("SIGINT at 3 ranks, resumed at 2", path.join(dir, "int"), path.join(dir, "ref"), 1e-9);
  }, 180_000);

  it("kill -9 of one rank ends the job non-zero; the last checkpoint loads and resumes in one process", async () => {
    const child = rnnMpiAsync(3, ["train", "c.yaml", "--out", "kill"], dir);
    const end = await runUntil(child, path.join(dir, "kill"), () => { const ranks = rankPids(child.pid!); process.kill(ranks[ranks.length - 1], "SIGKILL"); });
    expect(end.code).not.toBe(0);
    expect(end.code).not.toBeNull();
    const names = readdirSync(path.join(dir, "kill"));
    expect(names).toContain("last.safetensors");
    const ck = loadCheckpoint(path.join(dir, "kill/last.safetensors"));
    expect(ck.epoch).toBeGreaterThanOrEqual(1);
    const r = rnn(["train", "c.yaml", "--out", "kill", "--resume", "kill/last.safetensors", "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    sameRun("killed at 3 ranks, resumed in one process", path.join(dir, "kill"), path.join(dir, "ref"), 1e-9);
  }, 180_000);

  it("a one-process mid-epoch checkpoint resumes at 2 ranks", async () => {
    const child = rnnAsync(["train", "c.yaml", "--out", "solo"], dir);
    const end = await runUntil(child, path.join(dir, "solo"), () => child.kill("SIGINT"));
    expect(end.code, end.stderr).toBe(130);
    expect(loadCheckpoint(path.join(dir, "solo/last.safetensors")).position).not.toBeNull();
    const r = rnnMpi(2, ["train", "c.yaml", "--out", "solo", "--resume", "solo/last.safetensors", "--quiet"], dir);
    expect(r.code, r.stderr).toBe(0);
    sameRun("stopped in one process, resumed at 2 ranks", path.join(dir, "solo"), path.join(dir, "ref"), 1e-9);
  }, 180_000);
});

mpi("a launcher that promised N processes but gave a world of 1", () => {
  // srun's variables without PMIx are refused before MPI_Init (launch.ts srunWithoutPmix; Open MPI).
  const openMpi = /Open MPI/i.test(spawnSync("mpirun", ["--version"], { encoding: "utf8" }).stdout ?? "");
  for (const [name, vars, message] of [
    ["srun", { SLURM_NTASKS: "2", SLURM_STEP_NUM_TASKS: "2", SLURM_PROCID: "0" }, openMpi ? /srun started 2 tasks .*srun --mpi=pmix/ : /promised \d processes .* but MPI started a world of 1/],
    ["a batch script of 2 tasks running rnn alone", { SLURM_NTASKS: "2", SLURM_PROCID: "0" }, /promised \d processes .* but MPI started a world of 1/],
    ["a PMI launcher", { PMI_SIZE: "3", PMI_RANK: "0" }, /promised \d processes .* but MPI started a world of 1/],
  ] as const) {
    it(`${name}: exit 2, nothing written`, () => {
      const dir = setUp("elman-float32");
      const r = spawnSync(process.execPath, [BIN, "train", "c.yaml"], { cwd: dir, encoding: "utf8", env: { ...process.env, ...vars }, timeout: 60_000 });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(path.join(dir, "run"))).toBe(false);
    });
  }
});

mpi("mpirun -np 2 rnn bench", () => {
  it("prints, from rank 0 only, aggregate steps/s, one rank's steps/s and the scaling efficiency", () => {
    const r = rnnMpi(2, ["bench", "--workload", "small", "--seconds", "0.4", "--rounds", "2", "--json"], tempDir());
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]) as { ranks: number; results: { stepsPerSecond: number; oneRankStepsPerSecond: number; efficiency: number; threads: number }[] };
    expect(out.ranks).toBe(2);
    const s = out.results[0];
    expect(s.threads).toBe(Math.max(1, Math.floor(availableParallelism() / 2))); // the cores shared by 2 ranks
    expect(s.stepsPerSecond).toBeGreaterThan(0);
    expect(s.oneRankStepsPerSecond).toBeGreaterThan(0);
    expect(s.efficiency).toBeCloseTo(s.stepsPerSecond / (2 * s.oneRankStepsPerSecond), 12);
    expect(r.stderr.match(/^small /gm)).toHaveLength(1);
    expect(r.stderr).toMatch(/efficiency \d\.\d\d/);
  }, 120_000);
});

mpi("mpirun -np N rnn train: SPEC §11's categorical inputs against the PyTorch reference (every rank finds the same categories)", () => {
  for (const name of casesIn(GOLDEN_CATEGORICAL)) {
    it(`${name} on 2 ranks`, () => checkGoldenCase(name, (args, cwd, i) => (i === 0 ? rnnMpi(2, args, cwd) : rnn(args, { cwd })), GOLDEN_CATEGORICAL));
  }
});

mpi("mpirun -np 2 rnn train --tensorboard (SPEC §14)", () => {
  it.skipIf(tensorboardSkipReason !== null)("rank 0 alone writes the event file; TensorBoard reads the values of its CSV logs", () => {
    const dir = tempDir();
    const r = rnnMpi(2, ["train", path.join(import.meta.dirname, "../../configs/sine.yaml"), "--out", path.join(dir, "run"), "--tensorboard", "--set", "training.epochs=2", "--quiet"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(path.join(dir, "run")).filter((f) => f.includes("tfevents"))).toHaveLength(1);
    const tb = readWithTensorBoard(path.join(dir, "run"));
    expect(tb.scalars["train/loss"]).toHaveLength(18);
    expect(tb.scalars).toEqual(scalarsOfCsv(path.join(dir, "run")));
  }, 120_000);
});
