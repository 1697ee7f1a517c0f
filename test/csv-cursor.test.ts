import { parse, type Options } from "csv-parse/sync";
import fc from "fast-check";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { decimalValue } from "../src/data/csv.js";
import { CsvCursor } from "../src/data/csv-cursor.js";

/** What a reader made of a text: rows (line, cells, quick values) and the error it ended on. */
interface Reading { rows: [number, string[]][]; error: string | null }

/** The fast reader, fed `chunks`; also checks every quick value against decimalValue. */
async function fast(chunks: Buffer[]): Promise<Reading> {
  const rows: [number, string[]][] = [];
  try {
    const cur = await CsvCursor.open(Readable.from(chunks), "d.csv");
    rows.push([cur.line, [...cur.header]]);
    while (await cur.more()) {
      while (cur.next()) {
        const cells = cur.cells();
        cells.forEach((cell, c) => {
          const q = cur.quick(c);
          if (!Number.isNaN(q)) expect(q).toBe(decimalValue(cell));
        });
        rows.push([cur.line, cells]);
      }
    }
    return { rows, error: null };
  } catch (e) {
    return { rows, error: (e as Error).message };
  }
}

/** csv-parse on the whole text with the options the reader promises to match. */
function reference(text: Buffer): Reading {
  const rows: [number, string[]][] = [];
  let width = -1;
  try {
    const options: Options = {
      bom: true, info: true, skip_empty_lines: true, relax_column_count: true,
      record_delimiter: ["\r\n", "\n"], max_record_size: 1 << 20,
      // With `info`, a record is { record, info } whatever the typings say.
      on_record: ((r: { record: string[]; info: { lines: number } }) => {
        if (width < 0) width = r.record.length;
        else if (r.record.length !== width) throw new Error(`d.csv: line ${r.info.lines}: ${r.record.length} fields, the header has ${width}`);
        rows.push([r.info.lines, rows.length === 0 ? r.record.map((h) => h.trim()) : r.record]);
        return r.record;
      }) as unknown as Options["on_record"],
    };
    parse(text, options);
    return { rows, error: null };
  } catch (e) {
    const err = e as Error & { lines?: number };
    return { rows, error: err.message.startsWith("d.csv:") ? err.message : `line ${err.lines}` };
  }
}

const cell = fc.oneof(
  fc.constantFrom("1", "-2.5", "+.5", "1.", "0", "-0", "1e3", "2E-7", " 3.25 ", "\t4", "1e999", "12345678901234567", "0.1234567890123456789",
    "abc", "", "NaN", "0x10", "1e", ".", "-", "é", "1,5"),
  fc.double({ noNaN: true }).map(String),
  fc.integer().map(String),
);
const quotedCell = fc.oneof(cell, cell.map((c) => `"${c}"`), fc.constantFrom('"a""b"', '"x\ny"', 'a"b', '"ab"c'));
const ending = fc.constantFrom("\n", "\r\n", "\n\n", "\r\n\r\n");

describe("CsvCursor reads what csv-parse reads", () => {
  it("rows, line numbers and errors, however the input is cut into chunks", async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }).chain((w) => fc.tuple(
        fc.array(fc.tuple(fc.array(fc.oneof(cell, quotedCell), { minLength: w, maxLength: w + (Math.random() < 0.1 ? 1 : 0) }), ending), { minLength: 1, maxLength: 8 }),
        fc.boolean(), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
      )),
      async ([lines, bom, cuts]) => {
        const text = Buffer.from((bom ? "\uFEFF" : "") + lines.map(([cells, end]) => cells.join(",") + end).join(""));
        const chunks: Buffer[] = [];
        for (let at = 0, k = 0; at < text.length; k++) { const n = cuts[k % cuts.length]; chunks.push(text.subarray(at, at + n)); at += n; }
        const want = reference(text), got = await fast(chunks);
        expect(got.rows).toEqual(want.rows);
        if (want.rows.length === 0 && want.error === null) expect(got.error).toBe("d.csv: empty file: a header row is required");
        else if (want.error === null) expect(got.error).toBeNull();
        else expect(got.error).toContain(want.error);
      },
    ), { numRuns: 400 });
  });

  it("a quote far into the file: csv-parse's message, with the file's line number", async () => {
    const text = `a,b\n${"1,2\n".repeat(5000)}3,"4\n`;
    const got = await fast([Buffer.from(text)]);
    expect(got.rows.length).toBe(5001);
    expect(got.error).toBe("d.csv: line 5002: Quote Not Closed: the parsing is finished with an opening quote at line 5002");
  });
});
