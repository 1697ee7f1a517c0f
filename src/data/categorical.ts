import { InputError } from "../errors.js";
import { sortClasses } from "./dataset.js";
import type { RawSequence } from "./table.js";

/**
 * SPEC §11: each categorical column's categories, by column name: its distinct cell texts in
 * the training split, sorted as classes are (§3). Category k has index k + 1; index 0 stands for
 * a category training never saw, or a missing cell. Stored as `__metadata__.categories`.
 */
export type Categories = Readonly<Record<string, readonly string[]>>;

/** The most distinct categories one column may have (an embedding table of 1e6 + 1 rows). */
export const MAX_CATEGORIES = 1_000_000;

/** Config `data.categorical`, as the model reads it: the column, and its size (null: the default). */
export interface CategoricalSpec {
  readonly column: string;
  readonly size: number | null;
}

/** SPEC §11's default embedding size: min(50, (cardinality + 1) // 2). */
export function defaultEmbeddingSize(cardinality: number): number {
  return Math.min(50, Math.floor((cardinality + 1) / 2));
}

/**
 * Turns a categorical cell's (trimmed, present) text into the number a RowDecoder stores in the
 * input row: a code while the training data is read (CategoryInterner), an index once the
 * categories are known (CategoryLookup). A missing cell is 0 in both, without asking.
 */
export interface CategoryCoder {
  code(j: number, text: string): number;
}

/**
 * Training: codes each column's texts in the order they first appear (1, 2, …), over every file
 * read with it (training and validation data), so that the categories can be found afterwards
 * from the training split alone and every row recoded to its index (`recode`).
 */
export class CategoryInterner implements CategoryCoder {
  private readonly codes: Map<string, number>[];
  /** Per column: the text of code c at [c − 1]. */
  private readonly texts: string[][];

  constructor(readonly columns: readonly string[]) {
    this.codes = columns.map(() => new Map());
    this.texts = columns.map(() => []);
  }

  code(j: number, text: string): number {
    const m = this.codes[j];
    let c = m.get(text);
    if (c === undefined) {
      c = m.size + 1;
      m.set(text, c);
      this.texts[j].push(text);
    }
    return c;
  }

  /**
   * The categories of the training split `train` (rows of width W, the categorical columns at
   * W − C …): the texts of the codes it uses, sorted. More than MAX_CATEGORIES in a column, or
   * none at all, is refused naming the column (`file`: the training data).
   */
  categories(train: readonly RawSequence[], file: string): Categories {
    const C = this.columns.length, out: Record<string, readonly string[]> = {};
    const used = this.columns.map((_, j) => new Uint8Array(this.texts[j].length + 1));
    for (const s of train) {
      const W = s.x.length / s.length;
      for (let r = 0; r < s.length; r++) for (let j = 0; j < C; j++) used[j][s.x[r * W + W - C + j]] = 1;
    }
    this.columns.forEach((col, j) => {
      const texts = this.texts[j].filter((_, c) => used[j][c + 1] === 1);
      if (texts.length > MAX_CATEGORIES) {
        throw new InputError(`${file}: data.categorical[${j}] (column ${JSON.stringify(col)}): ${texts.length} distinct categories in the training split; more than ${MAX_CATEGORIES} will not fit (an embedding table of ${texts.length + 1} rows): read the column as numbers, or group its rare values`);
      }
      if (texts.length === 0) {
        throw new InputError(`${file}: data.categorical[${j}] (column ${JSON.stringify(col)}): every cell of the training split is missing: no category to learn`);
      }
      out[col] = sortClasses(texts);
    });
    return out;
  }

  /** Rewrites the codes of `seqs` into indices of `cats` in place (a code training never used: 0). */
  recode(seqs: readonly RawSequence[], cats: Categories): void {
    const C = this.columns.length;
    const maps = this.columns.map((col, j) => {
      const index = new Map(cats[col].map((t, k) => [t, k + 1]));
      return Int32Array.from([0, ...this.texts[j].map((t) => index.get(t) ?? 0)]);
    });
    for (const s of seqs) {
      const W = s.x.length / s.length;
      for (let r = 0; r < s.length; r++) for (let j = 0; j < C; j++) { const i = r * W + W - C + j; s.x[i] = maps[j][s.x[i]]; }
    }
  }
}

/**
 * Inference (eval, predict, forecast, the library): a checkpoint's categories. An unseen text is
 * index 0; `unseen` counts such cells per column, for the one line on stderr.
 */
export class CategoryLookup implements CategoryCoder {
  private readonly index: Map<string, number>[];
  readonly unseen: number[];

  constructor(readonly columns: readonly string[], cats: Categories) {
    this.index = columns.map((c) => new Map((cats[c] ?? []).map((t, k) => [t, k + 1])));
    this.unseen = columns.map(() => 0);
  }

  code(j: number, text: string): number {
    const k = this.index[j].get(text);
    if (k !== undefined) return k;
    this.unseen[j]++;
    return 0;
  }

  /** The line to say once on stderr when some cells were unseen (`file`: the data), else null. */
  report(file: string): string | null {
    const n = this.unseen.reduce((a, b) => a + b, 0);
    if (n === 0) return null;
    const per = this.columns.map((c, j) => [c, this.unseen[j]] as const).filter(([, k]) => k > 0)
      .map(([c, k]) => `${k} in ${JSON.stringify(c)}`).join(", ");
    return `${file}: ${n} categorical cell${n === 1 ? "" : "s"} held a category training never saw (${per}): read as index 0 (unseen)`;
  }
}

/**
 * `__metadata__.categories` checked against the config's categorical columns: a JSON object
 * giving each column a list of distinct texts (at least one). Null when the config has none.
 */
export function parseCategories(file: string, value: unknown, columns: readonly string[]): Categories | null {
  if (columns.length === 0) return null;
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  const rec = value as Record<string, unknown>;
  for (const c of columns) {
    const v = isObject && Object.hasOwn(rec, c) ? rec[c] : undefined;
    if (!Array.isArray(v) || v.length === 0 || !v.every((t) => typeof t === "string")) {
      throw new InputError(`${file}: __metadata__.categories must give column ${JSON.stringify(c)} a JSON list of category texts (data.categorical)`);
    }
    if (new Set(v).size !== v.length) throw new InputError(`${file}: __metadata__.categories lists a category of column ${JSON.stringify(c)} twice`);
  }
  return Object.fromEntries(columns.map((c) => [c, rec[c] as string[]]));
}
