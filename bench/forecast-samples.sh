#!/usr/bin/env bash
# Speed of `rnn forecast --samples` (SPEC §10): N sample paths per sequence as one batch of N rows.
# Trains a Gaussian LSTM (H 64, one epoch: the speed does not depend on the weights) on a made-up
# autoregressive data set of S sequences, then times `rnn forecast --samples N --horizon h` over
# them, R times, and prints the median seconds per sequence (Node's start-up and the history's
# forward pass included), with the date and CPU model. Results also go to bench/results/.
#   bench/forecast-samples.sh [N=1000] [h=24] [S=20] [R=5]
set -euo pipefail
N=${1:-1000}; H=${2:-24}; S=${3:-20}; R=${4:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
node -e '
const S = +process.argv[1]; let out = "id,u\n";
for (let s = 0; s < S; s++) for (let t = 0; t < 120; t++) out += `s${s},${(Math.sin(t / 5 + s) + 0.1 * Math.cos(7 * t)).toFixed(4)}\n`;
require("fs").writeFileSync(process.argv[2], out);' "$S" "$tmp/d.csv"
cat > "$tmp/c.yaml" <<YAML
seed: 1
data: { train: d.csv, sequenceColumn: id, inputs: [u], targets: [u], shift: 1, normalize: true }
model: { cell: lstm, hiddenSize: 64, likelihood: gaussian }
training: { epochs: 1, batchSize: 8, bptt: null, dtype: float32 }
output: { dir: run }
YAML
node "$root/bin/rnn.js" train "$tmp/c.yaml" --quiet
times=()
for _ in $(seq "$R"); do
  t0=$(date +%s.%N)
  node "$root/bin/rnn.js" forecast "$tmp/run/last.safetensors" --data "$tmp/d.csv" --horizon "$H" --samples "$N" > /dev/null
  t1=$(date +%s.%N)
  times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
done
cpu=$(lscpu | sed -n 's/^Model name: *//p')
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
per=$(awk -v m="$median" -v s="$S" 'BEGIN { print m / s }')
line=$(printf '{"date":"%s","cpu":"%s","samples":%s,"horizon":%s,"sequences":%s,"hidden":64,"cell":"lstm","runs":[%s],"median_seconds":%s,"seconds_per_sequence":%.4f}' \
  "$(date -u +%Y-%m-%dT%H:%MZ)" "$cpu" "$N" "$H" "$S" "$(IFS=,; echo "${times[*]}")" "$median" "$per")
echo "$line"
mkdir -p "$root/bench/results"
echo "$line" >> "$root/bench/results/forecast-samples.jsonl"
