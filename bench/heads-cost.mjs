#!/usr/bin/env node
// What each SPEC §10 head costs beside the plain (MSE) model (issue 25): `rnn bench --head h
// --json` (which times the plain model in the rounds between the head's) for every head, the heads
// in turn, `--runs` times (default 3), and prints one JSON object: the machine, the load, every
// run's result and, per head, the medians over the runs of its time per step and per FLOP ÷ the
// plain model's (perFlopVsPlain: the cost beyond the head's own FLOPs). `--rnn label=path,…` times
// several builds, alternately within each run (e.g. before and after a change).
//   node bench/heads-cost.mjs [--runs 3] [--cell lstm] [--workload small] [--seconds 2] [--rounds 3]
//     [--threads n] [--rnn after=bin/rnn.js,before=/elsewhere/bin/rnn.js]
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import path from "node:path";

const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : d; };
const runs = Number(arg("runs", "3")), cell = arg("cell", "lstm"), workload = arg("workload", "small");
const seconds = arg("seconds", "2"), rounds = arg("rounds", "3"), threads = arg("threads", undefined);
const builds = arg("rnn", `after=${path.resolve(import.meta.dirname, "../bin/rnn.js")}`).split(",").map((s) => s.split("="));
const heads = ["gaussian", "studentT", "negativeBinomial", "quantiles"];

const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const loadBefore = loadavg(), started = new Date().toISOString(), results = [];
for (let r = 0; r < runs; r++) {
  for (const head of heads) {
    for (const [label, rnn] of builds) {
      const args = [rnn, "bench", "--cell", cell, "--workload", workload, "--seconds", seconds, "--rounds", rounds, "--head", head, "--json",
        ...(threads ? ["--threads", threads] : [])];
      const out = JSON.parse(execFileSync(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] }).toString());
      const x = out.results[0];
      results.push({ build: label, run: r, head, threads: x.threads, stepsPerSecond: x.stepsPerSecond, plainStepsPerSecond: x.plainStepsPerSecond,
        timeVsPlain: x.timeVsPlain, perFlopVsPlain: x.perFlopVsPlain, load: loadavg()[0] });
      process.stderr.write(`${label} ${head}: per FLOP ×${x.perFlopVsPlain.toFixed(3)}, time ×${x.timeVsPlain.toFixed(3)}\n`);
    }
  }
}
const medians = Object.fromEntries(builds.map(([label]) => [label, Object.fromEntries(heads.map((head) => {
  const rs = results.filter((x) => x.build === label && x.head === head);
  return [head, { perFlopVsPlain: median(rs.map((x) => x.perFlopVsPlain)), timeVsPlain: median(rs.map((x) => x.timeVsPlain)),
    stepsPerSecond: median(rs.map((x) => x.stepsPerSecond)), plainStepsPerSecond: median(rs.map((x) => x.plainStepsPerSecond)) }];
}))]));
console.log(JSON.stringify({
  cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version, started, finished: new Date().toISOString(),
  loadavg: { before: loadBefore, after: loadavg() }, bench: { cell, workload, seconds: Number(seconds), rounds: Number(rounds), threads: threads ?? "all" },
  builds: Object.fromEntries(builds), medians, results,
}, null, 1));
