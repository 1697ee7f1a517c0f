import { describe, expect, it } from "vitest";
import { activationNames } from "../src/core/activations.js";
import { referenceKernels, type Kernels, type Packed } from "../src/core/kernels.js";
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
    it(`mulMask ${dtype}: offsets, overwrite, accumulate, in place`, () => {
      for (const n of [0, 1, 7, 64, 1031]) {
        for (const acc of [false, true]) {
          const a = rand(dtype, n + 3), m = rand(dtype, n + 1);
          const o1 = rand(dtype, n + 2), o2 = alloc(dtype, n + 2); o2.set(o1);
          k.mulMask(o1, 2, a, 3, m, 1, n, acc);
          referenceKernels.mulMask(o2, 2, a, 3, m, 1, n, acc);
          closeTo(`mulMask n=${n} acc=${acc}`, o1, o2, dtype === "float64" ? 1e-15 : 1e-7);
        }
        const x1 = rand(dtype, n), x2 = alloc(dtype, n); x2.set(x1);
        const m = rand(dtype, n);
        k.mulMask(x1, 0, x1, 0, m, 0, n, false);
        referenceKernels.mulMask(x2, 0, x2, 0, m, 0, n, false);
        expect(Array.from(x1)).toEqual(Array.from(x2)); // a product alone is exact in both
      }
    });
    it(`elmanSteps / lstmSteps / gruSteps ${dtype}: one call is the step loop of the backend's own kernels, bit for bit`, () => {
      type Body = (kk: Kernels, p: Packed, bufs: Float[], mask: Float | null) => void;
      // The reference implementation's loop, run on this backend's kernels: what the layers ran per step before.
      const looped: Kernels = { ...k, elmanSteps: referenceKernels.elmanSteps, lstmSteps: referenceKernels.lstmSteps, gruSteps: referenceKernels.gruSteps };
      for (const [B, H, T] of [[1, 5, 7], [3, 16, 4], [32, 64, 6]] as const) {
        const BH = B * H;
        for (const [masked, biased] of [[false, false], [true, false], [false, true], [true, true]]) {
          const mask = masked ? rand(dtype, BH) : null;
          const bias = (b: Float[], i: number): Float | null => (biased ? b[i] : null);
          const cases: [number, Body, number[]][] = [
            [1, (kk, p, b, m) => kk.elmanSteps("tanh", b[0], p, bias(b, 2), bias(b, 3), T, B, H, m, m ? b[1] : null), [(T + 1) * BH, T * BH, H, H]],
            [4, (kk, p, b, m) => kk.lstmSteps(b[0], b[1], b[2], b[3], p, bias(b, 5), bias(b, 6), T, B, H, m, m ? b[4] : null),
              [4 * T * BH, (T + 1) * BH, (T + 1) * BH, T * BH, T * BH, 4 * H, 4 * H]],
            [3, (kk, p, b, m) => kk.gruSteps(b[0], b[1], b[2], p, bias(b, 5), bias(b, 3), T, B, H, m, m ? b[4] : null),
              [3 * T * BH, 3 * T * BH, (T + 1) * BH, 3 * H, T * BH, 3 * H]],
          ];
          for (const [G, body, sizes] of cases) {
            const w = rand(dtype, G * H * H);
            const start = sizes.map((n) => rand(dtype, n));
            const run = (kk: Kernels): Float[] => {
              const p = k.createPacked();
              k.pack(p, w, 0, H, G * H, true);
              const bufs = start.map((a) => a.slice());
              body(kk, p, bufs, mask);
              return bufs;
            };
            const fused = run(k), stepwise = run(looped);
            fused.forEach((buf, i) => expect(Array.from(buf), `G=${G} B=${B} H=${H} masked=${masked} biased=${biased} buffer ${i}`).toEqual(Array.from(stepwise[i])));
          }
        }
      }
    });
    it(`sgdStep and allFinite ${dtype}: the reference's bits at 1 and 2 threads, and every non-finite value found`, () => {
      const addon = loadAddon();
      for (const n of [0, 1, 7, 16384, 16385, 70001, 300000]) {
        const p0 = rand(dtype, n), g = rand(dtype, n + 3);
        for (let i = 0; i < n; i += 97) g[i] *= 1e-30; // tiny steps: the rounding back to the dtype matters
        const want = p0.slice();
        referenceKernels.sgdStep(want, g, 0.0123);
        for (const threads of [1, 2]) {
          if (!(addon instanceof Error)) addon.setThreads(threads);
          const got = p0.slice();
          k.sgdStep(got, g, 0.0123);
          expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer)), `sgdStep n=${n} threads=${threads}`).toBe(true);
          expect(k.allFinite(got)).toBe(true);
          for (const bad of [Infinity, -Infinity, NaN]) {
            for (const at of n > 0 ? [0, n >> 1, n - 1] : []) {
              const a = got.slice(); a[at] = bad;
              expect(k.allFinite(a), `allFinite n=${n} ${bad} at ${at}`).toBe(false);
              expect(referenceKernels.allFinite(a)).toBe(false);
            }
          }
        }
        if (!(addon instanceof Error)) addon.setThreads(1);
      }
    });
    // The fused gate kernels: the native ones use their own exp/tanh (float64: the C library's,
    // float32: a vectorised rational tanh), so they agree with the reference to the last bits
    // of float64 and to a few ulp of float32, not bit for bit.
    const gateTol = dtype === "float64" ? 1e-14 : 2e-6;
    const gateShapes: [number, number][] = [[1, 1], [3, 5], [2, 8], [4, 13], [7, 64], [32, 67], [5, 256], [0, 4]];
    /** n random values at an offset of 3, spread over [-6, 6] so the gates reach their tails. */
    const pre = (n: number): Float => { const a = rand(dtype, n + 3); for (let i = 0; i < a.length; i++) a[i] *= 6; return a; };
    const copy = (a: Float): Float => { const c = alloc(dtype, a.length); c.set(a); return c; };
    it(`lstmForward / lstmBackward ${dtype}: several B, H (H not a multiple of the vector)`, () => {
      for (const [B, H] of gateShapes) {
        const BH = B * H, o = 3;
        // Buffers as LstmLayer lays them out: G [B,4H], Cs and Hs with c_{t-1} then c_t, tanhC [B,H].
        const g1 = pre(4 * BH), cs1 = rand(dtype, o + 2 * BH), tc1 = rand(dtype, o + BH), hs1 = rand(dtype, o + 2 * BH);
        const g2 = copy(g1), cs2 = copy(cs1), tc2 = copy(tc1), hs2 = copy(hs1);
        k.lstmForward(g1, o, cs1, o, o + BH, tc1, o, hs1, o + BH, B, H);
        referenceKernels.lstmForward(g2, o, cs2, o, o + BH, tc2, o, hs2, o + BH, B, H);
        for (const [n, a, b] of [["G", g1, g2], ["Cs", cs1, cs2], ["tanhC", tc1, tc2], ["Hs", hs1, hs2]] as const) closeTo(`lstmForward ${B}x${H} ${n}`, a, b, gateTol);
        // Backward from the reference's activations, with and without gradOut.
        for (const withOut of [true, false]) {
          const dh = rand(dtype, o + BH), dhn = rand(dtype, BH), dcn1 = rand(dtype, BH), dcn2 = copy(dcn1);
          const dg1 = rand(dtype, o + 4 * BH), dg2 = copy(dg1), go1 = rand(dtype, o + BH), go2 = copy(go1);
          k.lstmBackward(dg1, g2, o, cs2, o, tc2, dh, withOut ? go1 : null, o, dhn, dcn1, B, H);
          referenceKernels.lstmBackward(dg2, g2, o, cs2, o, tc2, dh, withOut ? go2 : null, o, dhn, dcn2, B, H);
          for (const [n, a, b] of [["dG", dg1, dg2], ["dcNext", dcn1, dcn2], ["gradOut", go1, go2]] as const) closeTo(`lstmBackward ${B}x${H} ${n}`, a, b, gateTol);
        }
      }
    });
    it(`gruForward / gruBackward ${dtype}: several B, H (H not a multiple of the vector)`, () => {
      for (const [B, H] of gateShapes) {
        const BH = B * H, o = 3;
        // Buffers as GruLayer lays them out: GI, GH [B,3H], Hs with h_{t-1} then h_t.
        const gi1 = pre(3 * BH), gh = pre(3 * BH), hs1 = rand(dtype, o + 2 * BH);
        const gi2 = copy(gi1), hs2 = copy(hs1);
        k.gruForward(gi1, gh, o, hs1, o, o + BH, B, H);
        referenceKernels.gruForward(gi2, gh, o, hs2, o, o + BH, B, H);
        closeTo(`gruForward ${B}x${H} GI`, gi1, gi2, gateTol);
        closeTo(`gruForward ${B}x${H} Hs`, hs1, hs2, gateTol);
        for (const withOut of [true, false]) {
          const dh = rand(dtype, o + BH), dhn1 = rand(dtype, BH), dhn2 = copy(dhn1);
          const dgi1 = rand(dtype, o + 3 * BH), dgi2 = copy(dgi1), dgh1 = rand(dtype, o + 3 * BH), dgh2 = copy(dgh1);
          const go1 = rand(dtype, o + BH), go2 = copy(go1);
          k.gruBackward(dgi1, dgh1, gi2, gh, o, hs2, o, dh, withOut ? go1 : null, o, dhn1, B, H);
          referenceKernels.gruBackward(dgi2, dgh2, gi2, gh, o, hs2, o, dh, withOut ? go2 : null, o, dhn2, B, H);
          for (const [n, a, b] of [["dGI", dgi1, dgi2], ["dGH", dgh1, dgh2], ["dhNext", dhn1, dhn2], ["gradOut", go1, go2]] as const) {
            closeTo(`gruBackward ${B}x${H} ${n}`, a, b, gateTol);
          }
        }
      }
    });
  }
});

describe("native threads", () => {
  it("give bit-identical products for 1 and 2 threads (a batch and one row, both large enough to split)", () => {
    const addon = loadAddon();
    if (addon instanceof Error) { expect(process.env.RNN_NO_NATIVE).toBeTruthy(); return; }
    for (const [M, N, K] of [[200, 300, 150], [1, 1024, 256]]) {
      const a = rand("float32", M * K), b = rand("float32", K * N);
      const run = (threads: number): Float32Array => {
        addon.setThreads(threads);
        const c = new Float32Array(M * N);
        addon.gemm(0, 1, M, N, K, c, 0, a, 0, b, 0, 0);
        return c;
      };
      const one = run(1), two = run(2);
      addon.setThreads(1);
      expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer)), `${M}x${N}x${K}`).toBe(true);
    }
  });
  it("give bit-identical gate kernels for 1 and 2 threads (a step large enough to split by rows)", () => {
    const addon = loadAddon();
    if (addon instanceof Error) { expect(process.env.RNN_NO_NATIVE).toBeTruthy(); return; }
    const B = 64, H = 523, BH = B * H; // B·H above the native split threshold (2^15)
    const g0 = rand("float32", 4 * BH), cs0 = rand("float32", 2 * BH), gi0 = rand("float32", 3 * BH), gh = rand("float32", 3 * BH);
    const dh = rand("float32", BH), dhn0 = rand("float32", BH), hs0 = rand("float32", 2 * BH);
    const run = (threads: number): Float32Array[] => {
      addon.setThreads(threads);
      const g = Float32Array.from(g0), cs = Float32Array.from(cs0), tc = new Float32Array(BH), hs = Float32Array.from(hs0);
      addon.lstmForward(g, 0, cs, 0, BH, tc, 0, hs, BH, B, H);
      const dg = new Float32Array(4 * BH), dcn = Float32Array.from(dhn0), go = new Float32Array(BH);
      addon.lstmBackward(dg, g, 0, cs, 0, tc, dh, go, 0, dhn0, dcn, B, H);
      const gi = Float32Array.from(gi0), hg = Float32Array.from(hs0), dhn = Float32Array.from(dhn0);
      addon.gruForward(gi, gh, 0, hg, 0, BH, B, H);
      const dgi = new Float32Array(3 * BH), dgh = new Float32Array(3 * BH);
      addon.gruBackward(dgi, dgh, gi, gh, 0, hg, 0, dh, null, 0, dhn, B, H);
      return [g, cs, tc, hs, dg, dcn, go, gi, hg, dgi, dgh, dhn];
    };
    const one = run(1), two = run(2);
    addon.setThreads(1);
    one.forEach((a, i) => expect(Buffer.from(two[i].buffer).equals(Buffer.from(a.buffer))).toBe(true));
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
