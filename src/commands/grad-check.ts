import { builtinSuite, checkSynthetic, type GradCheckResult } from "../core/gradcheck.js";
import { JobError } from "../errors.js";
import { loadBackend } from "../kernels/backends.js";
import type { Io } from "../io/terminal.js";
import { writeOut } from "../io/terminal.js";
import { gradCheckConfig } from "./grad-check-config.js";

export interface GradCheckOptions {
  json?: boolean;
}

/** A component passes when its relative error is below this (SPEC §2). */
export const TOLERANCE = 1e-6;

/**
 * `rnn grad-check [config]`: BPTT gradients against central finite differences in float64,
 * on the built-in suite or on the model a config describes. Exit 1 on any mismatch.
 */
export async function gradCheck(configPath: string | undefined, opts: GradCheckOptions, io: Io): Promise<number> {
  const results: GradCheckResult[] = configPath
    ? await gradCheckConfig(configPath)
    : builtinSuite().map((s) => checkSynthetic(s, { kernels: loadBackend().kernels }));
  const maxRelError = Math.max(0, ...results.map((r) => r.maxRelError));
  const ok = results.every((r) => r.maxRelError < TOLERANCE);
  if (opts.json) {
    const cases = results.map((r) => ({ ...r, ok: r.maxRelError < TOLERANCE }));
    await writeOut(io, JSON.stringify({ ok, maxRelError, tolerance: TOLERANCE, cases }) + "\n");
  } else {
    const c = io.color;
    const w = Math.max(...results.map((r) => r.name.length));
    io.stderr.write(`${"case".padEnd(w)}  ${"checked".padStart(7)}  max rel error\n`);
    for (const r of results) {
      const mark = r.maxRelError < TOLERANCE ? c.green("ok") : c.red("FAIL");
      io.stderr.write(`${r.name.padEnd(w)}  ${String(r.checked).padStart(7)}  ${r.maxRelError.toExponential(2)}  ${mark}\n`);
    }
  }
  if (!ok) {
    const bad = results.filter((r) => r.maxRelError >= TOLERANCE)
      .map((r) => `${r.name} (${r.worst?.param}[${r.worst?.index}]: BPTT ${r.worst?.analytic}, finite difference ${r.worst?.numeric})`);
    throw new JobError(`grad-check failed: max relative error ${maxRelError.toExponential(2)} ≥ ${TOLERANCE} in ${bad.join("; ")}`);
  }
  if (!opts.json) io.stderr.write(`grad-check ok: max relative error ${maxRelError.toExponential(2)} < ${TOLERANCE} over ${results.length} cases\n`);
  return 0;
}
