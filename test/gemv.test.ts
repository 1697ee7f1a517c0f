import { describe, expect, it } from "vitest";
import { referenceKernels, type Kernels } from "../src/core/kernels.js";
import { Rng } from "../src/core/rng.js";
import { alloc, type DType, type Float } from "../src/core/tensor.js";
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
