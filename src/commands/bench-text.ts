import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { initParams } from "../core/init.js";
import { Network, type ModelShape } from "../core/network.js";
import { createOptimizer } from "../core/optim.js";
import { Rng } from "../core/rng.js";
import { streamBatch } from "../data/text.js";
import { InputError } from "../errors.js";
import { loadBackend, type BackendName } from "../kernels/backends.js";
import { writeOut, type Io } from "../io/terminal.js";
import { trainLoop } from "../train/trainer.js";

/**
 * The text protocol of issue 21: a character language model, embedding 64 → LSTM 2×256 →
 * linear over a vocabulary of 65, float32, 32 streams, TBPTT 64, cross-entropy, clip norm 5, Adam.
 */
export const TEXT_WORKLOAD = { V: 65, E: 64, H: 256, L: 2, B: 32, T: 64 } as const;

/** Windows per synthetic stream batch (the state carried across them, as in training). */
const WINDOWS = 4;

export interface BenchTextOptions {
  seconds?: number;
  rounds?: number;
  backend?: string;
  threads?: number;
  json?: boolean;
  /** The Python with torch to run bench/pytorch_text_bench.py with (default /usr/bin/python3); false: rnn alone. */
  torch?: string | false;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds per update of rnn's training loop on the protocol: the median of `rounds` rounds after a warm-up. */
async function timeRnn(backendName: BackendName | "auto", threads: number | undefined, seconds: number, rounds: number): Promise<{ sec: number; rounds: number[]; threads: number; backend: string }> {
  const w = TEXT_WORKLOAD;
  const backend = loadBackend(backendName, threads);
  const shape: ModelShape = { cell: "lstm", inputSize: 1, embedding: { vocab: w.V, size: w.E }, hiddenSize: w.H, outputSize: w.V, layers: w.L, activation: "tanh", bias: true };
  const net = new Network(shape, "float32", { kernels: backend.kernels });
  const rng = new Rng(1);
  initParams(net.layout, net.params, w.H, rng);
  const tokens = Int32Array.from({ length: w.B * w.T * WINDOWS + 1 }, () => rng.below(w.V));
  const batch = streamBatch(tokens, w.B, w.V);
  const opt = createOptimizer({ name: "adam", lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, net.layout.size, "float32");
  const run = async (updates: number): Promise<number> => {
    const epochs = Math.ceil(updates / WINDOWS);
    const t0 = performance.now();
    await trainLoop(net, opt, { batches: () => [Array.from({ length: w.B }, (_, i) => i)], make: () => batch, validate: () => null },
      { epochs, bptt: { truncate: w.T, stride: w.T }, clip: { norm: 5 }, schedule: null, earlyStopping: null, dropout: null },
      { epoch: 0, step: 0, position: null, carry: null },
      { onUpdate: () => {}, onEpoch: () => {}, stopRequested: () => null, onStop: () => {}, now: () => performance.now() / 1000 });
    return (performance.now() - t0) / 1000 / (epochs * WINDOWS);
  };
  let per = await run(WINDOWS);
  per = await run(Math.max(WINDOWS, Math.ceil(0.3 / per)));
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) samples.push(await run(Math.max(WINDOWS, Math.round(seconds / rounds / per))));
  const out = { sec: median(samples), rounds: samples, threads: backend.threads, backend: backend.name };
  backend.dispose();
  return out;
}

/**
 * PyTorch's seconds per update on the same protocol (bench/pytorch_text_bench.py), or why not:
 * the faster of its two thread settings (torch 1 thread with OpenBLAS on `threads`, and torch on
 * `threads` with OpenBLAS on 1; bench/pytorch_bench.py's a and c, the first usually much the faster).
 */
function timeTorch(python: string, threads: number, seconds: number, rounds: number): { sec: number; version: string; setting: string } | string {
  let best: { sec: number; version: string; setting: string } | string = "";
  for (const [torchThreads, blasThreads] of [[1, threads], [threads, 1]]) {
    const r = timeTorchOnce(python, torchThreads, blasThreads, seconds, rounds);
    if (typeof r === "string") return r;
    if (typeof best === "string" || r.sec < best.sec) best = { ...r, setting: `torch ${torchThreads} thread(s), OpenBLAS ${blasThreads}` };
    if (threads === 1) break;
  }
  return best;
}

function timeTorchOnce(python: string, threads: number, blasThreads: number, seconds: number, rounds: number): { sec: number; version: string } | string {
  const script = path.resolve(import.meta.dirname, "../../bench/pytorch_text_bench.py");
  if (!existsSync(script)) return `${script} is not there`;
  // OpenBLAS takes SSE3 kernels on a CPU model it does not know: name the ISA (bench/compare.sh).
  const cpu = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const coretype = process.env.OPENBLAS_CORETYPE ?? (/\bavx512f\b/.test(cpu) ? "SkylakeX" : /\bavx2\b/.test(cpu) ? "Haswell" : undefined);
  const r = spawnSync(python, [script, "--threads", String(threads), "--seconds", String(seconds), "--rounds", String(rounds)], {
    encoding: "utf8", env: { ...process.env, ...(coretype ? { OPENBLAS_CORETYPE: coretype } : {}), OPENBLAS_NUM_THREADS: String(blasThreads) }, timeout: 600_000,
  });
  if (r.status !== 0) return `${python} ${path.basename(script)} failed: ${(r.stderr || String(r.error ?? "")).trim().split("\n").at(-1)}`;
  const j = JSON.parse(r.stdout) as { sec_per_update: number; torch: string };
  return { sec: j.sec_per_update, version: j.torch };
}

/**
 * `rnn bench --text`: training tokens/s of the text protocol in rnn and, in the same run, in
 * PyTorch (its CPU build, the same threads), alternating twice so that both see the same load;
 * the medians of the two passes, and their ratio.
 */
export async function benchText(o: BenchTextOptions, io: Io): Promise<number> {
  const seconds = o.seconds ?? 3, rounds = o.rounds ?? 5;
  if (!(seconds > 0) || !(rounds >= 1)) throw new InputError("--seconds and --rounds must be positive");
  const backendName = (o.backend ?? "auto") as BackendName | "auto";
  const w = TEXT_WORKLOAD, tokens = w.B * w.T;
  io.stderr.write(`text protocol: embedding ${w.E} → LSTM ${w.L}×${w.H} → vocabulary ${w.V}, batch ${w.B}, TBPTT ${w.T}, Adam, clip 5, float32\n`);
  const ours: number[] = [], theirs: number[] = [];
  let threads = 1, backend = "", torchVersion: string | null = null, torchNote: string | null = null;
  for (let pass = 0; pass < 2; pass++) {
    const r = await timeRnn(backendName, o.threads, seconds, rounds);
    ours.push(r.sec); threads = r.threads; backend = r.backend;
    io.stderr.write(`  rnn ${backend}×${threads}: ${Math.round(tokens / r.sec).toLocaleString("en-US")} tokens/s (${(r.sec * 1e3).toFixed(1)} ms/update)\n`);
    if (o.torch === false || torchNote) continue;
    const t = timeTorch(o.torch ?? "/usr/bin/python3", threads, seconds, rounds);
    if (typeof t === "string") { torchNote = t; io.stderr.write(`  PyTorch: not measured: ${t}\n`); continue; }
    theirs.push(t.sec); torchVersion = t.version;
    io.stderr.write(`  PyTorch ${t.version} (${t.setting}): ${Math.round(tokens / t.sec).toLocaleString("en-US")} tokens/s (${(t.sec * 1e3).toFixed(1)} ms/update)\n`);
  }
  const rnnRate = tokens / median(ours), torchRate = theirs.length ? tokens / median(theirs) : null;
  io.stderr.write(`text: rnn ${Math.round(rnnRate).toLocaleString("en-US")} tokens/s${torchRate ? `, PyTorch ${Math.round(torchRate).toLocaleString("en-US")} tokens/s: ${(rnnRate / torchRate).toFixed(2)}×` : ""}\n`);
  if (o.json) {
    await writeOut(io, JSON.stringify({ workload: TEXT_WORKLOAD, backend, threads, rnnTokensPerSecond: rnnRate, torch: torchVersion, torchTokensPerSecond: torchRate, ratio: torchRate ? rnnRate / torchRate : null, torchNote }) + "\n");
  }
  return 0;
}
