import { softmaxRow } from "../core/loss.js";
import { alloc } from "../core/tensor.js";
import { zScore } from "../data/dataset.js";
import { InputError } from "../errors.js";
import { csvLine, num } from "../io/format.js";
import { StepRows } from "../io/step-rows.js";
import { BufferedOut, type Io } from "../io/terminal.js";
import { openModelStream, reportUnseen } from "./model.js";

export interface PredictOptions {
  data?: string;
  last?: boolean;
}

/** Steps run per forward call; memory stays O(CHUNK) whatever the input's length. */
const CHUNK = 256;

/**
 * `rnn predict <checkpoint>`: streams a CSV (file or stdin) through the model, each sequence
 * from s_0, and writes one CSV row of predictions per input row (or per sequence with --last).
 */
export async function predict(ckFile: string, o: PredictOptions, io: Io): Promise<number> {
  const { ck, net, ts, file, csv, dec, filler, inStats, outStats, cats } = await openModelStream(ckFile, o.data, false, io);
  const cfg = ck.config;
  const I = net.shape.inputSize, O = net.shape.outputSize;
  const classes = ck.classes;
  const seqCol = cfg.data.sequenceColumn;
  const header = [...(seqCol !== null ? [seqCol] : []), "t",
    ...(ts.task === "classification" ? [`pred_${cfg.data.targets[0]}`, ...(classes ?? []).map((c) => `p_${c}`)] : ts.head.predictColumns(cfg.data.targets))];

  // A bidirectional model reads each sequence whole (SPEC §13): its rows are kept until it ends,
  // and under targetsAt: last it prints one row per sequence, the summary at its last step.
  const whole = net.shape.bidirectional === true;
  const last = o.last === true || (whole && cfg.targetsAt === "last");
  let x = alloc(net.dtype, CHUNK * I);
  const raw = new Float64Array(I);
  const probs = new Float64Array(O);
  const state = net.zeroState(1);
  let pending = 0;         // rows of the current sequence waiting in x
  let id: string | null = null;
  let t = 0;               // step index of the next row within its sequence
  let lastLine: string | null = null;
  let started = false;

  const out = new BufferedOut(io); // a reader that went away stops the reading too (ReaderGone)
  out.add(csvLine(header));
  const emit = (force = false): Promise<void> => out.flush(force);
  const rowText = (y: Float64Array | Float32Array, r: number, step: number): string => {
    const key = [...(seqCol !== null ? [id ?? ""] : []), String(step)];
    softmaxRow(y, r * O, O, probs);
    let best = 0;
    for (let k = 1; k < O; k++) if (y[r * O + k] > y[r * O + best]) best = k;
    return csvLine([...key, classes?.[best] ?? "", ...Array.from(probs, num)]);
  };
  // Regression rows: the predictions in original units, printed a block at a time (StepRows).
  let values = new Float64Array(CHUNK * O);
  const stepRows = new StepRows(O);
  const runChunk = (): void => {
    if (pending === 0) return;
    net.forward(x, 0, state, pending, 1);
    net.stateAfter(pending, 1, state);
    const y = net.head.y;
    const t0 = t - pending;
    if (ts.task === "regression") {
      const from = last ? pending - 1 : 0; // --last prints only a sequence's final row
      if (values.length < pending * O) values = new Float64Array(x.length / I * O);
      for (let r = from; r < pending; r++) ts.head.predictRow(y, r, ts.outputs, outStats, values, r * O);
      const text = stepRows.lines(seqCol !== null ? [id ?? ""] : [], t0 + from, values.subarray(from * O), pending - from);
      if (last) lastLine = text; else out.add(text);
    } else {
      for (let r = 0; r < pending; r++) {
        const line = rowText(y, r, t0 + r);
        if (last) lastLine = line; else out.add(line);
      }
    }
    pending = 0;
  };
  const endSequence = (): void => {
    runChunk();
    if (last && lastLine !== null) out.add(lastLine);
    lastLine = null;
    for (const s of state) s.fill(0);
    t = 0;
  };

  try {
    while (await csv.more()) {
      while (csv.next()) {
        const rid = dec.sequenceId(csv);
        if (started && rid !== id) { endSequence(); await emit(); }
        if (!started || rid !== id) filler?.startSequence();
        id = rid; started = true;
        dec.inputs(csv, raw, 0);
        filler?.apply(raw, 0);
        for (let i = 0; i < I; i++) x[pending * I + i] = zScore(raw[i], inStats[i]);
        pending++; t++;
        if (pending * I === x.length) {
          if (whole) { const grown = alloc(net.dtype, 2 * x.length); grown.set(x); x = grown; } else { runChunk(); await emit(); }
        }
      }
    }
    if (!started) throw new InputError(`${file}: no data rows`);
    endSequence();
  } catch (e) {
    // The rows before a bad one are still predicted and printed.
    // A failed write of them is second to the bad row, which is what the user must fix.
    // (A bidirectional model's unfinished sequence is not: its reverse pass needs the sequence's end.)
    if (e instanceof InputError) { if (!whole) runChunk(); await emit(true).catch(() => undefined); }
    throw e;
  }
  await emit(true);
  reportUnseen(io, cats, file);
  return 0;
}
