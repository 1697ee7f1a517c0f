#!/usr/bin/env node
// Generates the example data sets in data/ (see data/README.md).
//
//   node scripts/make-data.mjs
//
// Plain Node (>= 20), no dependencies. Every file has its own seeded PRNG
// (mulberry32 + Box-Muller), so a second run writes byte-identical files and
// changing one generator does not perturb the others. Numbers are rounded to
// 6 decimals and printed with String(x). Trivial-predictor baselines are
// printed to stderr (they are quoted in data/README.md).

import { mkdirSync, writeFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = join(root, "data");

// ---- PRNG -------------------------------------------------------------------

/** mulberry32: a 32-bit state PRNG; returns a function giving U[0,1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A small generator: uniform, integer, standard normal (Box-Muller). */
function makeRng(seed) {
  const next = mulberry32(seed);
  let spare = null;
  return {
    uniform: (lo = 0, hi = 1) => lo + (hi - lo) * next(),
    /** integer in [lo, hi) */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo)),
    normal(mean = 0, sd = 1) {
      if (spare !== null) {
        const z = spare;
        spare = null;
        return mean + sd * z;
      }
      const u1 = 1 - next(); // (0, 1]: log is finite
      const u2 = next();
      const r = Math.sqrt(-2 * Math.log(u1));
      spare = r * Math.sin(2 * Math.PI * u2);
      return mean + sd * r * Math.cos(2 * Math.PI * u2);
    },
  };
}

// ---- helpers ----------------------------------------------------------------

/** Round to 6 decimals; normalise -0 to 0. */
const r6 = (x) => {
  const y = Math.round(x * 1e6) / 1e6;
  return y === 0 ? 0 : y;
};
const fmt = (x) => String(r6(x));

function writeCsv(name, header, rows) {
  const path = join(dataDir, name);
  const text = [header.join(","), ...rows.map((r) => r.join(","))].join("\n") + "\n";
  writeFileSync(path, text);
  const kb = (statSync(path).size / 1024).toFixed(1);
  console.error(`wrote ${relative(root, path)}  (${rows.length} rows, ${kb} KB)`);
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const mse = (pred, ys) => mean(ys.map((y, i) => (y - (typeof pred === "number" ? pred : pred[i])) ** 2));
const f4 = (x) => x.toFixed(4);

mkdirSync(dataDir, { recursive: true });

// ---- 1. sine: one long series, forecasting ------------------------------------

{
  const rng = makeRng(1001);
  const N = 4000;
  const xs = [];
  const rows = [];
  for (let t = 0; t < N; t++) {
    const x = r6(
      Math.sin((2 * Math.PI * t) / 50) + 0.5 * Math.sin((2 * Math.PI * t) / 17) + rng.normal(0, 0.05),
    );
    xs.push(x);
    rows.push([t, String(x)]);
  }
  writeCsv("sine.csv", ["t", "x"], rows);

  // Baselines on the validation tail the sine config holds out (last 10% of rows),
  // task x[t] -> x[t+1].
  const nVal = Math.round(0.1 * N);
  const val = xs.slice(N - nVal);
  const train = xs.slice(0, N - nVal);
  const inp = val.slice(0, -1);
  const tgt = val.slice(1);
  const mu = mean(train);
  const sd = Math.sqrt(mean(train.map((x) => (x - mu) ** 2)));
  const mMean = mse(mu, tgt);
  const mPersist = mse(inp, tgt);
  console.error(
    `  sine val tail (${nVal} rows): predict train mean -> MSE ${f4(mMean)} (normalised ${f4(mMean / sd ** 2)}); ` +
      `persistence x[t+1]=x[t] -> MSE ${f4(mPersist)} (normalised ${f4(mPersist / sd ** 2)}); ` +
      `noise floor 0.05^2 = 0.0025 (normalised ${f4(0.0025 / sd ** 2)}); train std ${f4(sd)}`,
  );
}

// ---- 2. adding problem -----------------------------------------------------------

/** Returns the per-sequence sums. Marker: one position in [0, T/2), one in [T/2, T). */
function adding(name, seed, count, T) {
  const rng = makeRng(seed);
  const width = Math.max(4, String(count).length);
  const rows = [];
  const sums = [];
  for (let s = 1; s <= count; s++) {
    const id = "s" + String(s).padStart(width, "0");
    const values = Array.from({ length: T }, () => r6(rng.uniform()));
    const half = Math.floor(T / 2);
    const p1 = rng.int(0, half);
    const p2 = rng.int(half, T);
    const sum = r6(values[p1] + values[p2]);
    sums.push(sum);
    for (let t = 0; t < T; t++) {
      rows.push([id, String(values[t]), t === p1 || t === p2 ? "1" : "0", String(sum)]);
    }
  }
  writeCsv(name, ["seq", "value", "marker", "sum"], rows);
  return sums;
}

for (const [T, nTrain, nVal, seed] of [
  [20, 2000, 200, 2001],
  [100, 1000, 200, 2101],
]) {
  const tag = T === 20 ? "adding" : `adding${T}`;
  const trainSums = adding(`${tag}.csv`, seed, nTrain, T);
  const valSums = adding(`${tag}-val.csv`, seed + 1, nVal, T);
  const trainMean = mean(trainSums);
  const sdTrain = Math.sqrt(mean(trainSums.map((x) => (x - trainMean) ** 2)));
  const m1 = mse(1.0, valSums);
  const mMean = mse(trainMean, valSums);
  console.error(
    `  ${tag} (T=${T}) validation: predict 1.0 -> MSE ${f4(m1)} (theory 1/6 = 0.1667); ` +
      `predict train mean ${f4(trainMean)} -> MSE ${f4(mMean)} (normalised ${f4(mMean / sdTrain ** 2)}); ` +
      `train sum std ${f4(sdTrain)}, so MSE 0.01 = normalised ${f4(0.01 / sdTrain ** 2)}`,
  );
}

// ---- 3. shapes: sequence classification with string labels -----------------------

{
  const rng = makeRng(3001);
  const count = 600;
  const labels = ["rising", "falling", "oscillating"];
  const rows = [];
  const seqLabels = [];
  for (let s = 1; s <= count; s++) {
    const id = "q" + String(s).padStart(4, "0");
    const label = labels[rng.int(0, 3)];
    seqLabels.push(label);
    const T = rng.int(15, 31); // 15..30 steps
    const level = rng.normal(0, 1); // random starting level
    const slope = rng.uniform(0.04, 0.15); // per step, for rising/falling
    const amp = rng.uniform(0.5, 1.5);
    const period = rng.uniform(5, 12);
    const phase = rng.uniform(0, 2 * Math.PI);
    let a = level;
    let prev = level;
    for (let t = 0; t < T; t++) {
      if (label === "rising") a = level + slope * t + rng.normal(0, 0.15);
      else if (label === "falling") a = level - slope * t + rng.normal(0, 0.15);
      else a = level + amp * Math.sin((2 * Math.PI * t) / period + phase) + rng.normal(0, 0.15);
      // b: a noisy secondary channel, weakly tied to the step-to-step change of a
      const b = 0.5 * (a - prev) + rng.normal(0, 0.3);
      prev = a;
      rows.push([id, fmt(a), fmt(b), label]);
    }
  }
  writeCsv("shapes.csv", ["id", "a", "b", "shape"], rows);

  const counts = (ls) => Object.fromEntries(labels.map((l) => [l, ls.filter((x) => x === l).length]));
  const nVal = Math.round(0.2 * count);
  const trainL = seqLabels.slice(0, count - nVal);
  const valL = seqLabels.slice(count - nVal);
  const all = counts(seqLabels);
  const tr = counts(trainL);
  const va = counts(valL);
  const majAll = Math.max(...Object.values(all)) / count;
  const trainMajority = labels.reduce((m, l) => (tr[l] > tr[m] ? l : m), labels[0]);
  const majVal = va[trainMajority] / nVal;
  const bestVal = Math.max(...Object.values(va)) / nVal;
  console.error(
    `  shapes: classes ${JSON.stringify(all)}; majority-class accuracy ${f4(majAll)} over all ${count}; ` +
      `validation tail (${nVal}): ${JSON.stringify(va)}, predicting the training majority "${trainMajority}" -> ` +
      `accuracy ${f4(majVal)} (validation's own majority fraction ${f4(bestVal)}); chance loss ln 3 = ${f4(Math.log(3))}`,
  );
}

// ---- 5. stations: few short monthly series, for regularisation and forecasting ------
{
  // 48 stations × 96 months: a seasonal cycle of its own amplitude and phase, a level, a slow
  // trend and AR(1) weather noise. Little data for an LSTM: a large one overfits it. Stations
  // 1–32 train, 33–40 validate (early stopping, the schedule), 41–48 are a test set no run sees.
  const rng = makeRng(20261130);
  const parts = { "stations.csv": [], "stations-val.csv": [], "stations-test.csv": [] };
  const T = 96;
  let naive = 0, n = 0;
  for (let s = 0; s < 48; s++) {
    const id = `st${String(s + 1).padStart(2, "0")}`;
    const part = s < 32 ? "stations.csv" : s < 40 ? "stations-val.csv" : "stations-test.csv";
    const level = rng.uniform(5, 20), amp = rng.uniform(2, 8), phase = rng.uniform(0, 2 * Math.PI);
    const trend = rng.normal(0, 0.02);
    let noise = 0, prev = null;
    for (let t = 0; t < T; t++) {
      noise = 0.6 * noise + rng.normal(0, 1);
      const temp = level + amp * Math.sin((2 * Math.PI * t) / 12 + phase) + trend * t + noise;
      parts[part].push([id, String((t % 12) + 1), fmt(temp)]);
      if (part === "stations-test.csv" && prev !== null) { naive += (r6(temp) - prev) ** 2; n++; }
      prev = r6(temp);
    }
  }
  for (const [name, rows] of Object.entries(parts)) writeCsv(name, ["station", "month", "temp"], rows);
  // The test stations' first 84 months, then their last 12 with the temperature left empty:
  // what `rnn forecast --horizon 12` reads (the month is a known future input).
  const history = parts["stations-test.csv"].map((r, i) => (i % T < T - 12 ? r : [r[0], r[1], ""]));
  writeCsv("stations-forecast.csv", ["station", "month", "temp"], history);
  console.error(`  stations: persistence temp[t+1] = temp[t] on the test stations -> MSE ${f4(naive / n)}`);
}

// ---- 6. sensors: few sequences, many noisy channels — a model that overfits ---------
{
  // 500 sequences of 24 steps, 12 channels: c0 carries the class (a rise, a fall or a bump, in
  // noise); c1…c11 are random walks with nothing to say. 200 train, 100 validate, 200 test.
  // A large LSTM memorises the walks of 200 sequences: configs/sensors-plain.yaml overfits,
  // configs/sensors.yaml regularises the same model.
  const rng = makeRng(99);
  const C = 12, T = 24, labels = ["rise", "fall", "bump"];
  const parts = { "sensors.csv": [], "sensors-val.csv": [], "sensors-test.csv": [] };
  for (let s = 0; s < 500; s++) {
    const part = s < 200 ? "sensors.csv" : s < 300 ? "sensors-val.csv" : "sensors-test.csv";
    const label = labels[rng.int(0, 3)];
    const walks = new Array(C).fill(0);
    for (let t = 0; t < T; t++) {
      const u = t / (T - 1);
      const signal = label === "rise" ? u - 0.5 : label === "fall" ? 0.5 - u : Math.exp(-((u - 0.5) ** 2) / 0.02) - 0.3;
      const row = [`q${String(s + 1).padStart(3, "0")}`];
      for (let c = 0; c < C; c++) {
        walks[c] += rng.normal(0, 0.5);
        row.push(fmt(c === 0 ? signal + rng.normal(0, 0.7) : walks[c]));
      }
      row.push(label);
      parts[part].push(row);
    }
  }
  const header = ["id", ...Array.from({ length: C }, (_, c) => `c${c}`), "label"];
  for (const [name, rows] of Object.entries(parts)) writeCsv(name, header, rows);
}

// ---- 7. marks: tag every step with what comes next — where reading both ways matters -------
{
  // 800 sequences of 20–40 steps: `mark` is 1 at random steps (probability 0.1 each), else 0,
  // `noise` is N(0, 1) with nothing to say. Step t is tagged `soon` when a mark falls in the
  // next 3 steps (t+1 … t+3), else `no`. A one-way model reads only the past, so it can do no
  // better than the base rate; a bidirectional one reads the next steps too
  // (configs/marks-uni.yaml against configs/marks-bi.yaml, docs/bidirectional.md).
  const rng = makeRng(2222);
  const parts = { "marks.csv": [], "marks-val.csv": [] };
  let soon = 0, steps = 0;
  for (let s = 0; s < 800; s++) {
    const part = s < 600 ? "marks.csv" : "marks-val.csv";
    const T = rng.int(20, 41);
    const marks = Array.from({ length: T }, () => (rng.uniform() < 0.1 ? 1 : 0));
    for (let t = 0; t < T; t++) {
      const tag = marks.slice(t + 1, t + 4).includes(1) ? "soon" : "no";
      if (part === "marks-val.csv") { steps++; if (tag === "soon") soon++; }
      parts[part].push([`m${String(s + 1).padStart(3, "0")}`, marks[t], fmt(rng.normal(0, 1)), tag]);
    }
  }
  for (const [name, rows] of Object.entries(parts)) writeCsv(name, ["id", "mark", "noise", "next"], rows);
  console.error(`  marks: majority-class (no) accuracy on marks-val.csv ${f4(1 - soon / steps)}`);
}
