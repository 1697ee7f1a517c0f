import type { Float } from "./tensor.js";

/**
 * The dense kernels the model is written against. Every matrix is row-major and addressed
 * as (buffer, element offset); `acc` false overwrites the output, true adds to it.
 * The reference implementation below is the naive one; a faster backend implements the
 * same interface and is tested against it.
 */
export interface Kernels {
  /** out[M,N] (+)= a[M,K] · b[N,K]ᵀ — e.g. x·W_ihᵀ with W_ih stored [H,I]. */
  matmulNT(out: Float, outOff: number, a: Float, aOff: number, b: Float, bOff: number,
    M: number, N: number, K: number, acc: boolean): void;
  /** out[M,N] (+)= a[M,K] · b[K,N] — e.g. dpre·W_ih (gradient into the input). */
  matmulNN(out: Float, outOff: number, a: Float, aOff: number, b: Float, bOff: number,
    M: number, N: number, K: number, acc: boolean): void;
  /** out[M,N] (+)= a[K,M]ᵀ · b[K,N] — e.g. dW_ih += dpreᵀ·x summed over the K = T·B rows. */
  matmulTN(out: Float, outOff: number, a: Float, aOff: number, b: Float, bOff: number,
    M: number, N: number, K: number, acc: boolean): void;
}

export const referenceKernels: Kernels = {
  matmulNT(out, outOff, a, aOff, b, bOff, M, N, K, acc) {
    for (let m = 0; m < M; m++) {
      const ar = aOff + m * K;
      const or = outOff + m * N;
      for (let n = 0; n < N; n++) {
        const br = bOff + n * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ar + k] * b[br + k];
        out[or + n] = acc ? out[or + n] + s : s;
      }
    }
  },
  matmulNN(out, outOff, a, aOff, b, bOff, M, N, K, acc) {
    for (let m = 0; m < M; m++) {
      const ar = aOff + m * K;
      const or = outOff + m * N;
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ar + k] * b[bOff + k * N + n];
        out[or + n] = acc ? out[or + n] + s : s;
      }
    }
  },
  matmulTN(out, outOff, a, aOff, b, bOff, M, N, K, acc) {
    for (let m = 0; m < M; m++) {
      const or = outOff + m * N;
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[aOff + k * M + m] * b[bOff + k * N + n];
        out[or + n] = acc ? out[or + n] + s : s;
      }
    }
  },
};
