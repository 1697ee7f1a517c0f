#!/usr/bin/env bash
# Same-session scaling comparison on one machine (issue 10): 1 process × 1 thread, 1 process ×
# 2 threads, and 2 MPI ranks × 1 thread (which also measures one rank alone for its efficiency),
# alternating, ROUNDS times; JSON lines into bench/results/mpi-<date>-<kind>-<i>.json.
# Usage: bench/mpi-scaling.sh [ROUNDS=3] [WORKLOADS=small,medium,large] [CELL=elman]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; WL=${2:-small,medium,large}; CELL=${3:-elman}
DAY=$(date +%F)
MPI=(mpirun --oversubscribe --mca btl tcp,self)
[ "$(id -u)" = 0 ] && MPI=(mpirun --allow-run-as-root --oversubscribe --mca btl tcp,self)
for i in $(seq 1 "$ROUNDS"); do
  node bin/rnn.js bench --workload "$WL" --cell "$CELL" --threads 1 --json > "bench/results/mpi-$DAY-$CELL-1x1-$i.json"
  node bin/rnn.js bench --workload "$WL" --cell "$CELL" --threads 2 --json > "bench/results/mpi-$DAY-$CELL-1x2-$i.json"
  "${MPI[@]}" -np 2 node bin/rnn.js bench --workload "$WL" --cell "$CELL" --json > "bench/results/mpi-$DAY-$CELL-2x1-$i.json"
done
node -e '
const fs = require("fs"), day = process.argv[1], cell = process.argv[2];
const med = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const load = (k) => fs.readdirSync("bench/results").filter((f) => f.startsWith(`mpi-${day}-${cell}-${k}-`)).map((f) => JSON.parse(fs.readFileSync(`bench/results/${f}`, "utf8")));
const runs = { "1x1": load("1x1"), "1x2": load("1x2"), "2x1": load("2x1") };
for (const w of runs["1x1"][0].results.map((r) => r.workload)) {
  const get = (k, f) => med(runs[k].map((j) => f(j.results.find((r) => r.workload === w))));
  const a = get("1x1", (r) => r.stepsPerSecond), b = get("1x2", (r) => r.stepsPerSecond), c = get("2x1", (r) => r.stepsPerSecond);
  const alone = get("2x1", (r) => r.oneRankStepsPerSecond), eff = get("2x1", (r) => r.efficiency);
  console.log(`${w}\t1×1 ${Math.round(a)}\t1×2 ${Math.round(b)}\t2 ranks×1 ${Math.round(c)}\t(1 rank alone ${Math.round(alone)}, efficiency ${eff.toFixed(2)})\t2 ranks / 1×2 = ${(c / b).toFixed(2)}`);
}' "$DAY" "$CELL"
