import { describe, expect, it } from "vitest";
import { initParams } from "../src/core/init.js";
import { referenceKernels, type Kernels, type Packed } from "../src/core/kernels.js";
import { Network, type ModelShape } from "../src/core/network.js";
import { Rng } from "../src/core/rng.js";
import { alloc, type DType, type Float } from "../src/core/tensor.js";
import { loadAddon, nativeKernels } from "../src/kernels/native.js";
import { loadBackend } from "../src/kernels/backends.js";
import { machineLine } from "../src/commands/bench.js";

// The kernel choices made from the CPU at run time (native/cpu.cc) change speed, never bits:
// each is checked here against another way of computing the same thing.

const addon = loadAddon();
const native = !(addon instanceof Error);
const rng = new Rng(7);
function rand(dtype: DType, n: number): Float {
  const a = alloc(dtype, n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}
const same = (a: Float, b: Float): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe.skipIf(!native)("kernel choices (native)", () => {
  if (addon instanceof Error) return;
  const k = nativeKernels(addon);
  const initial = addon.cpuTuning().kernels;

  it("report the CPU as CPUID tells it and say what the choices were made from", () => {
    const { cpu, kernels } = addon.cpuTuning();
    expect(cpu.vendor.length).toBe(12); // CPUID's vendor string: GenuineIntel, AuthenticAMD, ...
    expect(cpu.avx2).toBe(true); // the addon loads only where AVX2 + FMA are
    expect(cpu.l1dBytes).toBeGreaterThanOrEqual(16 * 1024);
    expect(cpu.l2Bytes).toBeGreaterThan(cpu.l1dBytes);
    expect(kernels.gemmIsa === "avx512").toBe(addon.gemmIsa() === "avx512");
    if (!cpu.avx512f) expect(kernels.gemmIsa).toBe("avx2");
    // AVX-512 wherever it is, Zen 4 included (measured faster there: native/cpu.cc), unless RNN_GEMM_ISA says otherwise.
    if (cpu.avx512f && process.env.RNN_GEMM_ISA === undefined) expect(kernels.gemmIsa).toBe("avx512");
    expect(kernels.why).toContain(`family ${cpu.family}`);
    const line = machineLine(loadBackend("native", 2).machine());
    addon.setThreads(1);
    expect(line).toContain(cpu.name);
    expect(line).toContain(`${kernels.gemmIsa} GEMM`);
  });

  it("products give the same bits split by rows (M ≥ N), by columns, or not at all, as a thin result's transpose or directly, in every form", () => {
    // N 10: narrower than half an AVX-512 panel (computed as Cᵀ), not than half an AVX2 one.
    const isas = addon.gemmIsa("avx512") === "avx512" ? ["avx512", "avx2"] as const : ["avx2"] as const;
    const before = initial.gemmIsa;
    for (const [M, N, K] of [[301, 40, 90], [2048 / 8, 256, 300], [40, 301, 90], [7, 5, 600], [301, 10, 300], [64, 3, 700]] as const) {
      for (const [transA, transB] of [[0, 1], [0, 0], [1, 0]] as const) {
        const a = rand("float32", M * K), b = rand("float32", K * N), c0 = rand("float32", M * N);
        const outs = isas.flatMap((isa) => [1, 2, 3].map((threads) => [isa, threads] as const)).map(([isa, threads]) => {
          addon.gemmIsa(isa);
          addon.setThreads(threads);
          addon.cpuTuning({ parallelMin: threads > 1 ? 1 : 1e6 });
          const c = c0.slice(); // accumulated into: C's old values take part
          addon.gemm(transA, transB, M, N, K, c, 0, a, 0, b, 0, 1);
          return c;
        });
        outs.forEach((c, i) => expect(same(c, outs[0]), `${M}x${N}x${K} transA=${transA} transB=${transB} way ${i}`).toBe(true));
      }
    }
    addon.gemmIsa(before);
    addon.setThreads(1);
    addon.cpuTuning({ parallelMin: initial.parallelMin });
  });

  it("float32 gates and Elman's tanh give the same bits on 16 lanes as on 8 (tanh and sigmoid lane by lane), H not a multiple of either", () => {
    if (!addon.cpuTuning().cpu.avx512f) { expect(addon.cpuTuning({ gates512: 1 }).kernels.gatesIsa).toBe("avx2"); return; }
    for (const [B, H] of [[1, 1], [3, 5], [2, 16], [4, 17], [7, 67], [64, 256], [5, 1000]] as const) {
      const BH = B * H;
      // Pre-activations over [-12, 12]: the gates' tails and tanh's clamp at ±7.9 included.
      const g0 = rand("float32", 4 * BH).map((v) => 12 * v), cs0 = rand("float32", 2 * BH).map((v) => 3 * v);
      const gi0 = rand("float32", 3 * BH).map((v) => 12 * v), gh = rand("float32", 3 * BH).map((v) => 6 * v), hp = rand("float32", BH);
      const run = (wide: 0 | 1): Float32Array[] => {
        addon.cpuTuning({ gates512: wide });
        const g = Float32Array.from(g0), cs = Float32Array.from(cs0), tc = new Float32Array(BH), hs = new Float32Array(BH);
        addon.lstmForward(g, 0, cs, 0, BH, tc, 0, hs, 0, B, H);
        const gi = Float32Array.from(gi0), h = new Float32Array(2 * BH);
        h.set(hp);
        addon.gruForward(gi, gh, 0, h, 0, BH, B, H);
        const e = Float32Array.from(g0);
        addon.activate(0, e, 0, e.length); // Elman's tanh
        return [g, cs, tc, hs, gi, h, e];
      };
      const narrow = run(0), wide = run(1);
      narrow.forEach((a, i) => expect(same(wide[i], a), `B=${B} H=${H} buffer ${i}`).toBe(true));
    }
    addon.cpuTuning({ gates512: initial.gatesIsa === "avx512" ? 1 : 0 });
  });

  // Every way a window's recurrence can be split: one thread; per step by columns; by batch rows.
  const ways: [string, number, number][] = [["1 thread", 1, initial.rowsSplitMaxBytes], ["2 threads by columns", 2, 0],
    ["2 threads by rows", 2, 1e12], ["3 threads by rows", 3, 1e12]];
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: elmanSteps, lstmSteps, gruSteps give the same bits however the window is split`, () => {
      for (const [B, H, T] of [[13, 37, 5], [32, 64, 4], [8, 200, 3]] as const) {
        for (const masked of [false, true]) {
          const BH = B * H, mask = masked ? rand(dtype, BH) : null;
          const cells: [string, number, number[], (p: ReturnType<typeof k.createPacked>, b: Float[]) => void][] = [
            ["elman", 1, [(T + 1) * BH, T * BH, H, H], (p, b) => k.elmanSteps("tanh", b[0], p, b[2], b[3], T, B, H, mask, mask ? b[1] : null)],
            ["lstm", 4, [4 * T * BH, (T + 1) * BH, (T + 1) * BH, T * BH, T * BH, 4 * H, 4 * H],
              (p, b) => k.lstmSteps(b[0], b[1], b[2], b[3], p, b[5], b[6], T, B, H, mask, mask ? b[4] : null)],
            ["gru", 3, [3 * T * BH, 3 * T * BH, (T + 1) * BH, 3 * H, T * BH, 3 * H],
              (p, b) => k.gruSteps(b[0], b[1], b[2], p, b[5], b[3], T, B, H, mask, mask ? b[4] : null)],
          ];
          for (const [name, G, sizes, body] of cells) {
            const w = rand(dtype, G * H * H), start = sizes.map((n) => rand(dtype, n));
            const outs = ways.map(([, threads, rows]) => {
              addon.setThreads(threads);
              addon.cpuTuning({ rowsSplitMaxBytes: rows, parallelMin: threads > 1 ? 1 : 1e6 }); // split even small products
              const p = k.createPacked();
              k.pack(p, w, 0, H, G * H, true);
              const bufs = start.map((a) => a.slice());
              body(p, bufs);
              return bufs;
            });
            for (let i = 1; i < ways.length; i++) {
              outs[i].forEach((buf, j) => expect(same(buf, outs[0][j]), `${name} B=${B} H=${H} masked=${masked} ${ways[i][0]} buffer ${j}`).toBe(true));
            }
          }
        }
      }
      addon.setThreads(1);
      addon.cpuTuning({ rowsSplitMaxBytes: initial.rowsSplitMaxBytes, parallelMin: initial.parallelMin });
    });
  }

  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: elmanBackSteps, lstmBackSteps, gruBackSteps are the layers' step loop bit for bit, however the window is split`, () => {
      // The reference's loop run on the native per-step kernels: what the layers ran before.
      const looped: Kernels = { ...k, elmanBackSteps: referenceKernels.elmanBackSteps, lstmBackSteps: referenceKernels.lstmBackSteps,
        gruBackSteps: referenceKernels.gruBackSteps };
      for (const [B, H, T] of [[13, 37, 5], [32, 64, 4], [1, 24, 3]] as const) {
        for (const [masked, withGradOut] of [[false, true], [true, false], [true, true]] as const) {
          const BH = B * H, TBH = T * BH, mask = masked ? rand(dtype, BH) : null;
          type Body = (kk: Kernels, p: Packed, b: Float[]) => void;
          const cells: [string, number, number[], Body][] = [
            ["elman", 1, [TBH + BH, TBH, TBH, TBH, BH], (kk, p, b) => kk.elmanBackSteps("tanh", b[0], b[1], withGradOut ? b[2] : null, b[3], b[4], p, T, B, H, mask)],
            ["lstm", 4, [4 * TBH, TBH + BH, TBH, TBH, TBH, 4 * TBH, BH, BH],
              (kk, p, b) => kk.lstmBackSteps(b[0], b[1], b[2], b[3], withGradOut ? b[4] : null, b[5], b[6], b[7], p, T, B, H, mask)],
            ["gru", 3, [3 * TBH, 3 * TBH, TBH + BH, TBH, TBH, 3 * TBH, 3 * TBH, BH, BH],
              (kk, p, b) => kk.gruBackSteps(b[0], b[1], b[2], b[3], withGradOut ? b[4] : null, b[5], b[6], b[7], b[8], p, T, B, H, mask)],
          ];
          for (const [name, G, sizes, body] of cells) {
            const w = rand(dtype, G * H * H), start = sizes.map((n) => rand(dtype, n));
            const run = (kk: Kernels, threads: number, rows: number): Float[] => {
              addon.setThreads(threads);
              addon.cpuTuning({ rowsSplitMaxBytes: rows, parallelMin: threads > 1 ? 1 : 1e6 });
              const p = k.createPacked();
              k.pack(p, w, 0, G * H, H, false); // op = W_hh [G·H, H], as packBackward
              const bufs = start.map((a) => a.slice());
              body(kk, p, bufs);
              return bufs;
            };
            const ref = run(looped, 1, 0);
            for (const [way, threads, rows] of ways) {
              const got = run(k, threads, rows);
              got.forEach((buf, j) => expect(same(buf, ref[j]), `${name} B=${B} H=${H} masked=${masked} ${way} buffer ${j}`).toBe(true));
            }
          }
        }
      }
      addon.setThreads(1);
      addon.cpuTuning({ rowsSplitMaxBytes: initial.rowsSplitMaxBytes, parallelMin: initial.parallelMin });
    });
  }

  it("a frozen network (W_ih, W_hh and the head packed once) predicts the same bits as one that packs every call", () => {
    for (const cell of ["elman", "lstm", "gru"] as const) {
      for (const [B, T] of [[1, 1], [1, 9], [5, 4]] as const) {
        const shape: ModelShape = { cell, inputSize: 7, hiddenSize: 40, outputSize: 3, layers: 2, activation: "tanh", bias: true };
        const nets = [new Network(shape, "float32", { kernels: k }), new Network(shape, "float32", { kernels: k })];
        initParams(nets[0].layout, nets[0].params, shape.hiddenSize, new Rng(3));
        nets[1].params.set(nets[0].params);
        nets[1].freeze();
        const x = rand("float32", T * B * shape.inputSize);
        const ys = nets.map((net) => {
          const s = net.zeroState(B), out: Float[] = [];
          for (let call = 0; call < 3; call++) { // the state carried, the packed weights reused
            net.forward(x, 0, s, T, B);
            out.push(net.head.y.slice(0, T * B * shape.outputSize));
            net.stateAfter(T, B, s);
          }
          return out;
        });
        ys[0].forEach((y, i) => expect(same(y, ys[1][i]), `${cell} B=${B} T=${T} call ${i}`).toBe(true));
      }
    }
  });
});

it.runIf(!native)("kernel choices: the native addon is not built here (RNN_NO_NATIVE), nothing to choose", () => {
  expect(process.env.RNN_NO_NATIVE ?? "unset").not.toBe("unset");
});
