import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { DropoutMasks } from "../src/train/dropout.js";
import { rnn, tempDir } from "./helpers/cli.js";
import { sequenceCsv } from "./robustness/util.js";

/**
 * Dropout (SPEC §6). Its masks cannot match PyTorch's random stream, so its semantics are
 * tested here: inverted scaling, fresh masks per window between layers and one per batch on the
 * recurrence, one layer = no between-layer dropout, p = 0 = none, the same seed the same run,
 * validation never drops. The gradient with fixed masks: the grad-check suite (finite differences).
 */
describe("DropoutMasks", () => {
  const H = 64, L = 3, Bg = 12;
  it("drops a fraction p of the units and scales the rest by exactly 1/(1−p)", () => {
    const d = new DropoutMasks(9, 0.3, 0.4, H, L, "float64");
    d.startBatch(1, 0, Bg, 0, Bg);
    const m = d.window(1, 0, 0, 50, Bg, 0, Bg);
    const between = m.between[0]!.subarray(0, 50 * Bg * H), recurrent = m.recurrent[2]!.subarray(0, Bg * H);
    for (const [mask, p] of [[between, 0.3], [recurrent, 0.4]] as const) {
      expect(new Set(mask)).toEqual(new Set([0, 1 / (1 - p)]));
      const dropped = mask.filter((v) => v === 0).length / mask.length;
      expect(Math.abs(dropped - p)).toBeLessThan(4 * Math.sqrt(p * (1 - p) / mask.length));
    }
    expect(m.between[L - 1]).toBeNull(); // the top layer's output goes to the head undropped
  });

  it("masks are fixed by where they are used: a batch's recurrent mask, each window's between-layer masks, each rank's rows", () => {
    const draw = (epoch: number, batch: number, window: number, lo = 0, hi = Bg) => {
      const d = new DropoutMasks(9, 0.5, 0.5, H, 2, "float32");
      d.startBatch(epoch, batch, Bg, lo, hi);
      const m = d.window(epoch, batch, window, 7, Bg, lo, hi);
      return { b: Array.from(m.between[0]!.subarray(0, 7 * (hi - lo) * H)), r: Array.from(m.recurrent[1]!.subarray(0, (hi - lo) * H)) };
    };
    const a = draw(2, 3, 1);
    expect(draw(2, 3, 1)).toEqual(a);
    expect(draw(2, 3, 2).r).toEqual(a.r);         // one recurrent mask for the batch's windows
    expect(draw(2, 3, 2).b).not.toEqual(a.b);     // fresh masks between layers per window
    expect(draw(2, 4, 1).r).not.toEqual(a.r);
    expect(draw(3, 3, 1).r).not.toEqual(a.r);
    // Rows 5..9 of a rank are rows 5..9 of the whole batch's draw, at every step.
    const part = draw(2, 3, 1, 5, 9);
    expect(part.r).toEqual(a.r.slice(5 * H, 9 * H));
    for (let t = 0; t < 7; t++) expect(part.b.slice(t * 4 * H, (t + 1) * 4 * H)).toEqual(a.b.slice((t * Bg + 5) * H, (t * Bg + 9) * H));
  });
});

function run(dir: string, model: string, extra: string[] = []): { tensors: Record<string, string>; epochs: string[][] } {
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(40, 16));
  writeFileSync(path.join(dir, "c.yaml"), `seed: 8
data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.2, normalize: true }
model: { ${model} }
training: { epochs: 3, batchSize: 8, dtype: float64, bptt: { truncate: 6, stride: 3 }, optimizer: { name: adam, lr: 0.02 } }
output: { dir: run }
`);
  const r = rnn(["train", "c.yaml", "--quiet", "--force", ...extra], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const file = path.join(dir, "run/last.safetensors");
  const tensors = Object.fromEntries([...decodeSafetensors(readFileSync(file), file).tensors]
    .filter(([k]) => /^(rnn|head)\./.test(k)).map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));
  const epochs = readFileSync(path.join(dir, "run/epochs.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
  return { tensors, epochs };
}

describe("rnn train with dropout", () => {
  for (const cell of ["elman", "lstm", "gru"]) {
    it(`${cell}: p = 0 is no dropout; one layer has no between-layer dropout; a rate changes the run; the same seed repeats it`, () => {
      const dir = tempDir();
      const plain = run(dir, `cell: ${cell}, hiddenSize: 6, layers: 2`).tensors;
      expect(run(dir, `cell: ${cell}, hiddenSize: 6, layers: 2, dropout: 0, recurrentDropout: 0`).tensors).toEqual(plain);
      const one = run(dir, `cell: ${cell}, hiddenSize: 6, layers: 1`).tensors;
      expect(run(dir, `cell: ${cell}, hiddenSize: 6, layers: 1, dropout: 0.5`).tensors).toEqual(one);
      const dropped = run(dir, `cell: ${cell}, hiddenSize: 6, layers: 2, dropout: 0.3, recurrentDropout: 0.2`).tensors;
      expect(dropped).not.toEqual(plain);
      expect(run(dir, `cell: ${cell}, hiddenSize: 6, layers: 2, dropout: 0.3, recurrentDropout: 0.2`).tensors).toEqual(dropped);
      expect(run(dir, `cell: ${cell}, hiddenSize: 6, layers: 2, dropout: 0.3, recurrentDropout: 0.2`, ["--seed", "9"]).tensors).not.toEqual(dropped);
      expect(run(dir, `cell: ${cell}, hiddenSize: 6, layers: 1, recurrentDropout: 0.2`).tensors).not.toEqual(one);
    });
  }

  it("validation never drops: val_loss is what rnn eval computes on the saved weights; resuming continues the masks", () => {
    const dir = tempDir();
    const model = "cell: gru, hiddenSize: 6, layers: 2, dropout: 0.4, recurrentDropout: 0.3";
    const whole = run(dir, model);
    const ev = rnn(["eval", "run/last.safetensors", "--json"], { cwd: dir });
    expect((JSON.parse(ev.stdout) as { loss: number }).loss).toBe(Number(whole.epochs[3][2]));
    run(dir, model, ["--set", "training.epochs=1"]);
    const r = rnn(["train", "c.yaml", "--quiet", "--resume", "run/last.safetensors"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(dir, "run/last.safetensors");
    const resumed = Object.fromEntries([...decodeSafetensors(readFileSync(file), file).tensors]
      .filter(([k]) => /^(rnn|head)\./.test(k)).map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));
    expect(resumed).toEqual(whole.tensors);
  });
});
