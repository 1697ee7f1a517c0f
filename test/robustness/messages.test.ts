/**
 * Inputs that used to give a silent wrong answer or a misleading message (issue 13, items 11–12):
 * each attack, then what the user now gets.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { rnn } from "../helpers/cli.js";
import { sequenceCsv, smallConfig, tempDir } from "./util.js";

/** Model tensors of a run's last checkpoint, as hex bytes. */
function weights(file: string): Record<string, string> {
  const st = decodeSafetensors(readFileSync(file), file);
  return Object.fromEntries([...st.tensors].filter(([k]) => !k.startsWith("optim.")).map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));
}

/** Trains c.yaml on the given CSV text (written as d.csv); returns the result and the folder. */
function trainOn(csv: Buffer | string, config = smallConfig()) {
  const dir = tempDir();
  writeFileSync(path.join(dir, "d.csv"), csv);
  writeFileSync(path.join(dir, "c.yaml"), config);
  return { r: rnn(["train", "c.yaml", "--quiet"], { cwd: dir }), dir };
}

function oneLine(r: { code: number | null; stderr: string }, code: number, msg: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(msg);
}

describe("CSV encodings and line endings", () => {
  const csv = sequenceCsv(12, 10);
  const reference = trainOn(csv);

  it("reference run", () => expect(reference.r.code, reference.r.stderr).toBe(0));

  it("a CRLF header above LF rows (was: a 400-character cell 'is not a finite decimal number'): trains as the LF file does", () => {
    const lines = csv.split("\n");
    const { r, dir } = trainOn(`${lines[0]}\r\n${lines.slice(1).join("\n")}`);
    expect(r.code, r.stderr).toBe(0);
    expect(weights(path.join(dir, "run/last.safetensors"))).toEqual(weights(path.join(reference.dir, "run/last.safetensors")));
  });

  it("CRLF throughout: the same", () => {
    const { r, dir } = trainOn(csv.replace(/\n/g, "\r\n"));
    expect(r.code, r.stderr).toBe(0);
    expect(weights(path.join(dir, "run/last.safetensors"))).toEqual(weights(path.join(reference.dir, "run/last.safetensors")));
  });

  it("UTF-16BE (was: a garbled header named as a missing column): exit 2 saying it is UTF-16", () => {
    const le = Buffer.from(`\ufeff${csv}`, "utf16le");
    const be = Buffer.alloc(le.length);
    for (let i = 0; i < le.length; i += 2) { be[i] = le[i + 1]; be[i + 1] = le[i]; }
    oneLine(trainOn(be).r, 2, /d\.csv: line 1: the header holds NUL bytes: the file looks like UTF-16 text; save it as UTF-8/);
  });

  it("UTF-16LE with its byte-order mark: read as the text it is", () => {
    const { r, dir } = trainOn(Buffer.from(`\ufeff${csv}`, "utf16le"));
    expect(r.code, r.stderr).toBe(0);
    expect(weights(path.join(dir, "run/last.safetensors"))).toEqual(weights(path.join(reference.dir, "run/last.safetensors")));
  });

  it("a column named twice (was: the first silently used): exit 2 naming both fields", () => {
    const [head, ...rest] = csv.split("\n");
    const dup = [`${head},x`, ...rest.map((l) => (l ? `${l},9` : l))].join("\n");
    oneLine(trainOn(dup).r, 2, /d\.csv: line 1: input column "x" appears twice \(fields 2 and 4\): rename one/);
  });
});

describe("config values", () => {
  for (const [name, text] of [["1e309", "seed: 1e309"], [".inf", "seed: .inf"], ["-.inf", "seed: -.inf"]]) {
    it(`${name} (was: "got null"): named as the infinity it is`, () => {
      const dir = tempDir();
      writeFileSync(path.join(dir, "c.yaml"), `${smallConfig().replace("seed: 3", "")}\n${text}\n`);
      oneLine(rnn(["train", "c.yaml"], { cwd: dir }), 2, /c\.yaml: seed: must be a finite number, got -?Infinity/);
    });
  }

  it("YAML merge keys (was: '<<: unknown key'): a block shared with << trains as the written-out config", () => {
    const written = trainOn(sequenceCsv(8, 6), smallConfig());
    expect(written.r.code, written.r.stderr).toBe(0);
    const viaMerge = trainOn(sequenceCsv(8, 6), smallConfig().replace("optimizer: { name: adam, lr: 0.01 }", "optimizer: { <<: { name: adam }, lr: 0.01 }"));
    expect(viaMerge.r.code, viaMerge.r.stderr).toBe(0);
    expect(weights(path.join(viaMerge.dir, "run/last.safetensors"))).toEqual(weights(path.join(written.dir, "run/last.safetensors")));
  });
});
