import { InputError } from "../errors.js";
import type { Normalization } from "./dataset.js";

/** What a missing input cell becomes (config `data.missing.inputs`, SPEC §6). */
export type MissingInputs = "error" | "ffill" | "mean" | "zero";

/** Config `data.missing`: the cell texts that mean "missing", and the input policy. */
export interface MissingSpec {
  readonly values: readonly string[];
  readonly inputs: MissingInputs;
}

/** No missing inputs allowed; an empty target cell is "no target" (SPEC §4). */
export const NO_MISSING: MissingSpec = { values: [""], inputs: "error" };

/**
 * Which cells are missing: their text, trimmed, is one of `values` (trimmed). An empty target
 * cell always is (SPEC §4), whatever the list says.
 */
export class MissingCells {
  private readonly texts: ReadonlySet<string>;
  constructor(readonly spec: MissingSpec) {
    this.texts = new Set(spec.values.map((v) => v.trim()));
  }
  input(cell: string): boolean {
    return this.texts.has(cell.trim());
  }
  target(cell: string): boolean {
    const s = cell.trim();
    return s === "" || this.texts.has(s);
  }
}

/**
 * Per-input-column values that stand in for missing cells, by column name: the training mean
 * of the column's present cells (`mean`, and `ffill` at a sequence's first row). Stored in the
 * checkpoint (`__metadata__.missing_fill`) so eval, predict and forecast fill as training did.
 */
export type FillValues = Readonly<Record<string, number>>;

/**
 * Fills the missing (NaN) inputs of a sequence's rows, in order: `ffill` takes the column's
 * previous value in the sequence (the training mean before the first), `mean` the training
 * mean, `zero` the value that normalises to 0 (the mean with normalisation, else 0).
 */
export class InputFill {
  private readonly last: Float64Array;
  constructor(readonly policy: Exclude<MissingInputs, "error">, private readonly values: Float64Array) {
    this.last = Float64Array.from(values);
  }

  /** A new sequence: ffill starts again from the training means. */
  startSequence(): void {
    this.last.set(this.values);
  }

  /**
   * Fills row x[off..off+I) in place. `last` holds ffill's previous values (this fill's own by
   * default; a caller carrying its own state, as the library's step(), passes its copy).
   */
  apply(x: Float64Array, off: number, last: Float64Array = this.last): void {
    const I = this.values.length;
    for (let i = 0; i < I; i++) {
      const v = x[off + i];
      if (Number.isNaN(v)) x[off + i] = this.policy === "ffill" ? last[i] : this.values[i];
      else if (this.policy === "ffill") last[i] = v;
    }
  }

  /** What ffill starts a sequence from: the training means (a copy). */
  startValues(): Float64Array {
    return Float64Array.from(this.values);
  }
}

/**
 * The fill a config's `data.missing` asks for, or null for `error` (no cell is ever missing
 * then). `fill` holds the training means (required for ffill and mean); `source` names where
 * they came from in messages (a checkpoint).
 */
export function inputFill(spec: MissingSpec, inputs: readonly string[], fill: FillValues | null,
  norm: Normalization | null, source: string): InputFill | null {
  if (spec.inputs === "error") return null;
  const values = new Float64Array(inputs.length);
  inputs.forEach((c, i) => {
    if (spec.inputs === "zero") { values[i] = norm?.[c]?.mean ?? 0; return; }
    const v = fill?.[c];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new InputError(`${source}: no fill value for input column ${JSON.stringify(c)} (data.missing.inputs ${spec.inputs} needs __metadata__.missing_fill)`);
    }
    values[i] = v;
  });
  return new InputFill(spec.inputs, values);
}
