#!/usr/bin/env node
// The fp32 matrix-product ceiling of this machine as rnn's own native GEMM reaches it: large
// square products C = A·B (float32), 1 and 2 threads, median GFLOP/s of several rounds. The
// README compares the large workloads' GFLOP/s (rnn bench) with it. Usage, from the project root:
//   node bench/gemm-ceiling.mjs [N=2048] [rounds=5]
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const addon = require("../build/Release/rnn_kernels.node");
const N = Number(process.argv[2] ?? 2048), rounds = Number(process.argv[3] ?? 5);
const a = Float32Array.from({ length: N * N }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
const b = Float32Array.from({ length: N * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
const c = new Float32Array(N * N);
const median = (xs) => { const s = [...xs].sort((p, q) => p - q); return s[s.length >> 1]; };
const results = {};
for (const threads of [1, 2]) {
  addon.setThreads(threads);
  addon.gemm(0, 0, N, N, N, c, 0, a, 0, b, 0, 0); // warm-up
  const gflops = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    addon.gemm(0, 0, N, N, N, c, 0, a, 0, b, 0, 0);
    gflops.push((2 * N * N * N) / ((performance.now() - t0) / 1000) / 1e9);
  }
  results[threads] = { median: median(gflops), rounds: gflops.map((g) => Number(g.toFixed(1))) };
  console.error(`N=${N} threads=${threads}: ${median(gflops).toFixed(1)} GFLOP/s (rounds ${results[threads].rounds.join(", ")})`);
}
console.log(JSON.stringify({ N, results }));
