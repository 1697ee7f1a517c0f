#!/usr/bin/env node
// The CPU's fp32 FMA peak: 16 independent FMA chains held in vector registers (no memory
// traffic), AVX-512 where the CPU has it, else AVX2 + FMA, on 1 and on all cores at once — the
// ceiling no kernel can pass, beside bench/gemm-ceiling.mjs (what rnn's GEMM reaches). Compiles
// its C++ with g++ into a temporary folder. From the project root:
//   node bench/fma-peak.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const wide = /\bavx512f\b/.test((() => { try { return execFileSync("grep", ["-m1", "^flags", "/proc/cpuinfo"], { encoding: "utf8" }); } catch { return ""; } })());
const [V, L, set, fma, pre] = wide
  ? ["__m512", 16, "_mm512_set1_ps", "_mm512_fmadd_ps", "avx512f"]
  : ["__m256", 8, "_mm256_set1_ps", "_mm256_fmadd_ps", "avx2,fma"];
const src = `#pragma GCC target("${pre}")
#include <immintrin.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>
static float run(long iters) {
  ${V} a[16];
  for (int i = 0; i < 16; i++) a[i] = ${set}(1.0f + i * 1e-7f);
  const ${V} b = ${set}(0.9999999f), c = ${set}(1e-7f);
  for (long n = 0; n < iters; n++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) a[i] = ${fma}(a[i], b, c);
  }
  float s = 0, t[${L}];
  for (int i = 0; i < 16; i++) { *(${V}*)t = a[i]; for (int j = 0; j < ${L}; j++) s += t[j]; }
  return s;
}
int main(int argc, char** argv) {
  const int cores = std::atoi(argv[1]);
  const long iters = 50000000;
  for (int th : {1, cores}) {
    double best = 0;
    for (int r = 0; r < 3; r++) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> ts;
      for (int i = 0; i < th; i++) ts.emplace_back([&] { volatile float x = run(iters); (void)x; });
      for (auto& t : ts) t.join();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double g = (double)th * iters * 16 * ${L} * 2 / s / 1e9;
      if (g > best) best = g;
    }
    std::printf("{\\"threads\\": %d, \\"gflops\\": %.1f}\\n", th, best);
  }
}
`;
const dir = mkdtempSync(path.join(os.tmpdir(), "fma-peak-"));
try {
  writeFileSync(path.join(dir, "peak.cc"), src);
  execFileSync("g++", ["-O2", "-std=c++17", "-pthread", "-o", path.join(dir, "peak"), path.join(dir, "peak.cc")]);
  const lines = execFileSync(path.join(dir, "peak"), [String(os.availableParallelism())], { encoding: "utf8" }).trim().split("\n").map((l) => JSON.parse(l));
  for (const l of lines) console.error(`fma-peak: ${wide ? "AVX-512" : "AVX2"}, ${l.threads} thread(s): ${l.gflops} GFLOP/s (best of 3)`);
  console.log(JSON.stringify({ cpu: os.cpus()[0]?.model, isa: wide ? "avx512" : "avx2", results: lines }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
