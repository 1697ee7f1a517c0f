import path from "node:path";
import { describe, expect, it } from "vitest";
import { rnn, ROOT } from "./helpers/cli.js";

describe("rnn bench --data", () => {
  it("reads each file whole and reports rows, rows/s and bytes per cell, CSV, Parquet and Arrow alike", () => {
    const files = ["gaps.csv", "gaps.parquet", "gaps.arrow"].map((f) => path.join(ROOT, "test/fixtures/columnar", f));
    const r = rnn(["bench", "--data", files.join(","), "--rounds", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { results: { file: string; rows: number; columns: number; rowsPerSecond: number; bytesPerCell: number }[] };
    expect(out.results.map((x) => [x.file, x.rows, x.columns, x.bytesPerCell])).toEqual(files.map((f) => [f, 8, 2, 8]));
    expect(out.results.every((x) => x.rowsPerSecond > 0)).toBe(true);
  });
});
