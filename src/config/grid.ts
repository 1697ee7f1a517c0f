import { parseDocument } from "yaml";
import { InputError } from "../errors.js";
import { shown } from "./load.js";

/** A value a grid gives a key: what one YAML scalar reads as. */
export type Scalar = string | number | boolean | null;

/** One `--grid key=v1,v2,…`: a dotted config key, its values, and each value's text as typed. */
export interface GridAxis {
  readonly key: string;
  readonly values: readonly Scalar[];
  readonly texts: readonly string[];
}

/** One grid value of a point, with its text as typed (error messages quote the user's words). */
export interface Setting {
  readonly key: string;
  readonly value: Scalar;
  readonly text: string;
}

export interface GridPoint {
  readonly index: number;
  readonly settings: readonly Setting[];
}

/**
 * Most points one sweep may have. Every point is validated and written before anything
 * runs, so a typo such as eight keys of ten values must be refused, not expanded; Slurm's
 * default MaxArraySize (1001) and a Kubernetes Indexed Job's completions are well below it.
 */
export const MAX_POINTS = 10_000;

/** Reads the value of a flag (`--grid key=…`, `--set key=…`) as YAML; `what` names it in messages. */
function yamlValue(flag: string, key: string, text: string, what: string): unknown {
  const where = `${flag} ${key}=${text}`;
  if (text.trim() === "") throw new InputError(`${flag} ${key}: an empty value (write null for null)`);
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new InputError(`${where}: not ${what}: ${doc.errors[0].message.split("\n")[0]}`);
  try {
    return doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    throw new InputError(`${where}: not ${what}: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** A dotted key as a flag gives it: `model.hiddenSize`. */
function dottedKey(flag: string, arg: string, example: string): { key: string; text: string } {
  const eq = arg.indexOf("=");
  if (eq < 0) throw new InputError(`${flag} ${arg}: expected <dotted.key>=${example}`);
  const key = arg.slice(0, eq).trim();
  if (key.split(".").some((part) => part === "")) throw new InputError(`${flag} ${arg}: "${key}" is not a dotted key (like model.hiddenSize)`);
  return { key, text: arg.slice(eq + 1) };
}

/** One `--set <dotted.key>=<value>` of train (SPEC §6): the value read as YAML (a scalar, a list, a mapping). */
export interface Override { readonly key: string; readonly value: unknown }

export function parseSetArg(arg: string): Override {
  const { key, text } = dottedKey("--set", arg, "<value>");
  return { key, value: yamlValue("--set", key, text.trim(), "a YAML value") };
}

/** Reads one value of a --grid flag as a YAML scalar: `0.01` a number, `true` a boolean, `null`. */
function scalar(key: string, text: string): Scalar {
  const v = yamlValue("--grid", key, text, "a YAML scalar");
  const where = `--grid ${key}=${text}`;
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  throw new InputError(`${where}: must be a scalar (a number, a string, true, false or null), got ${shown(v)}`);
}

/**
 * Parses `--grid <dotted.key>=v1,v2,…`. Values are split at every comma (so a value cannot
 * hold one) and each is read as YAML; a value given twice would only train the same run twice.
 */
export function parseGridArg(arg: string): GridAxis {
  const { key, text } = dottedKey("--grid", arg, "v1,v2,…");
  const texts = text.split(",").map((t) => t.trim());
  const values = texts.map((t) => scalar(key, t));
  const seen = new Map<string, string>();
  values.forEach((v, i) => {
    const id = JSON.stringify(v);
    const before = seen.get(id);
    if (before !== undefined) throw new InputError(`--grid ${key}=${texts[i]}: the same value as ${before}, given before`);
    seen.set(id, texts[i]);
  });
  return { key, values, texts };
}

/** Whether two dotted keys name the same entry or one holds the other (`a.b` and `a.b.c`, `a.b[0]`). */
export function keysOverlap(a: string, b: string): boolean {
  const within = (inner: string, outer: string): boolean => inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
  return a === b || within(a, b) || within(b, a);
}

/** Refuses a grid that names no key, names one twice (or one inside another), or is too large. */
export function checkAxes(axes: readonly GridAxis[]): void {
  if (axes.length === 0) throw new InputError("--grid: none given; a sweep needs at least one --grid <dotted.key>=v1,v2,…");
  axes.forEach((a, i) => axes.slice(0, i).forEach((b) => {
    if (a.key === b.key) throw new InputError(`--grid ${a.key}: given twice (list its values in one --grid)`);
    // The later would overwrite part or all of the earlier: which one wins is nobody's intent.
    if (keysOverlap(a.key, b.key)) throw new InputError(`--grid ${b.key} and --grid ${a.key}: one key holds the other`);
  }));
  const count = axes.reduce((n, a) => n * a.values.length, 1);
  if (count > MAX_POINTS) {
    throw new InputError(`--grid: ${axes.map((a) => a.values.length).join(" × ")} = ${count} points; a sweep may have at most ${MAX_POINTS}`);
  }
}

/** The cartesian product of the axes, in the order given, the last axis varying fastest. */
export function expandGrid(axes: readonly GridAxis[]): GridPoint[] {
  const count = axes.reduce((n, a) => n * a.values.length, 1);
  return Array.from({ length: count }, (_, index) => {
    const picks = new Array<number>(axes.length);
    let rest = index;
    for (let k = axes.length - 1; k >= 0; k--) {
      picks[k] = rest % axes[k].values.length;
      rest = Math.floor(rest / axes[k].values.length);
    }
    return { index, settings: axes.map((a, k) => ({ key: a.key, value: a.values[picks[k]], text: a.texts[picks[k]] })) };
  });
}

type Mapping = Record<string, unknown>;

function isMapping(v: unknown): v is Mapping {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A copy of `root` with the dotted key set (the input is not changed). A missing or non-mapping
 * entry on the way becomes a mapping, so that `training.clip.norm` works where `clip` is null;
 * where that makes no sense the schema says so, in its usual words. Entries are defined, not
 * assigned, so that a key such as `__proto__` is an own key the schema refuses as unknown
 * rather than a change to an object's prototype.
 */
export function setDotted(root: unknown, key: string, value: unknown): Mapping {
  const dot = key.indexOf(".");
  const head = dot < 0 ? key : key.slice(0, dot);
  const copy: Mapping = isMapping(root) ? { ...root } : {};
  const old = isMapping(root) && Object.hasOwn(root, head) ? root[head] : undefined;
  const v = dot < 0 ? value : setDotted(old, key.slice(dot + 1), value);
  Object.defineProperty(copy, head, { value: v, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** A point's number as its file and run directory name it: `007` (wider past 1000 points). */
export function pointLabel(index: number, count: number): string {
  return String(index).padStart(Math.max(3, String(count - 1).length), "0");
}
