import { softmaxRow } from "../core/loss.js";
import type { Network } from "../core/network.js";
import type { TargetShape } from "../data/batches.js";
import { prepareSequence, targetStats } from "../data/dataset.js";
import { targetPlan } from "../data/load.js";
import type { RawSequence } from "../data/table.js";
import type { Checkpoint } from "../io/checkpoint.js";
import { forwardSequences } from "../train/evaluate.js";
import { freshState, type OrtModule, type OrtSession } from "./ort.js";

/** SPEC §8: onnxruntime agrees with `rnn predict` to 1e-5 relative: |onnx − ours| ≤ 1e-5 · (1 + |ours|). */
export const EXPORT_TOLERANCE = 1e-5;

/** Sequences per onnxruntime call (padded to the longest: the padding's outputs are not compared). */
const GROUP = 32;

export interface VerifyReport {
  readonly sequences: number;
  readonly rows: number;
  /** The largest |onnx − ours| / (1 + |ours|) over every output of every row. */
  readonly maxRelDiff: number;
  /** Where it is. */
  readonly worst: { readonly sequence: string | null; readonly t: number; readonly column: string; readonly ours: number; readonly onnx: number } | null;
}

/**
 * What `rnn predict` prints for each sequence, as numbers: [T, O] per sequence, regression
 * outputs in original units or classification probabilities. Each sequence runs from s_0.
 */
export function engineOutputs(net: Network, ts: TargetShape, ck: Checkpoint, raws: readonly RawSequence[]): Float64Array[] {
  const O = net.shape.outputSize, cfg = ck.config;
  const plan = targetPlan(cfg);
  // prepareSequence works in place: a copy of x, for onnxruntime is fed the raw values after this.
  const seqs = raws.map((s) => prepareSequence({ ...s, x: Float64Array.from(s.x), y: null, labels: null }, plan, ck.classes, ck.normalization, ck.file));
  const out = raws.map((s) => new Float64Array(s.length * O));
  const stats = targetStats(plan, ck.normalization);
  const probs = new Float64Array(O);
  let g0 = 0; // the first sequence of forwardSequences' current group (it runs them in order)
  forwardSequences(net, seqs, ts, (batch, y, t0, len) => {
    for (let b = 0; b < batch.B; b++) {
      const dst = out[g0 + b], n = batch.lengths[b];
      for (let t = t0; t < Math.min(t0 + len, n); t++) {
        const row = (t - t0) * batch.B + b;
        if (ts.task === "regression") ts.head.predictRow(y, row, ts.outputs, stats, dst, t * O);
        else { softmaxRow(y, row * O, O, probs); dst.set(probs, t * O); }
      }
    }
    if (t0 + len >= batch.T) g0 += batch.B;
  });
  return out;
}

/**
 * One padded batch of raw sequences as onnxruntime's x [B, T, I] (float32) and, with C
 * categorical columns (SPEC §11: the last C values of a row are their indices), c [B, T, C] (int64).
 */
function rawBatch(ort: OrtModule, raws: readonly RawSequence[], W: number, C: number): { feeds: Record<string, InstanceType<OrtModule["Tensor"]>>; T: number } {
  const B = raws.length, T = Math.max(...raws.map((s) => s.length)), I = W - C;
  const data = new Float32Array(B * T * I), cats = new BigInt64Array(B * T * C);
  raws.forEach((s, b) => {
    for (let t = 0; t < s.length; t++) {
      for (let i = 0; i < I; i++) data[(b * T + t) * I + i] = s.x[t * W + i];
      for (let j = 0; j < C; j++) cats[(b * T + t) * C + j] = BigInt(s.x[t * W + I + j]);
    }
  });
  const feeds: Record<string, InstanceType<OrtModule["Tensor"]>> = { x: new ort.Tensor("float32", data, [B, T, I]) };
  if (C > 0) feeds.c = new ort.Tensor("int64", cats, [B, T, C]);
  return { feeds, T };
}

/**
 * Runs the exported model in onnxruntime on raw sequences (each from zero state) and compares
 * every output of every row with the engine's (`engineOutputs`).
 */
export async function compareWithOnnx(ort: OrtModule, session: OrtSession, net: Network, ts: TargetShape, ck: Checkpoint,
  raws: readonly RawSequence[]): Promise<VerifyReport> {
  const ours = engineOutputs(net, ts, ck, raws);
  const I = net.shape.inputSize, O = net.shape.outputSize;
  // A bidirectional model takes each row's length (sequence_lens) and no state; under
  // targetsAt: last its one output per sequence is predict's row at the sequence's last step.
  const bidirectional = net.shape.bidirectional === true, summary = bidirectional && net.shape.targetsAt === "last";
  const output = ck.config.task === "regression" ? "y" : "p";
  const columns = ck.classes ? ck.classes.map((c) => `p_${c}`) : ck.config.data.targets.map((c) => `pred_${c}`);
  let maxRelDiff = 0, rows = 0;
  let worst: VerifyReport["worst"] = null;
  for (let g = 0; g < raws.length; g += GROUP) {
    const group = raws.slice(g, g + GROUP);
    const { feeds, T } = rawBatch(ort, group, I, net.shape.categorical?.length ?? 0);
    const res = await session.run(bidirectional
      ? { ...feeds, sequence_lens: new ort.Tensor("int32", Int32Array.from(group, (s) => s.length), [group.length]) }
      : { ...feeds, ...freshState(ort, net.shape) });
    const got = res[output].data as Float32Array;
    group.forEach((s, b) => {
      const want = ours[g + b];
      rows += summary ? 1 : s.length;
      for (let t = summary ? s.length - 1 : 0; t < s.length; t++) {
        for (let o = 0; o < O; o++) {
          const a = got[(summary ? b : b * T + t) * O + o], w = want[t * O + o];
          const d = Math.abs(a - w) / (1 + Math.abs(w));
          if (!(d <= maxRelDiff)) { // NaN counts as the worst
            maxRelDiff = Number.isNaN(d) ? Infinity : d;
            worst = { sequence: s.id, t, column: columns[o], ours: w, onnx: a };
          }
        }
      }
    });
  }
  return { sequences: raws.length, rows, maxRelDiff, worst };
}
