import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { configSchema, type Config } from "./schema.js";

/** Deepest flow nesting ([ and {) a config may use; real ones use 3. */
const MAX_DEPTH = 64;

/**
 * Where YAML flow collections first nest deeper than MAX_DEPTH, or null. A scan, not a
 * parse: quoted scalars and comments are skipped, other brackets counted.
 */
function deepestFlow(text: string): { line: number; col: number } | null {
  let depth = 0, line = 1, lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") { line++; lineStart = i + 1; continue; }
    if (ch === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (ch === '"' || ch === "'") {
      for (i++; i < text.length && text[i] !== ch; i++) {
        if (ch === '"' && text[i] === "\\") i++;
        if (text[i] === "\n") { line++; lineStart = i + 1; }
      }
    } else if (ch === "[" || ch === "{") {
      if (++depth > MAX_DEPTH) return { line, col: i - lineStart + 1 };
    } else if ((ch === "]" || ch === "}") && depth > 0) {
      depth--;
    }
  }
  return null;
}

/** Parses the text of a config file (YAML or JSON by extension) into a plain value. */
function parseText(text: string, file: string): unknown {
  const ext = path.extname(file).toLowerCase();
  const name = path.basename(file);
  if (ext === ".json") {
    try {
      return JSON.parse(text);
    } catch (e) {
      // V8 quotes a piece of the text, line breaks and all: keep the message to one line.
      const msg = (e as Error).message;
      const at = /at position (\d+)/.exec(msg);
      let where = "";
      if (at) {
        const before = text.slice(0, Number(at[1])).split("\n");
        where = ` (line ${before.length}, column ${before[before.length - 1].length + 1})`;
      }
      const why = msg.replace(/\s*\(line \d+ column \d+\)/, "").replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
      throw new InputError(`${name}: not valid JSON: ${why.length > 160 ? `${why.slice(0, 159)}…` : why}${where}`);
    }
  }
  if (ext !== ".yaml" && ext !== ".yml") {
    throw new InputError(`${name}: a config must be .yaml, .yml or .json`);
  }
  // Nesting is capped before parsing: the YAML parser spends hundreds of bytes of memory per
  // level, so a megabyte of "[" would cost most of a gigabyte before failing.
  const deep = deepestFlow(text);
  if (deep) throw new InputError(`${name}:${deep.line}:${deep.col}: not valid YAML: nested deeper than ${MAX_DEPTH} levels`);
  // Aliases are capped so that an alias bomb ("billion laughs") is refused, not expanded.
  // YAML 1.1 merge keys (`<<: *defaults`) are how configs share blocks: take them as such.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, merge: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    throw new InputError(`${name}${pos ? `:${pos.line}:${pos.col}` : ""}: not valid YAML: ${err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new InputError(`${name}: ${(e as Error).message.split("\n")[0]}`);
  }
}

function keyPath(p: readonly PropertyKey[]): string {
  return p.map((k) => (typeof k === "number" ? `[${k}]` : String(k))).join(".").replace(/\.\[/g, "[");
}

/**
 * A value as a message shows it: JSON for a short scalar, a summary for the rest (a value
 * from a hostile file may be nested too deep to stringify, or megabytes long).
 */
export function shown(v: unknown): string {
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "object" && v !== null) return "an object";
  // JSON.stringify(Infinity) is "null": a non-finite number shows as itself.
  const s = typeof v === "number" && !Number.isFinite(v) ? String(v)
    : typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** Messages in the words of a config file rather than of TypeScript. */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "is required";
      if (typeof iss.input === "number" && !Number.isFinite(iss.input)) return `must be a finite number, got ${shown(iss.input)}`;
      return `must be ${iss.expected === "int" ? "an integer" : iss.expected === "array" ? "a list" : `a${/^[aeiou]/.test(iss.expected) ? "n" : ""} ${iss.expected}`}, got ${shown(iss.input)}`;
    case "too_small":
      return `must be ${iss.inclusive ? "≥" : ">"} ${iss.minimum}${iss.origin === "array" || iss.origin === "string" ? " long" : ""}`;
    case "too_big":
      return `must be ${iss.inclusive ? "≤" : "<"} ${iss.maximum}`;
    case "invalid_value":
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}, got ${shown(iss.input)}`;
    default:
      return undefined;
  }
};

/** The dotted keys an issue is about: each unknown key, else the issue's own path ("" at the top). */
export function issueKeys(issue: z.core.$ZodIssue): string[] {
  const where = keyPath(issue.path);
  return issue.code === "unrecognized_keys" ? issue.keys.map((k) => (where ? `${where}.${k}` : k)) : [where];
}

/** One line for a zod issue: `config.yaml: training.bptt.stride: must be ≤ truncate`. */
export function formatIssue(file: string, issue: z.core.$ZodIssue): string {
  const keys = issueKeys(issue);
  if (issue.code === "unrecognized_keys") return `${file}: ${keys.join(", ")}: unknown key${keys.length > 1 ? "s" : ""}`;
  return `${file}: ${keys[0] || "(top level)"}: ${issue.message}`;
}

/** A value checked against a schema: the parsed value (defaults filled), or the issue to report. */
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issue: z.core.$ZodIssue };

/**
 * Checks a parsed file (a config, a sweep manifest) against its schema, in the words of a
 * config file; of several issues, the one that best explains the others.
 */
export function checkAgainst<S extends z.ZodType>(schema: S, value: unknown): Checked<z.output<S>> {
  const r = schema.safeParse(value, { error: errorMap });
  if (r.success) return { ok: true, value: r.data };
  // An unknown key is the likeliest typo, and explains the "is required" issues it causes.
  // zod's own safe-integer bound (±2^53) says less than the key's real range: rank it last.
  const rank = (i: z.core.$ZodIssue): number => (i.code === "unrecognized_keys" ? 0
    : (i.code === "too_big" && Number(i.maximum) >= Number.MAX_SAFE_INTEGER) || (i.code === "too_small" && Number(i.minimum) <= Number.MIN_SAFE_INTEGER) ? 2 : 1);
  return { ok: false, issue: [...r.error.issues].sort((a, b) => rank(a) - rank(b))[0] };
}

/** The keys `data.text` replaces (SPEC §12): each is refused beside it. */
const REPLACED_BY_TEXT = [
  ["data", "train"], ["data", "inputs"], ["data", "targets"], ["data", "sequenceColumn"], ["data", "shift"],
  ["data", "normalize"], ["data", "missing"], ["task"], ["targetsAt"],
] as const;

/** The first key a text config (`data.text`) gives that the text replaces, as an issue, or null. */
function besideText(value: unknown): z.core.$ZodIssue | null {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isRecord(value) || !isRecord(value.data) || value.data.text === undefined || value.data.text === null) return null;
  for (const p of REPLACED_BY_TEXT) {
    const holder = p.length === 1 ? value : value.data;
    if (Object.hasOwn(holder, p[p.length - 1])) {
      return { code: "custom", path: [...p], input: undefined, message: "is not a key of a data.text model (the text replaces data.train, inputs, targets, sequenceColumn, shift, normalize, missing, task and targetsAt)" };
    }
  }
  return null;
}

/** Checks a parsed config (an empty file is an empty config). */
export function checkConfig(value: unknown): Checked<Config> {
  const refused = besideText(value);
  if (refused) return { ok: false, issue: refused };
  return checkAgainst(configSchema, value ?? {});
}

/** Validates a parsed config (defaults filled); errors name the file and the key path. */
export function validateConfig(value: unknown, file: string): Config {
  const r = checkConfig(value);
  if (!r.ok) throw new InputError(formatIssue(file, r.issue));
  return r.value;
}

/** A config ready to run: defaults filled and every path absolute. */
export interface ResolvedConfig extends Omit<Config, "output"> {
  readonly file: string;
  readonly output: { readonly dir: string; readonly tensorboard: boolean };
}

/** Makes a config's paths absolute, relative to the folder of the config file. */
export function resolvePaths(c: Config, file: string): ResolvedConfig {
  const dir = path.dirname(path.resolve(file));
  const abs = (p: string): string => path.resolve(dir, p);
  const base = path.basename(file, path.extname(file));
  return {
    ...c,
    file: path.resolve(file),
    data: {
      ...c.data, train: abs(c.data.train), text: c.data.text === null ? null : abs(c.data.text),
      validation: c.data.validation === null ? null : abs(c.data.validation),
    },
    model: { ...c.model, init: c.model.init === null ? null : abs(c.model.init) },
    output: { ...c.output, dir: abs(c.output.dir ?? path.join("runs", base)) },
  };
}

/** Largest config file read: real ones are a few hundred bytes. */
const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Reads and parses a config file (YAML or JSON by extension) into a plain value, not yet
 * validated. `maxBytes` bounds the read (a sweep manifest may be larger than a config).
 */
export async function readConfigFile(file: string, maxBytes = MAX_CONFIG_BYTES): Promise<unknown> {
  let text: string;
  try {
    // A config must be a regular file of sane size: /dev/zero or a FIFO would never end.
    const st = await stat(file);
    if (!st.isFile()) throw new InputError(`${file}: not a config file (it is a ${st.isDirectory() ? "directory" : "special file"})`);
    if (st.size > maxBytes) throw new InputError(`${file}: ${st.size} bytes is too large for a config (at most ${maxBytes})`);
    text = await readFile(file, "utf8");
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseText(text, file);
}

/** Reads, parses, validates and resolves a config file. */
export async function loadConfig(file: string): Promise<ResolvedConfig> {
  return resolvePaths(validateConfig(await readConfigFile(file), path.basename(file)), file);
}
