#!/usr/bin/env node
// The cost of SPEC §11's categorical inputs (issue 20): the same model trained on the same data
// with 3 categorical columns (learned embeddings: a gather forward, a scatter-add backward in the
// native kernels) and with those columns one-hot encoded as numeric inputs. `rnn train` runs
// alternately, `--runs` times each (default 3); the medians of its training seconds
// (epochs.csv, data loading excluded) and of the wall time are printed as one JSON object.
//   node bench/categorical-cost.mjs [--runs 3] [--series 300] [--steps 100] [--epochs 2]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";

const arg = (name, d) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const runs = arg("runs", 3), series = arg("series", 300), steps = arg("steps", 100), epochs = arg("epochs", 2);
const rnn = path.resolve(import.meta.dirname, "../bin/rnn.js");
const dir = mkdtempSync(path.join(tmpdir(), "rnn-cat-cost-"));

// Three labelled columns: a store (40 values), a product (20), a weekday (7); the series id is not used.
const cards = { store: 40, product: 20, weekday: 7 };
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const cat = [["series", "x", "store", "product", "weekday", "y"].join(",")];
const oneHot = [["series", "x", ...Object.entries(cards).flatMap(([c, n]) => Array.from({ length: n }, (_, k) => `${c}_${k}`)), "y"].join(",")];
for (let s = 0; s < series; s++) {
  const store = Math.floor(rand() * cards.store), product = Math.floor(rand() * cards.product);
  for (let t = 0; t < steps; t++) {
    const day = t % 7, x = (Math.sin(t / 5 + s) + 0.1 * rand()).toFixed(4), y = (Number(x) + store / 40 + day / 7).toFixed(4);
    cat.push([`s${s}`, x, `st${store}`, `p${product}`, `d${day}`, y].join(","));
    const hot = Object.entries({ store, product, weekday: day }).flatMap(([c, v]) => Array.from({ length: cards[c] }, (_, k) => (k === v ? 1 : 0)));
    oneHot.push([`s${s}`, x, ...hot, y].join(","));
  }
}
writeFileSync(path.join(dir, "cat.csv"), cat.join("\n") + "\n");
writeFileSync(path.join(dir, "onehot.csv"), oneHot.join("\n") + "\n");
const model = "model: { cell: lstm, hiddenSize: 64 }";
const training = `training: { epochs: ${epochs}, batchSize: 32, dtype: float32, shuffle: false, bptt: { truncate: 50 }, optimizer: { name: adam, lr: 0.001 } }`;
const hotColumns = Object.entries(cards).flatMap(([c, n]) => Array.from({ length: n }, (_, k) => `${c}_${k}`));
writeFileSync(path.join(dir, "cat.yaml"), [
  "data: { train: cat.csv, sequenceColumn: series, inputs: [x], targets: [y], normalize: true,",
  "  categorical: [{ column: store }, { column: product }, { column: weekday }] }", model, training].join("\n"));
writeFileSync(path.join(dir, "onehot.yaml"), [
  `data: { train: onehot.csv, sequenceColumn: series, inputs: [x, ${hotColumns.join(", ")}], targets: [y], normalize: false }`, model, training].join("\n"));

const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const times = { categorical: { train: [], wall: [] }, oneHot: { train: [], wall: [] } };
for (let r = 0; r < runs; r++) {
  for (const [name, cfg] of [["categorical", "cat.yaml"], ["oneHot", "onehot.yaml"]]) {
    const out = path.join(dir, `run-${name}-${r}`), t0 = performance.now();
    execFileSync(process.execPath, [rnn, "train", cfg, "--out", out, "--quiet"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
    times[name].wall.push((performance.now() - t0) / 1000);
    const rows = readFileSync(path.join(out, "epochs.csv"), "utf8").trim().split("\n").slice(1);
    times[name].train.push(rows.reduce((a, l) => a + Number(l.split(",")[3]), 0));
  }
}
const summary = (t) => ({ trainSeconds: median(t.train), wallSeconds: median(t.wall), runs: t.train });
const c = summary(times.categorical), h = summary(times.oneHot);
console.log(JSON.stringify({
  cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, load: (await import("node:os")).loadavg()[0],
  data: { series, steps, rows: series * steps, columns: cards, epochs },
  model: "LSTM H 64, batch 32, TBPTT 50, float32, adam",
  categorical: { ...c, layer0Inputs: 1 + 20 + 10 + 4 },
  oneHot: { ...h, layer0Inputs: 1 + 40 + 20 + 7 },
  trainRatio: c.trainSeconds / h.trainSeconds, wallRatio: c.wallSeconds / h.wallSeconds,
}, null, 1));
