#!/usr/bin/env node
// Builds the optional native kernels (native/*.cc → build/Release/rnn_kernels.node) with
// node-gyp. Where there is no compiler, or RNN_NO_NATIVE is set, it says so and succeeds:
// rnn then runs on its pure TypeScript kernels.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

if (process.env.RNN_NO_NATIVE) {
  console.error("rnn: RNN_NO_NATIVE is set: skipping the native kernels (the TypeScript kernels will be used)");
  process.exit(0);
}
// npm tells lifecycle scripts where its node-gyp is; otherwise look beside npm itself.
const candidates = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
].filter(Boolean);
const gyp = candidates.find((p) => existsSync(p));
if (!gyp) {
  console.error("rnn: node-gyp not found: skipping the native kernels (the TypeScript kernels will be used)");
  process.exit(0);
}
// Build against the local Node headers when the system has them (no download needed).
const nodedir = process.env.npm_config_nodedir
  || (existsSync(path.join(path.dirname(process.execPath), "../include/node/node_api.h")) ? path.resolve(path.dirname(process.execPath), "..") : null);
const args = [gyp, "rebuild", ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
if (r.status !== 0) {
  const why = (r.stderr || "").split("\n").find((l) => /error/i.test(l)) ?? `exit ${r.status}`;
  console.error(`rnn: could not build the native kernels (${why.trim()}); the TypeScript kernels will be used`);
}
process.exit(0);
