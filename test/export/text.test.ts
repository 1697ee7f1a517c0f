import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/cli.js";
import { closeTo } from "../helpers/compare.js";
import { freshState, openSession } from "../../src/export/ort.js";
import { loadCheckpoint } from "../../src/io/checkpoint.js";
import { primeTokens, tokenize } from "../../src/data/text.js";
import { exportBytes, ort, rnnHere, runOrt } from "./helpers.js";

/**
 * SPEC §12's export of a text model: int64 `tokens` [batch, time] in (a Gather of encoder.weight),
 * softmax `p` [batch, time, V] out, hn (cn). onnxruntime's p must give eval's loss and accuracy
 * (−mean log p of each next token, its arg-max) and sample --probs' distribution after a prime.
 * The checkpoints are the PyTorch-trained ones of test/golden/text (float64, exported as float32).
 */
const GOLDEN = path.resolve(import.meta.dirname, "../golden/text");
const cases = [
  { name: "char-elman-data", text: "other.txt", prime: "ab" },
  { name: "char-lstm2-unicode-split", text: "input.txt", prime: "Üb" },
  { name: "word-gru-valfile-clip", text: "val.txt", prime: "the dog" },
];
const TOL = 2e-5; // float32 weights and arithmetic against the float64 engine

describe.skipIf(!ort)("ONNX export of text models agrees with rnn eval and rnn sample in onnxruntime", () => {
  const dir = tempDir("rnn-onnx-text-");
  it.each(cases)("$name", async ({ name, text, prime }) => {
    const ckFile = path.join(GOLDEN, name, "expected_last.safetensors");
    const ck = loadCheckpoint(ckFile), vocab = ck.vocab!, V = vocab.length;
    const session = await openSession(ort!, await exportBytes(ckFile, path.join(dir, `${name}.onnx`)), 1);
    const tokens = (ids: Int32Array, B = 1) => new ort!.Tensor("int64", BigInt64Array.from({ length: B * ids.length }, (_, i) => BigInt(ids[i % ids.length])), [B, ids.length]);
    const state = (B: number) => Object.fromEntries(Object.entries(freshState(ort!, ck.shape)).map(([k, t]) => [k, new ort!.Tensor("float32", new Float32Array(t.data.length * B), [ck.shape.layers, B, ck.shape.hiddenSize])]));

    // eval: the text as one sequence from the zero state (two identical rows: the batch axis too).
    const file = path.join(GOLDEN, name, text);
    const ids = tokenize(readFileSync(file), ck.config.data.tokens, file, vocab).ids;
    const out = await runOrt(session, { tokens: tokens(ids, 2), ...state(2) });
    expect(out.p.dims).toEqual([2, ids.length, V]);
    let nll = 0, correct = 0;
    for (let t = 0; t + 1 < ids.length; t++) {
      const row = out.p.data.subarray(t * V, (t + 1) * V);
      nll -= Math.log(row[ids[t + 1]]);
      if (row.indexOf(Math.max(...row)) === ids[t + 1]) correct++;
    }
    closeTo("row 2 = row 1", out.p.data.subarray(ids.length * V), out.p.data.subarray(0, ids.length * V), 0);
    const ev = await rnnHere(["eval", ckFile, "--data", file, "--json"]);
    expect(ev.code, ev.stderr).toBe(0);
    const m = JSON.parse(ev.stdout) as { loss: number; n: number; accuracy: number };
    expect(m.n).toBe(ids.length - 1);
    closeTo("eval loss", [nll / m.n], [m.loss], TOL);
    expect(correct / m.n).toBeCloseTo(m.accuracy, 12);

    // sample --probs: the distribution after the prime is the last step's p.
    const pr = primeTokens(prime, ck.config.data.tokens, vocab);
    const last = (await runOrt(session, { tokens: tokens(pr), ...state(1) })).p.data.subarray((pr.length - 1) * V);
    const sp = await rnnHere(["sample", ckFile, "--prime", prime, "--probs", "--temperature", "1"]);
    expect(sp.code, sp.stderr).toBe(0);
    const probs = sp.stdout.trim().split("\n").slice(1).map((l) => Number(l.slice(l.lastIndexOf(",") + 1)));
    expect(probs).toHaveLength(V);
    closeTo("sample --probs", last, probs, TOL);
  });
});
