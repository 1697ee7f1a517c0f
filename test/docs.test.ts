import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { KEY_DOCS } from "../src/config/keys.js";
import { ROOT } from "./helpers/cli.js";

/**
 * The generated pages of the manual (scripts/gen-docs.mjs: docs/config.md from the zod schema and
 * src/config/keys.ts, docs/commands.md from the commander definitions) must be what the script
 * writes now: a key or flag added, renamed or re-described without regenerating fails here.
 */
describe("generated docs", () => {
  it("docs/config.md and docs/commands.md are what scripts/gen-docs.mjs writes", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/gen-docs.mjs"), "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("every config key has its line, and the page lists every key and every command", () => {
    const config = readFileSync(path.join(ROOT, "docs/config.md"), "utf8");
    for (const k of Object.keys(KEY_DOCS)) expect(config, k).toContain(`| \`${k}\` |`);
    const commands = readFileSync(path.join(ROOT, "docs/commands.md"), "utf8");
    for (const c of ["init", "train", "sweep", "sweep summary", "eval", "predict", "forecast", "backtest", "export", "bench", "grad-flow", "plot", "grad-check"]) {
      expect(commands, c).toContain(`## ${c}\n`);
    }
    expect(commands).toContain("`--samples <n>`");
  });
});
