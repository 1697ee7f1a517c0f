#!/usr/bin/env node
// Writes the README's headline table, between <!-- readme-table:start --> and
// <!-- readme-table:end -->, from the results files bench/readme.mjs writes
// (bench/results/readme-<date>.json) and those bench/compare-all.mjs writes
// (bench/results/compare-<date>-<HHMM>.json: rnn, PyTorch and Keras alternating). Each row comes
// from the newest file that measured it in full (a timing: also not under load — among the runs on
// the CPU of the newest run, once one measured it in full there, loaded or not, since a timing
// describes its machine); a row only a --quick or loaded run measured is shown from that run and
// says so. The training-speed rows take the newest such file of either kind.
//   node scripts/readme-table.mjs           rewrite README.md
//   node scripts/readme-table.mjs --check   exit 1 when README.md's table differs
//   node scripts/readme-table.mjs --print   print the table only
//   --dir DIR                               read the results from DIR (default bench/results)
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const START = "<!-- readme-table:start (written by scripts/readme-table.mjs from bench/results/readme-*.json; do not edit) -->";
const END = "<!-- readme-table:end -->";

const newestFirst = (a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0);
const readAll = (dir, re) => readdirSync(dir).filter((f) => re.test(f))
  .map((f) => ({ file: f, ...JSON.parse(readFileSync(path.join(dir, f), "utf8")) })).sort(newestFirst);

/** Every results file of bench/readme.mjs, newest first (the date is in the name and in the file). */
export const resultsFiles = (dir = path.join(root, "bench/results")) => readAll(dir, /^readme-\d{4}-\d{2}-\d{2}.*\.json$/);

/** Every finished results file of bench/compare-all.mjs, newest first. */
export const compareFiles = (dir = path.join(root, "bench/results")) =>
  readAll(dir, /^compare-\d{4}-\d{2}-\d{2}-\d{4}\.json$/).filter((r) => r.schema === "rnn-compare/1" && r.cells);

const ratio = (x) => `${x.toFixed(2)}×`;
const kilo = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : `${n}`);
const when = (r, row) => {
  // compare-*.json also holds the load before each of its runs, and counts it.
  const peak = Math.max(...r.load.before, ...r.load.after, ...(r.runs ?? []).map((x) => x.loadBefore[0]));
  const load = r.underLoad ? `, under load (load average up to ${peak.toFixed(1)} on ${r.cores} cores)` : "";
  return `${r.date.slice(0, 10)}, ${r.cpu}${row?.quick ? ", quick run" : ""}${load}`;
};
const cmd = (c) => `\`${c}\``;

/**
 * The row of kind `key` from the newest file that measured it in full — for a timing, also not
 * under load — else the newest at all. Exactness rows do not depend on the load.
 */
const TIMINGS = new Set(["pytorch", "onnxruntime", "setup"]);
function pick(files, key, ok = () => true) {
  const has = files.filter((r) => r.rows?.[key] && ok(r.rows[key]));
  if (!TIMINGS.has(key)) return has.find((r) => !r.rows[key].quick) ?? has[0] ?? null;
  return choose(has.map((r) => ({ date: r.date, r, row: r.rows[key] })))?.r ?? null;
}

const CELLS = ["elman", "lstm", "gru"];
const WORKLOADS = ["small", "medium", "large"];
const cellName = (c) => (c === "gru" ? "GRU" : c === "lstm" ? "LSTM" : "Elman");
const minor = (v) => v?.match(/^\d+\.\d+/)?.[0] ?? v;
const full = (r, row) => !row.quick && !r.underLoad;

/**
 * Of the candidates, the newest measured in full and not under load, else the newest. A timing
 * describes the CPU it ran on: once a full run exists on the CPU of the newest run (the machine
 * the project is on now), the choice is made among that CPU's runs, and a loaded full run there
 * (marked so) displaces an unloaded one from a machine the project has left.
 */
const choose = (cands) => {
  const c = [...cands].sort(newestFirst);
  const now = c[0]?.r.cpu, here = c.filter((x) => x.r.cpu === now && !x.row.quick);
  if (here.length > 0) return here.find((x) => full(x.r, x.row)) ?? here[0];
  return c.find((x) => full(x.r, x.row)) ?? c[0] ?? null;
};

/** rnn ÷ PyTorch on one cell: from a readme-*.json row or a compare-*.json file, whichever choose() takes. */
function pytorchRow(files, compares, cell) {
  const fromReadme = files.filter((r) => r.rows?.pytorch?.cells?.[cell]).map((r) => ({
    date: r.date, r, row: r.rows.pytorch, version: "1.13", command: r.rows.pytorch.command.replace("<cell>", cell), cells: r.rows.pytorch.cells[cell],
  }));
  const fromCompare = compares.filter((r) => WORKLOADS.some((w) => r.cells[cell]?.[w]?.ratios?.["rnn/torch"])).map((r) => ({
    date: r.date, r, row: r, version: minor(r.versions.torch), command: r.command,
    cells: Object.fromEntries(WORKLOADS.filter((w) => r.cells[cell][w]?.ratios?.["rnn/torch"]).map((w) => {
      const e = r.cells[cell][w];
      return [w, { rnn: Math.round(e.rnn.median), pytorch: Math.round(e.torch.median), ratio: e.ratios["rnn/torch"] }];
    })),
  }));
  const c = choose([...fromReadme, ...fromCompare]);
  if (!c) return null;
  const fig = WORKLOADS.filter((w) => c.cells[w]).map((w) => `${w} **${ratio(c.cells[w].ratio)}** (${kilo(c.cells[w].rnn)} / ${kilo(c.cells[w].pytorch)})`).join(", ");
  return [`Training speed against PyTorch ${c.version}, ${cellName(cell)}`, `rnn ÷ PyTorch steps/s: ${fig}`, when(c.r, c.row), cmd(c.command)];
}

/** rnn ÷ Keras over every cell × workload of the chosen compare-*.json: the range, and the lowest named. */
function kerasRow(compares) {
  const c = choose(compares.filter((r) => CELLS.some((cell) => WORKLOADS.some((w) => r.cells[cell]?.[w]?.ratios?.["rnn/keras"]))).map((r) => ({ date: r.date, r, row: r })));
  if (!c) return ["Training speed against Keras", "not yet measured", "—", "—"];
  const r = c.r;
  const pairs = CELLS.flatMap((cell) => WORKLOADS.filter((w) => r.cells[cell]?.[w]?.ratios?.["rnn/keras"]).map((w) => ({ cell, w, e: r.cells[cell][w] })));
  const ratioOf = (p) => p.e.ratios["rnn/keras"];
  const lo = pairs.reduce((a, b) => (ratioOf(b) < ratioOf(a) ? b : a)), hi = pairs.reduce((a, b) => (ratioOf(b) > ratioOf(a) ? b : a));
  const cells = [...new Set(pairs.map((p) => cellName(p.cell)))].join(", "), ws = [...new Set(pairs.map((p) => p.w))].join(", ");
  const [a, b] = [ratioOf(lo).toFixed(1), ratioOf(hi).toFixed(1)];
  const range = a === b ? ratio(ratioOf(lo)) : `${a}–${b}×`;
  const rounds = r.settings.rounds;
  return ["Training speed against Keras",
    `rnn ÷ Keras ${minor(r.versions.keras)} (TensorFlow ${minor(r.versions.tensorflow)}, CPU) steps/s: **${range}** over ${cells} × ${ws} (medians of ${rounds} round${rounds === 1 ? "" : "s"}); the lowest, ${cellName(lo.cell)} ${lo.w}: ${ratio(ratioOf(lo))} (${kilo(Math.round(lo.e.rnn.median))} / ${kilo(Math.round(lo.e.keras.median))})`,
    when(r, r), cmd(r.command)];
}

export function table(files, compares = []) {
  const rows = [];
  const g = pick(files, "golden");
  if (g) {
    const x = g.rows.golden;
    rows.push(["Exactness against PyTorch: the golden suites", `${x.passed} of ${x.total} tests pass${x.failed ? ` (${x.failed} failed)` : ""}: ${x.what}`, when(g), cmd(x.command)]);
  }
  const c = pick(files, "conformance");
  if (c) {
    const x = c.rows.conformance;
    const sec = (k) => (x.needs?.[k]?.match(/§\d+/) ?? [])[0];
    const not = x.failed ? `; not passing: ${x.failedCases.map((k) => (sec(k) ? `${k} (SPEC ${sec(k)})` : k)).join(", ")}${x.failedCases.every(sec) ? " — sections not on this branch yet" : ""}` : "";
    rows.push(["Exactness: the contract's conformance kit", `${x.passed} of ${x.passed + (x.failed ?? 0)} cases pass — ${x.what}${not}`, when(c), cmd(x.command)]);
  }
  for (const cell of CELLS) {
    const row = pytorchRow(files, compares, cell);
    if (row) rows.push(row);
  }
  rows.push(kerasRow(compares));
  for (const cell of ["elman", "lstm", "gru"]) {
    const r = pick(files, "onnxruntime", (x) => x.cells?.[cell]);
    if (!r) continue;
    const x = r.rows.onnxruntime, w = x.cells[cell];
    const fig = ["small", "medium"].filter((n) => w[n]).map((n) => `${n} ${["online", "stream", "batched"].map((m) => ratio(w[n][m].ratio)).join(" / ")}`).join("; ");
    rows.push([`Inference against onnxruntime ${x.version ?? ""}, ${cell === "gru" ? "GRU" : cell === "lstm" ? "LSTM" : "Elman"}`.replace("  ", " "),
      `rnn ÷ onnxruntime rows/s, online / stream / batched: ${fig}`, when(r, x), cmd(x.command.replace("<cell>", cell))]);
  }
  const s = pick(files, "setup");
  if (s) {
    const x = s.rows.setup;
    rows.push(["Set-up on a fresh clone", `\`npm ci\` ${x.npmCiSeconds} s; the first \`npx rnn train configs/sine.yaml\` ${x.firstTrainSeconds} s`, when(s), cmd(x.command)]);
  }
  const esc = (v) => String(v).replace(/\|/g, "\\|");
  return ["| result | figure | measured (date, CPU) | re-measure with |", "|---|---|---|---|", ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n");
}

export function withTable(readme, t) {
  const i = readme.indexOf(START), j = readme.indexOf(END);
  if (i < 0 || j < i) throw new Error("README.md has no readme-table markers");
  return readme.slice(0, i + START.length) + "\n" + t + "\n" + readme.slice(j);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--dir");
  const dir = i > 0 ? path.resolve(process.argv[i + 1]) : path.join(root, "bench/results");
  const t = table(resultsFiles(dir), compareFiles(dir));
  const file = path.join(root, "README.md");
  const now = readFileSync(file, "utf8");
  if (process.argv.includes("--print")) process.stdout.write(t + "\n");
  else if (process.argv.includes("--check")) {
    if (withTable(now, t) !== now) { process.stderr.write("README.md: the headline table is not what scripts/readme-table.mjs writes; run it\n"); process.exit(1); }
  } else writeFileSync(file, withTable(now, t));
}
