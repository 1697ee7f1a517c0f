import { cpSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { closeTo } from "./helpers/compare.js";
import { rnn, tempDir } from "./helpers/cli.js";

/**
 * PyTorch -> rnn: each case under test/golden/interop holds a checkpoint written by PyTorch
 * (`nn.RNN` + `nn.Linear` state_dict under SPEC §5 names, with rnn's metadata), a data file,
 * and what torch computes for `rnn predict` / `predict --last` / `eval --json` on it
 * (scripts/golden/make_interop_fixtures.py). The CLI must load the file and agree.
 */
type DType = "float32" | "float64";

interface RunSpec {
  args: string[];
  expected: string;
  kind: "csv" | "json";
}

interface InteropCase {
  name: string;
  dtype: DType;
  tol: number;
  inputs: string[];
  exactColumns: string[];
  evalKeys: string[];
  exactEvalKeys: string[];
  runs: RunSpec[];
}

/** The tolerance each precision is held to (|got − want| ≤ tol·(1 + |want|)), not taken on trust from case.json. */
const TOL: Record<DType, number> = { float64: 1e-9, float32: 1e-5 };

const root = path.join(import.meta.dirname, "golden/interop");
const cases = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

function readCase(name: string): InteropCase {
  return JSON.parse(readFileSync(path.join(root, name, "case.json"), "utf8")) as InteropCase;
}

function table(text: string): string[][] {
  return parse(text, { skip_empty_lines: true }) as string[][];
}

function compareCsv(what: string, gotText: string, wantText: string, exact: readonly string[], tol: number): void {
  const firstLine = (s: string): string => s.split("\n")[0];
  expect(firstLine(gotText), `${what}: header line`).toBe(firstLine(wantText));
  const got = table(gotText), want = table(wantText);
  const header = want[0];
  expect(got[0], `${what}: header`).toEqual(header);
  expect(got.length, `${what}: rows`).toBe(want.length);
  for (let r = 1; r < want.length; r++) expect(got[r].length, `${what}: row ${r} fields`).toBe(header.length);
  header.forEach((col, j) => {
    if (exact.includes(col)) {
      expect(got.slice(1).map((row) => row[j]), `${what}: column ${col}`).toEqual(want.slice(1).map((row) => row[j]));
    } else {
      const g = got.slice(1).map((row) => Number(row[j])), w = want.slice(1).map((row) => Number(row[j]));
      expect(g.every(Number.isFinite), `${what}: column ${col} has non-numbers`).toBe(true);
      closeTo(`${what}: column ${col} (row index)`, g, w, tol);
    }
  });
}

describe("PyTorch-written checkpoints load into rnn and predict/evaluate as torch does", () => {
  it("has the cases", () => {
    expect(cases).toEqual(["f32-regression-normalized", "f64-classification-nobias", "f64-series-no-sequence-column"]);
  });

  for (const name of cases) {
    const c = readCase(name);
    describe(name, () => {
      it("holds a PyTorch checkpoint of its dtype", () => {
        expect(TOL[c.dtype], "dtype").toBeDefined();
        expect(c.tol).toBe(TOL[c.dtype]);
        const raw = readFileSync(path.join(root, name, "ckpt.safetensors"));
        const n = Number(raw.readBigUInt64LE(0));
        const header = JSON.parse(raw.subarray(8, 8 + n).toString("utf8")) as Record<string, { dtype?: string } | Record<string, string>>;
        const meta = header.__metadata__ as Record<string, string>;
        expect(meta.format).toBe("rnn-checkpoint/1");
        const dtypes = new Set(Object.entries(header).filter(([k]) => k !== "__metadata__").map(([, v]) => (v as { dtype: string }).dtype));
        expect([...dtypes]).toEqual([c.dtype === "float32" ? "F32" : "F64"]);
      });

      for (const run of c.runs) {
        it(`rnn ${run.args.join(" ")}`, () => {
          const dir = tempDir("rnn-interop-");
          for (const f of c.inputs) cpSync(path.join(root, name, f), path.join(dir, f));
          const r = rnn(run.args, { cwd: dir });
          expect(r.code, `rnn ${run.args.join(" ")}: ${r.stderr}`).toBe(0);
          const want = readFileSync(path.join(root, name, run.expected), "utf8");
          const tol = TOL[c.dtype];
          if (run.kind === "csv") {
            compareCsv(`${name}: ${run.expected}`, r.stdout, want, c.exactColumns, tol);
          } else {
            const lines = r.stdout.trim().split("\n");
            expect(lines.length, "eval --json prints one JSON object").toBe(1);
            const g = JSON.parse(lines[0]) as Record<string, unknown>;
            const w = JSON.parse(want) as Record<string, number>;
            expect(Object.keys(g).sort(), "eval keys").toEqual([...c.evalKeys].sort());
            expect(Object.keys(w).sort()).toEqual([...c.evalKeys].sort());
            for (const [k, v] of Object.entries(w)) {
              const gv = g[k];
              expect(typeof gv, `eval ${k}`).toBe("number");
              if (c.exactEvalKeys.includes(k)) expect(gv, `eval ${k}`).toBe(v);
              else closeTo(`${name}: eval ${k}`, [gv as number], [v], tol);
            }
          }
        });
      }
    });
  }
});
