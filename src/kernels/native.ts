import { createRequire } from "node:module";
import type { ActivationName } from "../core/activations.js";
import type { Kernels } from "../core/kernels.js";
import type { Float } from "../core/tensor.js";

/** The compiled addon (native/addon.cc), built at install by scripts/build-native.mjs. */
interface Addon {
  gemm(transA: number, transB: number, M: number, N: number, K: number, out: Float, outOff: number,
    a: Float, aOff: number, b: Float, bOff: number, acc: number): void;
  activate(act: number, x: Float, off: number, n: number): void;
  activateBackward(act: number, dpre: Float, dpreOff: number, dh: Float, dhOff: number,
    dnext: Float, s: Float, sOff: number, n: number): void;
  setThreads(n: number): number;
}

const ACT: Record<ActivationName, number> = { tanh: 0, relu: 1, sigmoid: 2 };

/** Loads the addon, or returns why it cannot be used. */
export function loadAddon(): Addon | Error {
  try {
    const require = createRequire(import.meta.url);
    return require("../../build/Release/rnn_kernels.node") as Addon;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** `Kernels` on the native addon: packed AVX2/FMA GEMM, vectorised activations, a thread pool. */
export function nativeKernels(addon: Addon): Kernels {
  return {
    matmulNT: (out, oo, a, ao, b, bo, M, N, K, acc) => addon.gemm(0, 1, M, N, K, out, oo, a, ao, b, bo, acc ? 1 : 0),
    matmulNN: (out, oo, a, ao, b, bo, M, N, K, acc) => addon.gemm(0, 0, M, N, K, out, oo, a, ao, b, bo, acc ? 1 : 0),
    matmulTN: (out, oo, a, ao, b, bo, M, N, K, acc) => addon.gemm(1, 0, M, N, K, out, oo, a, ao, b, bo, acc ? 1 : 0),
    activate: (act, x, off, n) => addon.activate(ACT[act], x, off, n),
    activateBackward: (act, dp, dpo, dh, dho, dn, s, so, n) => addon.activateBackward(ACT[act], dp, dpo, dh, dho, dn, s, so, n),
  };
}
