/**
 * Column names that are also the names of Object.prototype's members (issue 24, item 3): a
 * column named `__proto__`, `constructor`, `toString` or `hasOwnProperty` is a column like any
 * other — its normalisation reaches the checkpoint, and eval, predict, --resume and export read it.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { cleanUp, cli, tempDir } from "./util.js";

describe("columns named like Object.prototype's members", () => {
  const dir = tempDir();
  afterAll(() => cleanUp(dir));
  const names = ["__proto__", "constructor", "toString", "hasOwnProperty"];

  it("train, then eval, predict, --resume and export all accept the checkpoint (was: a lost run)", async () => {
    const lines = [`id,${names.join(",")}`];
    for (let s = 0; s < 12; s++) for (let t = 0; t < 6; t++) { const x = ((s * 7 + t * 3) % 11) / 11; lines.push(`s${s},${x},${2 * x},${3 - x},${x - 0.5}`); }
    writeFileSync(path.join(dir, "d.csv"), lines.join("\n") + "\n");
    writeFileSync(path.join(dir, "c.yaml"), `seed: 1
data: { train: d.csv, sequenceColumn: id, inputs: [__proto__, constructor, toString], targets: [hasOwnProperty], validationSplit: 0.2, normalize: true }
model: { hiddenSize: 4 }
training: { epochs: 2, batchSize: 4 }
output: { dir: run }
`);
    const ok = async (args: string[]): Promise<void> => {
      const r = await cli(args, { cwd: dir, timeoutMs: 60_000 });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
    };
    await ok(["train", "c.yaml", "--quiet"]);
    const ck = loadCheckpoint(path.join(dir, "run/last.safetensors"));
    for (const c of names) expect(Object.hasOwn(ck.normalization ?? {}, c), c).toBe(true);
    await ok(["eval", "run/last.safetensors", "--data", "d.csv"]);
    await ok(["predict", "run/last.safetensors", "--data", "d.csv"]);
    await ok(["train", "c.yaml", "--quiet", "--resume", "run/last.safetensors", "--set", "training.epochs=3"]);
    await ok(["export", "run/last.safetensors", "--onnx", "m.onnx"]);
  });
});
