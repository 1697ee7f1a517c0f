import { describe, expect, it } from "vitest";
import { activationNames } from "../src/core/activations.js";
import { referenceKernels, type Kernels } from "../src/core/kernels.js";
import { Rng } from "../src/core/rng.js";
import { alloc, type DType, type Float } from "../src/core/tensor.js";
import { loadAddon } from "../src/kernels/native.js";
import { backends } from "./helpers/backends.js";
import { closeTo } from "./helpers/compare.js";

const rng = new Rng(42);
function rand(dtype: DType, n: number): Float {
  const a = alloc(dtype, n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [6, 16, 9], [7, 17, 300], [97, 33, 64], [130, 70, 260], [32, 256, 256], [0, 4, 3], [4, 3, 0]];
const forms = ["matmulNT", "matmulNN", "matmulTN"] as const;

describe.each(backends().filter(([n]) => n !== "js"))("%s kernels against the reference", (_name, k: Kernels) => {
  for (const dtype of ["float64", "float32"] as DType[]) {
    const tol = dtype === "float64" ? 1e-12 : 2e-5;
    for (const form of forms) {
      it(`${form} ${dtype}: shapes, offsets, overwrite and accumulate`, () => {
        for (const [M, N, K] of shapes) {
          for (const acc of [false, true]) {
            const a = rand(dtype, 3 + M * K), b = rand(dtype, 5 + K * N);
            const out1 = rand(dtype, 2 + M * N), out2 = Float64Array.from(out1);
            const out2t = dtype === "float32" ? Float32Array.from(out2) : out2;
            k[form](out1, 2, a, 3, b, 5, M, N, K, acc);
            referenceKernels[form](out2t, 2, a, 3, b, 5, M, N, K, acc);
            closeTo(`${form} ${M}x${N}x${K} acc=${acc}`, out1, out2t, tol);
          }
        }
      });
    }
    for (const act of activationNames) {
      it(`activate / activateBackward ${act} ${dtype}`, () => {
        const n = 1037;
        const x = rand(dtype, n + 3);
        for (let i = 0; i < 40; i++) x[3 + i] = (i - 20) * 0.7; // the tails of tanh and sigmoid
        const y1 = alloc(dtype, n + 3); y1.set(x);
        const y2 = alloc(dtype, n + 3); y2.set(x);
        k.activate(act, y1, 3, n);
        referenceKernels.activate(act, y2, 3, n);
        closeTo(`activate ${act}`, y1, y2, dtype === "float64" ? 1e-15 : 4e-7);
        const dh = rand(dtype, n + 1), dn = rand(dtype, n);
        const d1 = rand(dtype, n + 2), d2 = alloc(dtype, n + 2); d2.set(d1);
        k.activateBackward(act, d1, 2, dh, 1, dn, y2, 3, n);
        referenceKernels.activateBackward(act, d2, 2, dh, 1, dn, y2, 3, n);
        closeTo(`activateBackward ${act}`, d1, d2, dtype === "float64" ? 1e-15 : 1e-6);
      });
    }
  }
});

describe("native threads", () => {
  it("give bit-identical products for 1 and 2 threads", () => {
    const addon = loadAddon();
    if (addon instanceof Error) { expect(process.env.RNN_NO_NATIVE).toBeTruthy(); return; }
    const M = 200, N = 300, K = 150;
    const a = rand("float32", M * K), b = rand("float32", K * N);
    const run = (threads: number): Float32Array => {
      addon.setThreads(threads);
      const c = new Float32Array(M * N);
      addon.gemm(0, 1, M, N, K, c, 0, a, 0, b, 0, 0);
      return c;
    };
    const one = run(1), two = run(2);
    addon.setThreads(1);
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
  });
  it("start and stop without losing a job (a job posted as workers start is still run)", () => {
    const addon = loadAddon();
    if (addon instanceof Error) { expect(process.env.RNN_NO_NATIVE).toBeTruthy(); return; }
    const M = 64, N = 128, K = 128;
    const a = rand("float32", M * K), b = rand("float32", K * N), c = new Float32Array(M * N);
    for (let i = 0; i < 300; i++) {
      addon.setThreads(2 + (i % 2));
      addon.gemm(0, 0, M, N, K, c, 0, a, 0, b, 0, 0);
      addon.setThreads(1);
    }
    const ref = new Float32Array(M * N);
    referenceKernels.matmulNN(ref, 0, a, 0, b, 0, M, N, K, false);
    closeTo("gemm after restarts", c, ref, 2e-5);
  }, 20_000);
});
