#!/usr/bin/env node
// Re-measures the README's headline table and writes bench/results/readme-<date>.json, which
// scripts/readme-table.mjs turns into the table. Run from the project root (npm run bench:readme):
//   node bench/readme.mjs [--quick] [--no-setup] [--no-golden] [--no-compare] [--no-onnx]
//                         [--cells elman,lstm,gru] [--rounds n] [--note "…"]
// Each part runs the project's own measurement and records the command that re-measures it:
//   golden      vitest run of the golden suites (every tensor against PyTorch) and the contract's
//               conformance kit (../shared/conformance/run.sh, where it exists)
//   compare     node bench/compare-all.mjs --cell <cells> --rounds <rounds> (rnn bench alternating with
//               PyTorch 1.13 and Keras 3; its own results file, which the table reads)
//   onnxruntime rnn bench --predict --cell <cell> (the engine beside onnxruntime-node)
//   setup       a fresh clone: git clone, npm ci, the first npx rnn train configs/sine.yaml
// --quick: 1 round of 1 s per workload (BENCH_SECONDS, BENCH_ROUNDS) — proves the pipeline, and its
// speed rows are marked quick; the README's table takes each timing from the newest run that was
// neither quick nor under load (load average > 1.5 × cores), when there is one.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cpuLabel, readCpuinfo } from "./compare-peers.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const opt = (f, d) => { const i = args.indexOf(f); return i >= 0 ? args[i + 1] : d; };
const quick = flag("--quick");
const cells = opt("--cells", "elman,lstm,gru").split(",");
const rounds = Number(opt("--rounds", quick ? "1" : "2"));
const seconds = quick ? "1" : "3";
const benchRounds = quick ? "3" : "5";
const log = (m) => process.stderr.write(`bench:readme: ${m}\n`);

// /proc/cpuinfo's model name with its family and model (compare-peers.mjs cpuLabel), else os.cpus()'.
const cpu = () => { const info = readCpuinfo(); return info ? cpuLabel(info) : os.cpus()[0]?.model ?? "unknown"; };
const git = (...a) => { try { return execFileSync("git", a, { cwd: root, encoding: "utf8" }).trim(); } catch { return null; } };
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const timed = (fn) => { const t = process.hrtime.bigint(); const r = fn(); return [r, Number(process.hrtime.bigint() - t) / 1e9]; };
const run = (cmd, argv, o = {}) => spawnSync(cmd, argv, { cwd: root, encoding: "utf8", maxBuffer: 1 << 28, ...o });

const started = new Date();
const out = {
  schema: "rnn-readme-bench/1",
  date: started.toISOString().slice(0, 16) + "Z",
  cpu: cpu(),
  cores: os.cpus().length,
  node: process.version,
  commit: git("rev-parse", "--short", "HEAD"),
  dirty: (git("status", "--porcelain", "--untracked-files=no") ?? "") !== "",
  quick,
  note: opt("--note", null),
  load: { before: loadavg(), after: null },
  rows: {},
};

// Every suite checked against a PyTorch reference: core-golden and each test/golden-*.test.ts.
const goldenFiles = ["test/core-golden.test.ts", ...readdirSync(path.join(root, "test")).filter((f) => /^golden-.*\.test\.ts$/.test(f)).sort().map((f) => `test/${f}`)]
  .filter((f) => existsSync(path.join(root, f)));
if (!flag("--no-golden")) {
  log(`golden suites: ${goldenFiles.join(" ")}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "rnn-readme-"));
  const file = path.join(tmp, "vitest.json");
  const [, s] = timed(() => run("npx", ["vitest", "run", ...goldenFiles, "--reporter=json", `--outputFile=${file}`]));
  const j = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
  rmSync(tmp, { recursive: true, force: true });
  out.rows.golden = {
    command: `npx vitest run ${goldenFiles.join(" ")}`,
    passed: j?.numPassedTests ?? 0, failed: j?.numFailedTests ?? null, total: j?.numTotalTests ?? 0,
    seconds: Math.round(s),
    what: "one window's outputs, states, loss and every gradient (float64 1e-10, float32 1e-5); whole training runs, training control and forecasting, the §10 heads (1e-9, float64) — against PyTorch 1.13",
  };
  const kit = path.resolve(root, "../shared/conformance/run.sh");
  if (existsSync(kit)) {
    log("conformance kit");
    const r = run("bash", [kit]);
    const m = (r.stdout ?? "").trim().split("\n").pop().match(/(\d+) passed, (\d+) failed/);
    const failedCases = [...new Set([...(r.stdout ?? "").matchAll(/^FAIL ([^\s:]+)/gm)].map((x) => x[1]))];
    out.rows.conformance = {
      command: "../shared/conformance/run.sh",
      passed: m ? Number(m[1]) : 0, failed: m ? Number(m[2]) : null, failedCases,
      // what each failed case needs (its case.json), so a case of a SPEC section not built yet says so
      needs: Object.fromEntries(failedCases.map((c) => {
        try { return [c, JSON.parse(readFileSync(path.join(path.dirname(kit), "cases", c, "case.json"), "utf8")).needs ?? null]; }
        catch { return [c, null]; }
      })),
      what: "the contract's public cases: the CLI's files and SPEC §1 semantics against PyTorch 1.13 (float64) at 1e-9",
    };
  }
}

// Training speed: bench/compare-all.mjs alternates rnn, PyTorch and Keras and writes its own
// bench/results/compare-<date>-<HHMM>.json, which scripts/readme-table.mjs reads for the PyTorch
// and Keras rows; this file only names it. (Keras is left out, with a warning, without .venv-keras.)
if (!flag("--no-compare") && !flag("--no-pytorch")) {
  log(`training speed: rnn, PyTorch and Keras alternating, ${cells.join(", ")}`);
  const argv = ["bench/compare-all.mjs", "--cell", cells.join(","), "--rounds", String(rounds), ...(quick ? ["--seconds", seconds, "--bench-rounds", benchRounds] : [])];
  const isCompare = (f) => /^compare-\d{4}-\d{2}-\d{2}-\d{4}\.json$/.test(f);
  const before = new Set(readdirSync(path.join(root, "bench/results")));
  const r = run(process.execPath, argv, { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) log(`compare-all.mjs failed (exit ${r.status})`);
  const file = readdirSync(path.join(root, "bench/results")).find((f) => isCompare(f) && !before.has(f)) ?? null;
  out.rows.compare = { command: `node ${argv.join(" ")}`, quick, file: file && `bench/results/${file}`, ok: r.status === 0 };
}

if (!flag("--no-onnx")) {
  const ort = { command: `rnn bench --predict --cell <cell> --workload small,medium --seconds ${quick ? 1 : 2} --rounds 3`, quick, cells: {} };
  for (const cell of cells) {
    log(`onnxruntime comparison, ${cell}`);
    const r = run(process.execPath, ["bin/rnn.js", "bench", "--predict", "--cell", cell, "--workload", "small,medium", "--seconds", quick ? "1" : "2", "--rounds", "3", "--json"]);
    if (r.status !== 0) { log(`bench --predict --cell ${cell} failed: ${r.stderr.trim().split("\n").pop()}`); continue; }
    const j = JSON.parse(r.stdout);
    ort.version = j.onnxruntime;
    ort.threads = j.threads;
    ort.cells[cell] = {};
    for (const p of j.predict) {
      ort.cells[cell][p.workload] = Object.fromEntries(Object.entries(p.rates).map(([mode, v]) => [mode, {
        rnn: Math.round(v.rnn.rowsPerSecond), onnxruntime: Math.round(v.onnxruntime.rowsPerSecond),
        ratio: Math.round((v.rnn.rowsPerSecond / v.onnxruntime.rowsPerSecond) * 100) / 100,
      }]));
    }
  }
  out.rows.onnxruntime = ort;
}

if (!flag("--no-setup")) {
  log("set-up: a fresh clone, npm ci, the first train");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "rnn-clone-"));
  const dir = path.join(tmp, "rnn");
  run("git", ["clone", "--quiet", root, dir]);
  const [ci, ciS] = timed(() => run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir }));
  const [tr, trS] = timed(() => run("npx", ["rnn", "train", "configs/sine.yaml", "--quiet"], { cwd: dir }));
  rmSync(tmp, { recursive: true, force: true });
  out.rows.setup = {
    command: "git clone … && npm ci && npx rnn train configs/sine.yaml",
    npmCiSeconds: Math.round(ciS), npmCiOk: ci.status === 0,
    firstTrainSeconds: Math.round(trS * 10) / 10, firstTrainOk: tr.status === 0,
    cache: "the npm cache as it was (warm when this machine has installed before)",
  };
}

out.load.after = loadavg();
// Timings taken while the load average is past 1.5 × the cores are marked: the table prefers others.
out.underLoad = Math.max(...out.load.before, ...out.load.after) > 1.5 * out.cores;
// One file per run: a second run on the same day gets readme-<date>-2.json, and so on.
let file = path.join(root, "bench/results", `readme-${out.date.slice(0, 10)}.json`);
for (let n = 2; existsSync(file); n++) file = path.join(root, "bench/results", `readme-${out.date.slice(0, 10)}-${n}.json`);
writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
log(`wrote ${path.relative(root, file)}; node scripts/readme-table.mjs writes the README's table from it`);
