// The three training-speed peers bench/compare-all.mjs alternates: how each is run on one cell,
// and its steps/s per workload read from its --json output. Every peer trains the same model
// the same way (bench/pytorch_bench.py's docstring: the workloads, the update, the protocol).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

export const WORKLOADS = ["small", "medium", "large"];
export const PEER_NAMES = ["rnn", "torch", "keras"];

/** The Python with Keras: $RNN_KERAS_PYTHON, else the venv scripts/keras-venv.sh makes. */
export const kerasPython = (root) => process.env.RNN_KERAS_PYTHON ?? path.join(root, ".venv-keras/bin/python");

/** Null when that Python imports keras and tensorflow, else why not. */
export function kerasMissing(root) {
  const py = kerasPython(root);
  const r = spawnSync(py, ["-c", "import keras, tensorflow"], { encoding: "utf8" });
  return r.status === 0 ? null : `no Python with keras and tensorflow at ${py} (run scripts/keras-venv.sh, or set RNN_KERAS_PYTHON)`;
}

/**
 * OPENBLAS_CORETYPE for PyTorch's OpenBLAS: the best kernels the CPU can run, from its flags.
 * OpenBLAS picks kernels by CPU model and falls back to SSE3 ones on a model it does not know (a
 * virtual "Intel Xeon Processor"), 4–5× slower at matrix products; and an OPENBLAS_CORETYPE
 * inherited from the environment may name slower ones than the CPU has (this project's AMD
 * EPYC sessions inherit Haswell: 105 GFLOP/s on a 1024² float32 product on one thread, where
 * SkylakeX gives 187). So the flags decide; RNN_BENCH_CORETYPE overrides them.
 */
export function openblasCoretype(cpuinfo) {
  if (process.env.RNN_BENCH_CORETYPE) return process.env.RNN_BENCH_CORETYPE;
  if (/\bavx512f\b/.test(cpuinfo)) return "SkylakeX";
  if (/\bavx2\b/.test(cpuinfo)) return "Haswell";
  return null;
}

/** The first processor's identity in /proc/cpuinfo: model name, vendor, family, model, stepping, vector ISA. */
export function cpuIdentity(cpuinfo) {
  const block = cpuinfo.split(/\n\s*\n/)[0];
  const field = (k) => block.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, "m"))?.[1].trim() ?? null;
  const flags = new Set((field("flags") ?? "").split(/\s+/));
  return {
    model: field("model name") ?? "unknown",
    id: {
      vendor: field("vendor_id"), family: Number(field("cpu family")), model: Number(field("model")), stepping: Number(field("stepping")),
      isa: ["avx2", "fma", "avx512f", "avx512_bf16", "amx_tile"].filter((f) => flags.has(f)),
    },
  };
}

/**
 * The CPU as results files and the README name it: the model name with what tells two CPUs of one
 * name apart (two virtual "AMD EPYC"s were a Zen 5 and a Zen 4), e.g.
 * "AMD EPYC (Zen 4, family 25 model 17)". Zen 3/4/5 by family (0x19 with or without AVX-512, 0x1a).
 */
export function cpuLabel(cpuinfo) {
  const { model, id } = cpuIdentity(cpuinfo);
  if (!Number.isFinite(id.family)) return model;
  const zen = id.vendor === "AuthenticAMD"
    ? (id.family === 25 ? (id.isa.includes("avx512f") ? "Zen 4" : "Zen 3") : id.family === 26 ? "Zen 5" : id.family === 23 ? "Zen 2" : null)
    : null;
  return `${model} (${zen ? `${zen}, ` : ""}family ${id.family} model ${id.model})`;
}

export const readCpuinfo = () => { try { return readFileSync("/proc/cpuinfo", "utf8"); } catch { return ""; } };

/** The best thread setting per workload of pytorch_bench.py / keras_bench.py --json. */
function bestOf(json, extra) {
  const steps = {}, detail = {};
  for (const w of WORKLOADS) {
    const ws = json.workloads[w];
    if (!ws) continue;
    const r = ws[ws.best];
    steps[w] = r.steps_per_s;
    detail[w] = { setting: ws.best, gflops: r.gflops, ...extra(r) };
  }
  return { steps, detail };
}

/**
 * Each peer: the command for one cell, and what its stdout says — steps/s per workload, the
 * detail behind each figure, the versions, and (first run only kept) its note.
 */
export const PEERS = {
  rnn: {
    command: (o) => [process.execPath, ["bin/rnn.js", "bench", "--json", "--cell", o.cell, "--workload", o.workloads.join(","), "--seconds", String(o.seconds), "--rounds", String(o.benchRounds)]],
    read: (j) => ({
      steps: Object.fromEntries(j.results.map((r) => [r.workload, r.stepsPerSecond])),
      detail: Object.fromEntries(j.results.map((r) => [r.workload, { threads: r.threads, backend: r.backend, gflops: r.gflops }])),
      versions: { node: j.node },
      // `rnn bench --json` may name the CPU it ran on; kept as it says it.
      note: { threads: j.threads, backend: j.backend, ...(j.cpu !== undefined ? { cpu: j.cpu } : {}) },
    }),
  },
  torch: {
    command: (o) => ["/usr/bin/python3", ["bench/pytorch_bench.py", "--json", "--cell", o.cell, "--workload", o.workloads.join(","), "--seconds", String(o.seconds), "--settings", "a,b,c", ...(o.blasDir ? ["--blas-dir", o.blasDir] : [])]],
    env: (o) => (o.coretype ? { OPENBLAS_CORETYPE: o.coretype } : {}),
    read: (j) => ({ ...bestOf(j, () => ({})), versions: { torch: j.torch }, note: j.note }),
  },
  keras: {
    command: (o) => [kerasPython(o.root), ["bench/keras_bench.py", "--json", "--cell", o.cell, "--workload", o.workloads.join(","), "--seconds", String(o.seconds), "--settings", "a,b,c,d"]],
    read: (j) => ({ ...bestOf(j, (r) => ({ mode: r.mode })), versions: { keras: j.keras, tensorflow: j.tensorflow }, note: j.note }),
  },
};

/** Runs one peer on one cell (its table goes to our stderr); throws when it fails. */
export function runPeer(name, o) {
  const peer = PEERS[name];
  const [cmd, argv] = peer.command(o);
  const r = spawnSync(cmd, argv, {
    cwd: o.root, encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...(peer.env?.(o) ?? {}) },
  });
  if (r.status !== 0) throw new Error(`${name} --cell ${o.cell} failed (exit ${r.status ?? r.signal}): ${cmd} ${argv.join(" ")}`);
  return peer.read(JSON.parse(r.stdout));
}
