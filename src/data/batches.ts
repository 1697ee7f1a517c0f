import type { Batch } from "../core/bptt.js";
import { regressionHead, type RegressionHead } from "../core/heads/index.js";
import type { Config } from "../config/schema.js";
import type { Targets } from "../core/loss.js";
import { Rng } from "../core/rng.js";
import { alloc, type DType } from "../core/tensor.js";
import { InputError } from "../errors.js";
import type { Sequence } from "./dataset.js";

/**
 * What a batch's targets look like: O regression targets and their head, or C classes (`text`:
 * a language model's next token, SPEC §12, scored per token in nats and bits too).
 */
export type TargetShape = { readonly task: "regression"; readonly outputs: number; readonly head: RegressionHead }
  | { readonly task: "classification"; readonly classes: number; readonly text?: boolean };

/** The target shape of a config's model: its targets and head (regression), or its classes. */
export function targetShapeOf(c: Config, outputs: number): TargetShape {
  return c.task === "regression"
    ? { task: "regression", outputs: c.data.targets.length, head: regressionHead(c.model) }
    : { task: "classification", classes: outputs, text: c.data.text !== null };
}

/** A batch plus the ids and lengths of its sequences. */
export interface SequenceBatch extends Batch {
  readonly ids: readonly (string | null)[];
  readonly lengths: readonly number[];
}

/**
 * Pads B sequences to the longest (or to `padTo` steps: a rank's share of a batch is padded to
 * the whole batch's length) and lays them out time-major: x [T,B,I] (zero padding), targets
 * [T,B,O] / [T,B] masked past each sequence's end.
 */
export function makeBatch(seqs: readonly Sequence[], inputs: number, ts: TargetShape, dtype: DType, padTo?: number): SequenceBatch {
  const B = seqs.length, T = padTo ?? Math.max(...seqs.map((s) => s.length)), I = inputs;
  const x = alloc(dtype, T * B * I);
  let targets: Targets;
  if (ts.task === "regression") {
    const O = ts.outputs, values = new Float64Array(T * B * O).fill(NaN);
    seqs.forEach((s, b) => {
      for (let t = 0; t < s.length; t++) for (let o = 0; o < O; o++) values[(t * B + b) * O + o] = s.y ? s.y[t * O + o] : NaN;
    });
    targets = { task: "regression", values, outputs: O, head: ts.head };
  } else {
    const labels = new Int32Array(T * B).fill(-1);
    seqs.forEach((s, b) => { for (let t = 0; t < s.length; t++) labels[t * B + b] = s.labels ? s.labels[t] : -1; });
    targets = { task: "classification", labels, classes: ts.classes };
  }
  seqs.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) for (let i = 0; i < I; i++) x[(t * B + b) * I + i] = s.x[t * I + i];
  });
  return { T, B, x, targets, ids: seqs.map((s) => s.id), lengths: seqs.map((s) => s.length) };
}

/**
 * PyTorch word-language-model `batchify`: one long sequence cut into B contiguous streams of
 * ⌊rows/B⌋ steps, the remainder dropped; trained side by side as one batch.
 */
export function batchify(s: Sequence, B: number, file: string): Sequence[] {
  const n = Math.floor(s.length / B);
  if (n === 0) throw new InputError(`${file}: ${s.length} training rows cannot make ${B} streams (training.batchSize)`);
  const I = s.x.length / s.length, O = s.y ? s.y.length / s.length : 0;
  // Views of the series, not copies (makeBatch copies what it needs).
  return Array.from({ length: B }, (_, b) => ({
    id: s.id, length: n,
    x: s.x.subarray(b * n * I, (b + 1) * n * I),
    y: s.y ? s.y.subarray(b * n * O, (b + 1) * n * O) : null,
    labels: s.labels ? s.labels.slice(b * n, (b + 1) * n) : null,
  }));
}

/**
 * The batches of one epoch as lists of sequence indices: file order, or a permutation drawn
 * from (seed, epoch) alone, so that a resumed run reshuffles exactly as the original did.
 */
export function epochBatches(count: number, batchSize: number, shuffle: boolean, seed: number, epoch: number): number[][] {
  const order = shuffle ? new Rng(seed, 1000 + epoch).permutation(count) : Array.from({ length: count }, (_, i) => i);
  const out: number[][] = [];
  for (let i = 0; i < count; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}
