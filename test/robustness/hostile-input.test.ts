/**
 * Hostile input, by hand: every bad CSV, config and checkpoint below goes through the real CLI
 * (`train`, `eval`, `predict`) with a time bound, and must come back as exit 2 with exactly
 * one line on stderr naming the file and the fault (line/column, key, tensor), no stack
 * trace, nothing on stdout (predict may print the rows before a bad one), no hang. Inputs
 * that are unusual but valid (BOM, CRLF, quoted fields, thousands of columns) must work.
 * Checkpoints whose header claims more than the file holds are refused without allocating
 * the claim: those runs are measured (peak RSS) as well as timed.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import {
  cleanUp, cli, expectRejected, joinSafetensors, sequenceCsv, smallConfig, splitSafetensors, trainedSetup,
  type CliRun, type Setup, type StParts,
} from "./util.js";

/** Every CLI run here is bounded by this; a hang fails its case, nothing else. */
const BOUND_MS = 15_000;
/** Peak RSS allowed for refusing a checkpoint that claims a huge size (Node alone is ~60 MB). */
const MAX_REFUSAL_RSS_KB = 160 * 1024;

let setup: Setup;
let caseNo = 0;
/** A fresh folder inside the set-up for one case's files. */
function caseDir(files: Record<string, string | Buffer> = {}): string {
  const dir = path.join(setup.dir, "cases", String(++caseNo));
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}
const run = (args: string[], cwd: string, input?: string, measure = false): Promise<CliRun> =>
  cli(args, { cwd, input, timeoutMs: BOUND_MS, measure });

beforeAll(async () => { setup = await trainedSetup(); }, 60_000);
afterAll(() => cleanUp(setup?.dir));

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

const rng = new Rng(1234);
const garbage = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rng.uniform() * 256)));
const MIB = 1 << 20;

/** Bad CSVs (columns id,x,y as the set-up's model reads them) and how the message names the fault. */
const badCsv: { name: string; text: string | Buffer; where: RegExp; goodRows?: number }[] = [
  { name: "empty file", text: "", where: /empty file: a header row is required/ },
  { name: "header only", text: "id,x,y\n", where: /no data rows/ },
  { name: "unclosed quote", text: 'id,x,y\na,1,2\n"b,1,2\n', where: /line 3: Quote Not Closed/, goodRows: 1 },
  { name: "text after a closing quote", text: 'id,x,y\na,"1"x,2\n', where: /line 2: Invalid Closing Quote/ },
  { name: "quote inside an unquoted field", text: 'id,x,y\na,1,2\na,1"",2\n', where: /line 3: Invalid Opening Quote/, goodRows: 1 },
  { name: "truncated in the middle of a row", text: "id,x,y\na,1,2\na,0.5,0.25\na,0.", where: /line 4: 2 fields, the header has 3/, goodRows: 2 },
  { name: "truncated inside a quoted field", text: 'id,x,y\na,1,2\n"a', where: /line 3: Quote Not Closed/, goodRows: 1 },
  { name: "ragged: short row", text: "id,x,y\na,1,2\na,1\n", where: /line 3: 2 fields, the header has 3/, goodRows: 1 },
  { name: "ragged: long row", text: "id,x,y\na,1,2\na,1,2,3\n", where: /line 3: 4 fields, the header has 3/, goodRows: 1 },
  { name: "non-numeric input", text: "id,x,y\na,1,2\na,abc,2\n", where: /line 3, column "x": "abc" is not a finite decimal number/, goodRows: 1 },
  { name: "Infinity", text: "id,x,y\na,Infinity,2\n", where: /line 2, column "x": "Infinity"/ },
  { name: "NaN", text: "id,x,y\na,NaN,2\n", where: /line 2, column "x": "NaN"/ },
  { name: "hex number", text: "id,x,y\na,0x1F,2\n", where: /line 2, column "x": "0x1F"/ },
  { name: "NUL byte in a number", text: "id,x,y\na,1\0,2\n", where: /line 2, column "x": "1\\u0000"/ },
  { name: "invalid UTF-8 in a number", text: Buffer.concat([Buffer.from("id,x,y\na,1"), Buffer.from([0xff, 0xfe]), Buffer.from(",2\n")]), where: /line 2, column "x"/ },
  { name: "missing input column", text: "id,z,y\na,1,2\n", where: /line 1: missing input column "x"/ },
  { name: "sequence id reappears", text: "id,x,y\na,1,2\nb,1,2\na,1,2\n", where: /line 4, column "id": sequence "a" reappears/, goodRows: 2 },
  { name: "binary garbage", text: garbage(4096), where: /line \d+/ },
  { name: "binary garbage after a valid header", text: Buffer.concat([Buffer.from("id,x,y\n"), garbage(4096)]), where: /line \d+/ },
  { name: "huge single field (1.5 MiB) on a data row", text: `id,x,y\na,1,2\na,${"1".repeat(1.5 * MIB)},2\n`, where: /line 3: Max Record Size/, goodRows: 1 },
  { name: "huge quoted field with line breaks (1.5 MiB)", text: `id,x,y\n"${"ab\n".repeat(0.5 * MIB)}",1,2\n`, where: /line \d+: Max Record Size/ },
  { name: "1.5 MiB without a line break", text: "x".repeat(1.5 * MIB), where: /line 1: Max Record Size/ },
  { name: "thousands of columns, one row ragged", text: `id,x,y,${Array.from({ length: 3000 }, (_, i) => `c${i}`).join(",")}\na,1,2${",0".repeat(3000)}\na,1,2${",0".repeat(2999)}\n`, where: /line 3: 3002 fields, the header has 3003/, goodRows: 1 },
];

describe.concurrent("CSV: rejected through train, eval --data and predict (stdin, or --data for binary files)", () => {
  for (const c of badCsv) {
    it(c.name, async () => {
      const dir = caseDir({
        "bad.csv": c.text,
        "c.yaml": "data: { train: bad.csv, sequenceColumn: id, inputs: [x], targets: [y] }\nmodel: { hiddenSize: 2 }\ntraining: { epochs: 1 }\noutput: { dir: run }\n",
      });
      // predict reads text from stdin, binary from --data (both stream through the same reader).
      const input = typeof c.text === "string" ? c.text : undefined;
      const [train, ev, pred, predStdin] = await Promise.all([
        run(["train", "c.yaml"], dir),
        run(["eval", setup.ckpt, "--data", "bad.csv", "--json"], dir),
        input === undefined ? run(["predict", setup.ckpt, "--data", "bad.csv"], dir) : Promise.resolve(null),
        input !== undefined ? run(["predict", setup.ckpt], dir, input) : Promise.resolve(null),
      ]);
      expectRejected(train, { file: "bad.csv", where: c.where });
      expectRejected(ev, { file: "bad.csv", where: c.where });
      for (const [r, file] of [[pred, "bad.csv"], [predStdin, "<stdin>"]] as const) {
        if (!r) continue;
        expectRejected(r, { file, where: c.where, stdoutAllowed: true });
        // The rows before the bad one are printed, whole, and nothing after it.
        const lines = r.stdout === "" ? [] : r.stdout.split("\n");
        if (r.stdout !== "") expect(lines.at(-1), "output ends with a whole line").toBe("");
        const rows = Math.max(0, lines.length - 2);
        if (r.stdout !== "") expect(lines[0]).toBe("id,t,pred_y");
        expect(rows, "predicted rows before the bad one").toBe(c.goodRows ?? 0);
      }
    });
  }

  it("a directory, /dev/zero and a missing file as data", async () => {
    const dir = caseDir({ "c.yaml": "data: { train: sub, inputs: [x], targets: [y] }\n", "z.yaml": "data: { train: /dev/zero, inputs: [x], targets: [y] }\n" });
    mkdirSync(path.join(dir, "sub"));
    expectRejected(await run(["train", "c.yaml"], dir), { file: "sub", where: /cannot read: EISDIR/ });
    expectRejected(await run(["eval", setup.ckpt, "--data", "sub"], dir), { file: "sub", where: /cannot read: EISDIR/ });
    expectRejected(await run(["predict", setup.ckpt, "--data", "nope.csv"], dir), { file: "nope.csv", where: /cannot read: ENOENT/ });
    const z = await cli(["train", "z.yaml"], { cwd: dir, timeoutMs: BOUND_MS, measure: true });
    expectRejected(z, { file: "/dev/zero", where: /line 1: the file holds NUL bytes: it is binary, not CSV text/ });
    if (z.peakKb !== null) expect(z.peakKb).toBeLessThan(MAX_REFUSAL_RSS_KB);
  });
});

describe.concurrent("CSV: unusual but valid input is accepted", () => {
  it("BOM, CRLF, quoted header and fields, blank lines, no final newline: same predictions as the plain file", async () => {
    const plain = "id,x,y\na,0.5,1\na,-0.25,\nb,1,2\n";
    const fancy = '\uFEFF"id","x",y\r\n"a",0.5,1\r\n\r\na,"-0.25",\r\n"b",1,2';
    const dir = caseDir({ "plain.csv": plain, "fancy.csv": fancy });
    const a = await run(["predict", setup.ckpt, "--data", "plain.csv"], dir);
    const b = await run(["predict", setup.ckpt, "--data", "fancy.csv"], dir);
    const c = await run(["predict", setup.ckpt], dir, fancy);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).toBe(a.stdout);
    expect(a.stdout.trim().split("\n")).toHaveLength(4);
    const e1 = await run(["eval", setup.ckpt, "--data", "plain.csv", "--json"], dir);
    const e2 = await run(["eval", setup.ckpt, "--data", "fancy.csv", "--json"], dir);
    expect(e1.code, e1.stderr).toBe(0);
    expect(e2.stdout).toBe(e1.stdout);
  });

  it("sequence ids with commas, quotes and line breaks round-trip through predict's RFC 4180 output", async () => {
    const ids = ['a,b', 'say "hi"', "two\nlines", "plain"];
    const text = "id,x,y\n" + ids.map((id, i) => `"${id.replace(/"/g, '""')}",${i / 4},1\n`).join("");
    const dir = caseDir({ "q.csv": text });
    const r = await run(["predict", setup.ckpt, "--data", "q.csv"], dir);
    expect(r.code, r.stderr).toBe(0);
    // Read the output back with the project's own reader: the ids come back unchanged.
    const { readSequences } = await import("../../src/data/table.js");
    const { Readable } = await import("node:stream");
    const back = await readSequences(Readable.from([r.stdout]), "out.csv", { inputs: ["t", "pred_y"], targets: null, sequenceColumn: "id", task: "regression" });
    expect(back.map((s) => s.id)).toEqual(ids);
  });

  it("thousands of columns: a 3000-input model trains, evaluates and predicts", async () => {
    const C = 3000, rows = 24;
    const r2 = new Rng(9);
    const names = Array.from({ length: C }, (_, i) => `x${i}`);
    const lines = [`id,${names.join(",")},y`];
    for (let t = 0; t < rows; t++) lines.push(`s${t % 3},${names.map(() => (r2.uniform() - 0.5).toFixed(3)).join(",")},${(r2.uniform()).toFixed(3)}`);
    // Rows of one id must be contiguous: sort by id, keeping order within each.
    const body = lines.slice(1).sort((p, q) => (p.split(",")[0] < q.split(",")[0] ? -1 : p.split(",")[0] > q.split(",")[0] ? 1 : 0));
    const dir = caseDir({
      "wide.csv": [lines[0], ...body].join("\n") + "\n",
      "c.json": JSON.stringify({ data: { train: "wide.csv", sequenceColumn: "id", inputs: names, targets: ["y"], validationSplit: 0.34 }, model: { hiddenSize: 3 }, training: { epochs: 2, batchSize: 2 }, output: { dir: "run" } }),
    });
    const t = await cli(["train", "c.json", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(t.code, t.stderr).toBe(0);
    const ck = path.join(dir, "run/last.safetensors");
    const st = decodeSafetensors(readFileSync(ck), ck);
    expect(st.tensors.get("rnn.weight_ih_l0")?.shape).toEqual([3, C]);
    const e = await run(["eval", ck, "--json"], dir);
    expect(e.code, e.stderr).toBe(0);
    expect(Number.isFinite((JSON.parse(e.stdout) as { loss: number }).loss)).toBe(true);
    const p = await run(["predict", ck, "--data", "wide.csv"], dir);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout.trim().split("\n")).toHaveLength(rows + 1);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------------------------

const DATA = "data: { train: ../../d.csv, sequenceColumn: id, inputs: [x], targets: [y] }";
const billionLaughs = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...Array.from({ length: 9 }, (_, i) => {
    const n = String.fromCharCode(98 + i), p = String.fromCharCode(97 + i);
    return `${n}: &${n} [${Array.from({ length: 9 }, () => `*${p}`).join(",")}]`;
  }),
  "data: { train: *j, inputs: [x], targets: [y] }",
].join("\n") + "\n";

/** Bad configs: file name, content, and what the one line must name. */
const badConfigs: { name: string; file: string; text: string | Buffer; where: RegExp; measure?: boolean }[] = [
  { name: "hiddenSize is a string", file: "c.yaml", text: `${DATA}\nmodel: { hiddenSize: big }\n`, where: /model\.hiddenSize: must be a number, got "big"/ },
  { name: "epochs is fractional", file: "c.yaml", text: `${DATA}\ntraining: { epochs: 1.5 }\n`, where: /training\.epochs: must be an integer/ },
  { name: "inputs is not a list", file: "c.yaml", text: "data: { train: d.csv, inputs: x, targets: [y] }\n", where: /data\.inputs: must be a list/ },
  { name: "shuffle is a string", file: "c.yaml", text: `${DATA}\ntraining: { shuffle: "yes" }\n`, where: /training\.shuffle: must be a boolean/ },
  { name: "unknown optimizer", file: "c.yaml", text: `${DATA}\ntraining: { optimizer: { name: rmsprop, lr: 0.1 } }\n`, where: /training\.optimizer/ },
  { name: "data is a list", file: "c.yaml", text: "data: [1, 2]\n", where: /data: must be an object, got a list of 2/ },
  { name: "seed is negative", file: "c.yaml", text: `seed: -1\n${DATA}\n`, where: /seed: must be ≥ 0/ },
  { name: "hiddenSize 0", file: "c.yaml", text: `${DATA}\nmodel: { hiddenSize: 0 }\n`, where: /model\.hiddenSize: must be ≥ 1/ },
  { name: "hiddenSize negative", file: "c.yaml", text: `${DATA}\nmodel: { hiddenSize: -3 }\n`, where: /model\.hiddenSize: must be ≥ 1/ },
  { name: "hiddenSize 1e300", file: "c.yaml", text: `${DATA}\nmodel: { hiddenSize: 1e300 }\n`, where: /model\.hiddenSize/ },
  { name: "hiddenSize 10^6", file: "c.yaml", text: `${DATA}\nmodel: { hiddenSize: 1000000 }\n`, where: /model\.hiddenSize: must be ≤ 65536/ },
  { name: "layers 2^53 (an estimate that loops per layer would hang)", file: "c.yaml", text: `${DATA}\nmodel: { layers: 9007199254740992 }\n`, where: /model\.layers: must be ≤ 64/ },
  { name: "layers 0", file: "c.yaml", text: `${DATA}\nmodel: { layers: 0 }\n`, where: /model\.layers: must be ≥ 1/ },
  { name: "batchSize 0", file: "c.yaml", text: `${DATA}\ntraining: { batchSize: 0 }\n`, where: /training\.batchSize: must be ≥ 1/ },
  { name: "epochs negative", file: "c.yaml", text: `${DATA}\ntraining: { epochs: -5 }\n`, where: /training\.epochs: must be ≥ 1/ },
  { name: "bptt truncate 0", file: "c.yaml", text: `${DATA}\ntraining: { bptt: { truncate: 0 } }\n`, where: /training\.bptt\.truncate: must be ≥ 1/ },
  { name: "negative clip", file: "c.yaml", text: `${DATA}\ntraining: { clip: { norm: -1 } }\n`, where: /training\.clip/ },
  { name: "lr 0", file: "c.yaml", text: `${DATA}\ntraining: { optimizer: { name: sgd, lr: 0 } }\n`, where: /training\.optimizer\.lr: must be > 0/ },
  { name: "a model that would need terabytes (hiddenSize 65536, 64 layers)", file: "c.yaml", text: `${DATA}\nmodel: { hiddenSize: 65536, layers: 64 }\n`, where: /model\.hiddenSize: .*would need [\d.]+ TiB/, measure: true },
  { name: "a model that would need gigabytes (hiddenSize 20000)", file: "c.yaml", text: `${DATA}\nmodel: { hiddenSize: 20000 }\n`, where: /model\.hiddenSize: .*would need [\d.]+ GiB/, measure: true },
  { name: "unknown key", file: "c.yaml", text: `${DATA}\ntrainig: { epochs: 2 }\n`, where: /trainig: unknown key/ },
  { name: "__proto__ key", file: "c.json", text: `{"data": {"train": "d.csv", "inputs": ["x"], "targets": ["y"]}, "__proto__": {"seed": 5}}`, where: /__proto__: unknown key/ },
  { name: "NUL in a path", file: "c.json", text: `{"data": {"train": "d\\u0000.csv", "inputs": ["x"], "targets": ["y"]}}`, where: /data\.train: must not contain a NUL character/ },
  { name: "YAML syntax error", file: "c.yaml", text: "data: { train: d.csv\nmodel: [\n", where: /c\.yaml:\d+:\d+: not valid YAML/ },
  { name: "YAML duplicate key", file: "c.yaml", text: `${DATA}\nseed: 1\nseed: 2\n`, where: /not valid YAML: Map keys must be unique/ },
  { name: "YAML alias bomb (billion laughs)", file: "c.yaml", text: billionLaughs, where: /resource exhaustion/, measure: true },
  { name: "YAML nested 100 000 deep", file: "c.yaml", text: `data: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, where: /c\.yaml/, measure: true },
  { name: "YAML maps nested 20 000 deep", file: "c.yaml", text: `data: ${"{a: ".repeat(20_000)}1${"}".repeat(20_000)}\n`, where: /c\.yaml/ },
  { name: "JSON nested 100 000 deep", file: "c.json", text: `{"data": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`, where: /data: must be an object, got a list of 1/ },
  { name: "JSON nested 100 000 deep under a list key", file: "c.json", text: `{"data": {"train": "d.csv", "inputs": ${"[".repeat(100_000)}${"]".repeat(100_000)}, "targets": ["y"]}}`, where: /data\.inputs\[0\]: must be a string, got a list of 1/ },
  { name: "a megabyte-long string where a number goes", file: "c.json", text: `{"data": {"train": "d.csv", "inputs": ["x"], "targets": ["y"]}, "seed": "${"9".repeat(0.9 * MIB)}"}`, where: /seed: must be a number, got "9{56}…$/ },
  { name: "JSON with trailing garbage", file: "c.json", text: `{"data": {}} x`, where: /c\.json: not valid JSON/ },
  { name: "binary garbage as YAML", file: "c.yaml", text: garbage(2000), where: /c\.yaml/ },
  { name: "a config over 1 MiB", file: "c.yaml", text: `${DATA}\n#${"x".repeat(1.2 * MIB)}\n`, where: /too large for a config/ },
  { name: "wrong extension", file: "c.txt", text: DATA, where: /a config must be \.yaml, \.yml or \.json/ },
];

describe.concurrent("configs: rejected by train", () => {
  for (const c of badConfigs) {
    it(c.name, async () => {
      const dir = caseDir({ [c.file]: c.text });
      const r = await cli(["train", c.file], { cwd: dir, timeoutMs: BOUND_MS, measure: c.measure });
      expectRejected(r, { file: c.file, where: c.where });
      if (c.measure && r.peakKb !== null) expect(r.peakKb, "peak RSS (KiB)").toBeLessThan(MAX_REFUSAL_RSS_KB);
    });
  }

  it("a config that is a directory, /dev/zero, a FIFO or missing", async () => {
    const dir = caseDir();
    mkdirSync(path.join(dir, "d.yaml"));
    execFileSync("mkfifo", [path.join(dir, "f.yaml")]);
    symlinkSync("/dev/zero", path.join(dir, "z.yaml"));
    expectRejected(await run(["train", "d.yaml"], dir), { file: "d.yaml", where: /not a config file \(it is a directory\)/ });
    expectRejected(await run(["train", "f.yaml"], dir), { file: "f.yaml", where: /not a config file \(it is a special file\)/ });
    expectRejected(await run(["train", "z.yaml"], dir), { file: "z.yaml", where: /not a config file \(it is a special file\)/ });
    expectRejected(await run(["train", "missing.yaml"], dir), { file: "missing.yaml", where: /cannot read config: ENOENT/ });
  });

  it("path traversal: paths that climb out of the tree and do not exist are clean errors", async () => {
    const up = "../".repeat(40);
    const dir = caseDir({
      "train.yaml": `data: { train: ${up}no/such/dir/d.csv, inputs: [x], targets: [y] }\n`,
      "val.yaml": `data: { train: ../../d.csv, validation: ${up}no/such/v.csv, sequenceColumn: id, inputs: [x], targets: [y] }\nmodel: { hiddenSize: 2 }\noutput: { dir: run-v }\n`,
      "init.yaml": `${DATA}\nmodel: { hiddenSize: 6, init: ${up}no/such/ck.safetensors }\noutput: { dir: run-i }\n`,
      "etc.yaml": `data: { train: ${up}etc, inputs: [x], targets: [y] }\n`,
      "passwd.yaml": `data: { train: ${up}etc/passwd, inputs: [x], targets: [y] }\n`,
    });
    expectRejected(await run(["train", "train.yaml"], dir), { file: "/no/such/dir/d.csv", where: /cannot read: ENOENT/ });
    expectRejected(await run(["train", "val.yaml"], dir), { file: "/no/such/v.csv", where: /cannot read: ENOENT/ });
    expectRejected(await run(["train", "init.yaml"], dir), { file: "/no/such/ck.safetensors", where: /cannot read checkpoint: ENOENT/ });
    expectRejected(await run(["train", "etc.yaml"], dir), { file: "/etc", where: /cannot read: EISDIR/ });
    expectRejected(await run(["train", "passwd.yaml"], dir), { file: "/etc/passwd", where: /line \d+/ });
  });

  // Needs src/commands/train.ts to create the run directory with ensureDir (src/io/atomic.ts)
  // instead of mkdirSync(dir, { recursive: true }): today an output.dir that is a file is an
  // internal error (exit 1), and one under /proc makes Node 20's recursive mkdir loop forever.
  it("output.dir that is a file, or cannot be created (under /proc): exit 2, no hang", async () => {
    const dir = caseDir({
      "file.yaml": `${DATA}\nmodel: { hiddenSize: 2 }\noutput: { dir: ../../d.csv }\n`,
      "proc.yaml": `${DATA}\nmodel: { hiddenSize: 2 }\noutput: { dir: /proc/rnn-cannot-exist/run }\n`,
    });
    expectRejected(await run(["train", "file.yaml"], dir), { file: "d.csv", where: /cannot create the run directory: .* is not a directory/ });
    expectRejected(await run(["train", "proc.yaml"], dir), { file: "/proc/rnn-cannot-exist", where: /cannot create the run directory: no such directory/ });
  });
});

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

type Mutate = (p: StParts) => Buffer | string | StParts;
interface TensorDesc { dtype: string; shape: number[]; data_offsets: [number, number] }
const desc = (p: StParts, name: string): TensorDesc => p.header[name] as TensorDesc;
const meta = (p: StParts): Record<string, unknown> => p.header.__metadata__ as Record<string, unknown>;
const metaConfig = (p: StParts): Record<string, Record<string, unknown>> => JSON.parse(meta(p).config as string) as Record<string, Record<string, unknown>>;
const file = (p: StParts): Buffer => joinSafetensors(p.header, p.data);
/** Writes value bits into a tensor's first element (F32). */
/** Writes v into a tensor and drops the checksum, as a crafted (or PyTorch-written) file would have none. */
const poke = (p: StParts, name: string, v: number): StParts => {
  p.data.writeFloatLE(v, desc(p, name).data_offsets[0]);
  delete (p.header.__metadata__ as Record<string, string>).checksum;
  return p;
};

/** The text with the lowest bit of its last digit flipped ("0.25" → "0.24"): a one-bit fault in the header. */
const flipDigit = (t: string): string => { const i = t.search(/\d(?=\D*$)/); return t.slice(0, i) + String.fromCharCode(t.charCodeAt(i) ^ 1) + t.slice(i + 1); };

/** Bad checkpoints, made from the set-up's good one, and what the message must name. */
const badCheckpoints: { name: string; make: Mutate; where: RegExp; measure?: boolean }[] = [
  { name: "empty file", make: () => Buffer.alloc(0), where: /0 bytes is too short/ },
  { name: "7 bytes", make: () => Buffer.alloc(7), where: /7 bytes is too short/ },
  { name: "truncated inside the header", make: (p) => file(p).subarray(0, 100), where: /header length \d+ exceeds the file's 100 bytes/ },
  { name: "truncated inside the data", make: (p) => { const b = file(p); return b.subarray(0, b.length - 10); }, where: /tensor [\w.]+ ends at byte \d+, past the \d+ bytes of data/ },
  { name: "header length larger than the file", make: (p) => joinSafetensors(p.header, p.data, BigInt(file(p).length)), where: /header length \d+ exceeds the file's/ },
  { name: "header length 2^60 (larger than memory)", make: (p) => joinSafetensors(p.header, p.data, 2n ** 60n), where: /header length 1152921504606846976 exceeds/, measure: true },
  { name: "header length 2^64 − 1", make: (p) => joinSafetensors(p.header, p.data, 2n ** 64n - 1n), where: /header length 18446744073709551615 exceeds/, measure: true },
  { name: "header is not JSON", make: (p) => joinSafetensors("{not json", p.data), where: /the header is not JSON/ },
  { name: "header is a JSON list", make: (p) => joinSafetensors("[1,2]", p.data), where: /the header is not a JSON object/ },
  { name: "header nested 100 000 deep", make: (p) => joinSafetensors(`{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, p.data), where: /tensor a has no description/ },
  { name: "overlapping data_offsets", make: (p) => { const d = desc(p, "rnn.weight_hh_l0"); d.data_offsets = [d.data_offsets[0] - 4, d.data_offsets[1] - 4]; return p; }, where: /overlap|needs \d+ bytes/ },
  { name: "two tensors on the same bytes", make: (p) => { desc(p, "head.bias").data_offsets = [...desc(p, "rnn.bias_ih_l0").data_offsets]; desc(p, "head.bias").shape = [...desc(p, "rnn.bias_ih_l0").shape]; return p; }, where: /overlap|shape/ },
  { name: "data_offsets past the end", make: (p) => { const d = desc(p, "head.bias"); d.data_offsets = [p.data.length, p.data.length + 4]; return p; }, where: /tensor head\.bias ends at byte \d+, past the \d+ bytes of data/ },
  { name: "data_offsets reversed", make: (p) => { const d = desc(p, "head.bias"); d.data_offsets = [d.data_offsets[1], d.data_offsets[0]]; return p; }, where: /tensor head\.bias has bad data_offsets/ },
  { name: "data_offsets negative", make: (p) => { desc(p, "head.bias").data_offsets = [-4, 0]; return p; }, where: /tensor head\.bias has bad data_offsets/ },
  { name: "data_offsets fractional", make: (p) => { desc(p, "head.bias").data_offsets = [0.5, 4.5]; return p; }, where: /tensor head\.bias has bad data_offsets/ },
  { name: "data_offsets beyond 2^52", make: (p) => { desc(p, "head.bias").data_offsets = [2 ** 52, 2 ** 52 + 4]; return p; }, where: /tensor head\.bias ends at byte/, measure: true },
  { name: "shape claims 2^40 elements", make: (p) => { desc(p, "head.bias").shape = [2 ** 40]; return p; }, where: /tensor head\.bias: shape \[1099511627776\] needs 4398046511104 bytes/, measure: true },
  { name: "shape with a negative size", make: (p) => { desc(p, "head.bias").shape = [-1]; return p; }, where: /tensor head\.bias has a bad shape/ },
  { name: "unknown dtype", make: (p) => { desc(p, "head.bias").dtype = "Q7"; return p; }, where: /tensor head\.bias has unknown dtype "Q7"/ },
  { name: "dtype missing", make: (p) => { delete (desc(p, "head.bias") as Partial<TensorDesc>).dtype; return p; }, where: /tensor head\.bias has unknown dtype null/ },
  { name: "F16 tensor", make: (p) => { const d = desc(p, "head.bias"); d.dtype = "F16"; d.shape = [2]; return p; }, where: /tensor head\.bias is F16; rnn reads F32 and F64 checkpoints/ },
  { name: "BF16 tensor", make: (p) => { const d = desc(p, "head.bias"); d.dtype = "BF16"; d.shape = [2]; return p; }, where: /tensor head\.bias is BF16/ },
  { name: "tensors mix F32 and F64", make: (p) => { const d = desc(p, "rnn.bias_hh_l0"); d.dtype = "F64"; d.shape = [d.shape[0] / 2]; return p; }, where: /shape|mix F32 and F64/ },
  { name: "tensor description is a string", make: (p) => { p.header["head.bias"] = "F32"; return p; }, where: /tensor head\.bias has no description/ },
  { name: "shape mismatch vs the config", make: (p) => { const c = metaConfig(p); c.model.hiddenSize = 7; meta(p).config = JSON.stringify(c); return p; }, where: /tensor rnn\.weight_ih_l0 has shape \[6, 1\], the config implies \[7, 1\]/ },
  { name: "missing tensor", make: (p) => { delete p.header["head.bias"]; return p; }, where: /tensor head\.bias is missing/ },
  { name: "a tensor of another model", make: (p) => { p.header["rnn.weight_ih_l1"] = { ...desc(p, "head.bias") }; delete p.header["head.bias"]; return p; }, where: /tensor head\.bias is missing|unexpected tensor rnn\.weight_ih_l1/ },
  { name: "non-string metadata", make: (p) => { meta(p).epoch = 2; return p; }, where: /__metadata__\.epoch is not a string/ },
  { name: "metadata is a list", make: (p) => { p.header.__metadata__ = ["rnn-checkpoint/1"]; return p; }, where: /__metadata__ is not an object/ },
  { name: "metadata config not JSON", make: (p) => { meta(p).config = "{seed: 3"; return p; }, where: /__metadata__\.config is not valid JSON/ },
  { name: "metadata config invalid", make: (p) => { const c = metaConfig(p); c.model.hiddenSize = "big"; meta(p).config = JSON.stringify(c); return p; }, where: /\(metadata config\): model\.hiddenSize: must be a number/ },
  { name: "metadata config of a model needing terabytes", make: (p) => { const c = metaConfig(p); c.model.hiddenSize = 65536; c.model.layers = 64; meta(p).config = JSON.stringify(c); return p; }, where: /\(metadata config\): model\.hiddenSize: .*would need/, measure: true },
  { name: "metadata config missing", make: (p) => { delete meta(p).config; return p; }, where: /__metadata__\.config is missing/ },
  { name: "wrong format string", make: (p) => { meta(p).format = "rnn-checkpoint/2"; return p; }, where: /__metadata__\.format is "rnn-checkpoint\/2", expected "rnn-checkpoint\/1"/ },
  { name: "no format", make: (p) => { delete meta(p).format; return p; }, where: /__metadata__\.format is null/ },
  { name: "no metadata at all", make: (p) => { delete p.header.__metadata__; return p; }, where: /__metadata__\.format is null/ },
  { name: "classes in a regression checkpoint", make: (p) => { meta(p).classes = '["a","b"]'; return p; }, where: /__metadata__\.classes is given but the checkpoint's task is regression/ },
  { name: "normalization missing", make: (p) => { delete meta(p).normalization; return p; }, where: /__metadata__\.normalization has no valid mean\/std for column "x"/ },
  { name: "normalization std 0", make: (p) => { meta(p).normalization = JSON.stringify({ x: { mean: 0, std: 0 }, y: { mean: 0, std: 1 } }); return p; }, where: /normalization has no valid mean\/std for column "x"/ },
  { name: "normalization a number", make: (p) => { meta(p).normalization = "5"; return p; }, where: /normalization has no valid mean\/std/ },
  { name: "NaN weight", make: (p) => poke(p, "rnn.weight_hh_l0", NaN), where: /tensor rnn\.weight_hh_l0\[0\] is NaN/ },
  { name: "one bit of a weight flipped, checksum kept", make: (p) => { p.data[desc(p, "head.weight").data_offsets[0]] ^= 1; return p; }, where: /the tensor data does not match __metadata__\.checksum: the file is damaged or was edited/ },
  { name: "one bit of a normalisation digit flipped, checksums kept (was: accepted, every output shifted)", make: (p) => { meta(p).normalization = flipDigit(meta(p).normalization as string); return p; }, where: /the header \(metadata or tensor table\) does not match __metadata__\.header_checksum: the file is damaged or was edited/ },
  { name: "one bit of the epoch flipped, checksums kept", make: (p) => { meta(p).epoch = flipDigit(meta(p).epoch as string); return p; }, where: /does not match __metadata__\.header_checksum/ },
  { name: "a tensor's place in the table changed, checksums kept", make: (p) => {
    const a = desc(p, "rnn.bias_ih_l0"), b = desc(p, "rnn.bias_hh_l0");
    [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
    return p;
  }, where: /does not match __metadata__\.header_checksum/ },
  { name: "infinite weight", make: (p) => poke(p, "head.weight", -Infinity), where: /tensor head\.weight\[0\] is -Infinity/ },
  { name: "infinite optimizer state", make: (p) => poke(p, "optim.exp_avg_sq.head.bias", Infinity), where: /tensor optim\.exp_avg_sq\.head\.bias\[0\] is Infinity/ },
  { name: "optimizer metadata with negative steps", make: (p) => { meta(p).optimizer = '{"name":"adam","steps":-1}'; return p; }, where: /__metadata__\.optimizer must be/ },
  { name: "optimizer metadata a number", make: (p) => { meta(p).optimizer = "5"; return p; }, where: /__metadata__\.optimizer must be/ },
  { name: "optimizer state missing a tensor", make: (p) => { delete p.header["optim.exp_avg.head.bias"]; return p; }, where: /optimizer state optim\.exp_avg\.head\.bias is missing/ },
  { name: "position garbage", make: (p) => { meta(p).position = '{"epoch":"one"}'; return p; }, where: /__metadata__\.position must be/ },
  { name: "position without carried state", make: (p) => { meta(p).position = JSON.stringify({ epoch: 2, batch: 1, window: 0, lossSum: 1, updates: 3, seconds: 0.1 }); return p; }, where: /resume\.state_l0 is missing/ },
  { name: "epoch not a number", make: (p) => { meta(p).epoch = "two"; return p; }, where: /__metadata__\.epoch must be a whole number/ },
  { name: "step beyond 2^53", make: (p) => { meta(p).step = "99999999999999999999"; return p; }, where: /__metadata__\.step must be a whole number/ },
  { name: "best_val_loss not a number", make: (p) => { meta(p).best_val_loss = "low"; return p; }, where: /__metadata__\.best_val_loss must be a finite number/ },
  { name: "overlap bomb: 2000 tensors claiming the same 4 MiB", make: (p) => {
    const h: Record<string, unknown> = { __metadata__: meta(p) };
    for (let i = 0; i < 2000; i++) h[`x${i}`] = { dtype: "F32", shape: [MIB], data_offsets: [0, 4 * MIB] };
    return { header: h, data: Buffer.alloc(4 * MIB) };
  }, where: /tensors x\d+ and x\d+ overlap/, measure: true },
];

/** The cases also run through predict, train --resume and model.init (all commands read a checkpoint through one loader). */
const picks = ["truncated inside the data", "header length 2^60 (larger than memory)", "overlapping data_offsets", "F16 tensor",
  "shape mismatch vs the config", "missing tensor", "metadata config not JSON", "NaN weight", "optimizer metadata a number",
  "position garbage", "best_val_loss not a number", "overlap bomb: 2000 tensors claiming the same 4 MiB"];

function badBytes(c: { make: Mutate }): Buffer {
  const made = c.make(splitSafetensors(readFileSync(setup.ckpt)));
  return Buffer.isBuffer(made) ? made : typeof made === "string" ? Buffer.from(made) : file(made);
}

describe.concurrent("checkpoints: rejected by eval (and predict)", () => {
  for (const c of badCheckpoints) {
    it(c.name, async () => {
      const dir = caseDir({ "bad.safetensors": badBytes(c) });
      const [ev, pred] = await Promise.all([
        cli(["eval", "bad.safetensors", "--json"], { cwd: dir, timeoutMs: BOUND_MS, measure: c.measure }),
        picks.includes(c.name)
          ? cli(["predict", "bad.safetensors", "--data", path.join(setup.dir, "d.csv")], { cwd: dir, timeoutMs: BOUND_MS, measure: c.measure })
          : Promise.resolve(null),
      ]);
      for (const r of [ev, pred]) {
        if (!r) continue;
        expectRejected(r, { file: "bad.safetensors", where: c.where });
        if (c.measure && r.peakKb !== null) expect(r.peakKb, "peak RSS (KiB)").toBeLessThan(MAX_REFUSAL_RSS_KB);
      }
    });
  }

  it("a directory, /dev/zero, a FIFO and a missing file as the checkpoint", async () => {
    const dir = caseDir();
    mkdirSync(path.join(dir, "d.safetensors"));
    execFileSync("mkfifo", [path.join(dir, "f.safetensors")]);
    const cases: [string, RegExp][] = [
      ["d.safetensors", /not a checkpoint file \(it is a directory\)/],
      ["f.safetensors", /not a checkpoint file \(it is a special file\)/],
      ["/dev/zero", /not a checkpoint file \(it is a special file\)/],
      ["missing.safetensors", /cannot read checkpoint: ENOENT/],
    ];
    for (const [f, where] of cases) {
      expectRejected(await run(["eval", f], dir), { file: f, where });
      expectRejected(await run(["predict", f], dir, "id,x\n"), { file: f, where });
    }
  });
});

describe.concurrent("checkpoints: rejected by train --resume and model.init", () => {
  for (const name of picks) {
    const c = badCheckpoints.find((b) => b.name === name);
    if (!c) throw new Error(`no case ${name}`);
    it(name, async () => {
      const dir = caseDir({
        "bad.safetensors": badBytes(c),
        "init.yaml": `seed: 3\ndata: { train: ../../d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.1, normalize: true }\nmodel: { hiddenSize: 6, init: bad.safetensors }\ntraining: { epochs: 1 }\noutput: { dir: run-init }\n`,
      });
      const [resume, init] = await Promise.all([
        run(["train", path.join(setup.dir, "c.yaml"), "--out", path.join(dir, "run-resume"), "--resume", "bad.safetensors"], dir),
        run(["train", "init.yaml"], dir),
      ]);
      expectRejected(resume, { file: "bad.safetensors", where: c.where });
      expectRejected(init, { file: "bad.safetensors", where: c.where });
    });
  }
});

describe("ensureDir, for creating the run directory (src/io/atomic.ts)", () => {
  it("creates missing parents; a file in the way or a folder that cannot exist is an InputError, at once", async () => {
    const { ensureDir } = await import("../../src/io/atomic.js");
    const { InputError } = await import("../../src/errors.js");
    const { existsSync, statSync } = await import("node:fs");
    const dir = caseDir({ "f.csv": "x\n" });
    ensureDir(path.join(dir, "a/b/c"));
    expect(statSync(path.join(dir, "a/b/c")).isDirectory()).toBe(true);
    ensureDir(path.join(dir, "a/b/c")); // already there: fine
    expect(() => ensureDir(path.join(dir, "f.csv/run"))).toThrow(InputError);
    expect(() => ensureDir(path.join(dir, "f.csv/run"))).toThrow(/f\.csv is not a directory/);
    const t = performance.now();
    expect(() => ensureDir("/proc/rnn-cannot-exist/run")).toThrow(/cannot create the run directory: no such directory/);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(existsSync("/proc/rnn-cannot-exist")).toBe(false);
  });
});

describe.concurrent("a checkpoint of another model", () => {
  it("train --resume with a config whose hiddenSize changed: exit 2 naming the checkpoint and the key", async () => {
    const dir = caseDir({ "c8.yaml": smallConfig({ hidden: 8 }).replace("train: d.csv", "train: ../../d.csv") });
    for (const out of ["a", "b"]) {
      const r = await run(["train", "c8.yaml", "--out", out, "--resume", setup.ckpt], dir);
      expectRejected(r, { file: "last.safetensors", where: "was trained with model.hiddenSize 6, the config says 8" });
    }
  });

  it("grad-check and train with a model.init of another shape: exit 2", async () => {
    const dir = caseDir({
      "g.yaml": smallConfig({ hidden: 5, extra: "" }).replace("train: d.csv", "train: ../../d.csv").replace("model: { hiddenSize: 5 }", `model: { hiddenSize: 5, init: ${setup.ckpt} }`),
    });
    expectRejected(await run(["grad-check", "g.yaml"], dir), { file: "last.safetensors", where: /another shape|rnn\.weight_ih_l0/ });
    expectRejected(await run(["train", "g.yaml"], dir), { file: "last.safetensors", where: /another shape/ });
  });
});

describe("the good checkpoint still works (the corpus's baseline)", () => {
  it("eval, predict, and a checkpoint rewritten through split/join", async () => {
    const dir = caseDir({ "same.safetensors": file(splitSafetensors(readFileSync(setup.ckpt))) });
    const a = await run(["eval", setup.ckpt, "--json"], dir);
    const b = await run(["eval", "same.safetensors", "--json"], dir);
    expect(a.code, a.stderr).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const p = await run(["predict", setup.ckpt], dir, sequenceCsv(2, 5));
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout.trim().split("\n")).toHaveLength(11);
  });
});
