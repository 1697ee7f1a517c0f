import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BYTES_PER_VALUE, checkDataMemory, estimateData } from "../src/data/estimate.js";
import { tempDir } from "./helpers/cli.js";

describe("data memory estimate", () => {
  it("counts a small file's rows exactly, and a large one's from its first 256 KiB", () => {
    const dir = tempDir();
    const small = path.join(dir, "small.csv"), large = path.join(dir, "large.csv");
    writeFileSync(small, "a,b\n1,2\n3,4\n");
    writeFileSync(large, `a,b\n${"0.25,-1.5\n".repeat(100_000)}`);
    expect(estimateData(small, 2, false)).toEqual({ rows: 2, values: 2, bytes: 2 * 2 * BYTES_PER_VALUE });
    const est = estimateData(large, 2, false);
    expect(Math.abs(est!.rows - 100_000)).toBeLessThan(100);
    expect(estimateData(path.join(dir, "none.csv"), 2, false)).toBeNull();
    expect(estimateData(dir, 2, false)).toBeNull();
  });

  it("refuses at once, in one line naming the file, rows and memory, data that will not fit", () => {
    const est = { rows: 30_000_000, values: 4, bytes: 30_000_000 * 4 * BYTES_PER_VALUE };
    const have = { bytes: 2 * 2 ** 30, source: "/sys/fs/cgroup/memory.max" };
    expect(() => checkDataMemory("big.csv", est, have)).toThrow(
      "big.csv: about 30,000,000 rows × 4 values would need about 3.1 GiB once loaded, more than 80% of the limit of /sys/fs/cgroup/memory.max: 2.0 GiB; use fewer rows or columns, or a machine with more memory");
    expect(() => checkDataMemory("big.csv", est, { bytes: 24 * 2 ** 30, source: "this machine" })).not.toThrow();
  });
});
