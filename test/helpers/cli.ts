import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const BIN = path.join(ROOT, "bin/rnn.js");

export interface Run { code: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null }

/**
 * Runs the built CLI (`npm test` builds first) in `cwd`, like a user's shell would; `env` adds
 * to the test's environment (an undefined value removes that variable).
 */
export function rnn(args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string | undefined> } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT, input: opts.input, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...opts.env }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** Starts the CLI without waiting (signal tests). */
export function rnnAsync(args: string[], cwd: string) {
  return spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
}

export function tempDir(prefix = "rnn-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}
