import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "./helpers/cli.js";

/**
 * bench/keras_bench.py trains the model bench/pytorch_bench.py trains: the same three float64
 * updates of a tiny model (pytorch_bench.py --reference, clip active) give the same losses and
 * parameters in both of Keras' step modes, and its --json has the shape bench/compare-all.mjs
 * reads. Needs a Python with Keras ($RNN_KERAS_PYTHON, else .venv-keras from
 * scripts/keras-venv.sh) and /usr/bin/python3 with torch; skipped loudly without them. Nothing
 * here is timed: the figures are the benchmark's business, not a test's.
 */
const KERAS_PYTHON = process.env.RNN_KERAS_PYTHON ?? path.join(ROOT, ".venv-keras/bin/python");
const TORCH_PYTHON = "/usr/bin/python3";

const skipReason: string | null = (() => {
  if (spawnSync(KERAS_PYTHON, ["-c", "import keras, tensorflow"]).status !== 0) return `no Python with keras at ${KERAS_PYTHON} (scripts/keras-venv.sh, or set RNN_KERAS_PYTHON)`;
  if (spawnSync(TORCH_PYTHON, ["-c", "import torch"]).status !== 0) return `no torch in ${TORCH_PYTHON}`;
  return null;
})();
if (skipReason) console.warn(`\n*** Keras peer tests SKIPPED: ${skipReason} ***\n`);

type Params = Record<string, number[] | number[][]>;
interface Reference { losses: number[]; grad_norms: number[]; final: Params }
interface Check { modes: Record<string, { losses: number[]; final: Params }> }

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/** The largest |a − b| over a tensor, with its flat index, to name on failure. */
function worst(a: number[] | number[][], b: number[] | number[][]): { index: number; diff: number } {
  const fa = a.flat(), fb = b.flat();
  expect(fa.length).toBe(fb.length);
  return fa.reduce((w, v, i) => (Math.abs(v - fb[i]) > w.diff ? { index: i, diff: Math.abs(v - fb[i]) } : w), { index: -1, diff: 0 });
}

describe.skipIf(skipReason !== null)("the Keras peer trains PyTorch's model", () => {
  for (const cell of ["elman", "lstm", "gru"]) {
    it(`${cell}: three float64 updates, losses and every parameter equal PyTorch's in both step modes`, () => {
      const ref = path.join(tempDir(), "ref.json");
      run(TORCH_PYTHON, ["bench/pytorch_bench.py", "--reference", ref, "--cell", cell]);
      const want = JSON.parse(readFileSync(ref, "utf8")) as Reference;
      expect(Math.max(...want.grad_norms), "the clip at 5 acts in the reference").toBeGreaterThan(5);
      const got = JSON.parse(run(KERAS_PYTHON, ["bench/keras_bench.py", "--check", ref])) as Check;
      expect(Object.keys(got.modes)).toEqual(["function", "train_on_batch"]);
      for (const [mode, m] of Object.entries(got.modes)) {
        // Before any update the two forwards are the same function; after, they differ only by
        // clip_grad_norm_'s 1e-6 in its divisor (Keras divides by the norm itself).
        expect(Math.abs(m.losses[0] - want.losses[0]), `${mode} loss 0`).toBeLessThan(1e-12 * want.losses[0]);
        m.losses.forEach((l, i) => expect(Math.abs(l - want.losses[i]), `${mode} loss ${i}`).toBeLessThan(1e-8 * want.losses[i]));
        for (const [name, t] of Object.entries(want.final)) {
          const w = worst(m.final[name], t);
          expect(w.diff, `${mode} ${name}[${w.index}]`).toBeLessThan(1e-7);
        }
      }
    });
  }

  it("--json: the shape bench/compare-all.mjs reads (versions, note, per setting its fastest mode, best)", () => {
    const out = JSON.parse(run(KERAS_PYTHON, ["bench/keras_bench.py", "--json", "--cell", "gru", "--workload", "small", "--settings", "a", "--modes", "function", "--seconds", "0.05"])) as {
      keras: string; tensorflow: string; note: Record<string, unknown>;
      workloads: Record<string, Record<string, unknown> & { best: string }>;
    };
    expect(out.keras).toMatch(/^3\./);
    expect(out.tensorflow).toMatch(/^2\./);
    expect(out.note).toHaveProperty("step");
    expect(Object.keys(out.workloads)).toEqual(["small"]);
    const small = out.workloads.small;
    expect(small.best).toBe("a");
    expect(small.a).toMatchObject({ mode: "function", threads: { intra_op: 1, inter_op: 1 }, dims: { I: 8, H: 64, O: 8, B: 32, T: 64 } });
    for (const k of ["steps_per_s", "gflops", "sec_per_update", "updates", "peak_rss_mb", "trace_s"]) expect((small.a as Record<string, number>)[k], k).toBeGreaterThan(0);
    expect((small.a as { rounds: number[] }).rounds.length).toBeGreaterThanOrEqual(5);
  });
});
