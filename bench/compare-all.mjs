#!/usr/bin/env node
// Training speed of rnn, PyTorch and Keras in one session: the peers alternate per cell and round
// (rnn, torch, keras, rnn, torch, keras, …) so that all see the same machine load, and ONE file,
// bench/results/compare-<date>-<HHMM>.json (UTC), holds every round's steps/s, the medians and
// the ratios; a table goes to stdout. From the project root:
//   node bench/compare-all.mjs [--cell elman,lstm,gru] [--rounds 2] [--peers rnn,torch,keras]
//                              [--seconds 3] [--bench-rounds 5] [--workload small,medium,large]
//                              [--blas-dir DIR]
// --seconds: each peer's timed seconds per workload (and per Keras mode); --bench-rounds: rnn
// bench's rounds (PyTorch and Keras always time 5). BENCH_SECONDS / BENCH_ROUNDS set their
// defaults, as for bench/compare.sh. A run with fewer seconds or rounds is marked quick.
// The peers (bench/compare-peers.mjs): `rnn bench --json`; bench/pytorch_bench.py with its best of
// settings a,b,c per workload, OPENBLAS_CORETYPE from the CPU flags (compare-peers.mjs); bench/keras_bench.py in
// .venv-keras (scripts/keras-venv.sh; or $RNN_KERAS_PYTHON) with its best of settings a–d and of
// its two step modes. Without --peers, a missing Keras is left out with a warning; named, it fails.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PEER_NAMES, WORKLOADS, cpuIdentity, cpuLabel, kerasMissing, openblasCoretype, readCpuinfo, runPeer } from "./compare-peers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CELLS = ["elman", "lstm", "gru"];
const log = (m) => process.stderr.write(`compare-all: ${m}\n`);
const fail = (m) => { log(m); process.exit(2); };

function parseArgs(argv) {
  const o = {
    cells: CELLS, workloads: WORKLOADS, rounds: 2, peers: PEER_NAMES, peersGiven: false, blasDir: null,
    seconds: Number(process.env.BENCH_SECONDS ?? 3), benchRounds: Number(process.env.BENCH_ROUNDS ?? 5),
  };
  const list = (v, allowed, what) => {
    const xs = v.split(",").map((s) => s.trim()).filter(Boolean);
    const bad = xs.find((x) => !allowed.includes(x));
    if (bad || xs.length === 0) fail(`--${what}: ${bad ?? "(empty)"} is not one of ${allowed.join(", ")}`);
    return [...new Set(xs)];
  };
  const num = (v, what) => { const n = Number(v); if (!(n > 0)) fail(`--${what} must be a positive number, not ${v}`); return n; };
  for (let i = 0; i < argv.length; i++) {
    const [flag, v] = [argv[i], argv[i + 1]];
    if (v === undefined) fail(`${flag} needs a value`);
    i++;
    if (flag === "--cell") o.cells = list(v, CELLS, "cell");
    else if (flag === "--workload") o.workloads = list(v, WORKLOADS, "workload");
    else if (flag === "--rounds") o.rounds = Math.round(num(v, "rounds"));
    else if (flag === "--peers") { o.peers = list(v, PEER_NAMES, "peers"); o.peersGiven = true; }
    else if (flag === "--seconds") o.seconds = num(v, "seconds");
    else if (flag === "--bench-rounds") o.benchRounds = Math.round(num(v, "bench-rounds"));
    else if (flag === "--blas-dir") o.blasDir = path.resolve(v);
    else fail(`unknown flag ${flag}`);
  }
  return o;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const git = (...a) => { try { return execFileSync("git", a, { cwd: root, encoding: "utf8" }).trim(); } catch { return null; } };

/** Medians per cell × workload × peer, and rnn's ratio to each peer and to the faster of them. */
export function summarise(runs, cells, peers) {
  const out = {};
  for (const cell of cells) {
    out[cell] = {};
    for (const w of WORKLOADS) {
      const e = {};
      for (const p of peers) {
        const rounds = runs.filter((r) => r.cell === cell && r.peer === p && r.steps[w] !== undefined).map((r) => r.steps[w]);
        if (rounds.length) e[p] = { rounds, median: median(rounds) };
      }
      const others = ["torch", "keras"].filter((p) => e[p]);
      if (e.rnn && others.length) {
        e.ratios = Object.fromEntries(others.map((p) => [`rnn/${p}`, e.rnn.median / e[p].median]));
        e.ratios["rnn/max(peers)"] = e.rnn.median / Math.max(...others.map((p) => e[p].median));
      }
      if (Object.keys(e).length) out[cell][w] = e;
    }
  }
  return out;
}

const k = (n) => (n === undefined ? "—" : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : `${(n / 1e3).toFixed(2)}k`);
const x = (r) => (r === undefined ? "—" : `${r.toFixed(2)}×`);

function humanTable(res) {
  const lines = [`rnn against PyTorch and Keras, training steps/s, medians of ${res.settings.rounds} round(s) — ${res.cpu}, ${res.cores} cores, ${res.date}`,
    `${"cell".padEnd(6)}${"workload".padEnd(9)}${"rnn".padStart(8)}${"torch".padStart(8)}${"keras".padStart(8)}${"rnn/torch".padStart(11)}${"rnn/keras".padStart(11)}${"rnn/max".padStart(9)}`];
  for (const [cell, ws] of Object.entries(res.cells)) {
    for (const [w, e] of Object.entries(ws)) {
      lines.push(`${cell.padEnd(6)}${w.padEnd(9)}${k(e.rnn?.median).padStart(8)}${k(e.torch?.median).padStart(8)}${k(e.keras?.median).padStart(8)}`
        + `${x(e.ratios?.["rnn/torch"]).padStart(11)}${x(e.ratios?.["rnn/keras"]).padStart(11)}${x(e.ratios?.["rnn/max(peers)"]).padStart(9)}`);
    }
  }
  return lines.join("\n");
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.peers.includes("keras")) {
    const why = kerasMissing(root);
    if (why && o.peersGiven) fail(`the Keras peer cannot run: ${why}`);
    if (why) { log(`*** Keras LEFT OUT: ${why} ***`); o.peers = o.peers.filter((p) => p !== "keras"); }
  }
  const cpuinfo = readCpuinfo();
  const cpu = cpuIdentity(cpuinfo);
  const started = new Date();
  const stamp = started.toISOString();
  const file = path.join(root, "bench/results", `compare-${stamp.slice(0, 10)}-${stamp.slice(11, 13)}${stamp.slice(14, 16)}.json`);
  if (existsSync(file)) fail(`${path.relative(root, file)} exists; wait a minute`);
  mkdirSync(path.dirname(file), { recursive: true });
  const peerOpts = { root, workloads: o.workloads, seconds: o.seconds, benchRounds: o.benchRounds, blasDir: o.blasDir, coretype: openblasCoretype(cpuinfo) };
  if (o.peers.includes("torch")) log(`PyTorch's OpenBLAS with OPENBLAS_CORETYPE=${peerOpts.coretype ?? "<unset>"}`);
  const res = {
    schema: "rnn-compare/1",
    date: stamp.slice(0, 16) + "Z",
    command: ["node bench/compare-all.mjs", ...process.argv.slice(2)].join(" "),
    cpu: cpuLabel(cpuinfo), cpuId: cpu.id, cores: os.cpus().length,
    commit: git("rev-parse", "--short", "HEAD"), dirty: (git("status", "--porcelain", "--untracked-files=no") ?? "") !== "",
    versions: { node: process.version },
    settings: { cells: o.cells, workloads: o.workloads, peers: o.peers, rounds: o.rounds, seconds: o.seconds, rnnBenchRounds: o.benchRounds, openblasCoretype: peerOpts.coretype, blasDir: o.blasDir },
    quick: o.seconds < 3 || o.benchRounds < 5,
    load: { before: loadavg(), after: null },
    notes: {},
    runs: [],
  };
  // After each run the file so far sits beside its final name (a stopped run leaves what it had).
  const partial = `${file}.tmp`;
  for (const cell of o.cells) {
    for (let round = 1; round <= o.rounds; round++) {
      for (const peer of o.peers) {
        log(`${cell} round ${round}/${o.rounds}: ${peer}`);
        const t0 = Date.now(), load = loadavg();
        const r = runPeer(peer, { ...peerOpts, cell });
        Object.assign(res.versions, r.versions);
        res.notes[peer] ??= r.note;
        res.runs.push({ cell, round, peer, started: new Date(t0).toISOString(), seconds: Math.round((Date.now() - t0) / 100) / 10, loadBefore: load, steps: r.steps, detail: r.detail });
        writeFileSync(partial, JSON.stringify(res, null, 1) + "\n");
      }
    }
  }
  res.load.after = loadavg();
  // As bench/readme.mjs marks it: past 1.5 × the cores, the figures were taken under load. The
  // 1-minute load before each run counts too: it sees a session that comes and goes, though it
  // also holds the previous peer's own threads (so an idle machine may be taken for loaded).
  res.underLoad = Math.max(...res.load.before, ...res.load.after, ...res.runs.map((r) => r.loadBefore[0])) > 1.5 * res.cores;
  res.cells = summarise(res.runs, o.cells, o.peers);
  writeFileSync(partial, JSON.stringify(res, null, 1) + "\n");
  renameSync(partial, file);
  process.stdout.write(humanTable(res) + "\n");
  log(`wrote ${path.relative(root, file)} (load average ${res.load.before.join(" ")} before, ${res.load.after.join(" ")} after${res.underLoad ? ": under load" : ""})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try { main(); } catch (e) { log(e instanceof Error ? e.message : String(e)); process.exit(1); }
}
