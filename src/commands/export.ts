import { availableParallelism } from "node:os";
import { splitValidation } from "../data/dataset.js";
import { categoryLookup, columnSpec } from "../data/load.js";
import { readDataArg, type RawSequence } from "../data/table.js";
import { InputError, JobError } from "../errors.js";
import { buildOnnxModel, OPSET, type StateInputs } from "../export/model.js";
import { encodeModel } from "../export/graph.js";
import { loadOrt, openSession, ORT_MISSING } from "../export/ort.js";
import { compareWithOnnx, EXPORT_TOLERANCE } from "../export/verify.js";
import { writeFileAtomic } from "../io/atomic.js";
import { withAbsoluteData } from "../io/checkpoint.js";
import type { Io } from "../io/terminal.js";
import { packageVersion } from "../io/version.js";
import { loadModel, readCheckpointData, type LoadedModel } from "./model.js";

export interface ExportOptions {
  onnx: string;
  /** h0/c0 optional (zero when absent; SPEC §8) or required (for onnxruntime-node, which feeds no optional input). */
  stateInputs?: StateInputs;
  verify?: boolean;
  data?: string;
}

/**
 * The sequences `--verify` runs: --data, else the checkpoint's validation data (data.validation,
 * or the part validationSplit held out), else its training data. Raw: not normalised.
 */
async function verificationData(ckFile: string, m: LoadedModel, data: string | undefined, io: Io): Promise<{ file: string; raws: RawSequence[] }> {
  const cfg = withAbsoluteData(ckFile, m.ck.config);
  const spec = columnSpec(cfg, false, categoryLookup(cfg, m.ck.categories));
  if (data !== undefined) {
    // By its format, as eval's --data: a .parquet or .arrow file is not CSV text.
    return { file: data === "-" ? "<stdin>" : data, raws: await readDataArg(data, io.stdin, spec) };
  }
  const file = cfg.data.validation ?? cfg.data.train;
  const split = cfg.data.validation === null && cfg.data.validationSplit > 0;
  const raws = await readCheckpointData(ckFile, file, spec,
    (all) => (split ? splitValidation(all, cfg.data.validationSplit, cfg.data.sequenceColumn === null, file).val : all));
  return { file: split ? `${file} (the validationSplit rows)` : file, raws };
}

/**
 * `rnn export <checkpoint> --onnx <file>` (SPEC §8): writes the model as ONNX (atomically).
 * With --verify, runs it in onnxruntime on data and compares with the engine's predictions
 * (exit 1 when they differ by more than the tolerance, or when onnxruntime is not installed).
 */
export async function exportCommand(ckFile: string, o: ExportOptions, io: Io): Promise<number> {
  if (!/\.onnx$/i.test(o.onnx)) throw new InputError(`--onnx ${o.onnx}: the file name must end in .onnx`);
  const m = loadModel(ckFile);
  if (m.ck.vocab && o.verify) throw new InputError(`${ckFile}: a text model (data.text): --verify compares CSV predictions; export it without --verify`);
  const { ck } = m, s = ck.shape;
  const bytes = encodeModel(buildOnnxModel(ck, packageVersion(), o.stateInputs ?? "optional"));
  writeFileAtomic(o.onnx, bytes);
  const time = s.bidirectional && s.targetsAt === "last" ? "1" : "time";
  const out = ck.config.task === "regression" ? `y [batch, ${time}, ${s.outputSize}]` : `p [batch, ${time}, ${s.outputSize}] (softmax)`;
  const state = s.bidirectional ? "sequence_lens [batch]" : `h0${s.cell === "lstm" ? ", c0" : ""} ${o.stateInputs === "required" ? "required" : "optional"}`;
  io.stderr.write(`wrote ${o.onnx} (${(bytes.length / 1024).toFixed(1)} KiB, opset ${OPSET}): ${s.layers}-layer ${s.bidirectional ? "bidirectional " : ""}${s.cell} H ${s.hiddenSize}; `
    + `${ck.vocab ? `tokens int64 [batch, time] (vocabulary ${ck.vocab.length})` : `x [batch, time, ${s.inputSize - (s.categorical?.length ?? 0)}]`}${ck.normalization ? " (raw: normalised inside)" : ""}${s.categorical?.length ? `, c [batch, time, ${s.categorical.length}] (int64 category indices)` : ""}, ${state} → ${out}, hn${s.cell === "lstm" ? ", cn" : ""}\n`);
  if (!o.verify) return 0;

  const ort = await loadOrt();
  if (!ort) throw new JobError(`${o.onnx}: written but not verified: ${ORT_MISSING}`);
  const { file, raws } = await verificationData(ckFile, m, o.data, io);
  if (raws.length === 0) throw new InputError(`${file}: no data rows to verify on`);
  // The exported graph has no missing-value fill (data.missing): it takes complete inputs only.
  const I = s.inputSize;
  for (const q of raws) {
    const at = q.x.findIndex((v) => Number.isNaN(v));
    if (at >= 0) {
      throw new InputError(`${file}: ${q.id !== null ? `sequence ${q.id}, ` : ""}step ${Math.floor(at / I)}, column "${ck.config.data.inputs[at % I]}" is missing; the ONNX model takes complete inputs (it has no missing-value fill): verify on --data without missing inputs`);
    }
  }
  const session = await openSession(ort, bytes, availableParallelism());
  try {
    const r = await compareWithOnnx(ort, session, m.net, m.ts, ck, raws);
    const line = `${r.sequences} sequence(s), ${r.rows} rows of ${file}: largest difference ${r.maxRelDiff.toExponential(2)} (relative, |onnx − rnn| / (1 + |rnn|); tolerance ${EXPORT_TOLERANCE.toExponential(0)})`;
    if (r.maxRelDiff > EXPORT_TOLERANCE) {
      const w = r.worst!;
      throw new JobError(`${o.onnx}: onnxruntime disagrees with rnn predict on ${line}, at ${w.sequence !== null ? `sequence ${w.sequence}, ` : ""}t ${w.t}, ${w.column}: onnx ${w.onnx}, rnn ${w.ours}`);
    }
    io.stderr.write(`verified in onnxruntime ${ort.env.versions.common}: ${line}\n`);
    return 0;
  } finally {
    await session.release();
  }
}
