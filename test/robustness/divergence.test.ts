/**
 * Divergence. A config built to explode (Elman relu, SGD with a huge learning rate, no
 * clipping, full BPTT over 30-step sequences) must stop with exit 1 and a message naming the
 * epoch, the step and what went non-finite; the last good checkpoint stays as it was, finite
 * and loadable, never overwritten by the diverged weights.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { cleanUp, cli, sequenceCsv, tempDir } from "./util.js";

/** The trainer's message: epoch, step, then what went non-finite (the loss, or a named gradient or weight). */
const DIVERGED = /^rnn: training diverged at epoch (\d+), step (\d+): (the loss is (NaN|-?Infinity)[^;]*|(gradient|weight) ((rnn|head)\.[a-z_0-9]+)\[\d+\] = (NaN|-?Infinity)( after the update)?); the last good checkpoint is kept$/;

function config(o: { lr: number; epochs: number }): string {
  return `seed: 3
data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.1, normalize: true }
model: { hiddenSize: 32, activation: relu }
training:
  epochs: ${o.epochs}
  batchSize: 8
  bptt: null
  optimizer: { name: sgd, lr: ${o.lr} }
  clip: null
output: { dir: run }
`;
}

const hash = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");
/** Every value in a run log is a finite number or empty (val_loss without validation). */
function logIsFinite(file: string): void {
  const rows = readFileSync(file, "utf8").trim().split("\n").slice(1);
  for (const r of rows) for (const cell of r.split(",")) if (cell !== "") expect(Number.isFinite(Number(cell)), `${path.basename(file)}: ${r}`).toBe(true);
}

describe("divergence", () => {
  const dir = tempDir("rnn-diverge-");
  beforeAll(() => { writeFileSync(path.join(dir, "d.csv"), sequenceCsv(300, 30)); });
  afterAll(() => cleanUp(dir));

  it("a config built to explode stops with exit 1 in its first epoch, naming epoch and step; no checkpoint is written", async () => {
    writeFileSync(path.join(dir, "boom.yaml"), config({ lr: 50, epochs: 5 }));
    const r = await cli(["train", "boom.yaml", "--out", "boom"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.trim().split("\n");
    const m = DIVERGED.exec(lines.at(-1) ?? "");
    expect(m, `the last stderr line names epoch and step: ${lines.at(-1)}`).not.toBeNull();
    expect(Number(m?.[1])).toBe(1);
    expect(Number(m?.[2])).toBeGreaterThan(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
    expect(existsSync(path.join(dir, "boom/last.safetensors")), "no epoch finished, so no checkpoint").toBe(false);
    for (const f of ["updates.csv", "epochs.csv"]) if (existsSync(path.join(dir, "boom", f))) logIsFinite(path.join(dir, "boom", f));
  });

  it("diverging after a good epoch keeps last.safetensors and best.safetensors byte for byte, finite and loadable", async () => {
    // One good epoch at a sane learning rate, then the same run resumed at lr 50.
    writeFileSync(path.join(dir, "good.yaml"), config({ lr: 0.01, epochs: 1 }));
    writeFileSync(path.join(dir, "bad.yaml"), config({ lr: 50, epochs: 4 }));
    const good = await cli(["train", "good.yaml", "--out", "keep", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(good.code, good.stderr).toBe(0);
    const last = path.join(dir, "keep/last.safetensors"), best = path.join(dir, "keep/best.safetensors");
    const before = { last: hash(last), best: hash(best) };

    const r = await cli(["train", "bad.yaml", "--out", "keep", "--resume", last, "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    const m = DIVERGED.exec(r.stderr.trim());
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m?.[1]), "diverged in the epoch after the good one").toBe(2);

    expect(hash(last), "last.safetensors untouched").toBe(before.last);
    expect(hash(best), "best.safetensors untouched").toBe(before.best);
    const ck = loadCheckpoint(last); // throws on any non-finite tensor
    expect(ck.epoch).toBe(1);
    const ev = await cli(["eval", last, "--json"], { cwd: dir });
    expect(ev.code, ev.stderr).toBe(0);
    expect(Number.isFinite((JSON.parse(ev.stdout) as { loss: number }).loss)).toBe(true);
    logIsFinite(path.join(dir, "keep/updates.csv"));
    logIsFinite(path.join(dir, "keep/epochs.csv"));
  });

  // SPEC/issue: the message names "epoch, step and the parameter". When the loss itself is
  // what overflows ("the loss is Infinity") no parameter is named. Proposed (src/train/
  // trainer.ts): add the parameter with the largest |weight| (or the first non-finite
  // gradient after backward), e.g. "the loss is Infinity (largest weight rnn.weight_hh_l0[5]
  // = 3.1e29)". Enable this test with that change.
  it("the message always names a parameter", async () => {
    writeFileSync(path.join(dir, "boom2.yaml"), config({ lr: 50, epochs: 2 }));
    const r = await cli(["train", "boom2.yaml", "--out", "boom2"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/training diverged at epoch \d+, step \d+: .*(rnn|head)\.[a-z_0-9]+\[\d+\]/);
  });
});
