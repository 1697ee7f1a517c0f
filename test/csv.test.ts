import { writeFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readSequences, type ColumnSpec } from "../src/data/table.js";
import { rnn, tempDir } from "./helpers/cli.js";

const spec: ColumnSpec = { inputs: ["x", "z"], targets: ["y"], sequenceColumn: "id", task: "regression" };
const read = (text: string, s: ColumnSpec = spec) => readSequences(Readable.from([text]), "d.csv", s);

/** Every CSV rejection: the input and the exact message (file, line, column). */
const rejections: [string, string, string][] = [
  ["empty file", "", "d.csv: empty file: a header row is required"],
  ["header only", "id,x,z,y\n", "d.csv: no data rows"],
  ["missing input column", "id,x,y\na,1,2\n", 'd.csv: line 1: missing input column "z" (the header has "id", "x", "y")'],
  ["missing target column", "id,x,z\na,1,2\n", 'd.csv: line 1: missing target column "y" (the header has "id", "x", "z")'],
  ["missing sequence column", "x,z,y\n1,2,3\n", 'd.csv: line 1: missing sequence column "id" (the header has "x", "z", "y")'],
  ["non-numeric input", "id,x,z,y\na,1,2,3\na,abc,2,3\n", 'd.csv: line 3, column "x": "abc" is not a finite decimal number'],
  ["empty input cell", "id,x,z,y\na,1,,3\n", 'd.csv: line 2, column "z": "" is a missing input cell (data.missing.inputs: ffill, mean or zero fills it)'],
  ["NaN", "id,x,z,y\na,NaN,2,3\n", 'd.csv: line 2, column "x": "NaN" is not a finite decimal number'],
  ["Infinity", "id,x,z,y\na,1,-Infinity,3\n", 'd.csv: line 2, column "z": "-Infinity" is not a finite decimal number'],
  ["hex", "id,x,z,y\na,0x10,2,3\n", 'd.csv: line 2, column "x": "0x10" is not a finite decimal number'],
  ["overflow", "id,x,z,y\na,1e999,2,3\n", 'd.csv: line 2, column "x": "1e999" is not a finite decimal number'],
  ["non-numeric target", "id,x,z,y\na,1,2,high\n", 'd.csv: line 2, column "y": "high" is not a finite decimal number'],
  ["ragged short row", "id,x,z,y\na,1,2,3\na,1,2\n", "d.csv: line 3: 3 fields, the header has 4"],
  ["ragged long row", "id,x,z,y\na,1,2,3,4\n", "d.csv: line 2: 5 fields, the header has 4"],
  ["sequence reappears", "id,x,z,y\na,1,2,3\nb,1,2,3\na,1,2,3\n", 'd.csv: line 4, column "id": sequence "a" reappears after another sequence (rows of one sequence must be contiguous)'],
  ["unclosed quote", 'id,x,z,y\na,1,2,3\n"b,1,2,3\n', "d.csv: line 3: Quote Not Closed: the parsing is finished with an opening quote at line 3"],
];

describe("CSV rejections", () => {
  for (const [what, text, msg] of rejections) {
    it(what, async () => { await expect(read(text)).rejects.toThrow(msg); });
  }
});

describe("CSV that is fine", () => {
  it("BOM, CRLF, quoted fields, blank lines, columns in any order, empty target cells", async () => {
    const seqs = await read('\uFEFFy,z,"x",id\r\n3,2,1,"a,1"\r\n\r\n,4,  5 ,"a,1"\r\n6,7,8,b\r\n');
    expect(seqs.map((s) => [s.id, s.length, Array.from(s.x), Array.from(s.y!)])).toEqual([
      ["a,1", 2, [1, 2, 5, 4], [3, NaN]],
      ["b", 1, [8, 7], [6]],
    ]);
  });
  it("numbers in every decimal form", async () => {
    const seqs = await read("id,x,z,y\na,-1.5e-3,+.5,7.\n", spec);
    expect(Array.from(seqs[0].x)).toEqual([-0.0015, 0.5]);
    expect(Array.from(seqs[0].y!)).toEqual([7]);
  });
  it("sequences longer than a block of values, between short ones; rows wider than a block", async () => {
    const lengths: [string, number][] = [["a", 40_000], ["b", 3], ["c", 70_000], ["d", 1]];
    const rows = lengths.flatMap(([id, n]) => Array.from({ length: n }, (_, t) => [id, t, t + 0.5, 2 * t]));
    const seqs = await read(`id,x,z,y\n${rows.map((r) => r.join(",")).join("\n")}\n`);
    expect(seqs.map((s) => [s.id, s.length])).toEqual(lengths);
    seqs.forEach((s) => {
      expect(Array.from(s.x)).toEqual(Array.from({ length: s.length }, (_, t) => [t, t + 0.5]).flat());
      expect(Array.from(s.y!)).toEqual(Array.from({ length: s.length }, (_, t) => 2 * t));
    });
    const inputs = Array.from({ length: 70_000 }, (_, c) => `c${c}`);
    const wide = await read(`${inputs.join(",")}\n${[1, 2, 3].map((r) => inputs.map((_, c) => r + c).join(",")).join("\n")}\n`,
      { inputs, targets: null, sequenceColumn: null, task: "regression" });
    expect(Array.from(wide[0].x)).toEqual([1, 2, 3].flatMap((r) => inputs.map((_, c) => r + c)));
  });
  it("classification labels stay strings, empty cells are null", async () => {
    const seqs = await read("id,x,z,y\na,1,2,low\na,1,2,\n", { ...spec, task: "classification" });
    expect(seqs[0].labels).toEqual(["low", null]);
  });
});

describe("CSV errors through the CLI", () => {
  it("train on a bad CSV: exit 2, file and line named, nothing on stdout", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "d.csv"), "x,y\n1,2\n3,oops\n");
    writeFileSync(path.join(dir, "c.yaml"), "data: { train: d.csv, inputs: [x], targets: [y] }\n");
    const r = rnn(["train", "c.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`rnn: ${path.join(dir, "d.csv")}: line 3, column "y": "oops" is not a finite decimal number\n`);
  });
});
