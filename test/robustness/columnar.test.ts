/**
 * Parquet and Arrow input that used to read silently wrong (issue 24): every type the readers
 * can meet read by its type or refused by name, against what pyarrow wrote
 * (scripts/make_columnar_types.py); int64 ids past 2^53 kept apart; the row counts a footer
 * claims checked against the column chunks, and the memory they imply checked before anything
 * is decoded; nested columns refused by name; zstd and truncated Arrow files.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ColumnCursor } from "../../src/data/columnar.js";
import { readSequencesFile, RowDecoder, type ColumnSpec } from "../../src/data/table.js";
import { ROOT } from "../helpers/cli.js";
import { cleanUp, cli, expectRejected, tempDir } from "./util.js";

const TYPES = path.join(ROOT, "test/fixtures/columnar/types");
type Expected = { values?: (number | null)[]; text?: (string | null)[]; refused?: string; parquet?: Expected };
const expected = (JSON.parse(readFileSync(path.join(TYPES, "types.json"), "utf8")) as { columns: Record<string, Expected> }).columns;

describe("every Parquet and Arrow type pyarrow writes: read by its type, or refused by name", () => {
  for (const file of ["types.parquet", "types.arrow", "types-zstd.arrow", "types-plain.arrow"]) {
    const format = file.endsWith(".parquet") ? "parquet" : "arrow";
    for (const [name, e0] of Object.entries(expected)) {
      const e = format === "parquet" && e0.parquet ? e0.parquet : e0;
      it(`${file}: ${name} ${e.refused !== undefined ? `refused (${e.refused})` : e.values ? "as numbers" : "as text"}`, async () => {
        const f = path.join(TYPES, file);
        const cur = await ColumnCursor.open(f, format);
        const c = cur.header.indexOf(name);
        if (e.refused !== undefined) {
          expect(() => new RowDecoder(cur, { inputs: [name], targets: [], sequenceColumn: null, task: "regression" }))
            .toThrow(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: input column "${name}": a .*${e.refused}`));
          return;
        }
        const quick: number[] = [], text: string[] = [];
        await cur.more();
        while (cur.next()) { quick.push(cur.quick(c)); text.push(cur.text(c)); }
        if (e.values) expect(quick).toEqual(e.values.map((v) => v ?? NaN));
        if (e.text) expect(text).toEqual(e.text.map((v) => v ?? ""));
        if (e.values && !e.text) expect(text.map((t) => (t === "" ? NaN : Number(t)))).toEqual(e.values.map((v) => v ?? NaN));
      });
    }
  }
});

describe("int64 sequence ids past 2^53", () => {
  const spec: ColumnSpec = { inputs: ["x"], targets: ["y"], sequenceColumn: "id", task: "regression" };
  for (const file of ["bigids.parquet", "bigids.arrow"]) {
    it(`${file}: 20 sequences stay 20 (as doubles their ids are equal), each id exact`, async () => {
      const seqs = await readSequencesFile(path.join(TYPES, file), spec);
      expect(seqs.map((s) => s.id)).toEqual(Array.from({ length: 20 }, (_, k) => String(2n ** 60n + BigInt(k))));
      expect(seqs.every((s) => s.length === 3)).toBe(true);
    });
  }
});

/** rows.parquet (37 rows of x, y) with every footer count of 37 replaced by `rows` (`all`), or the file's own count only. */
function patchedRows(rows: number, all: boolean): Buffer {
  const src = readFileSync(path.join(TYPES, "rows.parquet"));
  const flen = src.readUInt32LE(src.length - 8), start = src.length - 8 - flen;
  const footer = src.subarray(start, src.length - 8);
  // Thrift compact: an i64 field one id after the previous one is 0x16, then the zigzag varint.
  const varint = (n: bigint): number[] => { const out: number[] = []; let z = n * 2n; do { const b = Number(z & 0x7fn); z >>= 7n; out.push(z > 0n ? b | 0x80 : b); } while (z > 0n); return out; };
  const from = [0x16, ...varint(37n)], to = Buffer.from([0x16, ...varint(BigInt(rows))]);
  const parts: Buffer[] = [];
  let at = 0, n = 0;
  for (let i = 0; i + from.length <= footer.length; i++) {
    if (from.every((b, k) => footer[i + k] === b) && (all || n === 0)) { parts.push(footer.subarray(at, i), to); at = i + from.length; n++; }
  }
  parts.push(footer.subarray(at));
  expect(n, "counts patched").toBe(all ? 4 : 1); // num_rows, the row group's, each column chunk's num_values
  const body = Buffer.concat(parts), tail = Buffer.alloc(8);
  tail.writeUInt32LE(body.length, 0);
  tail.write("PAR1", 4);
  return Buffer.concat([src.subarray(0, start), body, tail]);
}

describe("the row counts a Parquet footer claims", () => {
  let dir: string;
  afterAll(() => cleanUp(dir));
  const spec: ColumnSpec = { inputs: ["x"], targets: ["y"], sequenceColumn: null, task: "regression" };
  const write = (name: string, b: Buffer): string => { dir ??= tempDir(); const f = path.join(dir, name); writeFileSync(f, b); return f; };

  it("the patch itself changes nothing when it writes 37 again", async () => {
    const f = write("same.parquet", patchedRows(37, true));
    expect((await readSequencesFile(f, spec))[0].length).toBe(37);
  });

  for (const rows of [20, 60]) {
    it(`num_rows ${rows} for 37 rows: refused naming both counts (were: rows ${rows < 37 ? "dropped" : "predicted from nothing"})`, async () => {
      const f = write(`claims-${rows}.parquet`, patchedRows(rows, false));
      await expect(readSequencesFile(f, spec)).rejects.toThrow(`${f}: the footer says ${rows} rows, its row groups hold 37: the file is damaged`);
    });
  }

  it("every count says 60 but the pages hold 37: refused naming the column", async () => {
    const f = write("pages.parquet", patchedRows(60, true));
    await expect(readSequencesFile(f, spec)).rejects.toThrow(new RegExp(`${f.replace(/[.]/g, "\\.")}: (not a Parquet file this reader can read|column "x": its pages hold)`));
  });

  it("a 1 KB file claiming 10⁹ rows: refused by the memory estimate before decoding (was: heap exhausted, exit 134)", async () => {
    write("huge.parquet", patchedRows(1e9, true));
    writeFileSync(path.join(dir, "c.yaml"), `data: { train: huge.parquet, inputs: [x], targets: [y] }\nmodel: { hiddenSize: 4 }\ntraining: { epochs: 1 }\noutput: { dir: run }\n`);
    const t = await cli(["train", "c.yaml", "--quiet"], { cwd: dir, measure: true, timeoutMs: 30_000 });
    expectRejected(t, { file: "huge.parquet", where: /1,000,000,000 rows × \d+ values would need about [\d.]+ GiB/ });
    expect(t.peakKb ?? 0).toBeLessThan(300_000);
  });
});

describe("nested Parquet and Arrow columns", () => {
  for (const file of ["nested.parquet", "nested.arrow"]) {
    it(`${file}: a struct or list column used is refused by name; unused, the flat columns read`, async () => {
      const f = path.join(TYPES, file);
      const base: ColumnSpec = { inputs: ["x"], targets: ["y"], sequenceColumn: null, task: "regression" };
      expect((await readSequencesFile(f, base))[0].length).toBe(4);
      await expect(readSequencesFile(f, { ...base, inputs: ["x", "s"] })).rejects.toThrow(new RegExp(`^${f.replace(/[.]/g, "\\.")}: input column "s": a struct.* column: rnn reads flat columns, not nested ones`));
      await expect(readSequencesFile(f, { ...base, targets: ["l"] })).rejects.toThrow(new RegExp(`^${f.replace(/[.]/g, "\\.")}: target column "l": a list.* column: rnn reads flat columns, not nested ones`));
    });
  }
});

describe("damaged Arrow files", () => {
  it("a truncated Arrow file: one line saying so (was: Cannot read properties of null)", async () => {
    const dir = tempDir();
    try {
      const b = readFileSync(path.join(TYPES, "bigids.arrow"));
      for (const cut of [b.length - 1, Math.floor(b.length / 2), 10]) {
        const f = path.join(dir, `cut-${cut}.arrow`);
        writeFileSync(f, b.subarray(0, cut));
        await expect(readSequencesFile(f, { inputs: ["x"], targets: ["y"], sequenceColumn: "id", task: "regression" }))
          .rejects.toThrow(`${f}: a truncated Arrow IPC file (it begins with ARROW1 but does not end with it)`);
      }
    } finally { cleanUp(dir); }
  });
});
