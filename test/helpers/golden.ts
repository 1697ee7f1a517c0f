import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { expect } from "vitest";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { closeTo } from "./compare.js";
import { tempDir, type Run } from "./cli.js";

/**
 * Golden runs: each case under test/golden/train (scripts/golden/make_train_fixtures.py),
 * test/golden/control (scripts/golden/make_control_fixtures.py), test/golden/heads
 * (scripts/golden/make_heads_fixtures.py), test/golden/bidir (scripts/golden/make_bidir_fixtures.py)
 * and test/golden/text (scripts/golden/make_text_fixtures.py) was computed by a PyTorch reference from its own
 * config, data and initial weights (or checkpoint); a test runs the same commands and must
 * reproduce the files it wrote.
 */
interface Check {
  command: number; kind: "checkpoint" | "updates" | "epochs" | "json" | "csv" | "stderr" | "absent" | "text";
  /** The output file, relative to the run folder; for `absent`, a path the command must not have created. */
  file?: string; stdout?: boolean; expected?: string;
  metadata?: {
    epoch: string; step: string; normalization: "present" | "absent"; classes?: string[];
    /** SPEC §11: `__metadata__.categories`, column → list of texts. */
    categories?: Record<string, string[]>;
    /** A text model's vocabulary (SPEC §12), in order. */
    vocab?: string[];
    /** Config values (by dotted path) the checkpoint's `config` metadata must hold. */
    config?: Record<string, unknown>;
  };
  keys?: string[]; exact?: string[];
  /** updates / epochs: the CSV header line must equal the expected file's. */
  header?: boolean;
  /** stderr: strings the command's stderr must contain. */
  includes?: string[];
}
/** `exit`: each command's expected exit code (all 0 when absent). */
interface Case { name: string; commands: string[][]; checks: Check[]; tol: number; exit?: number[] }

/** The case folders under `root`. */
export function casesIn(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
}

export const GOLDEN_TRAIN = path.resolve(import.meta.dirname, "../golden/train");
export const GOLDEN_CONTROL = path.resolve(import.meta.dirname, "../golden/control");
export const GOLDEN_HEADS = path.resolve(import.meta.dirname, "../golden/heads");
export const GOLDEN_BIDIR = path.resolve(import.meta.dirname, "../golden/bidir");
export const GOLDEN_CATEGORICAL = path.resolve(import.meta.dirname, "../golden/categorical");
export const GOLDEN_TEXT = path.resolve(import.meta.dirname, "../golden/text");
export const goldenCases = casesIn(GOLDEN_TRAIN);

/** The value at a dotted path of a parsed JSON object (undefined where the path ends early). */
function at(obj: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function firstLine(b: Buffer): string {
  return b.toString().split("\n")[0];
}

function rows(text: string): Record<string, string>[] {
  return parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

/**
 * An eval JSON value against the expected one: numbers at tol, keys listed in `exact` exactly, and an
 * expected object (eval's `coverage`) key by key, each key named by its dotted path.
 */
function compareJson(what: string, got: unknown, want: unknown, exact: string[], tol: number): void {
  if (want !== null && typeof want === "object" && !Array.isArray(want)) {
    expect(got !== null && typeof got === "object" && !Array.isArray(got), `${what}: an object`).toBe(true);
    for (const [k, v] of Object.entries(want)) compareJson(`${what}.${k}`, (got as Record<string, unknown>)[k], v, exact, tol);
  } else if (exact.includes(what) || typeof want !== "number") expect(got, what).toEqual(want);
  else {
    expect(typeof got, what).toBe("number");
    closeTo(`eval ${what}`, [got as number], [want], tol);
  }
}

function compareRows(what: string, got: Record<string, string>[], want: Record<string, string>[], exact: string[], tol: number): void {
  expect(got.length, `${what}: rows`).toBe(want.length);
  want.forEach((w, i) => {
    for (const [k, v] of Object.entries(w)) {
      const g = got[i][k];
      expect(g, `${what} row ${i + 1} column ${k}`).toBeDefined();
      if (exact.includes(k) || v === "" || Number.isNaN(Number(v))) expect(g, `${what} row ${i + 1} column ${k}`).toBe(v);
      else closeTo(`${what} row ${i + 1} column ${k}`, [Number(g)], [Number(v)], tol);
    }
  });
}

/**
 * Runs golden case `name` of `root` (default test/golden/train) in a copy of its folder — each
 * command through `run` — and compares every output with the PyTorch reference's.
 */
export function checkGoldenCase(name: string, run: (args: string[], cwd: string, index: number) => Run, root: string = GOLDEN_TRAIN): void {
  const src = path.join(root, name);
  const c = JSON.parse(readFileSync(path.join(src, "case.json"), "utf8")) as Case;
  const dir = tempDir();
  for (const f of readdirSync(src)) if (!f.startsWith("expected") && f !== "case.json") cpSync(path.join(src, f), path.join(dir, f));
  const runs = c.commands.map((args, i) => {
    const r = run(args, dir, i);
    expect(r.code, `rnn ${args.join(" ")}: ${r.stderr}`).toBe(c.exit?.[i] ?? 0);
    return r;
  });
  for (const ch of c.checks) {
    if (ch.kind === "stderr") {
      for (const s of ch.includes ?? []) expect(runs[ch.command].stderr, `rnn ${c.commands[ch.command].join(" ")}: stderr`).toContain(s);
      continue;
    }
    if (ch.kind === "absent") {
      expect(existsSync(path.join(dir, ch.file!)), `rnn ${c.commands[ch.command].join(" ")}: ${ch.file} must not exist`).toBe(false);
      continue;
    }
    const want = readFileSync(path.join(src, ch.expected!));
    const got = ch.stdout ? Buffer.from(runs[ch.command].stdout) : readFileSync(path.join(dir, ch.file!));
    if (ch.header) expect(firstLine(got), `${ch.file ?? "stdout"}: header`).toBe(firstLine(want));
    if (ch.kind === "checkpoint") {
      const g = decodeSafetensors(got, ch.file!), w = decodeSafetensors(want, ch.expected!);
      const model = (m: ReadonlyMap<string, unknown>) => [...m.keys()].filter((k) => /^(rnn|head|encoder|embed)\./.test(k)).sort();
      expect(model(g.tensors), `${ch.file}: tensors`).toEqual(model(w.tensors));
      for (const k of model(w.tensors)) {
        const gt = g.tensors.get(k)!, wt = w.tensors.get(k)!;
        expect([gt.dtype, gt.shape], `${ch.file}: ${k}`).toEqual([wt.dtype, wt.shape]);
        closeTo(`${ch.file}: ${k}`, gt.data, wt.data, c.tol);
      }
      const md = ch.metadata!;
      expect(g.metadata.format).toBe("rnn-checkpoint/1");
      expect([g.metadata.epoch, g.metadata.step], `${ch.file}: epoch, step`).toEqual([md.epoch, md.step]);
      expect(g.metadata.normalization !== undefined, `${ch.file}: normalization ${md.normalization}`).toBe(md.normalization === "present");
      if (md.classes) expect(JSON.parse(g.metadata.classes)).toEqual(md.classes);
      if (md.categories) expect(JSON.parse(g.metadata.categories), `${ch.file}: categories`).toEqual(md.categories);
      if (md.vocab) expect(JSON.parse(g.metadata.vocab), `${ch.file}: vocab`).toEqual(md.vocab);
      const config = JSON.parse(g.metadata.config) as unknown;
      expect(typeof config).toBe("object");
      for (const [k, v] of Object.entries(md.config ?? {})) expect(at(config, k), `${ch.file}: config ${k}`).toEqual(v);
    } else if (ch.kind === "updates") {
      compareRows("updates.csv", rows(got.toString()), rows(want.toString()), ["epoch", "step"], c.tol);
    } else if (ch.kind === "epochs") {
      const strip = (r: Record<string, string>[]) => r.map(({ seconds: _s, ...rest }) => rest);
      compareRows("epochs.csv", strip(rows(got.toString())), strip(rows(want.toString())), ["epoch"], c.tol);
    } else if (ch.kind === "text") {
      expect(got.toString(), `rnn ${c.commands[ch.command].join(" ")}: stdout`).toBe(want.toString());
    } else if (ch.kind === "json") {
      const g = JSON.parse(got.toString()) as Record<string, unknown>, w = JSON.parse(want.toString()) as Record<string, unknown>;
      for (const [k, v] of Object.entries(w)) compareJson(k, g[k], v, ch.exact ?? [], c.tol);
    } else {
      const text = got.toString();
      expect(text.split("\n")[0]).toBe(want.toString().split("\n")[0]);
      compareRows("predict", rows(text), rows(want.toString()), ch.keys ?? [], c.tol);
    }
  }
}
