#!/usr/bin/env node
// Which vector width should this CPU's kernels use? Trains the standard workloads (rnn bench's
// timed loop) with the GEMM and the gates on AVX2 or AVX-512 in ONE process, switching between
// rounds (the order rotating every round) so that all see the same machine load (shared machines
// drift by 2× in minutes; separate runs cannot decide a 10% question). The bits are the same
// either way (test/kernel-choices.test.ts), so only the time differs. Prints, per cell ×
// workload, each configuration's median steps/s and the median of its per-round time ratio to
// the first; writes bench/results/isa-ab-<date>-<HHMM>.json with the CPU. From the project root,
// after a build:
//   node bench/isa-ab.mjs [--configs avx2:avx2,avx512:avx512,avx2:avx512] [--cell elman,lstm,gru]
//                         [--workload small,medium,large] [--rounds 8] [--seconds 0.5]
// A configuration is GEMM:gates; --seconds is each round's length. The run-time rule it checks is
// native/cpu.cc's choose_tuning.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { timedTraining, WORKLOADS } = await import(path.join(root, "dist/commands/bench.js"));
const { loadAddon, nativeKernels } = await import(path.join(root, "dist/kernels/native.js"));
const { soloComm } = await import(path.join(root, "dist/distributed/comm.js"));

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const cells = opt("cell", "elman,lstm,gru").split(","), workloads = opt("workload", "small,medium,large").split(",");
const rounds = Number(opt("rounds", "8")), seconds = Number(opt("seconds", "0.5"));
const configs = opt("configs", "avx2:avx2,avx512:avx512").split(",");
for (const c of configs) if (!/^avx(2|512):avx(2|512)$/.test(c)) { console.error(`isa-ab: --configs: ${c} is not GEMM:gates, each avx2 or avx512`); process.exit(2); }
const addon = loadAddon();
if (addon instanceof Error) { console.error(`isa-ab: the native kernels are not built: ${addon.message}`); process.exit(2); }
const { cpu, kernels: chosen } = addon.cpuTuning();
if (!cpu.avx512f) { console.error(`isa-ab: ${cpu.name} has no AVX-512: nothing to compare`); process.exit(2); }
const threads = addon.setThreads(os.availableParallelism());
const use = (config) => { const [gemm, gates] = config.split(":"); addon.gemmIsa(gemm); addon.cpuTuning({ gates512: gates === "avx512" ? 1 : 0 }); };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

console.error(`isa-ab: ${cpu.name} (${cpu.arch}, family ${cpu.family} model ${cpu.model}), ${threads} threads; chosen now: ${chosen.gemmIsa} GEMM, ${chosen.gatesIsa} gates`);
const results = [];
for (const cell of cells) {
  for (const name of workloads) {
    const w = WORKLOADS[name], t = timedTraining(name, cell, nativeKernels(addon), soloComm, {});
    const per = {};
    for (const c of configs) { use(c); await t.run(t.windows); per[c] = await t.run(Math.max(t.windows, Math.ceil(0.3 / await t.run(t.windows)))); }
    const sps = Object.fromEntries(configs.map((c) => [c, []])), ratios = Object.fromEntries(configs.slice(1).map((c) => [c, []]));
    for (let r = 0; r < rounds; r++) {
      const order = configs.map((_, i) => configs[(i + r) % configs.length]), s = {};
      for (const c of order) {
        use(c);
        s[c] = await t.run(Math.max(t.windows, Math.round(seconds / per[c])));
        sps[c].push((w.B * w.T) / s[c]);
      }
      for (const c of configs.slice(1)) ratios[c].push(s[configs[0]] / s[c]); // > 1: c is faster than the first
    }
    const row = { cell, workload: name, stepsPerSecond: {}, speedupOverFirst: {}, ratios };
    for (const c of configs) row.stepsPerSecond[c] = median(sps[c]);
    for (const c of configs.slice(1)) row.speedupOverFirst[c] = median(ratios[c]);
    results.push(row);
    const fmt = (x) => Math.round(x).toLocaleString("en-US").padStart(10);
    console.log(`${cell.padEnd(5)} ${name.padEnd(6)} ` + configs.map((c) => `${c} ${fmt(row.stepsPerSecond[c])}`).join("  ") + " steps/s; vs " + configs[0] + ": " +
      configs.slice(1).map((c) => `${c} ${row.speedupOverFirst[c].toFixed(3)} (${ratios[c].map((x) => x.toFixed(2)).join(" ")})`).join("; "));
  }
}
use(`${chosen.gemmIsa}:${chosen.gatesIsa}`);
const stamp = new Date().toISOString().replace(/:\d\d\.\d+Z$/, "").replace("T", "-").replace(":", "");
const dir = path.join(root, "bench/results"), file = path.join(dir, `isa-ab-${stamp}.json`);
mkdirSync(dir, { recursive: true });
writeFileSync(`${file}.tmp`, `${JSON.stringify({ date: new Date().toISOString(), cpu, threads, chosen, configs, rounds, seconds, loadavg: os.loadavg(), results }, null, 1)}\n`);
renameSync(`${file}.tmp`, file);
console.error(`isa-ab: wrote ${path.relative(root, file)}`);
