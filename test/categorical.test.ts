import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { Network } from "../src/core/network.js";
import { referenceKernels } from "../src/core/kernels.js";
import { Rng } from "../src/core/rng.js";
import { CategoryInterner, CategoryLookup, defaultEmbeddingSize, MAX_CATEGORIES } from "../src/data/categorical.js";
import { rnn, tempDir } from "./helpers/cli.js";

/** SPEC §11's refusals, defaults and the input module's forward/backward on its own. */
const data = { train: "d.csv", inputs: ["x"], targets: ["y"], sequenceColumn: "id" };

describe("data.categorical in the config", () => {
  it("defaults to none and leaves size null (the default is fixed by the categories)", () => {
    expect(validateConfig({ data }, "c.yaml").data.categorical).toEqual([]);
    expect(validateConfig({ data: { ...data, categorical: [{ column: "s" }] } }, "c.yaml").data.categorical).toEqual([{ column: "s", size: null }]);
  });
  it.each([
    [[{ column: "s" }, { column: "s" }], /data\.categorical\[1\]\.column: column "s" is listed twice/],
    [[{ column: "x" }], /data\.categorical\[0\]\.column: column "x" is also in data\.inputs/],
    [[{ column: "s", size: 0 }], /data\.categorical\[0\]\.size: must be ≥ 1/],
    [[{ column: "s", size: 2.5 }], /data\.categorical\[0\]\.size: must be an integer/],
    [[{ column: "s", size: "3" }], /data\.categorical\[0\]\.size: must be /],
    [[{ size: 3 }], /data\.categorical\[0\]\.column: is required/],
  ])("refuses %j naming the key", (categorical, message) => {
    expect(() => validateConfig({ data: { ...data, categorical } }, "c.yaml")).toThrow(message);
  });
  it("size default: min(50, (n + 1) // 2)", () => {
    expect([1, 2, 3, 7, 99, 100, 1000].map(defaultEmbeddingSize)).toEqual([1, 1, 2, 4, 50, 50, 50]);
  });
});

describe("rnn train refuses bad categorical data (exit 2, one line)", () => {
  const setup = (csv: string, categorical: unknown): { dir: string; r: ReturnType<typeof rnn> } => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "d.csv"), csv);
    writeFileSync(path.join(dir, "c.json"), JSON.stringify({ data: { ...data, categorical }, training: { epochs: 1 } }));
    return { dir, r: rnn(["train", "c.json", "--out", "run"], { cwd: dir }) };
  };
  it("a column missing from the header", () => {
    const { dir, r } = setup("id,x,y\na,1,2\na,2,3\n", [{ column: "store" }]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/d\.csv: line 1: missing categorical \(data\.categorical\) column "store"/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(path.join(dir, "run", "last.safetensors"))).toBe(false);
  });
  it("a column whose every training cell is missing", () => {
    const { r } = setup("id,x,y,s\na,1,2,\na,2,3,\n", [{ column: "s" }]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/data\.categorical\[0\] \(column "s"\): every cell of the training split is missing/);
  });
});

describe("CategoryInterner", () => {
  it("finds the categories of the training split only, sorted as classes are, and recodes every row", () => {
    const it = new CategoryInterner(["s"]);
    const codes = ["kiosk", "Mall", "depot", "outlet"].map((t) => it.code(0, t)); // outlet: validation only
    const train = [{ id: "a", line: 2, length: 3, x: Float64Array.from([codes[0], codes[1], 0]), y: null, labels: null }];
    const val = [{ id: "b", line: 5, length: 2, x: Float64Array.from([codes[2], codes[3]]), y: null, labels: null }];
    const cats = it.categories(train, "d.csv");
    expect(cats).toEqual({ s: ["Mall", "kiosk"] });
    it.recode([...train, ...val], cats);
    expect([...train[0].x, ...val[0].x]).toEqual([2, 1, 0, 0, 0]);
  });
  it(`refuses more than ${MAX_CATEGORIES} distinct categories, saying how many`, () => {
    const it = new CategoryInterner(["id"]), n = MAX_CATEGORIES + 1;
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) x[i] = it.code(0, `c${i}`);
    expect(() => it.categories([{ id: null, line: 2, length: n, x, y: null, labels: null }], "d.csv"))
      .toThrow(/d\.csv: data\.categorical\[0\] \(column "id"\): 1000001 distinct categories in the training split; more than 1000000 will not fit/);
  });
});

describe("CategoryLookup", () => {
  it("maps known texts to k + 1, unseen ones to 0 and counts them per column", () => {
    const l = new CategoryLookup(["a", "b"], { a: ["Mall", "depot"], b: ["2", "10"] });
    expect([l.code(0, "Mall"), l.code(0, "depot"), l.code(0, "mall"), l.code(1, "10"), l.code(1, "7")]).toEqual([1, 2, 0, 2, 0]);
    expect(l.unseen).toEqual([1, 1]);
    expect(l.report("p.csv")).toBe('p.csv: 2 categorical cells held a category training never saw (1 in "a", 1 in "b"): read as index 0 (unseen)');
  });
});

describe("the categorical input module", () => {
  // Layer 0 reads [x ; embed_0(c_0) ; embed_1(c_1)]: a network's loss Σ y·dy against central differences, tables included.
  it("its backward (scatter-add into each table) agrees with central differences", () => {
    const shape = { cell: "gru" as const, inputSize: 2 + 2, hiddenSize: 3, outputSize: 2, layers: 1, activation: "tanh" as const, bias: true,
      categorical: [{ vocab: 4, size: 2 }, { vocab: 3, size: 3 }] };
    const net = new Network(shape, "float64", { kernels: referenceKernels });
    const rng = new Rng(5, 0);
    for (let i = 0; i < net.params.length; i++) net.params[i] = rng.uniform() - 0.5;
    const T = 3, B = 2, W = 4;
    const x = new Float64Array(T * B * W);
    for (let r = 0; r < T * B; r++) { x[r * W] = rng.uniform(); x[r * W + 1] = rng.uniform(); x[r * W + 2] = r % 4; x[r * W + 3] = (r * 2) % 3; }
    const dy = Float64Array.from({ length: T * B * 2 }, () => rng.uniform() - 0.5);
    const loss = (): number => { net.forward(x, 0, net.zeroState(B), T, B); let s = 0; for (let i = 0; i < dy.length; i++) s += net.head.y[i] * dy[i]; return s; };
    loss();
    net.head.dy.set(dy);
    net.grads.fill(0);
    net.backward(T, B);
    const slot = net.layout.slot("embed.0.weight"), slot1 = net.layout.slot("embed.1.weight");
    let worst = 0;
    for (let i = slot.offset; i < slot1.offset + slot1.size; i++) {
      const p = net.params[i];
      net.params[i] = p + 1e-6; const a = loss();
      net.params[i] = p - 1e-6; const b = loss();
      net.params[i] = p;
      worst = Math.max(worst, Math.abs((a - b) / 2e-6 - net.grads[i]));
    }
    expect(worst).toBeLessThan(1e-8);
    // Row 3 of table 0 is read by rows r ≡ 3 (mod 4): r = 3 only.
    expect(net.layout.view(net.grads, "embed.1.weight").some((g) => g !== 0)).toBe(true);
  });
});

describe("rnn init proposes data.categorical", () => {
  it("for a repeating text column, and for the sequence column when there are many sequences, with the reason", async () => {
    const dir = tempDir("rnn-init-");
    let text = "series,store,x,y\n";
    for (let s = 0; s < 25; s++) for (let t = 0; t < 8; t++) text += `s${s},${["kiosk", "Mall", "depot"][s % 3]},${Math.sin(t + s).toFixed(3)},${Math.cos(t).toFixed(3)}\n`;
    writeFileSync(path.join(dir, "d.csv"), text);
    const r = rnn(["init", "d.csv"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(path.join(dir, "c.yaml"), r.stdout);
    const line = r.stdout.split("\n").find((l) => l.trimStart().startsWith("categorical:")) ?? "";
    expect(line).toMatch(/categorical: \[\{ column: store \}, \{ column: series \}\]/);
    expect(line).toMatch(/"store": text, 3 distinct values in its 200 rows; "series": 25 sequences, one model over all with the series id as a learned embedding/);
    const cfg = (await import("../src/config/load.js")).loadConfig;
    expect((await cfg(path.join(dir, "c.yaml"))).data.categorical).toEqual([{ column: "store", size: null }, { column: "series", size: null }]);
    const t = rnn(["train", "c.yaml", "--set", "training.epochs=1", "--quiet", "--out", "run"], { cwd: dir });
    expect(t.code, t.stderr).toBe(0);
  });
  it("none for numbers only and few sequences, saying so", () => {
    const dir = tempDir("rnn-init-");
    let text = "series,x,y\n";
    for (let s = 0; s < 5; s++) for (let t = 0; t < 8; t++) text += `s${s},${t % 3},${(t / 7).toFixed(3)}\n`;
    writeFileSync(path.join(dir, "d.csv"), text);
    const r = rnn(["init", "d.csv"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/categorical: \[\] +# none: no text column with repeating values, fewer than 20 sequences/);
  });
});

describe("categorical columns of Parquet and Arrow files read as text, as in the CSV", () => {
  const FIX = path.join(import.meta.dirname, "fixtures/columnar");
  for (const file of ["panel.parquet", "panel.arrow", "panel-plain.arrow"]) {
    it(`${file}: a text column (the sequence id) and an int64 one`, async () => {
      const { readSequencesFile } = await import("../src/data/table.js");
      const read = async (f: string) => {
        const coder = new CategoryInterner(["id", "z"]);
        const seqs = await readSequencesFile(path.join(FIX, f), { inputs: ["x"], targets: ["y"], sequenceColumn: "id", task: "regression", categorical: { columns: ["id", "z"], coder } });
        return { seqs, cats: coder.categories(seqs, f) };
      };
      const [got, want] = [await read(file), await read("panel.csv")];
      expect(got.cats).toEqual(want.cats);
      expect(got.seqs).toEqual(want.seqs);
      expect(want.cats.z.length).toBeGreaterThan(1);
    });
  }
});
