#!/usr/bin/env node
// Compiles src/ into dist/ (tsc -p tsconfig.build.json), the package's `prepare` script. When
// dist/ is newer than every file of src/ and the tsconfigs it is kept: npx's first run in a folder
// installs the folder as a package, which runs `prepare` again. `--force` always compiles.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const stamp = path.join(root, "dist/.built");

/** The newest modification time of the files below `p` (or of `p`), 0 when it is missing. */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((t, f) => Math.max(t, newest(path.join(p, f))), st.mtimeMs);
}

const sources = ["src", "tsconfig.json", "tsconfig.build.json", "package.json"].map((f) => path.join(root, f));
if (!process.argv.includes("--force") && existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(...sources.map(newest))) process.exit(0);
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const r = spawnSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, "");
