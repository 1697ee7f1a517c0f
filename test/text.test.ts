import { spawnSync } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { referenceKernels } from "../src/core/kernels.js";
import { loadAddon, nativeKernels } from "../src/kernels/native.js";
import { compareCodePoints, decodeCodePoints, primeTokens, sortedVocabulary, streamBatch, tokenize } from "../src/data/text.js";
import { BIN, rnn, tempDir } from "./helpers/cli.js";

/** SPEC §12's text data, `rnn sample` and their refusals (the numbers are in golden-text.test.ts). */
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const MODEL_DIR = path.resolve(import.meta.dirname, "golden/text/char-lstm2-unicode-split");
const MODEL = path.join(MODEL_DIR, "expected_last.safetensors");
const WORD_MODEL = path.resolve(import.meta.dirname, "golden/text/word-gru-valfile-clip/expected_last.safetensors");

describe("text config", () => {
  const base = { data: { text: "a.txt", tokens: "char" } };
  it("fills a text model's keys: classification of the next token, embedding = hiddenSize", () => {
    const c = validateConfig({ ...base, model: { hiddenSize: 9 } }, "c.yaml");
    expect([c.task, c.targetsAt, c.model.embedding, c.data.train, c.data.inputs]).toEqual(["classification", "every", 9, "a.txt", []]);
  });
  it.each([
    ["data.train", { data: { ...base.data, train: "x.csv" } }],
    ["data.inputs", { data: { ...base.data, inputs: ["x"] } }],
    ["data.sequenceColumn", { data: { ...base.data, sequenceColumn: "id" } }],
    ["data.shift", { data: { ...base.data, shift: 1 } }],
    ["data.normalize", { data: { ...base.data, normalize: false } }],
    ["data.missing", { data: { ...base.data, missing: {} } }],
    ["task", { ...base, task: "classification" }],
    ["targetsAt", { ...base, targetsAt: "every" }],
  ])("refuses %s beside data.text, naming it", (key, cfg) => {
    expect(() => validateConfig(cfg, "c.yaml")).toThrow(`c.yaml: ${key}: is not a key of a data.text model`);
  });
  it("model.embedding is a text model's only", () => {
    expect(() => validateConfig({ data: { train: "a.csv", inputs: ["x"], targets: ["y"] }, model: { embedding: 4 } }, "c.yaml")).toThrow("model.embedding");
  });
  it("a CSV config still needs train, inputs and targets", () => {
    expect(() => validateConfig({ data: { inputs: ["x"], targets: ["y"] } }, "c.yaml")).toThrow("data.train: is required");
  });
});

describe("text reading", () => {
  it("decodes code points, an astral one as one token; a bad byte is named by its offset", () => {
    expect(Array.from(decodeCodePoints(utf8("aé😀\n"), "t"))).toEqual([0x61, 0xe9, 0x1f600, 0x0a]);
    expect(() => decodeCodePoints(Uint8Array.of(0x61, 0x62, 0xc3, 0x28), "t.txt")).toThrow("t.txt: not valid UTF-8 at byte offset 3");
    expect(() => decodeCodePoints(Uint8Array.of(0x41, 0xc0, 0xaf), "t")).toThrow("byte offset 1"); // overlong
    expect(() => decodeCodePoints(Uint8Array.of(0xed, 0xa0, 0x80), "t")).toThrow("byte offset 1"); // a surrogate
    expect(() => decodeCodePoints(Uint8Array.of(0x41, 0xe2, 0x82), "t")).toThrow("byte offset 1"); // cut short
  });
  it("sorts the vocabulary by code point, not UTF-16 unit, case or first appearance", () => {
    const t = tokenize(utf8("b😀\uff01Ba"), "char", "t");
    expect(sortedVocabulary([t])).toEqual(["B", "a", "b", "\uff01", "😀"]);
    expect(Array.from(t.ids)).toEqual([2, 4, 3, 0, 1]);
    expect(compareCodePoints("\uff01", "😀")).toBeLessThan(0);
  });
  it("splits words as word_language_model's data.py: str.split() per line, then <eos>", () => {
    const t = tokenize(utf8("a  b\tc\r\n\nd\u00a0e\u3000f\ng"), "word", "t");
    expect(Array.from(t.ids, (i) => t.types[i])).toEqual(["a", "b", "c", "<eos>", "<eos>", "d", "e", "f", "<eos>", "g", "<eos>"]);
  });
  it("names the line and column of a token outside the vocabulary", () => {
    expect(() => tokenize(utf8("ab\nabz"), "char", "x.txt", ["\n", "a", "b"])).toThrow('x.txt: line 2, column 3: token "z"');
    expect(() => tokenize(utf8("a b\nb  zz a"), "word", "x.txt", ["<eos>", "a", "b"])).toThrow('x.txt: line 2, column 4: token "zz"');
  });
  it("reads a prime: code points, or words with <eos> for each line break", () => {
    expect(Array.from(primeTokens("ab", "char", ["a", "b"]))).toEqual([0, 1]);
    expect(Array.from(primeTokens("a b\nb", "word", ["<eos>", "a", "b"]))).toEqual([1, 2, 0, 2]);
    expect(() => primeTokens("aq", "char", ["a"])).toThrow('--prime: token "q"');
  });
  it("batchifies rows (token t, token t+1) into contiguous streams; labels are the next ids", () => {
    // 11 tokens in 3 streams of 3: rows 0–8; row 8's target is token 9, which exists.
    const ids = Int32Array.from({ length: 11 }, (_, i) => i);
    const b = streamBatch(ids, 3, 11);
    expect([b.T, b.B]).toEqual([3, 3]);
    expect(Array.from(b.x)).toEqual([0, 3, 6, 1, 4, 7, 2, 5, 8]);
    expect(b.targets.task === "classification" && Array.from(b.targets.labels)).toEqual([1, 4, 7, 2, 5, 8, 3, 6, 9]);
    // Without a remainder the very last row has no target.
    const c = streamBatch(ids.subarray(0, 9), 3, 11);
    expect(c.targets.task === "classification" && Array.from(c.targets.labels).at(-1)).toBe(-1);
    // A rank's share: streams [1, 3).
    expect(Array.from(streamBatch(ids, 3, 11, 1, 3).x)).toEqual([3, 6, 4, 7, 5, 8]);
  });
});

describe("embedding kernels", () => {
  const addon = loadAddon();
  it.skipIf(addon instanceof Error)("native gather and scatter-add give the reference's bits (padding ids skipped)", () => {
    const k = nativeKernels(addon as Exclude<typeof addon, Error>);
    for (const F of [Float64Array, Float32Array]) {
      const w = new F(20), ids = Int32Array.of(3, -1, 0, 4, 3, 1);
      for (let i = 0; i < 20; i++) w[i] = Math.sin(i) * 3;
      const a = new F(6 * 4), b = new F(6 * 4);
      referenceKernels.gatherRows(a, 0, w, ids, 0, 6, 4);
      k.gatherRows(b, 0, w, ids, 0, 6, 4);
      expect(Array.from(b)).toEqual(Array.from(a));
      const ga = new F(20).fill(0.5), gb = new F(20).fill(0.5);
      referenceKernels.scatterAddRows(ga, a, 0, ids, 0, 6, 4);
      k.scatterAddRows(gb, a, 0, ids, 0, 6, 4);
      expect(Array.from(gb)).toEqual(Array.from(ga));
      expect(() => k.gatherRows(b, 0, w, Int32Array.of(5), 0, 1, 4)).toThrow("outside the table");
    }
  });
  it.skipIf(addon instanceof Error)("native softmax cross-entropy equals the reference (sum, count, gradient; unlabelled rows zero)", () => {
    const k = nativeKernels(addon as Exclude<typeof addon, Error>);
    const rows = 300, C = 70, y = new Float64Array(rows * C + 5);
    for (let i = 0; i < y.length; i++) y[i] = 4 * Math.sin(i * 1.7);
    const lab = Int32Array.from({ length: rows + 2 }, (_, r) => (r % 7 === 3 ? -1 : (r * 13) % C));
    const [a, b] = [new Float64Array(2), new Float64Array(2)];
    const [da, db] = [new Float64Array(rows * C + 3).fill(9), new Float64Array(rows * C + 3).fill(9)];
    referenceKernels.softmaxCrossEntropy(y, 5, lab, 2, rows, C, da, 3, a);
    k.softmaxCrossEntropy(y, 5, lab, 2, rows, C, db, 3, b);
    expect(b[1]).toBe(a[1]);
    expect(Math.abs(b[0] - a[0])).toBeLessThan(1e-12 * a[0]);
    for (let i = 0; i < da.length; i++) expect(Math.abs(db[i] - da[i]), `dy[${i}]`).toBeLessThan(1e-15);
  });
});

describe("rnn sample and text commands", () => {
  it("same seed, same text bit for bit; another seed, another text", () => {
    const a = rnn(["sample", MODEL, "--prime", "Üb", "--length", "200", "--seed", "3"]);
    const b = rnn(["sample", MODEL, "--prime", "Üb", "--length", "200", "--seed", "3"]);
    const c = rnn(["sample", MODEL, "--prime", "Üb", "--length", "200", "--seed", "4"]);
    expect(a.code, a.stderr).toBe(0);
    expect([...a.stdout].length).toBe(200);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });
  it("draws from the distribution --probs prints (top-k: only those tokens)", () => {
    const probs = rnn(["sample", MODEL, "--prime", "Üb", "--probs", "--temperature", "0.7", "--top-k", "3"]);
    const allowed = new Set(probs.stdout.trim().split("\n").slice(1).map((l) => l.slice(0, l.lastIndexOf(",")).replace(/^"(.*)"$/, "$1")));
    expect(allowed.size).toBe(3);
    // The first token after the prime, over many seeds, is always one of the three.
    for (let s = 0; s < 8; s++) {
      const r = rnn(["sample", MODEL, "--prime", "Üb", "--length", "1", "--temperature", "0.7", "--top-k", "3", "--seed", String(s)]);
      expect(allowed.has(r.stdout), r.stdout).toBe(true);
    }
  });
  it("words print with spaces, <eos> as a line break", () => {
    const r = rnn(["sample", WORD_MODEL, "--length", "40", "--seed", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("<eos>");
    expect(r.stdout.split(/[ \n]/).filter((w) => w !== "").length).toBeLessThanOrEqual(40);
  });
  it.each([
    [["--temperature", "-1"], "--temperature"],
    [["--top-k", "0"], "--top-k"],
    [["--length", "1.5"], "--length"],
    [["--prime", "Üb§"], '--prime: token "§"'],
  ])("refuses %j (exit 2, one line)", (args, msg) => {
    const r = rnn(["sample", MODEL, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(msg);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
  it("a closed pipe ends it quietly", () => {
    const r = spawnSync("bash", ["-c", `set -o pipefail; node ${BIN} sample ${MODEL} --length 5000000 --temperature 0.9 | head -c 20 >/dev/null`], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });
  it("predict and forecast refuse a text model, pointing to eval and sample", () => {
    for (const cmd of [["predict", MODEL, "--data", "x.csv"], ["forecast", MODEL, "--horizon", "2", "--data", "x.csv"]]) {
      const r = rnn(cmd);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("rnn eval");
      expect(r.stderr).toContain("rnn sample");
    }
  });
  it("eval --data names a token outside the vocabulary by line and column", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "t.txt"), "The cat\nsat ~ here\n");
    const r = rnn(["eval", MODEL, "--data", path.join(dir, "t.txt"), "--json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 2, column 5: token "~"');
  });
  it.each([
    ["not UTF-8", Buffer.from([0x61, 0x62, 0x0a, 0xff, 0x61]), "not valid UTF-8 at byte offset 3"],
    ["empty", Buffer.alloc(0), "the text is empty"],
    ["too short", Buffer.from("abcde"), "fewer than training.batchSize 3 × 2"],
  ])("train refuses a text that is %s (exit 2)", (_what, bytes, msg) => {
    const dir = tempDir();
    copyFileSync(path.join(MODEL_DIR, "init.safetensors"), path.join(dir, "init.safetensors"));
    writeFileSync(path.join(dir, "input.txt"), bytes);
    writeFileSync(path.join(dir, "c.yaml"), "data: { text: input.txt }\nmodel: { cell: lstm, hiddenSize: 6 }\ntraining: { batchSize: 3, epochs: 1 }\n");
    const r = rnn(["train", "c.yaml", "--out", "run"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(msg);
  });
});
