#!/usr/bin/env bash
# Data at scale (issue 15), same session, rnn alternating with pandas + PyTorch
# (bench/pandas_torch_data.py) on one-series CSVs of two columns: per size, the load time
# (`rnn bench --data`, median of its rounds; pandas.read_csv), one training epoch (epochs.csv's
# seconds; the PyTorch loop) and the whole run's wall time and peak RSS (GNU time).
# Usage, from the project root: bench/data-scale.sh [ROUNDS] [SIZES]   (SIZES: 100000,1000000,10000000)
# The generated data go to ${DATA_DIR:-/tmp/rnn-data-scale}; results to bench/results/data-scale-<date>.jsonl.
set -euo pipefail
rounds=${1:-2}
sizes=${2:-100000,1000000,10000000}
dir=${DATA_DIR:-/tmp/rnn-data-scale}
out=bench/results/data-scale-$(date +%Y-%m-%d).jsonl
mkdir -p "$dir" bench/results
root=$(pwd)
for n in ${sizes//,/ }; do
  f="$dir/series-$n.csv"
  [ -f "$f" ] || node -e '
    // A noisy two-column series: x a sine with noise, y a lagged mix of x (rounded to 6 digits, as sensors log).
    const fs = require("fs"), n = Number(process.argv[1]), out = fs.openSync(process.argv[2], "w");
    let s = "x,y\n", seed = 1; const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5);
    let px = 0;
    for (let t = 0; t < n; t++) {
      const x = Math.sin(t / 50) + 0.1 * rnd(), y = 0.5 * px + 0.3 * x + 0.05 * rnd(); px = x;
      s += `${x.toFixed(6)},${y.toFixed(6)}\n`;
      if (s.length > 1 << 20) { fs.writeSync(out, s); s = ""; }
    }
    fs.writeSync(out, s); fs.closeSync(out);' "$n" "$f"
  cat > "$dir/series-$n.yaml" <<YAML
seed: 7
data: { train: series-$n.csv, validation: null, validationSplit: 0.05, sequenceColumn: null, inputs: [x, y], targets: [x, y], shift: 1, normalize: true }
task: regression
targetsAt: every
model: { cell: elman, hiddenSize: 32, layers: 1, activation: tanh, bias: true, init: null }
training:
  epochs: 1
  batchSize: 64
  shuffle: false
  dtype: float32
  bptt: { truncate: 50, stride: 50 }
  optimizer: { name: adam, lr: 0.005, beta1: 0.9, beta2: 0.999, eps: 1.0e-8 }
  clip: { norm: 5.0 }
output: { dir: run-$n }
YAML
  for i in $(seq 1 "$rounds"); do
    load=$(node bin/rnn.js bench --data "$f" --rounds 3 --json)
    /usr/bin/time -f '%e %M' -o "$dir/time" node bin/rnn.js train "$dir/series-$n.yaml" --force >/dev/null 2>"$dir/train.log"
    read -r wall rss < "$dir/time"
    epoch=$(tail -1 "$dir/run-$n/epochs.csv" | cut -d, -f4)
    echo "{\"tool\":\"rnn\",\"rows\":$n,\"round\":$i,\"load\":$load,\"train_s\":$epoch,\"total_s\":$wall,\"peak_rss_mb\":$((rss / 1024))}" | tee -a "$out"
    py=$(/usr/bin/python3 "$root/bench/pandas_torch_data.py" "$f")
    echo "{\"tool\":\"pandas+torch\",\"rows\":$n,\"round\":$i,\"result\":$py}" | tee -a "$out"
  done
done
