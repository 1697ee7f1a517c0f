#!/usr/bin/env node
// The compile and link flags of the machine's MPI, asked of its compiler wrapper: Open MPI's
// `mpicc --showme:compile|link`, else MPICH's `mpicc -compile_info|-link_info` (whose first word is
// the compiler itself). MPICC names another wrapper. Used by scripts/build-native.mjs and, as
// `node mpi-flags.mjs cflags|libs`, by native/mpi/binding.gyp.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";

const wrapper = process.env.MPICC || "mpicc";

function ask(args) {
  const r = spawnSync(wrapper, args, { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim().split(/\s+/) : null;
}

/** { cflags, libs } of the MPI found, or null when there is none. */
export function mpiFlags() {
  let cflags = ask(["--showme:compile"]), libs = ask(["--showme:link"]);
  if (!cflags || !libs) {
    const c = ask(["-compile_info"]), l = ask(["-link_info"]);
    if (!c || !l) return null;
    cflags = c.slice(1).filter((f) => /^-[ID]/.test(f));
    libs = l.slice(1).filter((f) => /^-[lLW]/.test(f));
  }
  cflags = cflags.filter((f) => f !== "-pthread");
  // An MPI outside the loader's default path (/opt/…) is found again at run time through rpath.
  const rpath = libs.filter((f) => f.startsWith("-L")).map((f) => `-Wl,-rpath,${f.slice(2)}`);
  return { cflags, libs: [...libs, ...rpath] };
}

if (import.meta.url === pathToFileURL(path.resolve(process.argv[1] ?? "")).href) {
  const f = mpiFlags();
  const what = process.argv[2];
  if (what === "found") process.stdout.write(f ? "1" : "0");
  else if (f && (what === "cflags" || what === "libs")) process.stdout.write(f[what].join(" "));
  else process.exit(f ? 2 : 1);
}
