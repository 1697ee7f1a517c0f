/**
 * Property tests (fast-check, fixed seed, bounded runs): random and mutated checkpoints, CSVs,
 * configs and config files go straight into the loaders. Each either succeeds or fails with
 * an InputError (exit 2) — never another error type, never a hang — and what they accept is
 * usable: an accepted checkpoint runs a forward pass, an accepted config survives the round
 * trip through a checkpoint's metadata, and a CSV reads the same however its bytes are cut
 * into chunks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Network } from "../../src/core/network.js";
import { alloc } from "../../src/core/tensor.js";
import { loadConfig, validateConfig } from "../../src/config/load.js";
import { readSequences, type ColumnSpec, type RawSequence } from "../../src/data/table.js";
import { InputError } from "../../src/errors.js";
import { copyParams, loadCheckpoint } from "../../src/io/checkpoint.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { cleanUp, joinSafetensors, splitSafetensors, trainedSetup, type Setup } from "./util.js";

/**
 * Fixed in CI; FUZZ_SEED / FUZZ_RUNS explore further (e.g. FUZZ_RUNS=20000 FUZZ_SEED=$RANDOM),
 * FUZZ_NO_SHRINK=1 reports the first failure as found, and FUZZ_TRACE=<file> writes each
 * checkpoint-metadata input there before it runs (to find the one that hangs).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 42);
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
/** Inputs tried and accepted, per property, for the report. */
const tried: Record<string, number> = {};
const accepted: Record<string, number> = {};
let current = "";
const count = (name: string): void => { tried[name] = (tried[name] ?? 0) + 1; current = name; };
const ok = (): void => { accepted[current] = (accepted[current] ?? 0) + 1; };

/** Runs f; passes when it returns or throws an InputError, fails on any other throw. */
function returnsOrInputError<T>(f: () => T): T | InputError {
  try {
    return f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw new Error(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not an InputError`, { cause: e });
  }
}
async function resolvesOrInputError<T>(p: () => Promise<T>): Promise<T | InputError> {
  try {
    return await p();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw new Error(`rejected with ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not an InputError`, { cause: e });
  }
}
/** An InputError's message is one line (main prints it as `rnn: <message>`). */
function oneLine(e: InputError): void {
  expect(e.message).not.toMatch(/[\r\n]/);
  expect(e.message.length).toBeLessThan(1000);
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/** A byte-level edit of a file; positions are fractions of its length. */
type ByteEdit =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; n: number }
  | { kind: "length"; value: bigint };

const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: frac, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: frac }),
  fc.record({ kind: fc.constant("insert" as const), at: frac, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: frac, n: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant("length" as const), value: fc.oneof(fc.bigInt({ min: 0n, max: 4096n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })) }),
);

function applyBytes(buf: Buffer, e: ByteEdit): Buffer {
  const at = e.kind === "length" ? 0 : Math.floor(e.at * buf.length);
  switch (e.kind) {
    case "flip": { const b = Buffer.from(buf); if (b.length) b[at] ^= 1 << e.bit; return b; }
    case "set": { const b = Buffer.from(buf); if (b.length) b[at] = e.value; return b; }
    case "truncate": return buf.subarray(0, at);
    case "insert": return Buffer.concat([buf.subarray(0, at), e.bytes, buf.subarray(at)]);
    case "delete": return Buffer.concat([buf.subarray(0, at), buf.subarray(at + e.n)]);
    case "length": { const b = Buffer.from(buf); if (b.length >= 8) b.writeBigUInt64LE(e.value, 0); return b; }
  }
}

/** Values a hostile file might hold where a number, string or list is expected. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1, 0.5, 2 ** 31, 2 ** 53, 2 ** 64, -(2 ** 53), 1e308, -1e-308, "", "F16", "F32", "F64", "NaN", "Infinity", "1e999",
    [], [0], [0, 0], [-1, 4], [4, 0], [0, 2 ** 60], null, true, {}, "rnn-checkpoint/1", "sgd", "adam", "elman", "lstm", "gru", "relu"),
);

/** A structural edit of a JSON value: a path of key/element picks (indices mod size), then set, delete or add. */
interface JsonEdit { path: number[]; op: "set" | "delete" | "add"; key: string; value: unknown }
const jsonEdit: fc.Arbitrary<JsonEdit> = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  op: fc.constantFrom("set" as const, "set" as const, "delete" as const, "add" as const),
  key: fc.constantFrom("x", "epochs", "hiddenSize", "__proto__", "constructor", "dtype", "shape", "data_offsets", "format", "config"),
  value: oddValue,
});

function applyJson(root: unknown, e: JsonEdit): unknown {
  const top = JSON.parse(JSON.stringify(root)) as unknown;
  let node = top;
  for (let i = 0; i < e.path.length; i++) {
    if (typeof node !== "object" || node === null) return top;
    const keys = Array.isArray(node) ? node.map((_, k) => k) : Object.keys(node);
    const rec = node as Record<string | number, unknown>;
    const last = i === e.path.length - 1 || keys.length === 0;
    if (last) {
      if (e.op === "add" && !Array.isArray(node)) Object.defineProperty(rec, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
      else if (keys.length === 0) return top;
      else if (e.op === "delete" && !Array.isArray(node)) delete rec[keys[e.path[i] % keys.length]];
      else rec[keys[e.path[i] % keys.length]] = e.value;
      return top;
    }
    node = rec[keys[e.path[i] % keys.length]];
  }
  return top;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

let setup: Setup;
let scratch: string;
let good: Buffer;
beforeAll(async () => {
  setup = await trainedSetup();
  scratch = mkdtempSync(path.join(tmpdir(), "rnn-fuzz-"));
  good = readFileSync(setup.ckpt);
}, 60_000);
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  cleanUp(setup?.dir);
  const lines = Object.entries(tried).map(([k, n]) => `  ${k}: ${n} tried, ${accepted[k] ?? 0} accepted`);
  console.info(`fuzz (seed ${SEED}): ${Object.values(tried).reduce((a, b) => a + b, 0)} inputs\n${lines.join("\n")}`);
});

/** loadCheckpoint on bytes; when it accepts them, the model must also run a forward pass. */
function loadAndRun(bytes: Buffer, name: string): void {
  const file = path.join(scratch, `${name}.safetensors`);
  writeFileSync(file, bytes);
  const r = returnsOrInputError(() => loadCheckpoint(file));
  if (r instanceof InputError) { oneLine(r); return; }
  ok();
  const net = new Network(r.shape, r.dtype);
  copyParams(r, net.layout, net.params);
  const T = 3, x = alloc(r.dtype, T * r.shape.inputSize).fill(0.5);
  net.forward(x, 0, net.zeroState(1), T, 1);
  for (const v of net.head.y.subarray(0, T * r.shape.outputSize)) expect(Number.isFinite(v), "an accepted checkpoint computes finite outputs").toBe(true);
}

describe("fuzz: safetensors and checkpoints", () => {
  it("random bytes: decodeSafetensors returns or throws InputError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), fc.boolean(), (bytes, withLength) => {
      count("random bytes → decodeSafetensors");
      const b = Buffer.from(bytes);
      // Half the time, a header length that fits, so the JSON parser is reached.
      if (withLength && b.length >= 8) b.writeBigUInt64LE(BigInt(b.length - 8 - (b[0] % Math.max(1, b.length - 8))), 0);
      const r = returnsOrInputError(() => decodeSafetensors(b, "f.safetensors"));
      if (r instanceof InputError) oneLine(r); else ok();
    }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });

  it("random header JSON around real data: decodeSafetensors returns or throws InputError", () => {
    const { data } = splitSafetensors(good);
    const desc = fc.record({ dtype: oddValue, shape: oddValue, data_offsets: oddValue }, { requiredKeys: [] });
    fc.assert(fc.property(fc.dictionary(fc.oneof(fc.constantFrom("__metadata__", "head.bias", "rnn.weight_ih_l0"), fc.string()), fc.oneof(desc, oddValue), { maxKeys: 6 }), (header) => {
      count("random header → decodeSafetensors");
      const r = returnsOrInputError(() => decodeSafetensors(joinSafetensors(header, data), "f.safetensors"));
      if (r instanceof InputError) oneLine(r); else ok();
    }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });

  it("byte mutations of a real checkpoint: loadCheckpoint returns (and the model runs) or throws InputError", () => {
    fc.assert(fc.property(fc.array(byteEdit, { minLength: 1, maxLength: 4 }), (edits) => {
      count("byte mutations → loadCheckpoint");
      loadAndRun(edits.reduce(applyBytes, good), "bytes");
    }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });

  it("header and metadata mutations of a real checkpoint: loadCheckpoint returns (and the model runs) or throws InputError", () => {
    const parts = splitSafetensors(good);
    const configEdit = fc.array(jsonEdit, { minLength: 1, maxLength: 3 });
    fc.assert(fc.property(fc.array(jsonEdit, { maxLength: 3 }), fc.option(configEdit), fc.option(fc.constantFrom("optimizer", "position", "normalization", "classes", "best_val_loss", "epoch", "step")), fc.option(oddValue),
      (edits, cfgEdits, metaKey, metaValue) => {
        count("header/metadata mutations → loadCheckpoint");
        if (process.env.FUZZ_TRACE) writeFileSync(process.env.FUZZ_TRACE, JSON.stringify({ edits, cfgEdits, metaKey, metaValue }, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)));
        let header = edits.reduce((h: unknown, e) => applyJson(h, e), parts.header) as Record<string, unknown>;
        const meta = header.__metadata__;
        if (typeof meta === "object" && meta !== null && !Array.isArray(meta)) {
          const m = { ...(meta as Record<string, unknown>) };
          if (cfgEdits && typeof m.config === "string") {
            try { m.config = JSON.stringify(cfgEdits.reduce((c: unknown, e) => applyJson(c, e), JSON.parse(m.config))); } catch { /* not JSON already */ }
          }
          if (metaKey) m[metaKey] = typeof metaValue === "string" ? metaValue : JSON.stringify(metaValue ?? null);
          header = { ...header, __metadata__: m };
        }
        loadAndRun(joinSafetensors(header, parts.data), "meta");
      }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });
});

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

const regression: ColumnSpec = { inputs: ["x"], targets: ["y"], sequenceColumn: "id", task: "regression" };
const classification: ColumnSpec = { inputs: ["x"], targets: ["y"], sequenceColumn: "id", task: "classification" };
const series: ColumnSpec = { inputs: ["x"], targets: ["y"], sequenceColumn: null, task: "regression" };

const validCsv = "id,x,y\n" + Array.from({ length: 24 }, (_, i) => `s${Math.floor(i / 5)},${(i * 0.37 - 4).toFixed(3)},${i % 4 === 0 ? "" : (i * 0.11).toFixed(2)}`).join("\n") + "\n";
/** Characters that matter to a CSV reader, and some that test the decoder. */
const csvChar = fc.constantFrom(",", ",", '"', '"', "\n", "\n", "\r", "\r\n", "\uFEFF", "\0", " ", "\t", "a", "1", "0", ".", "e", "-", "+", "é", "𝔘", "NaN", "Infinity", "1e999");
type TextEdit = { kind: "insert"; at: number; s: string } | { kind: "delete"; at: number; n: number } | { kind: "dupline"; at: number } | { kind: "swaplines"; a: number; b: number };
const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: frac, s: fc.array(csvChar, { minLength: 1, maxLength: 4 }).map((a) => a.join("")) }),
  fc.record({ kind: fc.constant("delete" as const), at: frac, n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant("dupline" as const), at: frac }),
  fc.record({ kind: fc.constant("swaplines" as const), a: frac, b: frac }),
);
function applyText(t: string, e: TextEdit): string {
  if (e.kind === "insert") { const at = Math.floor(e.at * (t.length + 1)); return t.slice(0, at) + e.s + t.slice(at); }
  if (e.kind === "delete") { const at = Math.floor(e.at * t.length); return t.slice(0, at) + t.slice(at + e.n); }
  const lines = t.split("\n");
  if (e.kind === "dupline") { const i = Math.floor(e.at * lines.length); lines.splice(i, 0, lines[i]); return lines.join("\n"); }
  const a = Math.floor(e.a * lines.length), b = Math.floor(e.b * lines.length);
  [lines[a], lines[b]] = [lines[b], lines[a]];
  return lines.join("\n");
}

/** A read's outcome in comparable form: the sequences, or the error message. */
type Outcome = { ok: { id: string | null; line: number; x: number[]; y: number[] | null; labels: (string | null)[] | null }[] } | { error: string };
async function read(chunks: Buffer[], spec: ColumnSpec): Promise<Outcome> {
  const r = await resolvesOrInputError(() => readSequences(Readable.from(chunks), "f.csv", spec));
  if (r instanceof InputError) { oneLine(r); return { error: r.message }; }
  ok();
  for (const s of r) for (const v of s.x) expect(Number.isFinite(v), "accepted inputs are finite").toBe(true);
  return { ok: r.map((s: RawSequence) => ({ id: s.id, line: s.line, x: Array.from(s.x), y: s.y ? Array.from(s.y) : null, labels: s.labels })) };
}
/** Cuts bytes at the given fractions (multi-byte characters and the BOM can be split). */
function cut(b: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((f) => Math.floor(f * b.length)))].sort((p, q) => p - q);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, b.length]) { if (p > prev) out.push(b.subarray(prev, p)); prev = p; }
  return out.length ? out : [b];
}

describe("fuzz: CSV", () => {
  it("random CSV-ish text: readSequences resolves or rejects with InputError", async () => {
    await fc.assert(fc.asyncProperty(fc.array(csvChar, { maxLength: 200 }).map((a) => a.join("")), fc.constantFrom(regression, classification, series), async (text, spec) => {
      count("random text → readSequences");
      await read([Buffer.from("id,x,y\n" + text)], spec);
      await read([Buffer.from(text)], spec);
    }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });

  it("mutations of a valid CSV: readSequences resolves or rejects with InputError, the same however the bytes are chunked", async () => {
    await fc.assert(fc.asyncProperty(fc.array(textEdit, { minLength: 1, maxLength: 5 }), fc.array(frac, { maxLength: 6 }), fc.constantFrom(regression, classification, series),
      async (edits, cuts, spec) => {
        count("CSV mutations → readSequences (whole and chunked)");
        const bytes = Buffer.from(edits.reduce(applyText, validCsv));
        const whole = await read([bytes], spec);
        const chunked = await read(cut(bytes, cuts), spec);
        expect(chunked).toEqual(whole);
      }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });
});

// ---------------------------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------------------------

const validConfig = {
  seed: 7,
  data: { train: "d.csv", validation: null, validationSplit: 0.1, sequenceColumn: "id", inputs: ["x"], targets: ["y"], shift: 0, normalize: true },
  task: "regression", targetsAt: "every",
  model: { cell: "elman", hiddenSize: 32, layers: 1, activation: "tanh", bias: true, init: null },
  training: { epochs: 20, batchSize: 16, shuffle: true, dtype: "float32", bptt: { truncate: 20, stride: 20 }, optimizer: { name: "adam", lr: 0.001 }, clip: { norm: 5 } },
  output: { dir: "runs/x" },
};

describe("fuzz: configs", () => {
  it("mutations of a valid config: validateConfig returns or throws InputError; what it returns survives a checkpoint's round trip", () => {
    fc.assert(fc.property(fc.array(jsonEdit, { minLength: 1, maxLength: 4 }), (edits) => {
      count("config mutations → validateConfig");
      const value = edits.reduce((c: unknown, e) => applyJson(c, e), validConfig);
      const r = returnsOrInputError(() => validateConfig(value, "c.yaml"));
      if (r instanceof InputError) { oneLine(r); expect(r.message).toMatch(/^c\.yaml: /); return; }
      ok();
      // A checkpoint stores the config as JSON and validates it again when loaded.
      expect(validateConfig(JSON.parse(JSON.stringify(r)), "c.yaml")).toEqual(r);
    }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });

  it("random values anywhere: validateConfig returns or throws InputError", () => {
    fc.assert(fc.property(fc.oneof(fc.anything({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 4 })), (value) => {
      count("random values → validateConfig");
      const r = returnsOrInputError(() => validateConfig(value, "c.yaml"));
      if (r instanceof InputError) oneLine(r); else ok();
    }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });

  it("random YAML-ish config files: loadConfig resolves or rejects with InputError", async () => {
    const yamlChar = fc.constantFrom("a", ":", " ", "  ", "\n", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!", "#", "'", '"', "|", ">", "data", "train", "inputs", "1", "-1", "1e9", "~", "null", "\t", "%YAML", "---", "...", "\uFEFF");
    await fc.assert(fc.asyncProperty(fc.array(yamlChar, { maxLength: 120 }).map((a) => a.join("")), fc.constantFrom("c.yaml", "c.json"), async (text, name) => {
      count("random text → loadConfig");
      const file = path.join(scratch, name);
      writeFileSync(file, text);
      const r = await resolvesOrInputError(() => loadConfig(file));
      if (r instanceof InputError) oneLine(r); else ok();
    }), { seed: SEED, numRuns: RUNS, endOnFailure: process.env.FUZZ_NO_SHRINK !== undefined });
  });
});
