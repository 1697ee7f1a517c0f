import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";

/**
 * bench/compare-all.mjs refuses what it cannot run before it measures anything (exit 2, one
 * line): an unknown cell or flag, and a Keras peer named without a Python that has Keras.
 * The comparison itself is a benchmark, run by hand, never timed in a test.
 */
const compareAll = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(ROOT, "bench/compare-all.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 });

describe("bench/compare-all.mjs: arguments", () => {
  it.each([
    [["--cell", "elman,rnn"], "--cell: rnn is not one of elman, lstm, gru"],
    [["--peers", "torch,jax"], "--peers: jax is not one of rnn, torch, keras"],
    [["--rounds", "0"], "--rounds must be a positive number, not 0"],
    [["--rounds"], "--rounds needs a value"],
    [["--fast", "1"], "unknown flag --fast"],
  ])("%j → exit 2: %s", (args, message) => {
    const r = compareAll(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`compare-all: ${message}\n`);
  });

  it("--peers naming keras without a Python that has it: exit 2, naming scripts/keras-venv.sh", () => {
    const r = compareAll(["--peers", "rnn,keras"], { RNN_KERAS_PYTHON: "/nonexistent/python" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("the Keras peer cannot run: no Python with keras and tensorflow at /nonexistent/python (run scripts/keras-venv.sh, or set RNN_KERAS_PYTHON)");
  });
});
