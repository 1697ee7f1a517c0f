import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sequenceCsv } from "./robustness/util.js";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { rnn, rnnAsync, tempDir } from "./helpers/cli.js";

/** A small sequence problem: the target is a running mean of x, so it needs memory. */
function makeData(dir: string, sequences: number, steps: number): void {
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(sequences, steps));
}

function config(dir: string, extra: { epochs: number; hidden: number }): void {
  writeFileSync(path.join(dir, "c.yaml"), `seed: 3
data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.1, normalize: true }
model: { hiddenSize: ${extra.hidden} }
training:
  epochs: ${extra.epochs}
  batchSize: 8
  shuffle: true
  dtype: float32
  bptt: { truncate: 10, stride: 5 }
  optimizer: { name: adam, lr: 0.01 }
  clip: { norm: 1.0 }
output: { dir: run }
`);
}

/** Tensors (model, optimizer state) of a checkpoint as raw bytes, by name. */
function tensorBytes(file: string): Record<string, string> {
  const st = decodeSafetensors(readFileSync(file), file);
  return Object.fromEntries([...st.tensors].map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));
}

const updates = (dir: string, run: string) => readFileSync(path.join(dir, run, "updates.csv"), "utf8");

describe("rnn train", () => {
  const dir = tempDir();
  makeData(dir, 60, 24);
  config(dir, { epochs: 3, hidden: 8 });

  it("writes the run directory, with --json lines on stdout", () => {
    const r = rnn(["train", "c.yaml", "--json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    for (const f of ["last.safetensors", "best.safetensors", "updates.csv", "epochs.csv"]) expect(existsSync(path.join(dir, "run", f))).toBe(true);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { epoch: number; train_loss: number; val_loss: number });
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3]);
    const epochs = readFileSync(path.join(dir, "run/epochs.csv"), "utf8").trim().split("\n");
    expect(epochs[0]).toBe("epoch,train_loss,val_loss,seconds,val_mse,val_rmse,val_mae"); // SPEC §6: with validation data
    expect(epochs.slice(1).map((l) => Number(l.split(",")[2]))).toEqual(lines.map((l) => l.val_loss));
    // 54 training sequences in batches of 8 → 7 batches of 24 steps → 5 updates each (TBPTT(10,5)).
    expect(updates(dir, "run").trim().split("\n")).toHaveLength(1 + 3 * 7 * 5);
  });

  it("refuses a run directory that holds a checkpoint; --force starts over", () => {
    const r = rnn(["train", "c.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already holds a checkpoint; pass --resume .* or --force/);
    expect(rnn(["train", "c.yaml", "--force", "--quiet"], { cwd: dir }).code).toBe(0);
  });

  it("--resume refuses a config whose model differs from the checkpoint's", () => {
    writeFileSync(path.join(dir, "relu.yaml"), readFileSync(path.join(dir, "c.yaml"), "utf8").replace("model: { hiddenSize: 8 }", "model: { hiddenSize: 8, activation: relu }"));
    const r = rnn(["train", "relu.yaml", "--resume", "run/last.safetensors"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("rnn: run/last.safetensors: was trained with model.activation \"tanh\", the config says \"relu\"; --resume may change only training.epochs, training.optimizer.lr, training.clip, model.init, output.dir, output.tensorboard");
  });

  it("removes temp files that killed runs left, and keeps no-target data out", () => {
    const stale = path.join(dir, "run", ".last.safetensors.tmp-999999999-abc");
    writeFileSync(stale, "half a checkpoint");
    expect(rnn(["train", "c.yaml", "--force", "--quiet"], { cwd: dir }).code).toBe(0);
    expect(existsSync(stale)).toBe(false);
    writeFileSync(path.join(dir, "e.csv"), "id,x,y\na,1,\na,2,\n");
    writeFileSync(path.join(dir, "e.yaml"), "data: { train: e.csv, sequenceColumn: id, inputs: [x], targets: [y] }\n");
    const r = rnn(["train", "e.yaml"], { cwd: dir });
    expect([r.code, r.stderr.trim()]).toEqual([2, `rnn: ${path.join(dir, "e.csv")}: no target left to train on (every target cell is empty)`]);
  });

  it("same config and seed give the same weights bit for bit; another seed does not", () => {
    expect(rnn(["train", "c.yaml", "--out", "a", "--quiet"], { cwd: dir }).code).toBe(0);
    expect(rnn(["train", "c.yaml", "--out", "b", "--quiet"], { cwd: dir }).code).toBe(0);
    expect(rnn(["train", "c.yaml", "--out", "c", "--seed", "4", "--quiet"], { cwd: dir }).code).toBe(0);
    expect(tensorBytes(path.join(dir, "a/last.safetensors"))).toEqual(tensorBytes(path.join(dir, "b/last.safetensors")));
    expect(updates(dir, "a")).toBe(updates(dir, "b"));
    expect(tensorBytes(path.join(dir, "c/last.safetensors"))).not.toEqual(tensorBytes(path.join(dir, "a/last.safetensors")));
  });
});

describe("interrupt and resume", () => {
  const dir = tempDir();
  makeData(dir, 400, 40);
  config(dir, { epochs: 30, hidden: 48 });

  it("SIGINT mid-run saves a loadable checkpoint and exits 130; --resume ends bit-identical to an uninterrupted run", async () => {
    expect(rnn(["train", "c.yaml", "--out", "full", "--quiet"], { cwd: dir }).code).toBe(0);

    const child = rnnAsync(["train", "c.yaml", "--out", "cut", "--quiet"], dir);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    const log = path.join(dir, "cut/updates.csv");
    for (let i = 0; i < 200 && !(existsSync(log) && readFileSync(log, "utf8").length > 0); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/stopped by SIGINT/);

    const cut = path.join(dir, "cut/last.safetensors");
    const saved = decodeSafetensors(readFileSync(cut), cut);
    expect(saved.metadata.position, "stopped inside an epoch").toBeDefined();
    const stepAtStop = Number(saved.metadata.step);
    expect(stepAtStop).toBeGreaterThan(0);
    expect(stepAtStop).toBeLessThan(30 * 45 * 8);
    expect(rnn(["eval", cut, "--json"], { cwd: dir }).code).toBe(0);

    const r = rnn(["train", "c.yaml", "--out", "cut", "--resume", cut, "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(tensorBytes(path.join(dir, "cut/last.safetensors"))).toEqual(tensorBytes(path.join(dir, "full/last.safetensors")));
    expect(updates(dir, "cut")).toBe(updates(dir, "full"));
    const ep = (run: string) => readFileSync(path.join(dir, run, "epochs.csv"), "utf8").trim().split("\n").map((l) => l.split(",").slice(0, 3).join(","));
    expect(ep("cut")).toEqual(ep("full"));
  }, 120_000);
});
