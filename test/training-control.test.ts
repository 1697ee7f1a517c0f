import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { rnn, tempDir } from "./helpers/cli.js";
import { sequenceCsv } from "./robustness/util.js";

/**
 * Training control (SPEC §6) as a user meets it: schedules and early stopping resume to the
 * very same run, --set overrides keys. (Their numbers against PyTorch: test/golden-control.)
 */
function setup(training: string): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(40, 16));
  writeFileSync(path.join(dir, "c.yaml"), `seed: 5
data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.25, normalize: true }
model: { cell: lstm, hiddenSize: 6 }
training:
  batchSize: 8
  dtype: float64
  bptt: { truncate: 8 }
${training}
output: { dir: run }
`);
  return dir;
}

const csv = (dir: string, f: string): string[][] =>
  readFileSync(path.join(dir, f), "utf8").trim().split("\n").map((l) => l.split(","));
const column = (rows: string[][], name: string): string[] => rows.slice(1).map((r) => r[rows[0].indexOf(name)]);
const tensors = (file: string): Record<string, string> => Object.fromEntries([...decodeSafetensors(readFileSync(file), file).tensors]
  .map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));

describe("training control", () => {
  it("a plateau schedule with AdamW resumes to the very same rates and weights", () => {
    const training = `  epochs: 8
  optimizer: { name: adamw, lr: 0.05, weightDecay: 0.1 }
  schedule: { name: plateau, patience: 0, factor: 0.5, threshold: 0.05 }`;
    const whole = setup(training), parts = setup(training);
    expect(rnn(["train", "c.yaml", "--quiet"], { cwd: whole }).code).toBe(0);
    expect(rnn(["train", "c.yaml", "--quiet", "--set", "training.epochs=3"], { cwd: parts }).code).toBe(0);
    const r = rnn(["train", "c.yaml", "--quiet", "--resume", "run/last.safetensors"], { cwd: parts });
    expect(r.code, r.stderr).toBe(0);
    const lrs = column(csv(whole, "run/updates.csv"), "lr");
    expect(new Set(lrs).size, "the plateau reduced the rate").toBeGreaterThan(1);
    expect(column(csv(parts, "run/updates.csv"), "lr")).toEqual(lrs);
    expect(tensors(path.join(parts, "run/last.safetensors"))).toEqual(tensors(path.join(whole, "run/last.safetensors")));
  });

  it("the step schedule's rate is the lr column of each epoch's updates", () => {
    const dir = setup(`  epochs: 5
  optimizer: { name: sgd, lr: 0.1 }
  schedule: { name: step, stepSize: 2, gamma: 0.5 }`);
    expect(rnn(["train", "c.yaml", "--quiet"], { cwd: dir }).code).toBe(0);
    const rows = csv(dir, "run/updates.csv");
    const byEpoch = new Map(column(rows, "epoch").map((e, i) => [e, column(rows, "lr")[i]]));
    expect([...byEpoch.values()]).toEqual(["0.1", "0.1", "0.05", "0.05", "0.025"]);
  });

  it("early stopping ends the run with exit 0, says so, keeps the best epoch; resuming it trains nothing", () => {
    // A rate this large makes val_loss wander: patience 1 stops the run well before epoch 30.
    const dir = setup(`  epochs: 30
  optimizer: { name: sgd, lr: 2.0 }
  clip: { norm: 100 }
  earlyStopping: { patience: 1, minDelta: 0.01 }`);
    const r = rnn(["train", "c.yaml"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^early stopping: /m);
    const epochs = csv(dir, "run/epochs.csv");
    const n = epochs.length - 1;
    expect(n).toBeLessThan(30);
    const val = column(epochs, "val_loss").map(Number);
    // Keras' rule, replayed: stop after the first epoch that fails to beat best − minDelta.
    let best = Infinity, stopAt = 0;
    for (let e = 0; e < val.length && !stopAt; e++) if (val[e] < best - 0.01) best = val[e]; else stopAt = e + 1;
    expect(stopAt).toBe(n);
    const bestMeta = decodeSafetensors(readFileSync(path.join(dir, "run/best.safetensors")), "best").metadata;
    expect(Number(bestMeta.epoch)).toBe(val.indexOf(Math.min(...val)) + 1);
    const again = rnn(["train", "c.yaml", "--quiet", "--resume", "run/last.safetensors"], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(csv(dir, "run/epochs.csv")).toHaveLength(n + 1);
  });

  it("--set overrides keys by dotted path, checked as the file's own, and the checkpoint records them", () => {
    const dir = setup(`  epochs: 9
  optimizer: { name: adam, lr: 0.01 }`);
    const r = rnn(["train", "c.yaml", "--quiet", "--set", "training.epochs=2", "--set", "training.optimizer={name: sgd, lr: 0.3}", "--set", "model.hiddenSize=3"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const meta = decodeSafetensors(readFileSync(path.join(dir, "run/last.safetensors")), "last").metadata;
    const cfg = JSON.parse(meta.config) as { training: { epochs: number; optimizer: { name: string; lr: number } }; model: { hiddenSize: number } };
    expect([cfg.training.epochs, cfg.training.optimizer.name, cfg.training.optimizer.lr, cfg.model.hiddenSize]).toEqual([2, "sgd", 0.3, 3]);
    expect(csv(dir, "run/epochs.csv")).toHaveLength(3);
    const bad = rnn(["train", "c.yaml", "--force", "--set", "training.optimizer.lr=-1"], { cwd: dir });
    expect([bad.code, bad.stderr.trim()]).toEqual([2, "rnn: c.yaml (with --set): training.optimizer.lr: must be > 0"]);
    const typo = rnn(["train", "c.yaml", "--force", "--set", "training.epoch=3"], { cwd: dir });
    expect([typo.code, typo.stderr.trim()]).toEqual([2, "rnn: c.yaml (with --set): training.epoch: unknown key"]);
  });

  it("a cosine schedule's default tMax is the epochs: extending the epochs on --resume is refused, naming it", () => {
    const dir = setup(`  epochs: 2
  optimizer: { name: adam, lr: 0.01 }
  schedule: { name: cosine }`);
    expect(rnn(["train", "c.yaml", "--quiet"], { cwd: dir }).code).toBe(0);
    const r = rnn(["train", "c.yaml", "--resume", "run/last.safetensors", "--set", "training.epochs=4"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("training.schedule");
  });
});
