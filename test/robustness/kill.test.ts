/**
 * Crash safety. Real `rnn train` processes are killed with SIGKILL at seeded random moments
 * (start-up, mid-epoch, in the middle of writing a checkpoint or a log); after every kill the
 * run directory holds only whole files — `last.safetensors` and `best.safetensors`, when
 * present, load (`rnn eval --json` exits 0), and a temp file `.last.safetensors.tmp-*` may
 * remain but is never the checkpoint — and `--resume` from the surviving `last.safetensors`
 * carries the run on. Every interrupted run must end with the weights, optimizer state and
 * logs of an uninterrupted run, bit for bit. Also: SIGTERM saves and exits 143; two SIGINTs
 * exit 130 at once with the files intact.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { BIN } from "../helpers/cli.js";
import { cleanUp, cli, sequenceCsv, smallConfig, tempDir } from "./util.js";

/** Kills to reach, and the time they may take (the test stops early at the bound). */
const KILLS = 50;
const BUDGET_MS = 70_000;
const SEED = 20_251_125;

/** Temp files of writeFileAtomic: `.<name>.tmp-<pid>-<time>`; anything else must be a whole file. */
const TEMP = /^\..+\.tmp-\d+-[0-9a-z]+$/;

function start(args: string[], cwd: string): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
}

interface Exit { code: number | null; signal: NodeJS.Signals | null; stderr: string }
function exited(child: ChildProcess): Promise<Exit> {
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  return new Promise((res) => child.on("close", (code, signal) => res({ code, signal, stderr })));
}
const sleep = (ms: number): Promise<"slept"> => new Promise((res) => setTimeout(() => res("slept"), ms));

/** Model and optimizer tensors by name, as raw bytes (hex). */
function tensorBytes(file: string): Record<string, string> {
  const st = decodeSafetensors(readFileSync(file), file);
  return Object.fromEntries([...st.tensors].map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));
}
/** Names of the tensors that differ between two checkpoints (or are in one only). */
function differingTensors(a: string, b: string): string[] {
  const [x, y] = [tensorBytes(a), tensorBytes(b)];
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => x[k] !== y[k]).sort();
}
const meta = (file: string): Record<string, string> => ({ ...decodeSafetensors(readFileSync(file), file).metadata });
/** epochs.csv without its `seconds` column (wall time differs between runs). */
const epochsLog = (dir: string): string[] => readFileSync(path.join(dir, "epochs.csv"), "utf8").trim().split("\n").map((l) => l.split(",").slice(0, 3).join(","));
const updatesLog = (dir: string): string => readFileSync(path.join(dir, "updates.csv"), "utf8");

/** The checks after a kill: only whole files, every checkpoint loads. Returns the temp files left. */
function checkDirectory(dir: string): string[] {
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const temps = names.filter((n) => TEMP.test(n));
  const strays = names.filter((n) => (n.startsWith(".") || /tmp/i.test(n)) && !TEMP.test(n));
  expect(strays, "no partial files other than atomic-write temp files").toEqual([]);
  // The lock of a killed run may remain (the next run takes it over); it is whole, never half-written.
  if (names.includes("rnn.lock")) expect(JSON.parse(readFileSync(path.join(dir, "rnn.lock"), "utf8"))).toHaveProperty("pid");
  for (const f of ["last.safetensors", "best.safetensors"]) {
    const p = path.join(dir, f);
    if (existsSync(p)) expect(() => loadCheckpoint(p), `${f} loads after a kill`).not.toThrow();
  }
  return temps;
}

const hash = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("SIGKILL at random moments, then --resume", () => {
  const dir = tempDir("rnn-kill-");
  let ref: string;
  beforeAll(async () => {
    writeFileSync(path.join(dir, "d.csv"), sequenceCsv(240, 30));
    writeFileSync(path.join(dir, "c.yaml"), smallConfig({ epochs: 10, hidden: 24 }));
    ref = path.join(dir, "ref");
    const r = await cli(["train", "c.yaml", "--out", ref, "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(r.stderr);
  }, 60_000);
  afterAll(() => cleanUp(dir));

  it(`survives ${KILLS} kills and ends bit-identical to an uninterrupted run`, async () => {
    const rng = new Rng(SEED);
    const t0 = performance.now();
    // How long a whole run takes here: kill delays are drawn from [0, 0.8 of it).
    const full = await cli(["train", "c.yaml", "--out", path.join(dir, "timing"), "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(full.code, full.stderr).toBe(0);
    const span = Math.max(300, 0.8 * full.ms);
    let kills = 0, inWrites = 0, rounds = 0, resumes = 0, evals = 0;
    const temps = new Set<string>();
    const evaluated = new Set<string>();
    while (kills < KILLS && performance.now() - t0 < BUDGET_MS) {
      const out = path.join(dir, `cut-${rounds++}`);
      mkdirSync(out);
      const last = path.join(out, "last.safetensors");
      let finished = false;
      /** What happened in this round, for a failure message: k<ms>@<epoch of last> per kill. */
      const history: string[] = [];
      while (!finished) {
        const overBudget = kills >= KILLS || performance.now() - t0 >= BUDGET_MS;
        const resuming = existsSync(last);
        // No last.safetensors: a kill came before the first save (or between the flush of the
        // logs and the checkpoint): start over, with --force as the refusal of a directory
        // holding another run's logs asks. A stale rnn.lock of the killed run is taken over.
        const args = ["train", "c.yaml", "--out", out, "--quiet", ...(resuming ? ["--resume", last] : ["--force"])];
        if (resuming) resumes++;
        const child = start(args, dir);
        const done = exited(child);
        // Every third kill waits for the n-th temp file of an atomic write to appear and
        // kills at once, in the middle of writing a checkpoint or a log; the others come
        // after a random delay. Past the budget the last attempt runs to its end (no kill).
        const inWrite = !overBudget && kills % 3 === 2;
        const delay = overBudget ? Infinity : inWrite ? 4 * span : rng.uniform() * span;
        let writeSeen: () => void = () => undefined;
        const writing = new Promise<"slept">((res) => { writeSeen = () => res("slept"); });
        // Half of them aim at a checkpoint's temp file, half at any (the logs are written too).
        const aim = rng.uniform() < 0.5 ? /safetensors\.tmp-/ : TEMP;
        let nth = 1 + Math.floor(rng.uniform() * 3);
        let watcher: FSWatcher | null = null;
        try {
          if (inWrite) watcher = watch(out, (_event, name) => { if (name && aim.test(name) && --nth === 0) writeSeen(); });
        } catch {
          setTimeout(writeSeen, rng.uniform() * span); // no inotify here: a random moment instead
        }
        const first = await Promise.race([done, overBudget ? done : sleep(delay), writing]);
        watcher?.close();
        if (first !== "slept") {
          expect(first.code, `a run that was not killed finishes: ${first.stderr}`).toBe(0);
          finished = true;
        } else {
          child.kill("SIGKILL");
          const e = await done;
          // It may have finished in the same instant; either way the directory must be whole.
          if (e.signal === "SIGKILL") {
            kills++;
            if (inWrite) inWrites++;
            history.push(`kill${inWrite ? "(in a write)" : `@${Math.round(delay)}ms`}→epoch ${existsSync(last) ? meta(last).epoch : "-"}`);
          } else {
            expect(e.code, e.stderr).toBe(0);
            finished = true;
          }
        }
        for (const t of checkDirectory(out)) temps.add(path.join(out, t));
        if (existsSync(last)) {
          const h = hash(last);
          if (!evaluated.has(h)) {
            evaluated.add(h);
            const ev = await cli(["eval", last, "--json"], { cwd: dir, timeoutMs: 20_000 });
            expect(ev.code, `rnn eval on the surviving checkpoint: ${ev.stderr}`).toBe(0);
            expect(Number.isFinite((JSON.parse(ev.stdout) as { loss: number }).loss)).toBe(true);
            evals++;
          }
        }
      }
      // The run, however often it was killed, ends where the uninterrupted one did.
      expect(differingTensors(last, path.join(ref, "last.safetensors")), `round ${rounds} (${history.join(" ")}): tensors of last.safetensors that differ from the uninterrupted run's`).toEqual([]);
      const [m, mr] = [meta(last), meta(path.join(ref, "last.safetensors"))];
      expect([m.epoch, m.step, m.best_val_loss]).toEqual([mr.epoch, mr.step, mr.best_val_loss]);
      expect(updatesLog(out), `round ${rounds}: updates.csv`).toBe(updatesLog(ref));
      expect(epochsLog(out), `round ${rounds}: epochs.csv`).toEqual(epochsLog(ref));
      // best.safetensors: see the skipped test below — a kill between the two saves of an
      // epoch can leave an older best behind. Enable with the fix:
      expect(differingTensors(path.join(out, "best.safetensors"), path.join(ref, "best.safetensors"))).toEqual([]);
      expect(() => loadCheckpoint(path.join(out, "best.safetensors"))).not.toThrow();
    }
    const seconds = (performance.now() - t0) / 1000;
    const tempCheckpoints = [...temps].filter((t) => /safetensors/.test(t) && existsSync(t));
    const torn = tempCheckpoints.filter((t) => { try { decodeSafetensors(readFileSync(t), t); return false; } catch { return true; } }).length;
    console.info(`kill test: ${kills} SIGKILLs (${inWrites} timed into an atomic write) over ${rounds} runs (${resumes} resumes, ${evals} checkpoints evaluated, ${temps.size} temp files left behind, ${tempCheckpoints.length} of them checkpoints, ${torn} of those torn) in ${seconds.toFixed(1)} s`);
    expect(kills, `at least 50 kills within ${BUDGET_MS / 1000} s`).toBeGreaterThanOrEqual(50);
  }, BUDGET_MS + 60_000);

  // A crash after the first of an epoch's two checkpoint saves (last, then best, today): the
  // resumed run reads best_val_loss from `last` — already the new best — and never writes that
  // epoch's model to best.safetensors, which keeps an older epoch for good. The crash is made
  // deterministic by making the best save fail (best.safetensors is a directory while the best
  // epoch ends), whatever the order of the saves. Fix (src/commands/train.ts, onEpoch): save
  // BEST before LAST, so that `last` never claims a best that best.safetensors does not hold.
  // Enable with the fix (and the best.safetensors comparison in the test above).
  it("a crash between an epoch's two checkpoint saves still ends with the uninterrupted run's best.safetensors", async () => {
    const E = 10;
    const log = epochsLog(ref).slice(1).map((l) => l.split(",").map(Number));
    const bestEpoch = log.reduce((b, r) => (r[2] < b[2] ? r : b))[0];
    expect(bestEpoch, "the best epoch is not the first").toBeGreaterThan(1);
    const sim = path.join(dir, "sim"), best = path.join(sim, "best.safetensors"), last = path.join(sim, "last.safetensors");
    const cfg = (e: number): string => { const f = path.join(dir, `c${e}.yaml`); writeFileSync(f, smallConfig({ epochs: e, hidden: 24 })); return f; };
    const run = (args: string[]) => cli(["train", ...args, "--out", sim, "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect((await run([cfg(bestEpoch - 1)])).code).toBe(0);
    copyFileSync(best, path.join(dir, "older-best.safetensors"));
    rmSync(best);
    mkdirSync(best); // the best save of epoch bestEpoch fails here: the crash
    const crashed = await run([cfg(bestEpoch), "--resume", last]);
    expect(crashed.code, "the run stops when it cannot write best.safetensors").not.toBe(0);
    rmSync(best, { recursive: true });
    copyFileSync(path.join(dir, "older-best.safetensors"), best);
    const r = await run([cfg(E), "--resume", last]);
    expect(r.code, r.stderr).toBe(0);
    expect(differingTensors(last, path.join(ref, "last.safetensors"))).toEqual([]);
    expect(differingTensors(best, path.join(ref, "best.safetensors")), "best.safetensors holds the best epoch").toEqual([]);
  }, 60_000);
});

describe("graceful stops", () => {
  const dir = tempDir("rnn-signal-");
  beforeAll(() => {
    writeFileSync(path.join(dir, "d.csv"), sequenceCsv(400, 40));
    writeFileSync(path.join(dir, "c.yaml"), smallConfig({ epochs: 40, hidden: 48 }));
  });
  afterAll(() => cleanUp(dir));

  /** Starts a run and waits until it is well inside training (its first updates are logged). */
  async function startTraining(out: string): Promise<{ child: ChildProcess; done: Promise<Exit> }> {
    const child = start(["train", "c.yaml", "--out", out, "--quiet"], dir);
    const done = exited(child);
    const log = path.join(dir, out, "updates.csv");
    for (let i = 0; i < 400 && !(existsSync(log) && readFileSync(log, "utf8").split("\n").length > 2); i++) await sleep(10);
    await sleep(150);
    return { child, done };
  }

  it("SIGTERM: finishes the update, saves a loadable mid-epoch checkpoint, exits 143; --resume finishes", async () => {
    const { child, done } = await startTraining("term");
    child.kill("SIGTERM");
    const e = await Promise.race([done, sleep(10_000)]);
    expect(e, "exits within 10 s of SIGTERM").not.toBe("slept");
    const x = e as Exit;
    expect(x.code, x.stderr).toBe(143);
    expect(x.stderr).toMatch(/stopped by SIGTERM/);
    const last = path.join(dir, "term/last.safetensors");
    expect(checkDirectory(path.join(dir, "term"))).toEqual([]);
    expect(meta(last).position, "saved inside an epoch, with its position").toBeDefined();
    const ev = await cli(["eval", last, "--json"], { cwd: dir });
    expect(ev.code, ev.stderr).toBe(0);
  }, 60_000);

  it("two SIGINTs in quick succession: exit 130 at once, files intact", async () => {
    const { child, done } = await startTraining("int2");
    const before = existsSync(path.join(dir, "int2/last.safetensors")) ? hash(path.join(dir, "int2/last.safetensors")) : null;
    child.kill("SIGINT");
    await sleep(5); // two deliveries, not one coalesced pending signal
    child.kill("SIGINT");
    const t = performance.now();
    const e = await Promise.race([done, sleep(10_000)]);
    expect(e, "exits within 10 s").not.toBe("slept");
    const ms = performance.now() - t;
    const x = e as Exit;
    expect(x.code, x.stderr).toBe(130);
    // At once: within one update and a yield (a few ms here), well before a save would matter.
    expect(ms, "exit delay after the second SIGINT (ms)").toBeLessThan(2000);
    const out = path.join(dir, "int2");
    checkDirectory(out);
    const last = path.join(out, "last.safetensors");
    if (existsSync(last)) {
      const ev = await cli(["eval", last, "--json"], { cwd: dir });
      expect(ev.code, ev.stderr).toBe(0);
      // Either the old checkpoint, untouched, or a whole new one; never a torn file.
      if (before !== null && hash(last) !== before) expect(meta(last).format).toBe("rnn-checkpoint/1");
    }
    // And the run carries on from it.
    const args = existsSync(last) ? ["--resume", last] : ["--force"];
    console.info(`two SIGINTs: exit 130 ${Math.round(ms)} ms after the second; ${/stopped by SIGINT/.test(x.stderr) ? "the first had already saved" : "no save (immediate exit)"}`);
    const r = await cli(["train", "c.yaml", "--out", "int2", "--quiet", ...args], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
  }, 90_000);
});
