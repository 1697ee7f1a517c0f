import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./cli.js";

/**
 * TensorBoard's own reader for the event-file tests (SPEC §14): a Python with the
 * `tensorboard` package — $RNN_TENSORBOARD_PYTHON, else the virtual environment .ci/run makes
 * in .venv-tensorboard (python3 -m venv .venv-tensorboard, then pip install --no-index
 * --find-links /opt/pypi/files tensorboard). `tensorboardSkipReason` is null when it imports.
 */
export const TB_PYTHON = process.env.RNN_TENSORBOARD_PYTHON ?? path.join(ROOT, ".venv-tensorboard/bin/python");

export const tensorboardSkipReason: string | null = (() => {
  const r = spawnSync(TB_PYTHON, ["-c", "import tensorboard.backend.event_processing.event_accumulator"], { encoding: "utf8" });
  return r.status === 0 ? null
    : `no Python with tensorboard at ${TB_PYTHON} (set RNN_TENSORBOARD_PYTHON, or: python3 -m venv .venv-tensorboard && .venv-tensorboard/bin/pip install --no-index --find-links /opt/pypi/files tensorboard)`;
})();

if (tensorboardSkipReason) {
  if (process.env.CI) throw new Error(`TensorBoard reader tests cannot run in CI: ${tensorboardSkipReason} (.ci/run makes it)`);
  console.warn(`\n*** TensorBoard reader tests SKIPPED: ${tensorboardSkipReason} ***\n`);
}

/** tag → [step, value] in the order read. */
export type Scalars = Record<string, [number, number][]>;

/** What EventAccumulator reads from a run directory (test/helpers/tensorboard_scalars.py). */
export function readWithTensorBoard(dir: string): { file_version: number; files: string[]; scalars: Scalars } {
  const r = spawnSync(TB_PYTHON, [path.join(ROOT, "test/helpers/tensorboard_scalars.py"), dir], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`tensorboard_scalars.py ${dir}: exit ${r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout) as { file_version: number; files: string[]; scalars: Scalars };
}

const csv = (file: string): string[][] => readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(","));

/**
 * The scalars SPEC §14 asks for, from a run directory's CSV logs, each value as float32:
 * train/loss, train/grad_norm, train/lr per updates.csv row at its step; epoch/train_loss and
 * epoch/<every val_ column> per epochs.csv row at its epoch. Empty cells have no scalar.
 */
export function scalarsOfCsv(dir: string): Scalars {
  const out: Scalars = {};
  const add = (file: string, stepColumn: string, columns: (c: string) => boolean, prefix: string): void => {
    const [header, ...rows] = csv(path.join(dir, file));
    const at = header.indexOf(stepColumn);
    for (const row of rows) {
      header.forEach((c, i) => {
        if (!columns(c) || row[i] === "") return;
        (out[`${prefix}/${c}`] ??= []).push([Number(row[at]), Math.fround(Number(row[i]))]);
      });
    }
  };
  add("updates.csv", "step", (c) => ["loss", "grad_norm", "lr"].includes(c), "train");
  add("epochs.csv", "epoch", (c) => c === "train_loss" || c.startsWith("val_"), "epoch");
  return out;
}
