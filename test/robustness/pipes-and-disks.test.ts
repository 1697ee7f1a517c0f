/**
 * Pipes, closed streams and filesystem errors, through the real CLI and real shell pipes:
 * a reader that goes away (`| head -1`) never costs a training run and never prints a stack
 * trace; a stdout closed before start, or full, is an error (exit 2); every filesystem error
 * (no space, read-only, a directory in the way, a missing folder) is exit 2 with one line naming
 * the path the user gave and the cause in words, leaves no temp file, and leaves the previous
 * checkpoint loadable. The full and read-only disks are small tmpfs mounts (root only; skipped
 * with a warning elsewhere).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { BIN } from "../helpers/cli.js";
import { cleanUp, cli, sequenceCsv, smallConfig, tempDir } from "./util.js";

const EPOCHS = 20;
let root: string;
let caseNo = 0;
/** A fresh folder with `d.csv` and a small config `c.yaml` (EPOCHS epochs, run dir `run`). */
function caseDir(epochs = EPOCHS): string {
  const dir = path.join(root, String(++caseNo));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(30, 12));
  writeFileSync(path.join(dir, "c.yaml"), smallConfig({ epochs }));
  return dir;
}
let ckpt: string;
/** A CSV big enough (≈ 2 MB of predictions) that `| head -1` closes the pipe while predict still writes. */
let bigCsv: string;

interface ShRun { code: number; stdout: string; stderr: string }
/**
 * Runs `rnn <args>` inside a bash command line: `{rnn}` in `line` is replaced by the CLI, and
 * the exit code reported is rnn's own (PIPESTATUS[0]), not the pipe's last command's.
 */
function sh(line: string, cwd: string, timeoutMs = 30_000): Promise<ShRun> {
  const rc = path.join(cwd, `.rc-${caseNo}-${Math.random().toString(36).slice(2)}`);
  const cmd = `${line.replace("{rnn}", `"${process.execPath}" "${BIN}"`)}; echo "\${PIPESTATUS[0]}" > "${rc}"`;
  const child = spawn("bash", ["-c", cmd], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
  child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) => child.on("close", () => {
    clearTimeout(timer);
    resolve({ code: existsSync(rc) ? Number(readFileSync(rc, "utf8").trim()) : -1, stdout, stderr });
  }));
}

const NO_STACK = /\n\s+at |internal error|node:internal|Unhandled/;

/** Exit 2, exactly one stderr line `rnn: …` containing every part, no stack trace. */
function expectOneLineError(r: { code: number | null; stderr: string }, ...parts: string[]): void {
  const ctx = `stderr: ${JSON.stringify(r.stderr.slice(0, 800))}`;
  expect(r.code, ctx).toBe(2);
  expect(r.stderr, ctx).not.toMatch(NO_STACK);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines, ctx).toHaveLength(1);
  expect(lines[0]).toMatch(/^rnn: /);
  for (const p of parts) expect(lines[0]).toContain(p);
}

/** Temp files of writeFileAtomic (`.<name>.tmp-<pid>-<time>`) anywhere under `dir`. */
function temps(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => /\.tmp-\d+-/.test(path.basename(f)));
}

/** CSV rows of a run log (header dropped), each checked whole: no torn row (as many fields as the header). */
function logRows(file: string): string[][] {
  const text = readFileSync(file, "utf8");
  expect(text.endsWith("\n"), `${file} ends in a whole row`).toBe(true);
  const [header, ...rows] = text.trimEnd().split("\n").map((l) => l.split(","));
  for (const r of rows) expect(r).toHaveLength(header.length);
  return rows;
}

/**
 * A run directory as a finished (or stopped) run leaves it: last.safetensors loads and holds
 * `epochs` epochs (at least, when `epochs` is null), `rnn eval` accepts it, the logs cover it
 * without torn rows, no temp file is left. Returns the checkpoint's epoch.
 */
async function expectLoadableRun(run: string, epochs: number | null): Promise<number> {
  const ck = loadCheckpoint(path.join(run, "last.safetensors"));
  if (epochs !== null) expect(ck.epoch).toBe(epochs);
  else expect(ck.epoch).toBeGreaterThanOrEqual(1);
  expect(logRows(path.join(run, "epochs.csv")).length).toBeGreaterThanOrEqual(ck.epoch);
  expect(Number(logRows(path.join(run, "updates.csv")).at(-1)?.[1])).toBeGreaterThanOrEqual(ck.step);
  const ev = await cli(["eval", path.join(run, "last.safetensors"), "--json"], { cwd: run, timeoutMs: 20_000 });
  expect(ev.code, ev.stderr).toBe(0);
  expect(Number.isFinite((JSON.parse(ev.stdout) as { loss: number }).loss)).toBe(true);
  expect(temps(run)).toEqual([]);
  return ck.epoch;
}

beforeAll(async () => {
  root = tempDir("rnn-pipes-");
  const dir = caseDir(2);
  const r = await cli(["train", "c.yaml", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`training the fixture failed: ${r.stderr}`);
  ckpt = path.join(dir, "run/last.safetensors");
  bigCsv = path.join(root, "big.csv");
  writeFileSync(bigCsv, sequenceCsv(2000, 50));
}, 90_000);
afterAll(() => cleanUp(root));

describe.concurrent("a reader that goes away (EPIPE): quiet, and training goes on", () => {
  it("train --json | head -1: keeps training to the end, exit 0, the run directory complete", async () => {
    const dir = caseDir();
    const r = await sh("{rnn} train c.yaml --json --quiet | head -1", dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ epoch: 1 });
    await expectLoadableRun(path.join(dir, "run"), EPOCHS);
  });

  it("train --json 2>&1 | head -1: stderr gone too, still exit 0 and complete", async () => {
    const dir = caseDir();
    const r = await sh("{rnn} train c.yaml --json 2>&1 | head -1", dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toBe("");
    await expectLoadableRun(path.join(dir, "run"), EPOCHS);
  });

  it("train 2>/dev/full: progress lines cannot be written, the run is not stopped for it", async () => {
    const dir = caseDir();
    const r = await sh("{rnn} train c.yaml --json 2>/dev/full", dir);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(EPOCHS);
    await expectLoadableRun(path.join(dir, "run"), EPOCHS);
  });

  it("predict | head -1: stops quietly, exit 0, no stack trace", async () => {
    const r = await sh(`{rnn} predict "${ckpt}" --data "${bigCsv}" | head -1`, root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("id,t,pred_y\n");
  });

  it("predict from stdin | head -1: stops quietly, exit 0", async () => {
    const r = await sh(`{rnn} predict "${ckpt}" < "${bigCsv}" | head -1`, root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });

  it("eval --json | head -c0: exit 0, no stack trace", async () => {
    const r = await sh(`{rnn} eval "${ckpt}" --json | head -c0`, root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("");
  });

  it("grad-flow | head -1: exit 0", async () => {
    const r = await sh(`{rnn} grad-flow "${ckpt}" --lags 400 | head -1`, root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("layer,lag,grad_norm,jacobian_norm\n");
  });
});

describe.concurrent("stdout that cannot be written: an error, never a silent success", () => {
  it("predict >&- (closed before start): exit 2, bad file descriptor", async () => {
    const r = await sh(`{rnn} predict "${ckpt}" --data "${bigCsv}" >&-`, root);
    expectOneLineError(r, "stdout: write error: bad file descriptor");
  });

  it("eval --json >&-: exit 2", async () => {
    expectOneLineError(await sh(`{rnn} eval "${ckpt}" --json >&-`, root), "stdout: write error: bad file descriptor");
  });

  it("train --json >&-: refused before training (no run directory), exit 2", async () => {
    const dir = caseDir();
    const r = await sh("{rnn} train c.yaml --json >&-", dir);
    expectOneLineError(r, "stdout: write error: bad file descriptor");
    expect(existsSync(path.join(dir, "run"))).toBe(false);
  });

  it("train >&- without --json writes nothing on stdout: exit 0", async () => {
    const dir = caseDir(2);
    const r = await sh("{rnn} train c.yaml --quiet >&-", dir);
    expect(r.code, r.stderr).toBe(0);
    await expectLoadableRun(path.join(dir, "run"), 2);
  });

  it("predict >/dev/null (write-only, as a shell opens it) is not taken for a closed stdout", async () => {
    const r = await sh(`{rnn} predict "${ckpt}" --data "${bigCsv}" >/dev/null`, root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });

  it("predict >/dev/full: exit 2, no space left on device", async () => {
    expectOneLineError(await sh(`{rnn} predict "${ckpt}" --data "${bigCsv}" >/dev/full`, root), "stdout: write error: no space left on device");
  });

  it("train --json >/dev/full: the run is finished and saved, then exit 2", async () => {
    const dir = caseDir();
    const r = await sh("{rnn} train c.yaml --json --quiet >/dev/full", dir);
    expectOneLineError(r, "stdout: write error: no space left on device");
    await expectLoadableRun(path.join(dir, "run"), EPOCHS);
  });
});

describe.concurrent("files that cannot be written: exit 2, the real path and the cause, no temp file", () => {
  it("grad-flow --plot into a missing folder", async () => {
    const plot = path.join(root, "missing", "x.svg");
    const r = await cli(["grad-flow", ckpt, "--plot", plot], { cwd: root });
    expectOneLineError(r, `${plot}: cannot write: no such directory`);
  });

  it("grad-flow --plot onto /dev/full (through a link): written into, not replaced; no space left on device", async () => {
    // Through a link of the test's own: a writer that replaced its target would replace the
    // link, never the machine's /dev/full (as root, the old code did just that).
    const dir = caseDir();
    const link = path.join(dir, "full.svg");
    symlinkSync("/dev/full", link);
    const r = await cli(["grad-flow", ckpt, "--plot", link], { cwd: dir });
    expectOneLineError(r, `${link}: cannot write: no space left on device`);
    expect(statSync(link).isCharacterDevice()).toBe(true);
    expect(temps(dir)).toEqual([]);
  });

  it("grad-flow --plot onto a directory: is a directory, its temp file removed", async () => {
    const dir = caseDir();
    mkdirSync(path.join(dir, "plot.svg"));
    const r = await cli(["grad-flow", ckpt, "--plot", "plot.svg"], { cwd: dir });
    expectOneLineError(r, "plot.svg: cannot write: is a directory");
    expect(temps(dir)).toEqual([]);
  });

  it("output.dir is a file: not a directory", async () => {
    const dir = caseDir();
    writeFileSync(path.join(dir, "run"), "a file");
    expectOneLineError(await cli(["train", "c.yaml", "--quiet"], { cwd: dir }), "run: cannot create the run directory", "is not a directory");
  });

  it("a log file of the run directory is a directory: is a directory, no temp file", async () => {
    const dir = caseDir();
    mkdirSync(path.join(dir, "run", "epochs.csv"), { recursive: true });
    const r = await cli(["train", "c.yaml", "--quiet"], { cwd: dir });
    expectOneLineError(r, `${path.join("run", "epochs.csv")}: cannot write: is a directory`);
    expect(temps(dir)).toEqual([]);
  });

  it("the checkpoint path is a directory (train --force): cannot remove: is a directory", async () => {
    const dir = caseDir();
    mkdirSync(path.join(dir, "run", "last.safetensors"), { recursive: true });
    const r = await cli(["train", "c.yaml", "--quiet", "--force"], { cwd: dir });
    expectOneLineError(r, `${path.join("run", "last.safetensors")}: cannot remove: is a directory`);
  });
});

/** Mounts a tmpfs of `size` at `dir` (root only); false where mounting is not permitted. */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]).status === 0;
}
const umount = (dir: string): void => { spawnSync("umount", ["-l", dir]); };
const CAN_MOUNT = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = tempDir("rnn-mount-probe-");
  const ok = mountTmpfs(probe, "64k");
  if (ok) umount(probe);
  cleanUp(probe);
  return ok;
})();
if (!CAN_MOUNT) console.warn("pipes-and-disks: cannot mount a tmpfs here (not root?): the full and read-only disk cases are skipped");

describe.skipIf(!CAN_MOUNT)("a full disk and a read-only one (tmpfs mounts)", () => {
  /** A case folder (config of `epochs` epochs) with a 1 MiB tmpfs `disk` in it for the run directory `disk/run`. */
  async function onTmpfs(epochs: number, body: (dir: string, disk: string, run: string, last: string) => Promise<void>): Promise<void> {
    const dir = caseDir(epochs);
    const disk = path.join(dir, "disk");
    expect(mountTmpfs(disk, "1m")).toBe(true);
    try {
      await body(dir, disk, path.join(disk, "run"), path.join(disk, "run", "last.safetensors"));
    } finally {
      umount(disk);
    }
  }

  it("the disk fills up during a run: exit 2 naming the file, no temp file, the last checkpoint loads and --resume finishes", async () => {
    await onTmpfs(100_000, async (dir, disk, run, last) => {
      const child = cli(["train", "c.yaml", "--quiet", "--out", run], { cwd: dir, timeoutMs: 60_000 });
      // Once the first checkpoint is there, fill every byte that is left.
      for (let t = 0; t < 3000 && !existsSync(last); t++) await new Promise((res) => setTimeout(res, 10));
      expect(existsSync(last)).toBe(true);
      try { writeFileSync(path.join(disk, "filler"), Buffer.alloc(2 << 20)); } catch (e) { expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC"); }
      const r = await child;
      // Plots are written now and then; one that failed first is a warning, not an error.
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      const errors = lines.filter((l) => !/^warning: plots not written: .*: cannot write: no space left on device$/.test(l));
      expect(errors, r.stderr).toHaveLength(1);
      expectOneLineError({ code: r.code, stderr: errors[0] }, run, "no space left on device");
      expect(errors[0]).not.toMatch(/\.tmp-/);
      const epoch = await expectLoadableRun(run, null);
      // Space again: the run continues from its checkpoint to the end.
      writeFileSync(path.join(dir, "c.yaml"), smallConfig({ epochs: epoch + 2, out: run }));
      rmSync(path.join(disk, "filler"));
      const resumed = await cli(["train", "c.yaml", "--quiet", "--resume", last], { cwd: dir, timeoutMs: 60_000 });
      expect(resumed.code, resumed.stderr).toBe(0);
      await expectLoadableRun(run, epoch + 2);
    });
  });

  it("a read-only disk: --force, --resume and plot are exit 2 (read-only file system); the checkpoint stays", async () => {
    await onTmpfs(2, async (dir, disk, run, last) => {
      const r0 = await cli(["train", "c.yaml", "--quiet", "--out", run], { cwd: dir, timeoutMs: 60_000 });
      expect(r0.code, r0.stderr).toBe(0);
      expect(spawnSync("mount", ["-o", "remount,ro", disk]).status).toBe(0);
      // The run directory's lock is the first thing a run writes there.
      const lock = `${run}/rnn.lock: cannot create the run directory's lock: read-only file system`;
      expectOneLineError(await cli(["train", "c.yaml", "--quiet", "--out", run, "--force"], { cwd: dir }), lock);
      expectOneLineError(await cli(["train", "c.yaml", "--quiet", "--out", run, "--resume", last], { cwd: dir }), lock);
      expectOneLineError(await cli(["train", "c.yaml", "--quiet", "--out", path.join(disk, "new")], { cwd: dir }), "cannot create the run directory: read-only file system");
      expectOneLineError(await cli(["plot", run], { cwd: dir }), `${run}/loss.svg: cannot write: read-only file system`);
      await expectLoadableRun(run, 2);
    });
  });
});
