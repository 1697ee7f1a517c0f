import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
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

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/<[^>]*>/g, "").replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a markdown file's headings (outside code blocks), with GitHub's -1, -2 for repeats. */
function anchors(text: string): Set<string> {
  const out = new Set<string>(), seen = new Map<string, number>();
  for (const line of text.replace(/```[\s\S]*?```/g, "").split("\n")) {
    const m = line.match(/^#{1,6}\s+(.*)$/);
    if (!m) continue;
    const s = slug(m[1]), n = seen.get(s) ?? 0;
    seen.set(s, n + 1);
    out.add(n ? `${s}-${n}` : s);
  }
  return out;
}

describe("the README and the manual", () => {
  const pages = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

  it("every relative link in README.md and docs/*.md points to a file that exists (and a heading that exists)", () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(path.join(ROOT, page), "utf8").replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1];
        if (/^[a-z][a-z+.-]*:/i.test(link)) continue;   // https:, mailto:
        const [file, anchor] = link.split("#");
        const target = file ? path.resolve(path.dirname(path.join(ROOT, page)), decodeURIComponent(file)) : path.join(ROOT, page);
        if (!existsSync(target)) { broken.push(`${page}: ${link} (no such file)`); continue; }
        if (anchor && target.endsWith(".md") && !anchors(readFileSync(target, "utf8")).has(anchor)) broken.push(`${page}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("README.md has at most 200 lines", () => {
    const lines = readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    expect(lines.length).toBeLessThanOrEqual(200);
  });

  it("the README's headline table is what scripts/readme-table.mjs writes from the committed results", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/readme-table.mjs"), "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("| Training speed against Keras |");
  });
});

/** The Slurm recipes of the manual are the files the Slurm tests submit, word for word (issue 23). */
describe("the docs' Slurm batch scripts are the tested ones", () => {
  it.each([["scripts/slurm/train.sbatch", "docs/distributed.md"], ["scripts/slurm/sweep.sbatch", "docs/sweeps.md"]])("%s stands in %s as it is", (script, page) => {
    const text = readFileSync(path.join(ROOT, script), "utf8");
    expect(readFileSync(path.join(ROOT, page), "utf8")).toContain("```sh\n" + text + "```");
    expect(readFileSync(path.join(ROOT, "test/distributed/slurm.test.ts"), "utf8")).toContain(`scripts/slurm/${path.basename(script)}`);
  });
});
