import { parse, type Options } from "csv-parse/sync";
import fc from "fast-check";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { decimalValue } from "../src/data/csv.js";
import { CsvCursor, nativeScanRows, type ScanRows } from "../src/data/csv-cursor.js";
import { loadAddon } from "../src/kernels/native.js";

/** What a reader made of a text: rows (line, cells), their quick values, and the error it ended on. */
interface Reading { rows: [number, string[]][]; quick: number[][]; error: string | null }

/**
 * The addon's scanner, for one cursor, given little of the room the cursor offers: two rows a
 * block, and four fields until the cursor has grown its arrays for a row that did not fit.
 */
function cramped(scan: ScanRows): ScanRows {
  let first: Int32Array | null = null;
  return (buf, pos, eof, firstLine, rows, starts, ends, values, out) => {
    first ??= starts;
    const fields = starts === first ? 4 : starts.length;
    return scan(buf, pos, eof, firstLine, rows.subarray(0, 6), starts.subarray(0, fields), ends.subarray(0, fields), values.subarray(0, fields), out);
  };
}

/** How a cursor reads: with the TypeScript path (null) or a block scanner, made for each cursor. */
type Reader = () => ScanRows | null;

/**
 * The TypeScript path, and the addon's block scanner with its own room and with little. The
 * addon must load unless RNN_NO_NATIVE says the machine has none.
 */
function readers(): [string, Reader][] {
  const addon = loadAddon();
  if (addon instanceof Error) {
    if (!process.env.RNN_NO_NATIVE) throw new Error(`the addon failed to load (set RNN_NO_NATIVE=1 to test without it): ${addon.message}`);
    return [["js", () => null]];
  }
  return [["js", () => null], ["native", () => addon.scanRows], ["native, little room", () => cramped(addon.scanRows)]];
}
const READERS = readers();

/** The cursor, reading `chunks` as `reader` says; also checks every quick value against decimalValue. */
async function fast(chunks: Buffer[], reader: Reader): Promise<Reading> {
  const rows: [number, string[]][] = [], quick: number[][] = [];
  try {
    const cur = await CsvCursor.open(Readable.from(chunks), "d.csv", reader());
    rows.push([cur.line, [...cur.header]]);
    while (await cur.more()) {
      while (cur.next()) {
        const cells = cur.cells();
        const q = cells.map((cell, c) => {
          const v = cur.quick(c);
          // expect() only on a mismatch: it is slow, and some inputs have tens of thousands of cells.
          if (!Number.isNaN(v) && !Object.is(v, decimalValue(cell))) expect(v).toBe(decimalValue(cell));
          return v;
        });
        rows.push([cur.line, cells]);
        quick.push(q);
      }
    }
    return { rows, quick, error: null };
  } catch (e) {
    return { rows, quick, error: (e as Error).message };
  }
}

/** csv-parse on the whole text with the options the reader promises to match. */
function reference(text: Buffer): Omit<Reading, "quick"> {
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

/** `text` cut into chunks of the given lengths, in turn. */
function cut(text: Buffer, lengths: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, k = 0; at < text.length; k++) { const n = lengths[k % lengths.length]; chunks.push(text.subarray(at, at + n)); at += n; }
  return chunks;
}

/** The reader's rows and error are csv-parse's for the whole text. */
async function readsLikeCsvParse(chunks: Buffer[], reader: Reader): Promise<Reading> {
  const want = reference(Buffer.concat(chunks)), got = await fast(chunks, reader);
  expect(got.rows).toEqual(want.rows);
  if (want.rows.length === 0 && want.error === null) expect(got.error).toBe("d.csv: empty file: a header row is required");
  else if (want.error === null) expect(got.error).toBeNull();
  else expect(got.error).toContain(want.error);
  return got;
}

const cell = fc.oneof(
  fc.constantFrom("1", "-2.5", "+.5", "1.", "0", "-0", "1e3", "2E-7", " 3.25 ", "\t4", "1e999", "12345678901234567", "0.1234567890123456789",
    "abc", "", "NaN", "0x10", "1e", ".", "-", "é", "1,5"),
  fc.double({ noNaN: true }).map(String),
  fc.integer().map(String),
);
const quotedCell = fc.oneof(cell, cell.map((c) => `"${c}"`), fc.constantFrom('"a""b"', '"x\ny"', 'a"b', '"ab"c'));
const ending = fc.constantFrom("\n", "\r\n", "\n\n", "\r\n\r\n");

/** A number's text as a CSV may hold it: signs, points, leading zeros, up to 18 digits a part, exponents, blanks. */
const numberText = fc.tuple(
  fc.constantFrom("", "", "-", "+", " "), fc.stringMatching(/^[0-9]{0,18}$/), fc.constantFrom("", ".", "."),
  fc.stringMatching(/^[0-9]{0,18}$/), fc.constantFrom("", "", "", "e5", "E-3", "e+22", "e-23", " ", "x"),
).map((parts) => parts.join(""));
const numericCell = fc.oneof(numberText, fc.double({ noNaN: true }).map(String),
  fc.double({ min: -1e4, max: 1e4, noNaN: true }).chain((x) => fc.integer({ min: 0, max: 12 }).map((k) => x.toFixed(k))),
  fc.constantFrom("", "-0", "0.000000", "abc"));

describe.each(READERS)("CsvCursor (%s) reads what csv-parse reads", (_name, reader) => {
  it("rows, line numbers and errors, however the input is cut into chunks", async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }).chain((w) => fc.tuple(
        fc.array(fc.tuple(fc.array(fc.oneof(cell, quotedCell), { minLength: w, maxLength: w + (Math.random() < 0.1 ? 1 : 0) }), ending), { minLength: 1, maxLength: 8 }),
        fc.boolean(), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
      )),
      async ([lines, bom, cuts]) => {
        const text = Buffer.from((bom ? "\uFEFF" : "") + lines.map(([cells, end]) => cells.join(",") + end).join(""));
        await readsLikeCsvParse(cut(text, cuts), reader);
      },
    ), { numRuns: 400 });
  });

  it("wide rows, many to a chunk, a quote or a lone CR now and then", async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 24 }).chain((w) => fc.tuple(
        fc.array(fc.tuple(fc.array(fc.oneof({ weight: 20, arbitrary: numericCell }, { weight: 1, arbitrary: fc.constantFrom('"1"', "a\rb") }),
          { minLength: w, maxLength: w }), ending), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 4 }),
      )),
      async ([lines, cuts]) => {
        const text = Buffer.from(lines.map(([cells, end]) => cells.join(",") + end).join(""));
        await readsLikeCsvParse(cut(text, cuts), reader);
      },
    ), { numRuns: 200 });
  });

  it("a quote far into the file: csv-parse's message, with the file's line number", async () => {
    const text = `a,b\n${"1,2\n".repeat(5000)}3,"4\n`;
    const got = await fast([Buffer.from(text)], reader);
    expect(got.rows.length).toBe(5001);
    expect(got.error).toBe("d.csv: line 5002: Quote Not Closed: the parsing is finished with an opening quote at line 5002");
  });

  it("at the edges of blocks and chunks", async () => {
    const row = (r: number, w: number): string => Array.from({ length: w }, (_, c) => ((r * 31 + c) * 0.37 - 50).toFixed(6)).join(",");
    const header = (w: number): string => Array.from({ length: w }, (_, c) => `c${c}`).join(",");
    const cases: string[][] = [
      // More rows in a chunk than a block holds, 16 and 40 columns.
      [`${header(16)}\n${Array.from({ length: 3000 }, (_, r) => row(r, 16)).join("\n")}\n`],
      [`${header(40)}\n${Array.from({ length: 500 }, (_, r) => row(r, 40)).join("\r\n")}`],
      // A row for csv-parse after several good ones, blank lines between them.
      ["a,b\n1,2\n\n3,4\r\n5,\"6\"\n7,8\n"],
      ["a,b\n1,2\n3,4\n5,6\r7,8\n"],
      // CRLF cut between its CR and LF; a CR the very last byte, of a chunk and of the file.
      ["a,b\r", "\n1,2\r", "\n3,4\r\n"],
      ["a,b\n1,2\r"],
      ["a,b\n1,2\r", "\n", "3,4"],
      // No newline at the end; a row cut in a number.
      ["a,b\n1,2\n3,4"],
      ["a,b\n1.2", "5,3", "\n4,5e", "1\n"],
      // More fields in a row than the arrays first hold.
      [`${header(20000)}\n${row(1, 20000)}\n${row(2, 20000)}\n`],
      // UTF-16's byte-order mark, whole or cut.
      ["\uFEFFa,b\n1,2\n"],
    ];
    for (const chunks of cases) await readsLikeCsvParse(chunks.map((c) => Buffer.from(c)), reader);
    await readsLikeCsvParse([Buffer.from([0xff]), Buffer.from([0xfe, 0x61, 0, 0x0a, 0])], reader);
    await readsLikeCsvParse([Buffer.from([0xff, 0xfe, 0x61, 0, 0x0a, 0])], reader);
  });
});

describe.skipIf(READERS.length === 1)("the addon's block scanner", () => {
  it("reads what the TypeScript path reads: the same cells, lines and numbers, bit for bit", async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 20 }).chain((w) => fc.tuple(
        fc.array(fc.tuple(fc.array(numericCell, { minLength: w, maxLength: w }), ending), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 4 }),
      )),
      async ([lines, cuts]) => {
        const chunks = cut(Buffer.from(lines.map(([cells, end]) => cells.join(",") + end).join("")), cuts);
        const [js, ...native] = await Promise.all(READERS.map(([, reader]) => fast(chunks, reader)));
        for (const got of native) expect(got).toEqual(js);
      },
    ), { numRuns: 400 });
  });
});

describe("which path a cursor takes by default", () => {
  it("the addon's scanner where it loads; the TypeScript path with RNN_BACKEND=js", () => {
    const was = process.env.RNN_BACKEND;
    try {
      delete process.env.RNN_BACKEND;
      expect(nativeScanRows() !== null).toBe(READERS.length > 1);
      process.env.RNN_BACKEND = "js";
      expect(nativeScanRows()).toBeNull();
    } finally {
      if (was === undefined) delete process.env.RNN_BACKEND;
      else process.env.RNN_BACKEND = was;
    }
  });
});
