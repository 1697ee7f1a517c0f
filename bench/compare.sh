#!/usr/bin/env bash
# Same-session comparison of `rnn bench` with PyTorch (bench/pytorch_bench.py), alternating
# the two so that both see the same machine load. Usage, from the project root:
#   bench/compare.sh [ROUNDS] [BLAS_DIR]
# BLAS_DIR: a folder holding an OpenBLAS libblas.so.3 for PyTorch (Debian's python3-torch
# otherwise runs on the reference BLAS). Results go to bench/results/compare-<date>-<n>.json.
set -euo pipefail
rounds=${1:-2}
blas=${2:-}
out=bench/results
mkdir -p "$out"
stamp=$(date +%Y-%m-%d)
for i in $(seq 1 "$rounds"); do
  node bin/rnn.js bench --json --seconds 3 --rounds 5 > "$out/compare-$stamp-rnn-$i.json"
  /usr/bin/python3 bench/pytorch_bench.py --json --seconds 3 --settings a,b ${blas:+--blas-dir "$blas"} > "$out/compare-$stamp-torch-$i.json"
done
node -e '
const fs = require("fs"); const dir = process.argv[1], stamp = process.argv[2], n = Number(process.argv[3]);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
for (const w of ["small", "medium", "large"]) {
  const ours = [], torch = [];
  for (let i = 1; i <= n; i++) {
    const r = JSON.parse(fs.readFileSync(`${dir}/compare-${stamp}-rnn-${i}.json`, "utf8")).results.find((x) => x.workload === w);
    ours.push(r.stepsPerSecond);
    const t = JSON.parse(fs.readFileSync(`${dir}/compare-${stamp}-torch-${i}.json`, "utf8")).workloads[w];
    torch.push(Math.max(...Object.values(t).filter((v) => typeof v === "object").map((v) => v.steps_per_s)));
  }
  console.log(`${w.padEnd(7)} rnn ${Math.round(med(ours))} steps/s  torch ${Math.round(med(torch))} steps/s  ratio ${(med(ours) / med(torch)).toFixed(2)}  (rnn ${ours.map(Math.round).join(", ")}; torch ${torch.map(Math.round).join(", ")})`);
}' "$out" "$stamp" "$rounds"
