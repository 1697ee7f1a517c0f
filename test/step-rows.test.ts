import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { csvLine, num } from "../src/io/format.js";
import { nativeFormatRows, StepRows } from "../src/io/step-rows.js";

/** What predict printed before StepRows: csvLine of the key, the step and num of each value. */
const expected = (key: string[], t0: number, v: Float64Array, rows: number, cols: number): string =>
  Array.from({ length: rows }, (_, r) => csvLine([...key, String(t0 + r), ...Array.from(v.subarray(r * cols, (r + 1) * cols), num)])).join("");

const edge = [0, -0, 1, -1, 0.1, 1 / 3, 1e21, 1e20, 123456789012345680000, 1e-6, 1e-7, 1.5e-7, 5e-324, 1.7976931348623157e308,
  -2.2250738585072014e-308, 100, 1e15, 123.456, 0.000001234, NaN, Infinity, -Infinity, 2 ** 53, 9007199254740993, 4.35, 0.3];

describe("StepRows prints what String(x) prints", () => {
  it("has the native formatter here (the addon is built in this repository's tests)", () => {
    expect(nativeFormatRows()).not.toBeNull();
  });

  for (const [name, format] of [["native", nativeFormatRows()], ["String(x)", null]] as const) {
    it(`${name}: edge cases, keys that need quoting, random doubles and floats`, () => {
      const v = Float64Array.from(edge);
      expect(new StepRows(2, format).lines(["a,\"b\"", "é"], 7, v, edge.length / 2)).toBe(expected(["a,\"b\"", "é"], 7, v, edge.length / 2, 2));
      fc.assert(fc.property(
        fc.array(fc.oneof(fc.double(), fc.float().map(Math.fround), fc.integer().map((i) => i / 1000)), { minLength: 3, maxLength: 300 }),
        fc.nat(1e6),
        (xs, t0) => {
          const cols = 3, rows = Math.floor(xs.length / cols), v = Float64Array.from(xs);
          expect(new StepRows(cols, format).lines([], t0, v, rows)).toBe(expected([], t0, v, rows, cols));
        },
      ), { numRuns: 300 });
    });
  }
});
