import { readFile, stat } from "node:fs/promises";
import { InputError } from "../errors.js";
import type { SequenceBatch } from "./batches.js";
import { holdOutCount } from "./dataset.js";

/*
 * SPEC §12's text data: a UTF-8 file read as tokens (code points, or PyTorch word_language_model
 * words with "<eos>" ending each line), the vocabulary sorted by code point, and the token
 * stream as one Int32Array of ids (4 bytes a token: a 100 MB text needs 400 MB, not GBs).
 */

export type TokenKind = "char" | "word";

/** The token that ends every line of a word-level text (PyTorch's data.py). */
export const EOS = "<eos>";

/** The largest text read: one read of a file holds at most this much in Node.js. */
const MAX_TEXT_BYTES = 2 ** 31 - 1;

/** Reads a text argument whole: stdin for "-", else the file. */
export async function readTextArg(src: string, stdin: NodeJS.ReadableStream): Promise<Uint8Array> {
  if (src !== "-") return readTextBytes(src);
  const parts: Buffer[] = [];
  for await (const c of stdin) parts.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(parts);
}

/** Reads a text file's bytes; a missing, special or too large file is an InputError naming it. */
export async function readTextBytes(file: string): Promise<Uint8Array> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new InputError(`${file}: not a text file (it is a ${st.isDirectory() ? "directory" : "special file"})`);
    if (st.size > MAX_TEXT_BYTES) throw new InputError(`${file}: ${st.size} bytes is larger than the ${MAX_TEXT_BYTES} bytes rnn reads as one text`);
    return await readFile(file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: cannot read text: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The code points of UTF-8 bytes (WHATWG's strict decoding: no overlong forms, no surrogates,
 * nothing above U+10FFFF; a byte-order mark is kept as the character U+FEFF, as Python's
 * open() reads it). The first byte that is not valid UTF-8 is an InputError naming its offset.
 */
export function decodeCodePoints(bytes: Uint8Array, file: string): Int32Array {
  const out = new Int32Array(bytes.length);
  let n = 0;
  const bad = (at: number): never => {
    throw new InputError(`${file}: not valid UTF-8 at byte offset ${at} (0x${bytes[at].toString(16).padStart(2, "0")})`);
  };
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b < 0x80) { out[n++] = b; i++; continue; }
    let need: number, cp: number, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0x0f; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; cp = b & 0x07; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
    else return bad(i);
    for (let k = 1; k <= need; k++) {
      const c = i + k < bytes.length ? bytes[i + k] : -1;
      if (c < lo || c > hi) return bad(i + k < bytes.length ? i + k : i);
      lo = 0x80; hi = 0xbf;
      cp = (cp << 6) | (c & 0x3f);
    }
    out[n++] = cp;
    i += need + 1;
  }
  return out.subarray(0, n); // a view: no second copy of a large text
}

/** Python's str.isspace() for one UTF-16 unit (every such character is in the BMP): what str.split() splits on. */
export function isPythonSpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c === 0x85 || c === 0xa0 || c === 0x1680
    || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** Orders strings by code point (as Python's sorted()), not by UTF-16 unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (an astral code point) sorts after every BMP unit of the same position.
    const sx = x >= 0xd800 && x <= 0xdfff, sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** A growable Int32Array. */
class IntList {
  a = new Int32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) { const b = new Int32Array(this.a.length * 2); b.set(this.a); this.a = b; }
    this.a[this.n++] = v;
  }
  done(): Int32Array { return this.a.slice(0, this.n); }
}

/** A text as tokens: ids into `types` (the distinct tokens, in first-appearance order, or the vocabulary read against). */
interface Tokenized {
  readonly ids: Int32Array;
  readonly types: readonly string[];
}

/** Where token `index` of a text starts: 1-based line and column (in code points). */
function positionOf(text: string, kind: TokenKind, index: number): { line: number; col: number } {
  let k = 0, line = 1;
  for (const l of lines(text)) {
    let col = 1, inWord = false;
    for (const ch of l) {
      const cp = ch.codePointAt(0) ?? 0;
      if (kind === "char") { if (k++ === index) return { line, col }; }
      else if (!isPythonSpace(cp) && !inWord) { if (k++ === index) return { line, col }; inWord = true; }
      else if (isPythonSpace(cp)) inWord = false;
      col++;
    }
    if (kind === "char" && l.terminated) { if (k++ === index) return { line, col }; }
    if (kind === "word") { if (k++ === index) return { line, col }; } // its <eos>
    line++;
  }
  return { line, col: 1 };
}

/** The lines of a text: each ended by "\n" (a "\r\n"'s "\r" is whitespace) or by the end; a final empty piece is no line. */
function* lines(text: string): Generator<string & { terminated?: boolean }> {
  let from = 0;
  while (from < text.length) {
    const nl = text.indexOf("\n", from);
    const end = nl < 0 ? text.length : nl;
    const l = Object.assign(text.slice(from, end), { terminated: nl >= 0 }) as string & { terminated?: boolean };
    yield l;
    from = end + 1;
  }
}

/** The words of a line, split on runs of whitespace (Python's str.split()). */
function eachWord(l: string, add: (w: string) => void): void {
  let start = -1;
  for (let i = 0; i <= l.length; i++) {
    const space = i === l.length || isPythonSpace(l.charCodeAt(i));
    if (space && start >= 0) { add(l.slice(start, i)); start = -1; }
    else if (!space && start < 0) start = i;
  }
}

/**
 * Tokenizes UTF-8 bytes. char: every code point is a token ("\n" included); word: each line
 * split on runs of whitespace (Python's str.split()), then "<eos>" — PyTorch's word_language_model
 * data.py. With `vocab` the ids are its indices and a token outside it is an InputError naming
 * its line and column; without, ids index `types` in first-appearance order.
 */
export function tokenize(bytes: Uint8Array, kind: TokenKind, file: string, vocab: readonly string[] | null = null): Tokenized {
  const cps = decodeCodePoints(bytes, file);
  const outside = (i: number, token: string): never => {
    const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
    const p = positionOf(text, kind, i);
    throw new InputError(`${file}: line ${p.line}, column ${p.col}: token ${JSON.stringify(token)} is not in the model's vocabulary (${vocab?.length ?? 0} tokens)`);
  };
  if (kind === "char") {
    const index = new Int32Array(0x110000).fill(-1);
    const types: string[] = [];
    if (vocab) vocab.forEach((t, i) => { const cp = t.codePointAt(0) ?? 0; if (t.length === String.fromCodePoint(cp).length) index[cp] = i; });
    const ids = cps; // renumbered in place: a text is held as 4 bytes a character once
    for (let i = 0; i < cps.length; i++) {
      const cp = cps[i];
      let id = index[cp];
      if (id < 0) {
        if (vocab) return outside(i, String.fromCodePoint(cp));
        id = index[cp] = types.length;
        types.push(String.fromCodePoint(cp));
      }
      ids[i] = id;
    }
    return { ids, types: vocab ?? types };
  }
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  const index = new Map<string, number>(vocab ? vocab.map((t, i) => [t, i]) : []);
  const types: string[] = [];
  const ids = new IntList();
  const add = (w: string): void => {
    let id = index.get(w);
    if (id === undefined) {
      if (vocab) outside(ids.n, w);
      id = types.length;
      index.set(w, id);
      types.push(w);
    }
    ids.push(id);
  };
  for (const l of lines(text)) {
    eachWord(l, add);
    add(EOS);
  }
  return { ids: ids.done(), types: vocab ?? types };
}

/**
 * A prime's token ids (`rnn sample --prime`): its code points, or its words with "<eos>" for each
 * line break in it (not after its end). A token outside the vocabulary is an InputError naming it.
 */
export function primeTokens(prime: string, kind: TokenKind, vocab: readonly string[]): Int32Array {
  const index = new Map(vocab.map((t, i) => [t, i]));
  const words: string[] = [];
  if (kind === "char") words.push(...prime);
  else {
    prime.split("\n").forEach((l, i, all) => {
      eachWord(l, (w) => words.push(w));
      if (i < all.length - 1) words.push(EOS);
    });
  }
  return Int32Array.from(words, (w) => {
    const id = index.get(w);
    if (id === undefined) throw new InputError(`--prime: token ${JSON.stringify(w)} is not in the model's vocabulary (${vocab.length} tokens)`);
    return id;
  });
}

/**
 * The vocabulary of tokenized texts (SPEC §12: every distinct token, sorted by code point) and
 * each text's ids renumbered into it, in place.
 */
export function sortedVocabulary(texts: readonly Tokenized[]): string[] {
  const all = [...new Set(texts.flatMap((t) => t.types))].sort(compareCodePoints);
  const at = new Map(all.map((t, i) => [t, i]));
  for (const t of texts) {
    const re = Int32Array.from(t.types, (ty) => at.get(ty) ?? -1);
    for (let i = 0; i < t.ids.length; i++) t.ids[i] = re[t.ids[i]];
  }
  return all;
}

/** A text model's data: its vocabulary, the training tokens and the validation tokens (or null). */
export interface TextData {
  readonly vocab: readonly string[];
  readonly train: Int32Array;
  readonly val: Int32Array | null;
  readonly file: string;
}

/**
 * Reads `text` (and the `validation` text) as SPEC §12 says: the vocabulary from both (or the
 * one given: a resumed run's), and the validation tokens — the validation file's, or the last
 * round(f · N) tokens of the text, held out before the shift. `batchSize` streams need at
 * least 2 tokens each.
 */
export async function loadText(o: { text: string; tokens: TokenKind; validation: string | null; validationSplit: number; batchSize: number },
  vocab: readonly string[] | null = null): Promise<TextData> {
  const main = tokenize(await readTextBytes(o.text), o.tokens, o.text, vocab);
  if (main.ids.length === 0) throw new InputError(`${o.text}: the text is empty (no ${o.tokens === "char" ? "characters" : "words"})`);
  const valText = o.validation === null ? null : tokenize(await readTextBytes(o.validation), o.tokens, o.validation, vocab);
  if (valText && valText.ids.length === 0) throw new InputError(`${o.validation}: the validation text is empty`);
  const v = vocab ? [...vocab] : sortedVocabulary(valText ? [main, valText] : [main]);
  let train = main.ids, val = valText?.ids ?? null;
  if (!valText && o.validationSplit > 0) {
    const k = holdOutCount(o.validationSplit, train.length);
    if (k >= train.length) throw new InputError(`${o.text}: validationSplit ${o.validationSplit} of ${train.length} tokens leaves none to train on`);
    val = train.subarray(train.length - k);
    train = train.subarray(0, train.length - k);
  }
  if (train.length < 2 * o.batchSize) {
    throw new InputError(`${o.text}: ${train.length} training tokens are fewer than training.batchSize ${o.batchSize} × 2 (each stream needs 2)`);
  }
  return { vocab: v, train, val, file: o.text };
}

/**
 * PyTorch word_language_model's `batchify` of the rows (token t, token t + 1) of one token
 * stream — the last token has no target — into B contiguous streams of n = ⌊N/B⌋ steps (the
 * remainder dropped), as one batch, columns [lo, hi) of it (a rank's share). Time-major, in one
 * buffer of (n + 1) × (hi − lo) ids: x is rows [0, n), the labels rows [1, n + 1) — the same ids
 * a step later (−1: no target).
 */
export function streamBatch(tokens: Int32Array, B: number, V: number, lo = 0, hi = B): SequenceBatch {
  const N = tokens.length, n = Math.floor(N / B), W = hi - lo;
  const buf = new Int32Array((n + 1) * W);
  for (let b = lo; b < hi; b++) {
    const from = b * n, col = b - lo;
    for (let t = 0; t < n; t++) buf[t * W + col] = tokens[from + t];
    buf[n * W + col] = from + n < N ? tokens[from + n] : -1;
  }
  return {
    T: n, B: W, x: buf.subarray(0, n * W),
    targets: { task: "classification", labels: buf.subarray(W), classes: V },
    ids: Array.from({ length: W }, () => null), lengths: Array.from({ length: W }, () => n),
  };
}

/** A text as one sequence from the zero state (validation, eval): input token t, target token t + 1. */
export function sequenceBatch(tokens: Int32Array, V: number): SequenceBatch {
  return streamBatch(tokens, 1, V);
}
