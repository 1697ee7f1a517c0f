#!/usr/bin/env node
// Writes the README's headline table, between <!-- readme-table:start --> and
// <!-- readme-table:end -->, from the results files bench/readme.mjs writes
// (bench/results/readme-<date>.json). Each row comes from the newest file that measured it in
// full (a timing: also not under load); a row only a --quick or loaded run measured is shown from
// that run and says so.
//   node scripts/readme-table.mjs           rewrite README.md
//   node scripts/readme-table.mjs --check   exit 1 when README.md's table differs
//   node scripts/readme-table.mjs --print   print the table only
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const START = "<!-- readme-table:start (written by scripts/readme-table.mjs from bench/results/readme-*.json; do not edit) -->";
const END = "<!-- readme-table:end -->";

/** Every results file, newest first (the date is in the name and in the file). */
export function resultsFiles(dir = path.join(root, "bench/results")) {
  return readdirSync(dir).filter((f) => /^readme-\d{4}-\d{2}-\d{2}.*\.json$/.test(f))
    .map((f) => ({ file: f, ...JSON.parse(readFileSync(path.join(dir, f), "utf8")) }))
    .sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
}

const ratio = (x) => `${x.toFixed(2)}×`;
const kilo = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : `${n}`);
const when = (r, row) => {
  const load = r.underLoad ? `, under load (load average up to ${Math.max(...r.load.before, ...r.load.after).toFixed(1)} on ${r.cores} cores)` : "";
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
  return has.find((r) => !r.rows[key].quick && !(TIMINGS.has(key) && r.underLoad)) ?? has[0] ?? null;
}

export function table(files) {
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
  for (const cell of ["elman", "lstm", "gru"]) {
    const r = pick(files, "pytorch", (x) => x.cells?.[cell]);
    if (!r) continue;
    const w = r.rows.pytorch.cells[cell];
    const fig = ["small", "medium", "large"].filter((k) => w[k]).map((k) => `${k} **${ratio(w[k].ratio)}** (${kilo(w[k].rnn)} / ${kilo(w[k].pytorch)})`).join(", ");
    rows.push([`Training speed against PyTorch 1.13, ${cell === "gru" ? "GRU" : cell === "lstm" ? "LSTM" : "Elman"}`,
      `rnn ÷ PyTorch steps/s: ${fig}`, when(r, r.rows.pytorch), cmd(r.rows.pytorch.command.replace("<cell>", cell))]);
  }
  const k = files.find((r) => r.rows?.keras?.measured);
  rows.push(["Training speed against Keras", k ? `${k.rows.keras.figure}` : "not yet measured", k ? when(k) : "—", k ? cmd(k.rows.keras.command) : "—"]);
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
  const t = table(resultsFiles());
  const file = path.join(root, "README.md");
  const now = readFileSync(file, "utf8");
  if (process.argv.includes("--print")) process.stdout.write(t + "\n");
  else if (process.argv.includes("--check")) {
    if (withTable(now, t) !== now) { process.stderr.write("README.md: the headline table is not what scripts/readme-table.mjs writes; run it\n"); process.exit(1); }
  } else writeFileSync(file, withTable(now, t));
}
