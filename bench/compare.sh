#!/usr/bin/env bash
# Same-session comparison of `rnn bench` with PyTorch (bench/pytorch_bench.py), alternating
# the two so that both see the same machine load, one cell at a time. Its successor,
# bench/compare-all.mjs, adds Keras and writes one results file for every cell; the README's
# table reads that one. Usage, from the project root:
#   bench/compare.sh [--cell elman|lstm|gru] [ROUNDS] [BLAS_DIR]
# BLAS_DIR: a folder holding an OpenBLAS libblas.so.3 for PyTorch (Debian's python3-torch runs on
# whatever libblas.so.3 the system's alternatives name; with libopenblas0-pthread, OpenBLAS).
# PyTorch gets the OpenBLAS kernels the CPU can run: OPENBLAS_CORETYPE is set to
# SkylakeX (AVX-512) or Haswell (AVX2) from /proc/cpuinfo. OpenBLAS picks its kernels by CPU
# model, and on one it does not know (a virtual "Intel Xeon Processor", as on this project's
# machine) falls back to Prescott (SSE3) kernels, 4–5× slower at matrix products.
# Results go to bench/results/compare-<date>-<HHMM>-<cell>-<rnn|torch>-<n>.json.
# BENCH_SECONDS (default 3) and BENCH_ROUNDS (rnn's rounds, default 5) shorten a run (npm run
# bench:readme -- --quick).
set -euo pipefail
cell=elman
if [[ "${1:-}" == "--cell" ]]; then cell=$2; shift 2; fi
case "$cell" in elman|lstm|gru) ;; *) echo "compare.sh: --cell must be elman, lstm or gru" >&2; exit 2 ;; esac
rounds=${1:-2}
blas=${2:-}
# As bench/compare-peers.mjs: the CPU's flags decide, not an inherited OPENBLAS_CORETYPE (which
# may name slower kernels than the CPU has); RNN_BENCH_CORETYPE overrides.
if [[ -n "${RNN_BENCH_CORETYPE:-}" ]]; then export OPENBLAS_CORETYPE=$RNN_BENCH_CORETYPE
elif grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell
fi
echo "compare.sh: PyTorch's OpenBLAS with OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset>}" >&2
out=bench/results
mkdir -p "$out"
stamp=$(date +%Y-%m-%d-%H%M)
for i in $(seq 1 "$rounds"); do
  node bin/rnn.js bench --json --cell "$cell" --seconds "${BENCH_SECONDS:-3}" --rounds "${BENCH_ROUNDS:-5}" > "$out/compare-$stamp-$cell-rnn-$i.json"
  /usr/bin/python3 bench/pytorch_bench.py --json --cell "$cell" --seconds "${BENCH_SECONDS:-3}" --settings a,b,c ${blas:+--blas-dir "$blas"} > "$out/compare-$stamp-$cell-torch-$i.json"
done
node -e '
const fs = require("fs"); const [dir, stamp, cell] = process.argv.slice(1, 4), n = Number(process.argv[4]);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
for (const w of ["small", "medium", "large"]) {
  const ours = [], torch = [];
  for (let i = 1; i <= n; i++) {
    const r = JSON.parse(fs.readFileSync(`${dir}/compare-${stamp}-${cell}-rnn-${i}.json`, "utf8")).results.find((x) => x.workload === w);
    ours.push(r.stepsPerSecond);
    // PyTorch: its fastest thread setting of this round.
    const t = JSON.parse(fs.readFileSync(`${dir}/compare-${stamp}-${cell}-torch-${i}.json`, "utf8")).workloads[w];
    torch.push(Math.max(...Object.values(t).filter((v) => typeof v === "object" && v !== null && "steps_per_s" in v).map((v) => v.steps_per_s)));
  }
  console.log(`${cell.padEnd(5)} ${w.padEnd(7)} rnn ${Math.round(med(ours))} steps/s  torch ${Math.round(med(torch))} steps/s  ratio ${(med(ours) / med(torch)).toFixed(2)}  (rnn ${ours.map(Math.round).join(", ")}; torch ${torch.map(Math.round).join(", ")})`);
}' "$out" "$stamp" "$cell" "$rounds"
