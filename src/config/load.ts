import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { InputError } from "../errors.js";
import { configSchema, type Config } from "./schema.js";

/** Parses the text of a config file (YAML or JSON by extension) into a plain value. */
function parseText(text: string, file: string): unknown {
  const ext = path.extname(file).toLowerCase();
  const name = path.basename(file);
  if (ext === ".json") {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new InputError(`${name}: not valid JSON: ${(e as Error).message}`);
    }
  }
  if (ext !== ".yaml" && ext !== ".yml") {
    throw new InputError(`${name}: a config must be .yaml, .yml or .json`);
  }
  // Aliases are capped so that an alias bomb ("billion laughs") is refused, not expanded.
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
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

/** Messages in the words of a config file rather than of TypeScript. */
const errorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return "is required";
      return `must be ${iss.expected === "int" ? "an integer" : iss.expected === "array" ? "a list" : `a${/^[aeiou]/.test(iss.expected) ? "n" : ""} ${iss.expected}`}, got ${JSON.stringify(iss.input)}`;
    case "too_small":
      return `must be ${iss.inclusive ? "≥" : ">"} ${iss.minimum}${iss.origin === "array" || iss.origin === "string" ? " long" : ""}`;
    case "too_big":
      return `must be ${iss.inclusive ? "≤" : "<"} ${iss.maximum}`;
    case "invalid_value":
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(iss.input)}`;
    default:
      return undefined;
  }
};

/** One line for a zod issue: `config.yaml: training.bptt.stride: must be ≤ truncate`. */
export function formatIssue(file: string, issue: z.core.$ZodIssue): string {
  const where = keyPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => (where ? `${where}.${k}` : k));
    return `${file}: ${keys.join(", ")}: unknown key${keys.length > 1 ? "s" : ""}`;
  }
  return `${file}: ${where || "(top level)"}: ${issue.message}`;
}

/** Validates a parsed config (defaults filled); errors name the file and the key path. */
export function validateConfig(value: unknown, file: string): Config {
  const r = configSchema.safeParse(value ?? {}, { error: errorMap });
  if (!r.success) {
    // An unknown key is the likeliest typo, and explains the "is required" issues it causes.
    const issues = [...r.error.issues].sort((a, b) =>
      Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"));
    throw new InputError(formatIssue(file, issues[0]));
  }
  return r.data;
}

/** A config ready to run: defaults filled and every path absolute. */
export interface ResolvedConfig extends Omit<Config, "output"> {
  readonly file: string;
  readonly output: { readonly dir: string };
}

/** Makes a config's paths absolute, relative to the folder of the config file. */
export function resolvePaths(c: Config, file: string): ResolvedConfig {
  const dir = path.dirname(path.resolve(file));
  const abs = (p: string): string => path.resolve(dir, p);
  const base = path.basename(file, path.extname(file));
  return {
    ...c,
    file: path.resolve(file),
    data: { ...c.data, train: abs(c.data.train), validation: c.data.validation === null ? null : abs(c.data.validation) },
    model: { ...c.model, init: c.model.init === null ? null : abs(c.model.init) },
    output: { dir: abs(c.output.dir ?? path.join("runs", base)) },
  };
}

/** Reads, parses, validates and resolves a config file. */
export async function loadConfig(file: string): Promise<ResolvedConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new InputError(`${file}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return resolvePaths(validateConfig(parseText(text, file), path.basename(file)), file);
}
