import { describe, expect, it } from "vitest";
import { referenceKernels, type Kernels } from "../src/core/kernels.js";
import { Rng } from "../src/core/rng.js";
import { alloc, type DType, type Float } from "../src/core/tensor.js";
import { loadAddon, nativeKernels } from "../src/kernels/native.js";
import { backends } from "./helpers/backends.js";
import { closeTo } from "./helpers/compare.js";

/**
 * The native products of a single row (M = 1: a batch of one, as a streamed sequence steps) take
 * their own path (no 6-row tile; 4, 2 or 1 panels at a time). It must give, bit for bit, what the general
 * path gives for the same row inside a larger product — whatever N and K (remainder panels, several
 * K blocks) — and agree with the reference.
 */
const rng = new Rng(7);
const rand = (dtype: DType, n: number): Float => { const a = alloc(dtype, n); for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1; return a; };
const shapes: [number, number][] = [[1, 1], [16, 8], [17, 300], [32, 32], [40, 24], [64, 256], [70, 513], [100, 50], [256, 256], [1024, 32], [130, 1000]];

describe.each(backends().filter(([n]) => n !== "js"))("%s: one-row products", (_name, k: Kernels) => {
  for (const dtype of ["float32", "float64"] as DType[]) {
    it(`${dtype}: matmulNT, matmulNN and matmulPacked of one row equal row 0 of a 7-row product and the reference`, () => {
      for (const [N, K] of shapes) {
        for (const acc of [false, true]) {
          const a = rand(dtype, 7 * K), b = rand(dtype, K * N), c0 = rand(dtype, 7 * N);
          for (const form of ["matmulNT", "matmulNN"] as const) {
            const one = alloc(dtype, N), many = alloc(dtype, 7 * N), ref = alloc(dtype, N);
            one.set(c0.subarray(0, N)); many.set(c0); ref.set(c0.subarray(0, N));
            k[form](one, 0, a, 0, b, 0, 1, N, K, acc);
            k[form](many, 0, a, 0, b, 0, 7, N, K, acc);
            referenceKernels[form](ref, 0, a, 0, b, 0, 1, N, K, acc);
            expect(Array.from(one), `${form} ${N}x${K} acc=${acc}: one row vs row 0`).toEqual(Array.from(many.subarray(0, N)));
            closeTo(`${form} ${N}x${K} acc=${acc} vs reference`, one, ref, dtype === "float64" ? 1e-12 : 2e-5);
          }
          const p = k.createPacked();
          k.pack(p, b, 0, K, N, true);
          const one = alloc(dtype, N), many = alloc(dtype, 7 * N);
          one.set(c0.subarray(0, N)); many.set(c0);
          k.matmulPacked(one, 0, a, 0, p, 1, acc);
          k.matmulPacked(many, 0, a, 0, p, 7, acc);
          expect(Array.from(one), `matmulPacked ${N}x${K} acc=${acc}: one row vs row 0`).toEqual(Array.from(many.subarray(0, N)));
        }
      }
    });
  }
});

/**
 * The GEMM runs on AVX-512 where the CPU has it, else AVX2 (native/gemm512.cc, gemm.cc): the
 * panels differ in width but every element is the same FMA chain over k, so the two must give
 * the same bits — for whole products, one-row products and prepacked B alike. Where the CPU has
 * no AVX-512 there is one ISA, and this says so.
 */
describe("native GEMM: AVX-512 and AVX2 give the same bits", () => {
  const addon = loadAddon();
  const k = addon instanceof Error ? null : nativeKernels(addon);
  const both = addon instanceof Error ? false : (addon.gemmIsa("avx512") === "avx512");
  it.skipIf(k === null || !both)("matmulNT, matmulNN, matmulTN and matmulPacked, M = 1 and M = 7, float32 and float64", () => {
    if (k === null || addon instanceof Error) return;
    const before = addon.gemmIsa();
    try {
      for (const dtype of ["float32", "float64"] as DType[]) {
        for (const [N, K] of [...shapes, [300, 700] as [number, number]]) {
          for (const M of [1, 7, 40]) {
            const a = rand(dtype, M * K), b = rand(dtype, K * N), c0 = rand(dtype, M * N);
            const run = (isa: "avx2" | "avx512"): Float[] => {
              addon.gemmIsa(isa);
              const outs: Float[] = [];
              for (const form of ["matmulNT", "matmulNN", "matmulTN"] as const) {
                const o = alloc(dtype, M * N); o.set(c0);
                k[form](o, 0, a, 0, b, 0, M, N, K, true);
                outs.push(o);
              }
              const p = k.createPacked();
              k.pack(p, b, 0, K, N, true);
              const o = alloc(dtype, M * N);
              k.matmulPacked(o, 0, a, 0, p, M, false);
              outs.push(o);
              return outs;
            };
            const wide = run("avx512"), narrow = run("avx2");
            wide.forEach((w, i) => expect(Array.from(w), `${dtype} ${M}x${N}x${K} product ${i}`).toEqual(Array.from(narrow[i])));
          }
        }
      }
    } finally {
      addon.gemmIsa(before);
    }
  });
  if (!both) it("(this CPU has no AVX-512: one ISA, nothing to compare)", () => { expect(both).toBe(false); });
});
