/**
 * Commands that took a data file by the wrong name or as the wrong thing (issue 24, items 8 and
 * 11): `rnn init d.csv >> d.csv` wrote the config into the data; `rnn init x.parquet` and
 * `rnn export --verify --data x.parquet` read the table as text; `rnn init` of a binary file
 * quoted its bytes.
 */
import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BIN, ROOT } from "../helpers/cli.js";
import { ort } from "../export/helpers.js";
import { cleanUp, cli, expectRejected, tempDir } from "./util.js";

const COLUMNAR = path.join(ROOT, "test/fixtures/columnar");

describe("rnn init and export --verify on Parquet, Arrow and binary files", () => {
  const dir = tempDir();
  afterAll(() => cleanUp(dir));

  it("rnn init d.csv >> d.csv: refused, the data file unchanged (was: the config appended to the data)", () => {
    copyFileSync(path.join(COLUMNAR, "panel.csv"), path.join(dir, "d.csv"));
    const before = readFileSync(path.join(dir, "d.csv"));
    const fd = openSync(path.join(dir, "d.csv"), "a");
    const r = spawnSync(process.execPath, [BIN, "init", "d.csv"], { cwd: dir, stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
    closeSync(fd);
    expect([r.status, r.stderr]).toEqual([2, "rnn: d.csv: stdout is the data file itself: the config would be written into the data; redirect it to another file, or use --out <config.yaml>\n"]);
    expect(readFileSync(path.join(dir, "d.csv")).equals(before)).toBe(true);
  });

  for (const file of ["panel.parquet", "panel.arrow"]) {
    it(`rnn init ${file}: the table's columns, as rnn init panel.csv finds them (was: "looks like UTF-16")`, async () => {
      const r = await cli(["init", path.join(COLUMNAR, file), "--target", "y"], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const want = await cli(["init", path.join(COLUMNAR, "panel.csv"), "--target", "y"], { cwd: dir });
      const data = (t: string): unknown => { const c = parse(t) as { data: Record<string, unknown> }; return { ...c.data, train: null }; };
      expect(data(r.stdout)).toEqual(data(want.stdout));
    });
  }

  it("rnn init of a binary file or of a Parquet file named .csv: one line saying what it is, no bytes quoted", async () => {
    writeFileSync(path.join(dir, "prog.csv"), readFileSync(process.execPath).subarray(0, 4096));
    copyFileSync(path.join(COLUMNAR, "panel.parquet"), path.join(dir, "table.csv"));
    expectRejected(await cli(["init", "prog.csv"], { cwd: dir }), { file: "prog.csv", where: "line 1: the file holds NUL bytes: it is binary, not CSV text" });
    expectRejected(await cli(["init", "table.csv"], { cwd: dir }), { file: "table.csv", where: "line 1: the file holds NUL bytes: it is a Parquet file; name it .parquet to read it as one" });
  });

  it.skipIf(!ort)("rnn export --verify --data x.parquet reads the table (was: read as text, \"looks like UTF-16\")", async () => {
    copyFileSync(path.join(COLUMNAR, "panel.parquet"), path.join(dir, "p.parquet"));
    writeFileSync(path.join(dir, "c.yaml"), `seed: 3
data: { train: p.parquet, validationSplit: 0, sequenceColumn: id, inputs: [x, z, w], targets: [y] }
model: { hiddenSize: 4 }
training: { epochs: 1, batchSize: 2 }
output: { dir: run }
`);
    const t = await cli(["train", "c.yaml", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(t.code, t.stderr).toBe(0);
    const r = await cli(["export", "run/last.safetensors", "--onnx", "m.onnx", "--verify", "--data", "p.parquet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).not.toMatch(/UTF-16/);
  });
});
