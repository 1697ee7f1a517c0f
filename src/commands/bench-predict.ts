import type { CellKind } from "../core/cell.js";
import type { Kernels } from "../core/kernels.js";
import { initParams } from "../core/init.js";
import { Network, type ModelShape } from "../core/network.js";
import { Rng } from "../core/rng.js";
import { alloc } from "../core/tensor.js";
import { encodeModel } from "../export/graph.js";
import { buildOnnxModel } from "../export/model.js";
import { freshState, openSession, type OrtModule, type OrtSession } from "../export/ort.js";

/** One predict measurement: rows (time steps of one sequence) per second, median over rounds. */
export interface PredictRate {
  readonly rowsPerSecond: number;
  readonly roundsRowsPerSecond: number[];
}

/** The engine's rate and onnxruntime's (null when it is not installed) for one way of calling. */
export interface PredictPair { readonly rnn: PredictRate; readonly onnxruntime: PredictRate | null }

/** The ways of calling a model that `rnn bench --predict` measures. */
export const PREDICT_MODES = {
  online: "batch 1, one row per call, the state carried from call to call (a caller fed row by row)",
  stream: "batch 1, 256 rows per call, the state carried (one long sequence, as rnn predict runs it)",
  batched: "B sequences of T rows per call, from zero state",
} as const;
export type PredictMode = keyof typeof PREDICT_MODES;

export interface PredictBenchResult {
  readonly workload: string;
  readonly cell: CellKind;
  readonly threads: number;
  readonly rates: Readonly<Record<PredictMode, PredictPair>>;
}

/** Rows per call of `stream`: rnn predict's chunk. */
const STREAM_ROWS = 256;

interface Sizes { readonly I: number; readonly H: number; readonly O: number; readonly B: number; readonly T: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type Step = () => void | Promise<void>;

/** Seconds per call of `step`, over n calls. */
async function perCall(step: Step, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await step();
  return (performance.now() - t0) / 1000 / n;
}

/** Calls of `step` for a round of `roundSeconds`, after a warm-up and a first estimate. */
async function sizeRound(step: Step, roundSeconds: number): Promise<number> {
  await perCall(step, 3);
  const per = await perCall(step, Math.max(3, Math.ceil(0.2 / Math.max(await perCall(step, 3), 1e-7))));
  return Math.max(3, Math.round(roundSeconds / per));
}

/**
 * Rows per second of each step (each processes `rows` rows per call), median over `rounds`
 * rounds of about seconds/rounds each, the steps' rounds taken in turn so that both see the
 * same machine: on a shared machine the load moves by more than the margins between engines.
 */
async function rates(steps: readonly Step[], rows: number, seconds: number, rounds: number): Promise<PredictRate[]> {
  const calls: number[] = [];
  for (const s of steps) calls.push(await sizeRound(s, seconds / rounds));
  const samples: number[][] = steps.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < steps.length; i++) samples[i].push(rows / await perCall(steps[i], calls[i]));
  }
  return samples.map((xs) => ({ rowsPerSecond: median(xs), roundsRowsPerSecond: xs }));
}

/** The three ways of calling, as steps of one engine: the network's forward, as rnn predict calls it. */
interface ModeSteps { readonly online: Step; readonly stream: Step; readonly batched: Step }

/** x: [B·T, I] rows, reused cyclically; the state carried from call to call. */
function engineSteps(net: Network, w: Sizes, x: Float32Array): ModeSteps {
  const state1 = net.zeroState(1);
  const chunk = alloc("float32", STREAM_ROWS * w.I);
  for (let r = 0; r < STREAM_ROWS; r++) chunk.set(x.subarray((r % (w.B * w.T)) * w.I, (r % (w.B * w.T) + 1) * w.I), r * w.I);
  let t = 0;
  const oneSequence = (rows: number) => (): void => {
    const off = rows === 1 ? (t++ % STREAM_ROWS) * w.I : 0;
    net.forward(chunk, off, state1, rows, 1);
    net.stateAfter(rows, 1, state1);
  };
  const xt = alloc("float32", w.T * w.B * w.I); // [T, B, I], the engine's layout
  for (let b = 0; b < w.B; b++) for (let s = 0; s < w.T; s++) xt.set(x.subarray((b * w.T + s) * w.I, (b * w.T + s + 1) * w.I), (s * w.B + b) * w.I);
  const zero = net.zeroState(w.B);
  return { online: oneSequence(1), stream: oneSequence(STREAM_ROWS), batched: () => net.forward(xt, 0, zero, w.T, w.B) };
}

/** The same in onnxruntime on the exported model (the state fed back as h0/c0). */
function ortSteps(ort: OrtModule, s: OrtSession, shape: ModelShape, w: Sizes, x: Float32Array): ModeSteps {
  type Feeds = Record<string, InstanceType<OrtModule["Tensor"]>>;
  const chunk = Float32Array.from({ length: STREAM_ROWS * w.I }, (_, i) => x[i % x.length]);
  let state: Feeds = freshState(ort, shape), t = 0;
  const oneSequence = (rows: number) => async (): Promise<void> => {
    const off = rows === 1 ? (t++ % STREAM_ROWS) * w.I : 0;
    const r = await s.run({ x: new ort.Tensor("float32", chunk.subarray(off, off + rows * w.I), [1, rows, w.I]), ...state });
    state = shape.cell === "lstm" ? { h0: r.hn as Feeds[string], c0: r.cn as Feeds[string] } : { h0: r.hn as Feeds[string] };
  };
  const xb = new ort.Tensor("float32", x, [w.B, w.T, w.I]);
  const zeros = freshState(ort, shape);
  return { online: oneSequence(1), stream: oneSequence(STREAM_ROWS), batched: async () => { await s.run({ x: xb, ...zeros }); } };
}

/** Rows per call of each mode. */
const modeRows = (w: Sizes): Record<PredictMode, number> => ({ online: 1, stream: STREAM_ROWS, batched: w.B * w.T });

/**
 * `rnn bench --predict`: inference throughput of one workload (1 layer, random weights,
 * float32) in the engine and, when onnxruntime-node is installed, in onnxruntime on the same
 * model exported by `rnn export`, with the same thread count.
 */
export async function benchPredict(name: string, w: Sizes, cell: CellKind, kernels: Kernels, threads: number,
  ort: OrtModule | null, seconds: number, rounds: number): Promise<PredictBenchResult> {
  const shape: ModelShape = { cell, inputSize: w.I, hiddenSize: w.H, outputSize: w.O, layers: 1, activation: "tanh", bias: true };
  const net = new Network(shape, "float32", { kernels });
  const rng = new Rng(1);
  initParams(net.layout, net.params, w.H, rng);
  net.freeze(); // as rnn predict runs it: inference, the weights packed once
  const x = Float32Array.from({ length: w.B * w.T * w.I }, () => 2 * rng.uniform() - 1); // [B, T, I]
  const ours = engineSteps(net, w, x);
  const measured = {} as Record<PredictMode, PredictPair>;
  const rows = modeRows(w);
  const modes = Object.keys(PREDICT_MODES) as PredictMode[];
  if (!ort) {
    for (const m of modes) measured[m] = { rnn: (await rates([ours[m]], rows[m], seconds, rounds))[0], onnxruntime: null };
  } else {
    const params = new Map(net.layout.slots.map((s) => [s.name, net.layout.view(net.params, s.name)]));
    const model = encodeModel(buildOnnxModel({
      shape, params, normalization: null, classes: null, epoch: 0, step: 0,
      config: { task: "regression", data: { inputs: Array.from({ length: w.I }, (_, i) => `x${i}`), targets: Array.from({ length: w.O }, (_, i) => `y${i}`), sequenceColumn: null }, model: { likelihood: null, quantiles: null } },
    }, "bench"));
    const s = await openSession(ort, model, threads);
    try {
      const theirs = ortSteps(ort, s, shape, w, x);
      for (const m of modes) {
        const [a, b] = await rates([ours[m], theirs[m]], rows[m], seconds, rounds);
        measured[m] = { rnn: a, onnxruntime: b };
      }
    } finally { await s.release(); }
  }
  return { workload: name, cell, threads, rates: measured };
}
