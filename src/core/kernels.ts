import { activations, type ActivationName } from "./activations.js";
import { headLossReference } from "./heads/loss-reference.js";
import type { Float } from "./tensor.js";

/** The SPEC §10 heads whose loss is a kernel: the three likelihoods and quantile regression. */
export type HeadLossKind = "gaussian" | "studentT" | "negativeBinomial" | "quantiles" | "mse";

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
  /** Plain SGD's step over all of p: p[i] −= lr·g[i] (in double, stored as p's dtype). */
  sgdStep(p: Float, g: Float, lr: number): void;
  /** Whether no element of a is ±∞ or NaN. */
  allFinite(a: Float): boolean;
  /** out[:] += Σ_r a[r, :] over `rows` rows of N (a bias gradient). */
  sumRows(out: Float, a: Float, aOff: number, rows: number, N: number): void;
  /**
   * out[i] (+)= a[i] · m[i] for i < n: a dropout mask applied (or its gradient passed back).
   * out may be a itself (in place).
   */
  mulMask(out: Float, outOff: number, a: Float, aOff: number, m: Float, mOff: number, n: number, acc: boolean): void;
  /**
   * One LSTM step (gates i, f, g, o) after its products: g[B,4H] at gOff holds the
   * pre-activations and gets i, f, o = σ(·), g = tanh(·); then c_t = f ⊙ c_{t-1} + i ⊙ g,
   * tanhC = tanh(c_t), h_t = o ⊙ tanhC. c_{t-1} and c_t are [B,H] in cs at cPrevOff and cOff,
   * tanhC [B,H] at tcOff, h_t [B,H] in hs at hOff.
   */
  lstmForward(g: Float, gOff: number, cs: Float, cPrevOff: number, cOff: number, tanhC: Float, tcOff: number,
    hs: Float, hOff: number, B: number, H: number): void;
  /**
   * One LSTM step backward: with g[B,4H] the activations at gOff, c_{t-1} in cs at cPrevOff,
   * tanhC and dh [B,H] at tOff, dhNext [B,H] (the gradient from step t+1 through W_hh) and
   * dcNext [B,H] (the cell carry, updated in place to dc ⊙ f), writes dG[B,4H] at gOff, the
   * gradient w.r.t. the pre-activations, and gradOut [B,H] at tOff (when given) = dh + dhNext.
   */
  lstmBackward(dG: Float, g: Float, gOff: number, cs: Float, cPrevOff: number, tanhC: Float, dh: Float,
    gradOut: Float | null, tOff: number, dhNext: Float, dcNext: Float, B: number, H: number): void;
  /**
   * One GRU step (gates r, z, n; PyTorch's linear_before_reset): gi[B,3H] at gOff holds
   * x W_ihᵀ + b_ih and gets r, z, n; gh[B,3H] at gOff is h_{t-1} W_hhᵀ + b_hh;
   * r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n),
   * h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}, with h_{t-1} and h_t [B,H] in hs at hPrevOff and hOff.
   */
  gruForward(gi: Float, gh: Float, gOff: number, hs: Float, hPrevOff: number, hOff: number, B: number, H: number): void;
  /**
   * One GRU step backward: with gi (r, z, n) and gh [B,3H] at gOff, h_{t-1} in hs at hPrevOff,
   * dh [B,H] at tOff and dhNext [B,H] the gradient from step t+1, writes dGI and dGH [B,3H] at
   * gOff (the gradients w.r.t. the two pre-activation parts), gradOut [B,H] at tOff (when given)
   * = dh + dhNext, and replaces dhNext by its direct path (dh + dhNext) ⊙ z: the caller adds dGH · W_hh.
   */
  gruBackward(dGI: Float, dGH: Float, gi: Float, gh: Float, gOff: number, hs: Float, hPrevOff: number, dh: Float,
    gradOut: Float | null, tOff: number, dhNext: Float, B: number, H: number): void;
  /**
   * A layer's recurrence over T steps, forward, as the layer's own loop of the kernels above
   * would run it (a backend runs it in one call): buffers from offset 0, laid out as the layers
   * keep them; `p` holds the packed W_hhᵀ; with a recurrent dropout `mask` [B,H], R [T,B,H]
   * receives h_{t-1} ⊙ mask, what W_hh multiplies. bIh, bHh (or null) are added to each step's
   * rows before its recurrent product, b_ih then b_hh (GRU: b_ih to GI, b_hh to GH after the
   * product): the additions addRows over the window would make, done while a step's rows are in
   * cache. Elman: S [(T+1),B,H] holds s_0 then the input projections, overwritten by
   * s_t = Φ(· + b_ih + b_hh + s_{t-1} W_hhᵀ).
   */
  elmanSteps(act: ActivationName, S: Float, p: Packed, bIh: Float | null, bHh: Float | null, T: number, B: number, H: number,
    mask: Float | null, R: Float | null): void;
  /**
   * torch.nn.Embedding's forward, a gather: out[r, :] = w[ids[idsOff + r·idsStride], :] for
   * r < rows, row r's E values at outOff + r·outStride (default: contiguous rows, one id each;
   * strided, the columns of a wider row, as SPEC §11's layer-0 input [numeric ; embeddings…]);
   * a negative id (padding) gives a zero row. w [V, E]; an id ≥ V throws.
   */
  gatherRows(out: Float, outOff: number, w: Float, ids: Int32Array, idsOff: number, rows: number, E: number,
    outStride?: number, idsStride?: number): void;
  /**
   * Its backward, a scatter-add: gw[ids[idsOff + r·idsStride], :] += dout[dOff + r·dStride …+E]
   * (default: contiguous); negative ids are skipped.
   */
  scatterAddRows(gw: Float, dout: Float, dOff: number, ids: Int32Array, idsOff: number, rows: number, E: number,
    dStride?: number, idsStride?: number): void;
  /**
   * Softmax cross-entropy (nn.CrossEntropyLoss before its mean) over `rows` rows of logits
   * y [rows, C] at yOff, row r labelled labels[labOff + r] (−1: none): out[0] = Σ −log softmax(y)[label],
   * out[1] = the labelled rows; when dy is given, dy [rows, C] at dyOff = d(sum)/dy (zero on unlabelled rows).
   */
  softmaxCrossEntropy(y: Float, yOff: number, labels: Int32Array, labOff: number, rows: number, C: number,
    dy: Float | null, dyOff: number, out: Float64Array): void;
  /**
   * A SPEC §10 head's loss (RegressionHead.lossSum): −log p of the likelihood `kind`, or the
   * pinball loss averaged over the quantile levels `qs` (kind "quantiles"; null otherwise),
   * summed over the present target cells of rows [r0, r1) of y [rows, P·O] (output k·O + o is raw
   * parameter k of target o), row r against target row tOff + r of `values` [.., O] (NaN: absent):
   * out[0] = the sum, added in blocks of LOSS_BLOCK rows from r0 (heads/head.ts), out[1] = the
   * cells. When dy is given, dy [rows, P·O] = d(sum)/dy on those rows (zero for absent cells).
   */
  headLoss(kind: HeadLossKind, qs: Float64Array | null, y: Float, values: Float64Array, O: number, tOff: number,
    r0: number, r1: number, dy: Float | null, out: Float64Array): void;
  /** LSTM: G [T,B,4H] input projections, Hs and Cs [(T+1),B,H] with h_0 and c_0 first, tanhC [T,B,H]. */
  lstmSteps(G: Float, Hs: Float, Cs: Float, tanhC: Float, p: Packed, bIh: Float | null, bHh: Float | null, T: number, B: number, H: number,
    mask: Float | null, R: Float | null): void;
  /** GRU: GI [T,B,3H] input part, GH [T,B,3H] the recurrent part, Hs [(T+1),B,H] with h_0 first. */
  gruSteps(GI: Float, GH: Float, Hs: Float, p: Packed, bIh: Float | null, bHh: Float | null, T: number, B: number, H: number,
    mask: Float | null, R: Float | null): void;
  /**
   * A layer's backward through time over T steps, t = T−1 … 0, as the layer's own loop of the
   * kernels above would run it (a backend runs it in one call): `p` holds W_hh packed for the
   * backward product (op = W_hh [G·H, H]); dh [T,B,H] the gradient w.r.t. each step's output
   * from above; gradOut [T,B,H] (when given) receives dh + the carry from step t+1; with a
   * recurrent dropout `mask` [B,H] the carry through W_hh is multiplied by it. Elman: S the
   * forward's states, dpre [T,B,H] out, dnext [B,H] the carry (zero in, into step 0 out).
   */
  elmanBackSteps(act: ActivationName, S: Float, dh: Float, gradOut: Float | null, dpre: Float, dnext: Float,
    p: Packed, T: number, B: number, H: number, mask: Float | null): void;
  /** LSTM: G, Cs, tanhC from the forward; dG [T,B,4H] out; dhNext, dcNext [B,H] the carries. */
  lstmBackSteps(G: Float, Cs: Float, tanhC: Float, dh: Float, gradOut: Float | null, dG: Float, dhNext: Float, dcNext: Float,
    p: Packed, T: number, B: number, H: number, mask: Float | null): void;
  /** GRU: GI, GH, Hs from the forward; dGI, dGH [T,B,3H] out; dhNext [B,H] the carry; dhR [B,H] scratch (with a mask). */
  gruBackSteps(GI: Float, GH: Float, Hs: Float, dh: Float, gradOut: Float | null, dGI: Float, dGH: Float, dhNext: Float,
    dhR: Float, p: Packed, T: number, B: number, H: number, mask: Float | null): void;
}

/**
 * The rows W_hh multiplies at step t (offset into the returned buffer): h_{t-1} itself, or
 * h_{t-1} ⊙ mask written into R[t] — one definition for every backend's step loop.
 */
export function recurrentRows(k: Kernels, hs: Float, mask: Float | null, R: Float | null, t: number, BH: number): Float {
  if (!mask || !R) return hs;
  k.mulMask(R, t * BH, hs, t * BH, mask, 0, BH, false);
  return R;
}

const sigmoid = activations.sigmoid.apply;

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

  sgdStep(p, g, lr) {
    for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
  },
  // v·0 is 0 for a finite v and NaN for ±∞ or NaN, and a sum with a NaN in it is NaN. Four sums,
  // so that the additions do not wait on one another.
  allFinite(a) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0;
    const n = a.length;
    for (; i + 4 <= n; i += 4) { s0 += a[i] * 0; s1 += a[i + 1] * 0; s2 += a[i + 2] * 0; s3 += a[i + 3] * 0; }
    for (; i < n; i++) s0 += a[i] * 0;
    return s0 + s1 + s2 + s3 === 0;
  },
  addRows(out, outOff, v, rows, N) {
    for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) out[outOff + r * N + n] += v[n];
  },
  sumRows(out, a, aOff, rows, N) {
    for (let r = 0; r < rows; r++) for (let n = 0; n < N; n++) out[n] += a[aOff + r * N + n];
  },
  mulMask(out, outOff, a, aOff, m, mOff, n, acc) {
    if (acc) for (let i = 0; i < n; i++) out[outOff + i] += a[aOff + i] * m[mOff + i];
    else for (let i = 0; i < n; i++) out[outOff + i] = a[aOff + i] * m[mOff + i];
  },
  gatherRows(out, outOff, w, ids, idsOff, rows, E, outStride = E, idsStride = 1) {
    const V = w.length / E;
    for (let r = 0; r < rows; r++) {
      const id = ids[idsOff + r * idsStride], o = outOff + r * outStride;
      if (id < 0) { out.fill(0, o, o + E); continue; }
      if (!(id < V)) throw new RangeError(`gatherRows: id ${id} is outside the table of ${V} rows`);
      for (let e = 0; e < E; e++) out[o + e] = w[id * E + e];
    }
  },
  scatterAddRows(gw, dout, dOff, ids, idsOff, rows, E, dStride = E, idsStride = 1) {
    const V = gw.length / E;
    for (let r = 0; r < rows; r++) {
      const id = ids[idsOff + r * idsStride], d = dOff + r * dStride;
      if (id < 0) continue;
      if (!(id < V)) throw new RangeError(`scatterAddRows: id ${id} is outside the table of ${V} rows`);
      for (let e = 0; e < E; e++) gw[id * E + e] += dout[d + e];
    }
  },
  softmaxCrossEntropy(y, yOff, lab, labOff, rows, C, dy, dyOff, out) {
    let sum = 0, count = 0;
    for (let r = 0; r < rows; r++) {
      const c = lab[labOff + r], o = yOff + r * C, d = dyOff + r * C;
      if (c < 0) { if (dy) dy.fill(0, d, d + C); continue; }
      let m = -Infinity;
      for (let j = 0; j < C; j++) if (y[o + j] > m) m = y[o + j];
      let z = 0;
      for (let j = 0; j < C; j++) z += Math.exp(y[o + j] - m);
      const lse = m + Math.log(z);
      sum += lse - y[o + c]; count++;
      if (dy) {
        for (let j = 0; j < C; j++) dy[d + j] = Math.exp(y[o + j] - lse);
        dy[d + c] -= 1;
      }
    }
    out[0] = sum; out[1] = count;
  },
  headLoss: headLossReference,
  // The four gate loops below are the cells' original loops, moved here unchanged (the same
  // reads back from the buffers), so the js backend computes the same bits as before.
  lstmForward(G, gOff, Cs, cPrevOff, cOff, tanhC, tcOff, Hs, hOff, B, H) {
    const H4 = 4 * H;
    for (let b = 0; b < B; b++) {
      const gr = gOff + b * H4, prev = cPrevOff + b * H, cur = cOff + b * H, tc = tcOff + b * H, hr = hOff + b * H;
      for (let j = 0; j < H; j++) {
        const i = sigmoid(G[gr + j]), f = sigmoid(G[gr + H + j]);
        const g = Math.tanh(G[gr + 2 * H + j]), o = sigmoid(G[gr + 3 * H + j]);
        G[gr + j] = i; G[gr + H + j] = f; G[gr + 2 * H + j] = g; G[gr + 3 * H + j] = o;
        const c = f * Cs[prev + j] + i * g;
        Cs[cur + j] = c;
        const th = Math.tanh(Cs[cur + j]);
        tanhC[tc + j] = th;
        Hs[hr + j] = o * tanhC[tc + j];
      }
    }
  },
  lstmBackward(dG, G, gOff, Cs, cPrevOff, tanhC, dh, gradOut, tOff, dhNext, dcNext, B, H) {
    const H4 = 4 * H;
    for (let b = 0; b < B; b++) {
      const gr = gOff + b * H4, prev = cPrevOff + b * H, tc = tOff + b * H, r = b * H;
      for (let j = 0; j < H; j++) {
        const i = G[gr + j], f = G[gr + H + j], g = G[gr + 2 * H + j], o = G[gr + 3 * H + j];
        const th = tanhC[tc + j];
        const dht = dh[tc + j] + dhNext[r + j];
        if (gradOut) gradOut[tc + j] = dht;
        const dc = dcNext[r + j] + dht * o * (1 - th * th);
        dG[gr + j] = dc * g * i * (1 - i);
        dG[gr + H + j] = dc * Cs[prev + j] * f * (1 - f);
        dG[gr + 2 * H + j] = dc * i * (1 - g * g);
        dG[gr + 3 * H + j] = dht * th * o * (1 - o);
        dcNext[r + j] = dc * f;
      }
    }
  },
  gruForward(GI, GH, gOff, Hs, hPrevOff, hOff, B, H) {
    const H3 = 3 * H;
    for (let b = 0; b < B; b++) {
      const gr = gOff + b * H3, prev = hPrevOff + b * H, cur = hOff + b * H;
      for (let j = 0; j < H; j++) {
        const r = sigmoid(GI[gr + j] + GH[gr + j]);
        const z = sigmoid(GI[gr + H + j] + GH[gr + H + j]);
        GI[gr + j] = r; GI[gr + H + j] = z;
        const n = Math.tanh(GI[gr + 2 * H + j] + GI[gr + j] * GH[gr + 2 * H + j]);
        GI[gr + 2 * H + j] = n;
        const zz = GI[gr + H + j], nn = GI[gr + 2 * H + j];
        Hs[cur + j] = (1 - zz) * nn + zz * Hs[prev + j];
      }
    }
  },
  gruBackward(dGI, dGH, GI, GH, gOff, Hs, hPrevOff, dh, gradOut, tOff, dhNext, B, H) {
    const H3 = 3 * H;
    for (let b = 0; b < B; b++) {
      const gr = gOff + b * H3, prev = hPrevOff + b * H, r0 = b * H;
      for (let j = 0; j < H; j++) {
        const r = GI[gr + j], z = GI[gr + H + j], n = GI[gr + 2 * H + j];
        const dht = dh[tOff + r0 + j] + dhNext[r0 + j];
        if (gradOut) gradOut[tOff + r0 + j] = dht;
        const dpn = dht * (1 - z) * (1 - n * n);
        const dpr = dpn * GH[gr + 2 * H + j] * r * (1 - r);
        const dpz = dht * (Hs[prev + j] - n) * z * (1 - z);
        dGI[gr + j] = dpr; dGI[gr + H + j] = dpz; dGI[gr + 2 * H + j] = dpn;
        dGH[gr + j] = dpr; dGH[gr + H + j] = dpz; dGH[gr + 2 * H + j] = dpn * r;
        dhNext[r0 + j] = dht * z; // the direct path; the products with W_hh are added by the caller
      }
    }
  },
  elmanSteps(act, S, p, bIh, bHh, T, B, H, mask, R) {
    const BH = B * H;
    for (let t = 0; t < T; t++) {
      if (bIh) this.addRows(S, (t + 1) * BH, bIh, B, H);
      if (bHh) this.addRows(S, (t + 1) * BH, bHh, B, H);
      this.matmulPacked(S, (t + 1) * BH, recurrentRows(this, S, mask, R, t, BH), t * BH, p, B, true);
      this.activate(act, S, (t + 1) * BH, BH);
    }
  },
  lstmSteps(G, Hs, Cs, tanhC, p, bIh, bHh, T, B, H, mask, R) {
    const BH = B * H;
    for (let t = 0; t < T; t++) {
      if (bIh) this.addRows(G, t * 4 * BH, bIh, B, 4 * H);
      if (bHh) this.addRows(G, t * 4 * BH, bHh, B, 4 * H);
      this.matmulPacked(G, t * 4 * BH, recurrentRows(this, Hs, mask, R, t, BH), t * BH, p, B, true);
      this.lstmForward(G, t * 4 * BH, Cs, t * BH, (t + 1) * BH, tanhC, t * BH, Hs, (t + 1) * BH, B, H);
    }
  },
  gruSteps(GI, GH, Hs, p, bIh, bHh, T, B, H, mask, R) {
    const BH = B * H;
    for (let t = 0; t < T; t++) {
      if (bIh) this.addRows(GI, t * 3 * BH, bIh, B, 3 * H);
      this.matmulPacked(GH, t * 3 * BH, recurrentRows(this, Hs, mask, R, t, BH), t * BH, p, B, false);
      if (bHh) this.addRows(GH, t * 3 * BH, bHh, B, 3 * H);
      this.gruForward(GI, GH, t * 3 * BH, Hs, t * BH, (t + 1) * BH, B, H);
    }
  },
  elmanBackSteps(act, S, dh, gradOut, dpre, dnext, p, T, B, H, mask) {
    const BH = B * H;
    for (let t = T - 1; t >= 0; t--) {
      const o = t * BH;
      if (gradOut) for (let i = 0; i < BH; i++) gradOut[o + i] = dh[o + i] + dnext[i];
      this.activateBackward(act, dpre, o, dh, o, dnext, S, BH + o, BH);
      // ds_{t-1} = (dpre_t · W_hh) ⊙ m
      this.matmulPacked(dnext, 0, dpre, o, p, B, false);
      if (mask) this.mulMask(dnext, 0, dnext, 0, mask, 0, BH, false);
    }
  },
  lstmBackSteps(G, Cs, tanhC, dh, gradOut, dG, dhNext, dcNext, p, T, B, H, mask) {
    const BH = B * H;
    for (let t = T - 1; t >= 0; t--) {
      const g0 = t * 4 * BH;
      this.lstmBackward(dG, G, g0, Cs, t * BH, tanhC, dh, gradOut, t * BH, dhNext, dcNext, B, H);
      // dh_{t-1} = (dG_t · W_hh) ⊙ m
      this.matmulPacked(dhNext, 0, dG, g0, p, B, false);
      if (mask) this.mulMask(dhNext, 0, dhNext, 0, mask, 0, BH, false);
    }
  },
  gruBackSteps(GI, GH, Hs, dh, gradOut, dGI, dGH, dhNext, dhR, p, T, B, H, mask) {
    const BH = B * H;
    for (let t = T - 1; t >= 0; t--) {
      const g0 = t * 3 * BH;
      this.gruBackward(dGI, dGH, GI, GH, g0, Hs, t * BH, dh, gradOut, t * BH, dhNext, B, H);
      // dh_{t-1} = dht ⊙ z + (dGH_t · W_hh) ⊙ m
      if (mask) {
        this.matmulPacked(dhR, 0, dGH, g0, p, B, false);
        this.mulMask(dhNext, 0, dhR, 0, mask, 0, BH, true);
      } else {
        this.matmulPacked(dhNext, 0, dGH, g0, p, B, true);
      }
    }
  },
};
