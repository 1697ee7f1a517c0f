#!/usr/bin/env node
// Builds the optional native addons with node-gyp:
// - native/*.cc → build/Release/rnn_kernels.node (the kernels); where there is no compiler, or
//   RNN_NO_NATIVE is set, it says so and succeeds: rnn then runs on its TypeScript kernels;
// - native/mpi/mpi.cc → native/mpi/build/Release/rnn_mpi.node (the MPI binding), only where an MPI
//   implementation is found (scripts/mpi-flags.mjs); without it rnn trains in one process, and
//   refuses to run under an MPI launcher (it says how to get MPI). RNN_NO_MPI skips it.
// It is the package's `install` script (so npm does not also run node-gyp on binding.gyp by
// itself) and part of `npm run build`. An addon newer than its sources is kept: `npm install`
// after `npm install`, and npx's first run in a folder (it installs the folder as a package),
// compile nothing; `npm rebuild` or `--force` always compiles. node-gyp's own output is not shown
// unless the build fails (then its first error line).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { mpiFlags } from "./mpi-flags.mjs";

const root = path.resolve(import.meta.dirname, "..");
// npm tells lifecycle scripts where its node-gyp is; otherwise look beside npm itself.
const candidates = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
].filter(Boolean);
const gyp = candidates.find((p) => existsSync(p));
// Build against the local Node headers when the system has them (no download needed).
const nodedir = process.env.npm_config_nodedir
  || (existsSync(path.join(path.dirname(process.execPath), "../include/node/node_api.h")) ? path.resolve(path.dirname(process.execPath), "..") : null);

const force = process.argv.includes("--force") || process.env.npm_command === "rebuild";

/** The newest modification time of the files (folders: their files, not below), 0 for none. */
function newest(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    const files = st.isDirectory() ? readdirSync(p).map((f) => path.join(p, f)).filter((f) => statSync(f).isFile()) : [p];
    for (const f of files) t = Math.max(t, statSync(f).mtimeMs);
  }
  return t;
}

/** The addon `output` exists and is newer than every one of its `sources` and this script. */
function upToDate(output, sources) {
  return !force && existsSync(output) && statSync(output).mtimeMs >= newest([...sources, import.meta.filename]);
}

/** Runs `node-gyp rebuild` in dir; returns null on success, else the first error line. */
function rebuild(dir) {
  const args = [gyp, "rebuild", ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.status === 0) return null;
  return ((r.stderr || "").split("\n").find((l) => /error/i.test(l)) ?? `exit ${r.status}`).trim();
}

if (!gyp) {
  console.error("rnn: node-gyp not found: skipping the native kernels (the TypeScript kernels will be used) and MPI");
  process.exit(0);
}
if (process.env.RNN_NO_NATIVE) {
  console.error("rnn: RNN_NO_NATIVE is set: skipping the native kernels (the TypeScript kernels will be used)");
} else if (!upToDate(path.join(root, "build/Release/rnn_kernels.node"), [path.join(root, "binding.gyp"), path.join(root, "native")])) {
  const why = rebuild(root);
  if (why) console.error(`rnn: could not build the native kernels (${why}); the TypeScript kernels will be used`);
}
if (process.env.RNN_NO_MPI) {
  console.error("rnn: RNN_NO_MPI is set: skipping the MPI binding (training runs in one process)");
} else if (!mpiFlags()) {
  console.error("rnn: no MPI found (mpicc): training runs in one process; for mpirun/srun: apt-get install libopenmpi-dev, then npm rebuild");
} else if (!upToDate(path.join(root, "native/mpi/build/Release/rnn_mpi.node"), [path.join(root, "native/mpi"), path.join(root, "scripts/mpi-flags.mjs")])) {
  const why = rebuild(path.join(root, "native/mpi"));
  if (why) console.error(`rnn: could not build the MPI binding (${why}); training runs in one process`);
}
process.exit(0);
