#!/usr/bin/env node
// The data-parallel cost model of the README (issue 10): per update, every rank all-reduces the
// gradient (P parameters × 4 bytes in float32, plus 6 scalars) while compute shrinks with the
// rows each rank gets. Ring all-reduce over N nodes: t = 2(N−1)·α + 2(N−1)/N · bytes / β.
// Compute per update comes from a measured node throughput (steps/s of this machine with its
// 2 cores as 2 ranks: bench/mpi-scaling.sh), assumed linear in the rows a node computes.
// Usage: node bench/mpi-cost-model.mjs [bench/results/mpi-<day>-elman-2x1-*.json …]
import { readFileSync } from "node:fs";

const WORKLOADS = {
  small: { I: 8, H: 64, O: 8, B: 32, T: 64 },
  medium: { I: 32, H: 256, O: 32, B: 32, T: 64 },
  large: { I: 128, H: 1024, O: 128, B: 64, T: 32 },
};
const ALPHA = 20e-6; // s per message step: MPI over TCP on a data-centre network (RDMA: ~2 µs)
const LINKS = { "10 Gb/s": 10e9 / 8, "100 Gb/s": 100e9 / 8 };
const NODES = [2, 8, 64];

const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const files = process.argv.slice(2);
const measured = {};
for (const w of Object.keys(WORKLOADS)) {
  const xs = files.map((f) => JSON.parse(readFileSync(f, "utf8")).results.find((r) => r.workload === w)?.stepsPerSecond).filter(Boolean);
  measured[w] = xs.length ? median(xs) : null;
}
const ring = (N, bytes, beta) => 2 * (N - 1) * ALPHA + (2 * (N - 1) / N) * bytes / beta;
const ms = (s) => (s * 1e3 < 10 ? (s * 1e3).toFixed(2) : (s * 1e3).toFixed(1));

console.log("| workload | parameters P | bytes reduced / update | node compute / update (its B rows) | link | all-reduce at 8 / 64 nodes | efficiency at 8 / 64 nodes, B per node fixed | efficiency at 8 / 64 nodes, global B fixed |");
console.log("|---|---|---|---|---|---|---|---|");
for (const [name, w] of Object.entries(WORKLOADS)) {
  const P = w.H * w.I + w.H * w.H + 2 * w.H + w.O * w.H + w.O;
  const bytes = 4 * (P + 6);
  const thr = measured[name];
  if (!thr) continue;
  const tNode = (w.B * w.T) / thr; // one node, B rows
  for (const [link, beta] of Object.entries(LINKS)) {
    const ar = NODES.map((N) => ring(N, bytes, beta));
    // Weak: each node keeps B rows (global batch N·B). Strong: the global batch stays B, a node
    // computes ⌈B/N⌉ rows at most (the slowest sets the pace), and at most B nodes have rows.
    const weak = NODES.map((N, i) => tNode / (tNode + ar[i]));
    const strong = NODES.map((N, i) => { const rows = Math.ceil(w.B / N); const t = tNode * rows / w.B; return (tNode / N) / (t + ar[i]); });
    console.log(`| ${name} | ${P.toLocaleString("en-US")} | ${(bytes / 1024).toFixed(0)} KiB | ${ms(tNode)} ms | ${link} | ${ms(ar[1])} / ${ms(ar[2])} ms | ${weak[1].toFixed(2)} / ${weak[2].toFixed(2)} | ${strong[1].toFixed(2)} / ${strong[2].toFixed(2)} |`);
  }
}
