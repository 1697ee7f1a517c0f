import { activations, type ActivationName } from "./activations.js";
import type { Float } from "./tensor.js";

/**
 * A right-hand matrix prepared once for many products with it: the recurrent W_hh is the
 * same for every step of a window. What it holds is the backend's business.
 */
export interface Packed {
  readonly backend: string;
}

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
  /** x[off..off+n) ← Φ(x) in place. */
  activate(act: ActivationName, x: Float, off: number, n: number): void;
  /**
   * dpre[i] = (dh[i] + dnext[i]) · Φ'(s[i]) for i < n, Φ' from the output s = Φ(pre);
   * dpre, dh and s at their offsets, dnext from 0.
   */
  activateBackward(act: ActivationName, dpre: Float, dpreOff: number, dh: Float, dhOff: number,
    dnext: Float, s: Float, sOff: number, n: number): void;
  /** A handle for `pack` (allocated once per layer; `pack` reuses its memory). */
  createPacked(): Packed;
  /** Prepares op(b): b[K,N] as stored (trans false) or b[N,K]ᵀ (trans true). */
  pack(p: Packed, b: Float, bOff: number, K: number, N: number, trans: boolean): void;
  /** out[M,N] (+)= a[M,K] · op(b), op(b) as last packed into p. */
  matmulPacked(out: Float, outOff: number, a: Float, aOff: number, p: Packed, M: number, acc: boolean): void;
  /** out[r, :] += v for each of `rows` rows of N (a bias added to every row). */
  addRows(out: Float, outOff: number, v: Float, rows: number, N: number): void;
  /** out[:] += Σ_r a[r, :] over `rows` rows of N (a bias gradient). */
  sumRows(out: Float, a: Float, aOff: number, rows: number, N: number): void;
}

/** The reference "packing" only remembers where the matrix is. */
interface RefPacked extends Packed {
  b: Float; bOff: number; K: number; N: number; trans: boolean;
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
  activate(act, x, off, n) {
    const f = activations[act].apply;
    for (let i = off; i < off + n; i++) x[i] = f(x[i]);
  },
  activateBackward(act, dpre, dpreOff, dh, dhOff, dnext, s, sOff, n) {
    const g = activations[act].gradFromOutput;
    for (let i = 0; i < n; i++) dpre[dpreOff + i] = (dh[dhOff + i] + dnext[i]) * g(s[sOff + i]);
  },
  createPacked(): RefPacked {
    return { backend: "js", b: new Float64Array(0), bOff: 0, K: 0, N: 0, trans: false };
  },
  pack(p, b, bOff, K, N, trans) {
    Object.assign(p as RefPacked, { b, bOff, K, N, trans });
  },
  matmulPacked(out, outOff, a, aOff, p, M, acc) {
    const r = p as RefPacked;
    if (r.trans) this.matmulNT(out, outOff, a, aOff, r.b, r.bOff, M, r.N, r.K, acc);
    else this.matmulNN(out, outOff, a, aOff, r.b, r.bOff, M, r.N, r.K, acc);
  },
  addRows(out, outOff, v, rows, N) {
    for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) out[outOff + r * N + n] += v[n];
  },
  sumRows(out, a, aOff, rows, N) {
    for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) out[n] += a[aOff + r * N + n];
  },
};
