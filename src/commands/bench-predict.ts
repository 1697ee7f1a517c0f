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

/**
 * Rows per second of `step` (which processes `rows` rows per call): a warm-up, a first estimate
 * to size the rounds, then `rounds` rounds of about seconds/rounds each; the median.
 */
async function rate(step: () => void | Promise<void>, rows: number, seconds: number, rounds: number): Promise<PredictRate> {
  const time = async (n: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await step();
    return (performance.now() - t0) / 1000 / n;
  };
  await time(3);
  const per = await time(Math.max(3, Math.ceil(0.2 / Math.max(await time(3), 1e-7))));
  const calls = Math.max(3, Math.round(seconds / rounds / per));
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) samples.push(rows / await time(calls));
  return { rowsPerSecond: median(samples), roundsRowsPerSecond: samples };
}

/**
 * The engine's predict path (the network's forward, as rnn predict calls it): `rows` rows of one
 * sequence per call with the state carried, and whole batches. x: [B·T, I] rows, reused cyclically.
 */
async function engineRates(net: Network, w: Sizes, x: Float32Array, seconds: number, rounds: number): Promise<Record<PredictMode, PredictRate>> {
  const state1 = net.zeroState(1);
  const chunk = alloc("float32", STREAM_ROWS * w.I);
  for (let r = 0; r < STREAM_ROWS; r++) chunk.set(x.subarray((r % (w.B * w.T)) * w.I, (r % (w.B * w.T) + 1) * w.I), r * w.I);
  let t = 0;
  const oneSequence = (rows: number) => (): void => {
    const off = rows === 1 ? (t++ % STREAM_ROWS) * w.I : 0;
    net.forward(chunk, off, state1, rows, 1);
    net.stateAfter(rows, 1, state1);
  };
  const online = await rate(oneSequence(1), 1, seconds, rounds);
  const stream = await rate(oneSequence(STREAM_ROWS), STREAM_ROWS, seconds, rounds);
  const xt = alloc("float32", w.T * w.B * w.I); // [T, B, I], the engine's layout
  for (let b = 0; b < w.B; b++) for (let s = 0; s < w.T; s++) xt.set(x.subarray((b * w.T + s) * w.I, (b * w.T + s + 1) * w.I), (s * w.B + b) * w.I);
  const zero = net.zeroState(w.B);
  const batched = await rate(() => net.forward(xt, 0, zero, w.T, w.B), w.B * w.T, seconds, rounds);
  return { online, stream, batched };
}

/** The same measurements in onnxruntime on the exported model (the state fed back as h0/c0). */
async function ortRates(ort: OrtModule, s: OrtSession, shape: ModelShape, w: Sizes, x: Float32Array, seconds: number, rounds: number): Promise<Record<PredictMode, PredictRate>> {
  type Feeds = Record<string, InstanceType<OrtModule["Tensor"]>>;
  const chunk = Float32Array.from({ length: STREAM_ROWS * w.I }, (_, i) => x[i % x.length]);
  let state: Feeds = freshState(ort, shape), t = 0;
  const oneSequence = (rows: number) => async (): Promise<void> => {
    const off = rows === 1 ? (t++ % STREAM_ROWS) * w.I : 0;
    const r = await s.run({ x: new ort.Tensor("float32", chunk.subarray(off, off + rows * w.I), [1, rows, w.I]), ...state });
    state = shape.cell === "lstm" ? { h0: r.hn as Feeds[string], c0: r.cn as Feeds[string] } : { h0: r.hn as Feeds[string] };
  };
  const online = await rate(oneSequence(1), 1, seconds, rounds);
  const stream = await rate(oneSequence(STREAM_ROWS), STREAM_ROWS, seconds, rounds);
  const xb = new ort.Tensor("float32", x, [w.B, w.T, w.I]);
  const zeros = freshState(ort, shape);
  const batched = await rate(async () => { await s.run({ x: xb, ...zeros }); }, w.B * w.T, seconds, rounds);
  return { online, stream, batched };
}

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
  net.freeze(); // as rnn predict runs it: inference, W_hh packed once
  const x = Float32Array.from({ length: w.B * w.T * w.I }, () => 2 * rng.uniform() - 1); // [B, T, I]
  const ours = await engineRates(net, w, x, seconds, rounds);
  let onnx: Record<PredictMode, PredictRate> | null = null;
  if (ort) {
    const params = new Map(net.layout.slots.map((s) => [s.name, net.layout.view(net.params, s.name)]));
    const model = encodeModel(buildOnnxModel({
      shape, params, normalization: null, classes: null, epoch: 0, step: 0,
      config: { task: "regression", data: { inputs: Array.from({ length: w.I }, (_, i) => `x${i}`), targets: Array.from({ length: w.O }, (_, i) => `y${i}`), sequenceColumn: null }, model: { likelihood: null, quantiles: null } },
    }, "bench"));
    const s = await openSession(ort, model, threads);
    try { onnx = await ortRates(ort, s, shape, w, x, seconds, rounds); } finally { await s.release(); }
  }
  const pair = (m: PredictMode): PredictPair => ({ rnn: ours[m], onnxruntime: onnx ? onnx[m] : null });
  return { workload: name, cell, threads, rates: { online: pair("online"), stream: pair("stream"), batched: pair("batched") } };
}
