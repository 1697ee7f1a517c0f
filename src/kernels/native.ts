import { createRequire } from "node:module";
import type { ActivationName } from "../core/activations.js";
import type { HeadLossKind, Kernels, Packed } from "../core/kernels.js";
import type { Float } from "../core/tensor.js";

/** The fused gate kernels, whose native arguments are exactly the interface's. */
type GateKernels = Pick<Kernels, "lstmForward" | "lstmBackward" | "gruForward" | "gruBackward">;

/** What the CPU is, as CPUID tells it (native/cpu.cc). */
export interface CpuReport {
  readonly vendor: string; readonly name: string; readonly family: number; readonly model: number;
  /** The micro-architecture, for reports: zen4, zen5, intel-avx512, ... */
  readonly arch: string;
  readonly avx2: boolean; readonly avx512f: boolean;
  readonly l1dBytes: number; readonly l2Bytes: number; readonly l3Bytes: number;
}

/** The kernel choices made from the CPU; none of them changes a bit of any result. */
export interface KernelChoices {
  readonly gemmIsa: "avx2" | "avx512";
  /** The float32 forward gates' width (tanh and sigmoid lane by lane: the same bits either way). */
  readonly gatesIsa: "avx2" | "avx512";
  readonly threads: number;
  /** Multiply-adds from which a product splits over the threads (one-row products: parallelMinRow). */
  readonly parallelMin: number; readonly parallelMinRow: number;
  /** Elements (B·H) from which a gate step splits over the threads. */
  readonly gatesParallelMin: number;
  /** A window's recurrence runs as blocks of batch rows, one thread each, while W_hh takes at most this. */
  readonly rowsSplitMaxBytes: number;
  /** What the choices were made from. */
  readonly why: string;
}

export type TuningChanges = Partial<Pick<KernelChoices, "parallelMin" | "parallelMinRow" | "gatesParallelMin" | "rowsSplitMaxBytes">>
  & { readonly gates512?: 0 | 1 };

/** The compiled addon (native/addon.cc), built at install by scripts/build-native.mjs. */
export interface Addon extends GateKernels {
  gemm(transA: number, transB: number, M: number, N: number, K: number, out: Float, outOff: number,
    a: Float, aOff: number, b: Float, bOff: number, acc: number): void;
  activate(act: number, x: Float, off: number, n: number): void;
  activateBackward(act: number, dpre: Float, dpreOff: number, dh: Float, dhOff: number,
    dnext: Float, s: Float, sOff: number, n: number): void;
  setThreads(n: number): number;
  /** The GEMM's and the head losses' ISA ("avx512" where the CPU has it, else "avx2"), set first when named; same bits either way. */
  gemmIsa(isa?: "avx2" | "avx512"): "avx2" | "avx512";
  /** The CPU and the kernel choices, after applying `changes` (for measuring one against another). */
  cpuTuning(changes?: TuningChanges): { cpu: CpuReport; kernels: KernelChoices };
  createPacked(): object;
  pack(p: object, b: Float, bOff: number, K: number, N: number, trans: number): void;
  gemmPacked(out: Float, outOff: number, a: Float, aOff: number, p: object, M: number, acc: number): void;
  addRows(out: Float, outOff: number, v: Float, rows: number, N: number): void;
  sgdStep(p: Float, g: Float, lr: number): void;
  allFinite(a: Float): boolean;
  sumRows(out: Float, a: Float, aOff: number, rows: number, N: number): void;
  mulMask(out: Float, outOff: number, a: Float, aOff: number, m: Float, mOff: number, n: number, acc: number): void;
  gatherRows(out: Float, outOff: number, w: Float, ids: Int32Array, idsOff: number, rows: number, E: number, outStride: number, idsStride: number): void;
  scatterAddRows(gw: Float, dout: Float, dOff: number, ids: Int32Array, idsOff: number, rows: number, E: number, dStride: number, idsStride: number): void;
  softmaxCrossEntropy(y: Float, yOff: number, labels: Int32Array, labOff: number, rows: number, C: number,
    dy: Float | null, dyOff: number, out: Float64Array): void;
  /** Kernels.headLoss with the kind as HEAD numbers it (native/heads.cc). */
  headLoss(kind: number, qs: Float64Array | null, y: Float, values: Float64Array, O: number, tOff: number,
    r0: number, r1: number, dy: Float | null, out: Float64Array): void;
  /** The heads' vectorised exp (fn 0), log (1), log1p (2) of x into out (native/vmath.h; for its tests). */
  vmath(fn: number, x: Float64Array, out: Float64Array): void;
  elmanSteps(act: number, S: Float, p: object, bIh: Float | null, bHh: Float | null, T: number, B: number, H: number, mask: Float | null, R: Float | null): void;
  lstmSteps(G: Float, Hs: Float, Cs: Float, tanhC: Float, p: object, bIh: Float | null, bHh: Float | null, T: number, B: number, H: number,
    mask: Float | null, R: Float | null): void;
  gruSteps(GI: Float, GH: Float, Hs: Float, p: object, bIh: Float | null, bHh: Float | null, T: number, B: number, H: number,
    mask: Float | null, R: Float | null): void;
  elmanBackSteps(act: number, S: Float, dh: Float, gradOut: Float | null, dpre: Float, dnext: Float, p: object, T: number, B: number, H: number, mask: Float | null): void;
  lstmBackSteps(G: Float, Cs: Float, tanhC: Float, dh: Float, gradOut: Float | null, dG: Float, dhNext: Float, dcNext: Float, p: object, T: number, B: number, H: number, mask: Float | null): void;
  gruBackSteps(GI: Float, GH: Float, Hs: Float, dh: Float, gradOut: Float | null, dGI: Float, dGH: Float, dhNext: Float, dhR: Float, p: object, T: number, B: number, H: number, mask: Float | null): void;
  /** CSV lines of shortest round-trip numbers (native/format.cc; io/step-rows.ts). */
  formatRows(values: Float64Array, rows: number, cols: number, prefix: Uint8Array, t0: number, out: Uint8Array, at: number): number;
  /** A block of CSV rows split and their numbers read (native/csv.cc; data/csv-cursor.ts). */
  scanRows(buf: Uint8Array, pos: number, eof: number, first: number, rows: Int32Array, starts: Int32Array,
    ends: Int32Array, values: Float64Array, out: Int32Array): number;
}

/** A native packed matrix: the addon's handle. */
interface NativePacked extends Packed {
  readonly handle: object;
}

const ACT: Record<ActivationName, number> = { tanh: 0, relu: 1, sigmoid: 2 };
const HEAD: Record<HeadLossKind, number> = { gaussian: 0, studentT: 1, negativeBinomial: 2, quantiles: 3, mse: 4 };

/** Loads the addon, or returns why it cannot be used. */
export function loadAddon(): Addon | Error {
  try {
    const require = createRequire(import.meta.url);
    return require("../../build/Release/rnn_kernels.node") as Addon;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

let loaded: Addon | Error | undefined;

/**
 * One of the addon's functions for the I/O paths (the CSV scanner, the row formatter), or null
 * where the addon is not built; the addon is loaded once, at the first call.
 */
export function addonFunction<K extends keyof Addon>(name: K): Addon[K] | null {
  loaded ??= loadAddon();
  return loaded instanceof Error ? null : loaded[name];
}

/** `Kernels` on the native addon: packed AVX2/FMA GEMM, vectorised activations and fused gates, a thread pool. */
export function nativeKernels(addon: Addon): Kernels {
  return {
    matmulNT: (out, oo, a, ao, b, bo, M, N, K, acc) => addon.gemm(0, 1, M, N, K, out, oo, a, ao, b, bo, acc ? 1 : 0),
    matmulNN: (out, oo, a, ao, b, bo, M, N, K, acc) => addon.gemm(0, 0, M, N, K, out, oo, a, ao, b, bo, acc ? 1 : 0),
    matmulTN: (out, oo, a, ao, b, bo, M, N, K, acc) => addon.gemm(1, 0, M, N, K, out, oo, a, ao, b, bo, acc ? 1 : 0),
    activate: (act, x, off, n) => addon.activate(ACT[act], x, off, n),
    activateBackward: (act, dp, dpo, dh, dho, dn, s, so, n) => addon.activateBackward(ACT[act], dp, dpo, dh, dho, dn, s, so, n),
    createPacked: (): NativePacked => ({ backend: "native", handle: addon.createPacked() }),
    pack: (p, b, bOff, K, N, trans) => addon.pack((p as NativePacked).handle, b, bOff, K, N, trans ? 1 : 0),
    matmulPacked: (out, oo, a, ao, p, M, acc) => addon.gemmPacked(out, oo, a, ao, (p as NativePacked).handle, M, acc ? 1 : 0),
    addRows: (out, oo, v, rows, N) => addon.addRows(out, oo, v, rows, N),
    sgdStep: (p, g, lr) => addon.sgdStep(p, g, lr),
    allFinite: (a) => addon.allFinite(a),
    sumRows: (out, a, ao, rows, N) => addon.sumRows(out, a, ao, rows, N),
    mulMask: (out, oo, a, ao, m, mo, n, acc) => addon.mulMask(out, oo, a, ao, m, mo, n, acc ? 1 : 0),
    // The gate kernels take the same arguments as the interface: bound directly, no wrapper.
    lstmForward: addon.lstmForward,
    lstmBackward: addon.lstmBackward,
    gruForward: addon.gruForward,
    gruBackward: addon.gruBackward,
    gatherRows: (out, oo, w, ids, io, rows, E, os = E, is = 1) => addon.gatherRows(out, oo, w, ids, io, rows, E, os, is),
    scatterAddRows: (gw, d, dOff, ids, io, rows, E, ds = E, is = 1) => addon.scatterAddRows(gw, d, dOff, ids, io, rows, E, ds, is),
    softmaxCrossEntropy: (y, yo, l, lo, rows, C, dy, dyo, out) => addon.softmaxCrossEntropy(y, yo, l, lo, rows, C, dy, dyo, out),
    headLoss: (kind, qs, y, v, O, tOff, r0, r1, dy, out) => addon.headLoss(HEAD[kind], qs, y, v, O, tOff, r0, r1, dy, out),
    elmanSteps: (act, S, p, bi, bh, T, B, H, m, R) => addon.elmanSteps(ACT[act], S, (p as NativePacked).handle, bi, bh, T, B, H, m, R),
    lstmSteps: (G, Hs, Cs, tc, p, bi, bh, T, B, H, m, R) => addon.lstmSteps(G, Hs, Cs, tc, (p as NativePacked).handle, bi, bh, T, B, H, m, R),
    gruSteps: (GI, GH, Hs, p, bi, bh, T, B, H, m, R) => addon.gruSteps(GI, GH, Hs, (p as NativePacked).handle, bi, bh, T, B, H, m, R),
    elmanBackSteps: (act, S, dh, go, dp, dn, p, T, B, H, m) => addon.elmanBackSteps(ACT[act], S, dh, go, dp, dn, (p as NativePacked).handle, T, B, H, m),
    lstmBackSteps: (G, Cs, tc, dh, go, dG, dhn, dcn, p, T, B, H, m) => addon.lstmBackSteps(G, Cs, tc, dh, go, dG, dhn, dcn, (p as NativePacked).handle, T, B, H, m),
    gruBackSteps: (GI, GH, Hs, dh, go, dGI, dGH, dhn, dhR, p, T, B, H, m) => addon.gruBackSteps(GI, GH, Hs, dh, go, dGI, dGH, dhn, dhR, (p as NativePacked).handle, T, B, H, m),
  };
}
