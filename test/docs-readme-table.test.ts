import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "./helpers/cli.js";

/**
 * scripts/readme-table.mjs reads bench/compare-all.mjs's results files (compare-<date>-<HHMM>.json)
 * beside bench/readme.mjs's: the training-speed rows come from the newest file of either kind that
 * measured them in full and not under load. Fixtures are written here, by hand, with round numbers.
 */
const WORKLOADS = ["small", "medium", "large"] as const;

/** A readme-*.json with only a PyTorch row for Elman. */
function readmeFile(dir: string, date: string): void {
  const cells = { elman: { small: { rnn: 999000, pytorch: 433000, ratio: 2.3 }, medium: { rnn: 144000, pytorch: 106000, ratio: 1.35 }, large: { rnn: 18000, pytorch: 12000, ratio: 1.5 } } };
  writeFileSync(path.join(dir, `readme-${date.slice(0, 10)}.json`), JSON.stringify({
    schema: "rnn-readme-bench/1", date, cpu: "Intel Xeon Processor (virtual)", cores: 2, quick: false, underLoad: false,
    load: { before: [0.5, 0.5, 0.5], after: [0.5, 0.5, 0.5] },
    rows: { pytorch: { command: "bench/compare.sh --cell <cell> 2", quick: false, cells }, keras: { measured: false, command: null } },
  }));
}

/** A compare-*.json: rnn / torch / keras medians per cell × workload (steps/s), ratios as compare-all.mjs writes them. */
function compareFile(dir: string, date: string, o: { quick?: boolean; load?: number; medians: Record<string, Record<string, [number, number, number]>> }): string {
  const cells = Object.fromEntries(Object.entries(o.medians).map(([cell, ws]) => [cell, Object.fromEntries(Object.entries(ws).map(([w, [rnn, torch, keras]]) => [w, {
    rnn: { rounds: [rnn, rnn], median: rnn }, torch: { rounds: [torch, torch], median: torch }, keras: { rounds: [keras, keras], median: keras },
    ratios: { "rnn/torch": rnn / torch, "rnn/keras": rnn / keras, "rnn/max(peers)": rnn / Math.max(torch, keras) },
  }]))]));
  const file = `compare-${date.slice(0, 10)}-${date.slice(11, 13)}${date.slice(14, 16)}.json`;
  const load = o.load ?? 0.8;
  writeFileSync(path.join(dir, file), JSON.stringify({
    schema: "rnn-compare/1", date, command: "node bench/compare-all.mjs --rounds 2", cpu: "AMD EPYC", cores: 2,
    versions: { node: "v20.20.2", torch: "1.13.0a0", keras: "3.15.1", tensorflow: "2.21.0" },
    settings: { rounds: 2 }, quick: o.quick ?? false, underLoad: load > 3, load: { before: [load, 0.5, 0.5], after: [0.5, 0.5, 0.5] }, cells, runs: [],
  }));
  return file;
}

function rows(dir: string): Record<string, string[]> {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/readme-table.mjs"), "--print", "--dir", dir], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return Object.fromEntries(r.stdout.trim().split("\n").slice(2).map((l) => l.slice(2, -2).split(" | ")).map((c) => [c[0], c.slice(1)]));
}

const all = (rnn: number, torch: number, keras: number): Record<string, [number, number, number]> => Object.fromEntries(WORKLOADS.map((w) => [w, [rnn, torch, keras]]));

describe("scripts/readme-table.mjs: the training-speed rows from bench/compare-all.mjs's files", () => {
  it("without a compare file: PyTorch from readme-*.json, Keras not yet measured", () => {
    const dir = tempDir();
    readmeFile(dir, "2026-11-30T12:40Z");
    writeFileSync(path.join(dir, "compare-2026-12-01-elman-rnn-1.json"), "{}"); // compare.sh's per-run files are not compare-all's
    writeFileSync(path.join(dir, "compare-2026-12-01-1200.json.tmp"), "{"); // an unfinished run
    const t = rows(dir);
    expect(t["Training speed against PyTorch 1.13, Elman"]).toEqual(["rnn ÷ PyTorch steps/s: small **2.30×** (999k / 433k), medium **1.35×** (144k / 106k), large **1.50×** (18k / 12k)", "2026-11-30, Intel Xeon Processor (virtual)", "`bench/compare.sh --cell elman 2`"]);
    expect(t["Training speed against Keras"]).toEqual(["not yet measured", "—", "—"]);
  });

  it("a newer full compare file: PyTorch per cell and the Keras range with its lowest cell × workload named", () => {
    const dir = tempDir();
    readmeFile(dir, "2026-11-30T12:40Z");
    compareFile(dir, "2026-12-08T02:10Z", {
      medians: { elman: all(1e6, 5e5, 4e5), lstm: all(3e5, 1.5e5, 1e5), gru: { small: [6e5, 2e5, 2e5], medium: [1e5, 5e4, 8e4], large: [5000, 4000, 2500] } },
    });
    const t = rows(dir);
    expect(t["Training speed against PyTorch 1.13, Elman"]).toEqual(["rnn ÷ PyTorch steps/s: small **2.00×** (1.00M / 500k), medium **2.00×** (1.00M / 500k), large **2.00×** (1.00M / 500k)", "2026-12-08, AMD EPYC", "`node bench/compare-all.mjs --rounds 2`"]);
    expect(t["Training speed against PyTorch 1.13, GRU"][0]).toBe("rnn ÷ PyTorch steps/s: small **3.00×** (600k / 200k), medium **2.00×** (100k / 50k), large **1.25×** (5.0k / 4.0k)");
    expect(t["Training speed against Keras"]).toEqual([
      "rnn ÷ Keras 3.15 (TensorFlow 2.21, CPU) steps/s: **1.3–3.0×** over Elman, LSTM, GRU × small, medium, large (medians of 2 rounds); the lowest, GRU medium: 1.25× (100k / 80k)",
      "2026-12-08, AMD EPYC", "`node bench/compare-all.mjs --rounds 2`",
    ]);
  });

  it("a newer quick compare file does not displace a full row; the Keras row says what it was", () => {
    const dir = tempDir();
    readmeFile(dir, "2026-11-30T12:40Z");
    compareFile(dir, "2026-12-08T02:10Z", { quick: true, medians: { elman: all(1e6, 5e5, 4e5) } });
    const t = rows(dir);
    expect(t["Training speed against PyTorch 1.13, Elman"][1]).toBe("2026-11-30, Intel Xeon Processor (virtual)");
    // The only compare file is quick: shown, marked.
    expect(t["Training speed against Keras"][0]).toContain("**2.50×** over Elman × small, medium, large");
    expect(t["Training speed against Keras"][1]).toBe("2026-12-08, AMD EPYC, quick run");
    compareFile(dir, "2026-12-08T03:00Z", { medians: { elman: all(1e6, 4e5, 5e5) } });
    expect(rows(dir)["Training speed against Keras"][0]).toContain("**2.00×**");
  });
  it("a loaded full run on the machine of the newest run displaces an unloaded one from a machine left behind, not one on the same machine", () => {
    const dir = tempDir();
    readmeFile(dir, "2026-11-30T12:40Z"); // Intel Xeon, unloaded
    compareFile(dir, "2026-12-08T01:10Z", { load: 4.2, medians: { elman: all(9e5, 5e5, 3e5) } }); // AMD EPYC, loaded
    let t = rows(dir);
    expect(t["Training speed against PyTorch 1.13, Elman"][0]).toContain("small **1.80×** (900k / 500k)");
    expect(t["Training speed against PyTorch 1.13, Elman"][1]).toBe("2026-12-08, AMD EPYC, under load (load average up to 4.2 on 2 cores)");
    compareFile(dir, "2026-12-08T00:10Z", { medians: { elman: all(8e5, 5e5, 4e5) } }); // AMD EPYC, older, unloaded
    t = rows(dir);
    expect(t["Training speed against PyTorch 1.13, Elman"][0]).toContain("small **1.60×** (800k / 500k)");
    expect(t["Training speed against PyTorch 1.13, Elman"][1]).toBe("2026-12-08, AMD EPYC");
  });
});
