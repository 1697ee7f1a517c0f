import type { Batch } from "../core/bptt.js";
import type { CellKind } from "../core/cell.js";
import type { Kernels } from "../core/kernels.js";
import { initParams } from "../core/init.js";
import { regressionHead, type RegressionHead } from "../core/heads/index.js";
import { pointHead } from "../core/heads/point.js";
import { Network, type ModelShape } from "../core/network.js";
import { createOptimizer } from "../core/optim.js";
import { Rng } from "../core/rng.js";
import { alloc } from "../core/tensor.js";
import type { SequenceBatch } from "../data/batches.js";
import { rowShare, soloComm, type Communicator } from "../distributed/comm.js";
import { joinWorld, threadsPerRank } from "../distributed/launch.js";
import { InputError } from "../errors.js";
import { writeOut, type Io } from "../io/terminal.js";
import { DropoutMasks } from "../train/dropout.js";
import { trainLoop } from "../train/trainer.js";
import { backendNames, loadBackend, type BackendName, type MachineReport } from "../kernels/backends.js";
import { loadOrt, ORT_MISSING } from "../export/ort.js";
import { benchPredict, PREDICT_MODES, type PredictBenchResult, type PredictMode, type PredictPair } from "./bench-predict.js";

/** The standard workloads (issue "Faster than PyTorch on a CPU"): 1 layer, tanh, float32; Elman unless --cell. */
export const WORKLOADS = {
  small: { I: 8, H: 64, O: 8, B: 32, T: 64 },
  medium: { I: 32, H: 256, O: 32, B: 32, T: 64 },
  large: { I: 128, H: 1024, O: 128, B: 64, T: 32 },
} as const;
export type WorkloadName = keyof typeof WORKLOADS;

export interface BenchOptions {
  workload?: string;
  seconds?: number;
  rounds?: number;
  backend?: string;
  threads?: number;
  cell?: string;
  /** Recurrent dropout rate (model.recurrentDropout) during the timed training, 0 by default. */
  recurrentDropout?: number;
  /** Train a bidirectional layer (SPEC §13), to time its cost. */
  bidirectional?: boolean;
  /** A SPEC §10 head to train with (gaussian, studentT, negativeBinomial, quantiles), to time its cost. */
  head?: string;
  json?: boolean;
  /** Measure inference (predict) instead of training: the engine beside onnxruntime. */
  predict?: boolean;
}

export interface BenchResult {
  readonly workload: WorkloadName;
  readonly cell: CellKind;
  /** The head trained (mse: the point model; SPEC §10's otherwise). */
  readonly head: string;
  /** A bidirectional layer (SPEC §13): one window of T steps a batch, read both ways. */
  readonly bidirectional: boolean;
  readonly backend: string;
  readonly threads: number;
  readonly stepsPerSecond: number;
  readonly gflops: number;
  readonly secondsPerUpdate: number;
  readonly roundsStepsPerSecond: number[];
  readonly peakRssMb: number;
  /** Under MPI: the ranks, and one rank alone on the whole batch (same threads) for the efficiency. */
  readonly ranks?: number;
  readonly oneRankStepsPerSecond?: number;
  /** aggregate steps/s ÷ (ranks × one rank's steps/s). */
  readonly efficiency?: number;
  /**
   * With --head: the plain (MSE) model timed in the rounds between the head's, its steps/s and
   * GFLOP/s, and the median over the rounds of the head's time per step ÷ the plain model's
   * (timeVsPlain) and of its time per FLOP ÷ the plain model's (perFlopVsPlain: what the head costs
   * beyond the FLOPs of its P·O outputs).
   */
  readonly plainStepsPerSecond?: number;
  readonly plainGflops?: number;
  readonly timeVsPlain?: number;
  readonly perFlopVsPlain?: number;
}

/** What a timed training run adds to the plain model: recurrent dropout, a SPEC §10 head, the reverse direction. */
export interface BenchExtras { readonly recurrentDropout?: number; readonly head?: RegressionHead; readonly bidirectional?: boolean }

/** The head `--head` names (SPEC §10), or the point model. */
export function benchHead(name: string | undefined): RegressionHead {
  if (name === undefined) return pointHead;
  if (name === "quantiles") return regressionHead({ likelihood: null, quantiles: [0.1, 0.5, 0.9] });
  if (name === "gaussian" || name === "studentT" || name === "negativeBinomial") return regressionHead({ likelihood: name, quantiles: null });
  throw new InputError(`--head must be gaussian, studentT, negativeBinomial or quantiles, got ${JSON.stringify(name)}`);
}

/** Windows per synthetic batch: the state is carried across them, as in training (a bidirectional model: one). */
const WINDOWS = 4;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** B rows of random inputs and targets, made the same on every rank (the seed is fixed); rows [lo, hi) kept. */
function syntheticBatch(w: (typeof WORKLOADS)[WorkloadName], rng: Rng, lo: number, hi: number, head: RegressionHead,
  windows: number, whole: boolean): SequenceBatch & Batch {
  const T = w.T * windows, B = hi - lo;
  const x = alloc("float32", T * B * w.I);
  const values = new Float64Array(T * B * w.O);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < w.B; b++) {
      const keep = b >= lo && b < hi;
      for (let i = 0; i < w.I; i++) { const v = 2 * rng.uniform() - 1; if (keep) x[(t * B + b - lo) * w.I + i] = v; }
    }
  }
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < w.B; b++) {
      const keep = b >= lo && b < hi;
      // Counts for a head that takes them (negativeBinomial), else values in (−1, 1).
      for (let o = 0; o < w.O; o++) { const v = head.normalisesTargets ? 2 * rng.uniform() - 1 : rng.below(8); if (keep) values[(t * B + b - lo) * w.O + o] = v; }
    }
  }
  // A bidirectional model needs each row's length (all of T here).
  return { T, B, x, targets: { task: "regression", values, outputs: w.O, head }, ids: [], lengths: whole ? Array<number>(B).fill(T) : [] };
}

/** One workload's model, data and optimizer, ready to time. */
export interface Timed {
  /** Trains at least `want` updates (whole batches); seconds per update, the slowest rank's. */
  run(want: number): Promise<number>;
  /** Windows (updates) per batch: WINDOWS, or one for a bidirectional model. */
  readonly windows: number;
  /** FLOPs of one update's products (forward and backward), for GFLOP/s. */
  readonly flops: number;
}

export function timedTraining(name: WorkloadName, cell: CellKind, kernels: Kernels, comm: Communicator, extras: BenchExtras): Timed {
  const w = WORKLOADS[name];
  const recurrentDropout = extras.recurrentDropout ?? 0, head = extras.head ?? pointHead, bidirectional = extras.bidirectional ?? false;
  const shape: ModelShape = { cell, inputSize: w.I, hiddenSize: w.H, outputSize: w.O * head.perTarget, layers: 1, activation: "tanh", bias: true, bidirectional };
  const windows = bidirectional ? 1 : WINDOWS, D = bidirectional ? 2 : 1;
  const net = new Network(shape, "float32", { kernels });
  const rng = new Rng(1);
  initParams(net.layout, net.params, w.H, rng);
  const [lo, hi] = rowShare(comm.rank, comm.size, w.B);
  const batch = syntheticBatch(w, rng, lo, hi, head, windows, bidirectional);
  const opt = createOptimizer({ name: "sgd", lr: 0.01, momentum: 0, weightDecay: 0 }, net.layout.size, "float32", kernels);
  const agreed = new Float64Array(1);
  // Gate blocks per step: the recurrent and input products are G times an Elman layer's.
  const G = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  return {
    flops: 3 * 2 * w.B * w.T * D * (G * (w.I * w.H + w.H * w.H) + w.H * shape.outputSize),
    windows,
    async run(want) {
      agreed[0] = want;
      comm.allreduce(agreed, "max"); // every rank must take the same number of updates
      const epochs = Math.ceil(agreed[0] / windows);
      const t0 = performance.now();
      await trainLoop(net, opt, {
        batches: () => [Array.from({ length: w.B }, (_, i) => i)], make: () => batch, validate: () => null,
      }, { epochs, bptt: { truncate: w.T, stride: w.T }, clip: { norm: 5 }, schedule: null, earlyStopping: null,
        dropout: recurrentDropout > 0 ? new DropoutMasks(1, 0, recurrentDropout, w.H, 1, "float32", D) : null },
      { epoch: 0, step: 0, position: null, carry: null }, {
        onUpdate: () => {}, onEpoch: () => {}, stopRequested: () => null, onStop: () => {},
        now: () => performance.now() / 1000,
      }, comm);
      agreed[0] = (performance.now() - t0) / 1000 / (epochs * windows);
      comm.allreduce(agreed, "max"); // the slowest rank sets the pace
      return agreed[0];
    },
  };
}

/** Updates in a round of `perRound` seconds at `perUpdate` seconds each (whole batches, one at least). */
const updatesIn = (perRound: number, perUpdate: number, windows: number): number => Math.max(windows, Math.round(perRound / perUpdate));

/**
 * Times one workload through the real training loop (`trainLoop`: TBPTT window, MSE, BPTT,
 * global-norm clip 5, SGD) on random data made in memory. Each epoch is one batch of
 * WINDOWS windows of T steps; rounds of at least seconds/rounds each, after a warm-up. Under
 * MPI (`comm` of N ranks) each rank runs its share of the batch and the gradient is summed
 * after every window, as in training; the ranks agree on each round's length. With a SPEC §10
 * head the plain model is timed too, a round of it after each of the head's, so that both see
 * the same machine (it is shared, and its speed drifts).
 */
async function benchOne(name: WorkloadName, cell: CellKind, kernels: Kernels, backend: string, threads: number,
  seconds: number, rounds: number, comm: Communicator, extras: BenchExtras = {}): Promise<BenchResult> {
  const w = WORKLOADS[name], head = extras.head ?? pointHead;
  const subject = timedTraining(name, cell, kernels, comm, extras);
  const plain = head === pointHead ? null : timedTraining(name, cell, kernels, comm, { ...extras, head: pointHead });
  // Warm-up, and a first estimate to size the rounds.
  let perUpdate = await subject.run(subject.windows);
  perUpdate = await subject.run(Math.max(subject.windows, Math.ceil(0.3 / perUpdate)));
  let plainPerUpdate = 0;
  if (plain) {
    plainPerUpdate = await plain.run(plain.windows);
    plainPerUpdate = await plain.run(Math.max(plain.windows, Math.ceil(0.3 / plainPerUpdate)));
  }
  const perRound = seconds / rounds;
  const samples: number[] = [], plainSamples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    samples.push(await subject.run(updatesIn(perRound, perUpdate, subject.windows)));
    if (plain) plainSamples.push(await plain.run(updatesIn(perRound, plainPerUpdate, plain.windows)));
  }
  const sec = median(samples);
  const result: BenchResult = {
    workload: name, cell, head: head.name, bidirectional: extras.bidirectional ?? false, backend, threads, secondsPerUpdate: sec,
    stepsPerSecond: (w.B * w.T) / sec, gflops: subject.flops / sec / 1e9,
    roundsStepsPerSecond: samples.map((s) => (w.B * w.T) / s),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
  if (!plain) return result;
  const plainSec = median(plainSamples), ratio = median(samples.map((s, r) => s / plainSamples[r]));
  return {
    ...result, plainStepsPerSecond: (w.B * w.T) / plainSec, plainGflops: plain.flops / plainSec / 1e9,
    timeVsPlain: ratio, perFlopVsPlain: ratio * plain.flops / subject.flops,
  };
}

/**
 * Under MPI: one rank alone on the whole batch (rank 0, same threads; the others wait), then
 * all ranks together; the efficiency is aggregate ÷ (N × alone).
 */
async function benchWorld(name: WorkloadName, cell: CellKind, kernels: Kernels, backend: string, threads: number,
  seconds: number, rounds: number, comm: Communicator, extras: BenchExtras): Promise<BenchResult> {
  const alone = new Float64Array(1);
  if (comm.rank === 0) alone[0] = (await benchOne(name, cell, kernels, backend, threads, seconds, rounds, soloComm, extras)).stepsPerSecond;
  comm.allreduce(alone, "max");
  const r = await benchOne(name, cell, kernels, backend, threads, seconds, rounds, comm, extras);
  return { ...r, ranks: comm.size, oneRankStepsPerSecond: alone[0], efficiency: r.stepsPerSecond / (comm.size * alone[0]) };
}

/**
 * `rnn bench`: training speed on the standard workloads. Under an MPI launcher it measures
 * data-parallel training over the ranks (aggregate steps/s and scaling efficiency); rank 0 prints.
 */
export async function bench(o: BenchOptions, io: Io): Promise<number> {
  const names = (o.workload ?? "small,medium,large").split(",").map((s) => s.trim());
  for (const n of names) if (!(n in WORKLOADS)) throw new InputError(`--workload: unknown workload "${n}" (small, medium, large)`);
  const backendName = (o.backend ?? "auto") as BackendName | "auto";
  if (backendName !== "auto" && !backendNames.includes(backendName)) {
    throw new InputError(`--backend: unknown backend "${o.backend}" (${backendNames.join(", ")}, auto)`);
  }
  const cell = (o.cell ?? "elman") as CellKind;
  if (!["elman", "lstm", "gru"].includes(cell)) throw new InputError(`--cell: unknown cell "${o.cell}" (elman, lstm, gru)`);
  const seconds = o.seconds ?? 3, rounds = o.rounds ?? 5;
  if (!(seconds > 0) || !(rounds >= 1)) throw new InputError("--seconds and --rounds must be positive");
  if (o.predict) return predictBench(names as WorkloadName[], cell, backendName, o, seconds, rounds, io);
  const extras: BenchExtras = { recurrentDropout: o.recurrentDropout ?? 0, head: benchHead(o.head), bidirectional: o.bidirectional ?? false };
  const comm = joinWorld(process.env);
  try {
    // Ranks on one machine share its cores: each takes its part unless told otherwise.
    const backend = loadBackend(backendName, o.threads ?? threadsPerRank(comm));
    const lead = comm.rank === 0;
    const machine = backend.machine();
    if (lead) io.stderr.write(`${machineLine(machine)}\n`);
    const results: BenchResult[] = [];
    for (const n of names as WorkloadName[]) {
      const r = comm.size > 1
        ? await benchWorld(n, cell, backend.kernels, backend.name, backend.threads, seconds, rounds, comm, extras)
        : await benchOne(n, cell, backend.kernels, backend.name, backend.threads, seconds, rounds, soloComm, extras);
      results.push(r);
      if (!lead) continue;
      const world = r.ranks ? ` ×${r.ranks} ranks` : "";
      const scaling = r.efficiency !== undefined
        ? `  (1 rank ${Math.round(r.oneRankStepsPerSecond!).toLocaleString("en-US")} steps/s, efficiency ${r.efficiency.toFixed(2)})` : "";
      const vsPlain = r.timeVsPlain !== undefined
        ? `  (plain ${Math.round(r.plainStepsPerSecond!).toLocaleString("en-US")} steps/s; time per step ×${r.timeVsPlain.toFixed(3)}, per FLOP ×${r.perFlopVsPlain!.toFixed(3)} the plain model's)` : "";
      io.stderr.write(`${n.padEnd(7)} ${cell.padEnd(5)}${o.head ? ` ${o.head}` : ""}${o.bidirectional ? " bidirectional" : ""} ${backend.name}×${backend.threads}${world}  ${Math.round(r.stepsPerSecond).toLocaleString("en-US").padStart(10)} steps/s  ${r.gflops.toFixed(2).padStart(6)} GFLOP/s  ${(r.secondsPerUpdate * 1e3).toFixed(3)} ms/update  peak RSS ${r.peakRssMb.toFixed(0)} MB${scaling}${vsPlain}\n`);
    }
    backend.dispose();
    if (o.json && lead) await writeOut(io, JSON.stringify({ node: process.version, backend: backend.name, threads: backend.threads, ranks: comm.size, ...machine, results }) + "\n");
    return 0;
  } finally {
    comm.finalize();
  }
}

/** One line for a benchmark's header: the CPU, and the kernel choices made from it. */
export function machineLine(m: MachineReport): string {
  const c = m.cpu, k = m.kernels;
  const mb = (b: number | undefined): string => (b === undefined ? "?" : b >= 1 << 20 ? `${b / (1 << 20)} MB` : `${b / 1024} KB`);
  const cpu = c.arch ? `${c.name} (${c.arch}, family ${c.family} model ${c.model}; L1d ${mb(c.l1dBytes)}, L2 ${mb(c.l2Bytes)}, L3 ${mb(c.l3Bytes)})` : c.name;
  if (k.backend === "js") return `cpu: ${cpu}; kernels: js reference`;
  return `cpu: ${cpu}; kernels: ${k.gemmIsa} GEMM, ${k.gatesIsa} gates, ${k.threads} thread(s), window split by batch rows while W_hh ≤ ${mb(k.rowsSplitMaxBytes)}`;
}

/** "rnn  onnxruntime  rnn/ort" of one way of calling, rows/s. */
function pairText(p: PredictPair): string {
  const n = (r: { rowsPerSecond: number } | null): string => (r ? Math.round(r.rowsPerSecond).toLocaleString("en-US") : "–").padStart(10);
  const ratio = p.onnxruntime ? `${(p.rnn.rowsPerSecond / p.onnxruntime.rowsPerSecond).toFixed(2)}×` : "";
  return `${n(p.rnn)} ${n(p.onnxruntime)} ${ratio.padStart(7)}`;
}

/**
 * `rnn bench --predict`: predict throughput (rows/s) of each workload, batch 1 streaming and
 * batched, in the engine and in onnxruntime on the exported model, side by side. One process.
 */
async function predictBench(names: WorkloadName[], cell: CellKind, backendName: BackendName | "auto", o: BenchOptions,
  seconds: number, rounds: number, io: Io): Promise<number> {
  const backend = loadBackend(backendName, o.threads);
  const machine = backend.machine();
  io.stderr.write(`${machineLine(machine)}\n`);
  const ort = await loadOrt();
  if (!ort) io.stderr.write(`rnn bench --predict: ${ORT_MISSING}; measuring rnn alone\n`);
  io.stderr.write(`predict throughput, ${cell}: rnn ${backend.name}×${backend.threads} vs onnxruntime ${ort ? ort.env.versions.common : "(not installed)"} with ${backend.threads} intra-op thread(s), the same model (rnn export)\n`);
  const modes = Object.keys(PREDICT_MODES) as PredictMode[];
  for (const m of modes) io.stderr.write(`  ${m}: ${PREDICT_MODES[m]}\n`);
  io.stderr.write(`${"".padEnd(8)}${modes.map((m) => `| ${m.padEnd(29)}`).join("")}\n`);
  io.stderr.write(`${"rows/s".padEnd(8)}${modes.map(() => `|${"rnn".padStart(10)} ${"onnxrt".padStart(10)} ${"rnn/ort".padStart(7)}`).join("")}\n`);
  const results: PredictBenchResult[] = [];
  try {
    for (const n of names) {
      const r = await benchPredict(n, WORKLOADS[n], cell, backend.kernels, backend.threads, ort, seconds, rounds);
      results.push(r);
      io.stderr.write(`${n.padEnd(8)}${modes.map((m) => `|${pairText(r.rates[m])}`).join("")}\n`);
    }
  } finally {
    backend.dispose();
  }
  if (o.json) await writeOut(io, JSON.stringify({ node: process.version, backend: backend.name, threads: backend.threads, ...machine, onnxruntime: ort ? ort.env.versions.common : null, predict: results }) + "\n");
  return 0;
}
