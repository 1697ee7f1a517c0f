/**
 * Shared by the robustness suite: running the built CLI with a time bound (and, when asked,
 * its peak memory), the checks every rejection must pass, a small valid training set-up,
 * and safetensors files built from arbitrary headers.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { BIN } from "../helpers/cli.js";

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit. */
  readonly ms: number;
  /** The process was killed for running past its time bound. */
  readonly timedOut: boolean;
  /** Peak resident set size in KiB (with `measure`), else null. */
  readonly peakKb: number | null;
  /** Lines (newlines) the child wrote to stdout, counted even past `maxStdout`. */
  readonly stdoutLines: number;
}

export interface CliOptions {
  readonly cwd?: string;
  /** Text (or a function that writes into the child's stdin and ends it). */
  readonly input?: string | ((stdin: NodeJS.WritableStream) => Promise<void>);
  /** The child is SIGKILLed after this long (a hang fails the check, not the suite). */
  readonly timeoutMs?: number;
  /** Measure the child's peak RSS (/usr/bin/time when present, else /proc VmHWM polling). */
  readonly measure?: boolean;
  /** Keep only this many bytes of stdout (a large predict output is counted, not kept). */
  readonly maxStdout?: number;
  readonly env?: Record<string, string>;
  /** Flags for node itself, before the script (V8 options NODE_OPTIONS does not take). */
  readonly nodeFlags?: readonly string[];
}

export const GNU_TIME = "/usr/bin/time";
const HAVE_GNU_TIME = existsSync(GNU_TIME);

/** Reads VmHWM (peak RSS, KiB) of a live process, or null once it is gone. */
function vmHwm(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Runs `node bin/rnn.js …` asynchronously with a time bound; never throws. */
export function cli(args: readonly string[], o: CliOptions = {}): Promise<CliRun> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const timeFile = o.measure && HAVE_GNU_TIME ? path.join(mkdtempSync(path.join(tmpdir(), "rnn-time-")), "rss") : null;
  const cmd = timeFile ? GNU_TIME : process.execPath;
  const script = [...(o.nodeFlags ?? []), BIN, ...args];
  const argv = timeFile ? ["-f", "%M", "-o", timeFile, process.execPath, ...script] : script;
  const t0 = performance.now();
  // Its own process group, so that a time bound kills /usr/bin/time's child too.
  const child = spawn(cmd, argv, {
    cwd: o.cwd, env: { ...process.env, NO_COLOR: "1", ...o.env }, stdio: ["pipe", "pipe", "pipe"], detached: true,
  });
  const killAll = (): void => {
    try { if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
  };
  let stdout = "", stderr = "", timedOut = false, peakKb: number | null = null, stdoutLines = 0;
  const maxStdout = o.maxStdout ?? Infinity;
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    if (stdout.length < maxStdout) stdout += d.slice(0, maxStdout - stdout.length);
    for (let i = d.indexOf("\n"); i >= 0; i = d.indexOf("\n", i + 1)) stdoutLines++;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
  child.stdin.on("error", () => { /* the child may exit before reading all of its input */ });
  const poll = o.measure && !timeFile ? setInterval(() => {
    const v = child.pid !== undefined ? vmHwm(child.pid) : null;
    if (v !== null) peakKb = Math.max(peakKb ?? 0, v);
  }, 20) : null;
  const timer = setTimeout(() => { timedOut = true; killAll(); }, timeoutMs);
  if (typeof o.input === "function") {
    void o.input(child.stdin).catch(() => { /* EPIPE when the child stops early */ });
  } else {
    child.stdin.end(o.input ?? "");
  }
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      if (timeFile) {
        const text = existsSync(timeFile) ? readFileSync(timeFile, "utf8") : "";
        const m = /(\d+)\s*$/.exec(text.trim());
        peakKb = m ? Number(m[1]) : null;
        rmSync(path.dirname(timeFile), { recursive: true, force: true });
      }
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, timedOut, peakKb, stdoutLines });
    });
  });
}

export interface Rejection {
  /** Text the one stderr line must contain: the file's name. */
  readonly file: string;
  /** What names the fault: a line/column, a key path, a tensor name. */
  readonly where: RegExp | string;
  /** predict may print rows before a bad one. */
  readonly stdoutAllowed?: boolean;
}

/**
 * What every rejected input must look like: exit 2, within its time bound, exactly one line
 * on stderr (`rnn: …`) naming the file and the fault, no stack trace, nothing on stdout.
 */
export function expectRejected(r: CliRun, x: Rejection): void {
  const ctx = `stderr: ${JSON.stringify(r.stderr.slice(0, 600))}`;
  expect(r.timedOut, `timed out after ${Math.round(r.ms)} ms; ${ctx}`).toBe(false);
  expect(r.code, ctx).toBe(2);
  expect(r.stderr, "no stack trace").not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toMatch(/internal error/);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines, "exactly one line on stderr").toHaveLength(1);
  expect(lines[0]).toMatch(/^rnn: /);
  expect(lines[0]).toContain(x.file);
  if (typeof x.where === "string") expect(lines[0]).toContain(x.where);
  else expect(lines[0]).toMatch(x.where);
  if (!x.stdoutAllowed) expect(r.stdout, "nothing on stdout").toBe("");
}

export function tempDir(prefix = "rnn-robust-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Removes a test's temp folder, unless RNN_KEEP_TMP asks to keep it for a post-mortem. */
export function cleanUp(dir: string | undefined): void {
  if (dir && !process.env.RNN_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
}

/**
 * A sequence-regression data set (the target is a leaky running mean of x, every third
 * target cell empty) as CSV text: `id,x,y`.
 */
export function sequenceCsv(sequences: number, steps: number, seed = 5): string {
  const rng = new Rng(seed);
  const lines = ["id,x,y"];
  for (let s = 0; s < sequences; s++) {
    let m = 0;
    for (let t = 0; t < steps; t++) {
      const x = 2 * rng.uniform() - 1;
      m = 0.8 * m + 0.2 * x;
      lines.push(`s${s},${x.toFixed(5)},${t % 3 === 0 ? "" : m.toFixed(5)}`);
    }
  }
  return lines.join("\n") + "\n";
}

export interface Setup {
  readonly dir: string;
  /** A trained checkpoint (absolute path) and the bytes it has. */
  readonly ckpt: string;
}

/** YAML for a small sequence-regression run on `d.csv` in the config's folder. */
export function smallConfig(o: { epochs?: number; hidden?: number; lr?: number; extra?: string; out?: string } = {}): string {
  return `seed: 3
data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.1, normalize: true }
model: { hiddenSize: ${o.hidden ?? 6} }
training:
  epochs: ${o.epochs ?? 2}
  batchSize: 8
  dtype: float32
  bptt: { truncate: 10, stride: 5 }
  optimizer: { name: adam, lr: ${o.lr ?? 0.01} }
  clip: { norm: 1.0 }
output: { dir: ${o.out ?? "run"} }
${o.extra ?? ""}`;
}

/** Writes `d.csv` and `c.yaml` into a new temp folder and trains a small checkpoint there. */
export async function trainedSetup(): Promise<Setup> {
  const dir = tempDir();
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(30, 12));
  writeFileSync(path.join(dir, "c.yaml"), smallConfig());
  const r = await cli(["train", "c.yaml", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`training the fixture failed: ${r.stderr}`);
  return { dir, ckpt: path.join(dir, "run/last.safetensors") };
}

/** The parts of a safetensors file: its JSON header (as an object) and its data bytes. */
export interface StParts {
  header: Record<string, unknown>;
  data: Buffer;
}

export function splitSafetensors(buf: Buffer): StParts {
  const hlen = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.toString("utf8", 8, 8 + hlen)) as Record<string, unknown>, data: Buffer.from(buf.subarray(8 + hlen)) };
}

/** A safetensors file from a header (object or raw text), data bytes, and an optional lying length field. */
export function joinSafetensors(header: Record<string, unknown> | string, data: Buffer, claimedHeaderLength?: bigint): Buffer {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(claimedHeaderLength ?? BigInt(json.length), 0);
  json.copy(out, 8);
  data.copy(out, 8 + json.length);
  return out;
}

/** A deep copy of a JSON value. */
export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
