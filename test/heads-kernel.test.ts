import { describe, expect, it } from "vitest";
import { referenceKernels, type HeadLossKind, type Kernels } from "../src/core/kernels.js";
import { LOSS_BLOCK } from "../src/core/heads/head.js";
import { softplus, softplusGrad } from "../src/core/heads/softplus.js";
import { Rng } from "../src/core/rng.js";
import { lgamma, lgammaHalfShift } from "../src/core/special.js";
import { alloc, type DType, type Float } from "../src/core/tensor.js";
import { loadAddon, nativeKernels, type Addon } from "../src/kernels/native.js";

/**
 * Kernels.headLoss (SPEC §10's head losses) of the native addon (native/heads.cc) against the
 * TypeScript reference (src/core/heads/loss-reference.ts), which the golden tests hold to
 * PyTorch: the same count, the same losses and gradients but for the last bits of exp, log and
 * log1p (native/vmath.h's against V8's, ≤ 2 ulp apart, checked below), and on the native side the
 * same bits at 1 and 2 threads and on AVX2 and AVX-512.
 */
const loaded = loadAddon();
const addon: Addon | null = loaded instanceof Error ? null : loaded;
if (!addon && !process.env.RNN_NO_NATIVE) throw new Error(`native kernels failed to load: ${String(loaded)}`);
const native: Kernels | null = addon ? nativeKernels(addon) : null;

/** The vector ISAs this CPU runs the kernels on (AVX-512 where it has it, and AVX2), the default first. */
const ISAS: ("avx2" | "avx512")[] = (() => {
  if (!addon) return [];
  const before = addon.gemmIsa(), wide = addon.gemmIsa("avx512") === "avx512";
  addon.gemmIsa(before);
  return wide ? [before, before === "avx2" ? "avx512" : "avx2"] : ["avx2"];
})();

/** f() under each ISA in turn (the default restored after). */
function underEach<T>(f: () => T): T[] {
  const before = addon!.gemmIsa();
  try {
    return ISAS.map((isa) => { addon!.gemmIsa(isa); return f(); });
  } finally {
    addon!.gemmIsa(before);
  }
}

const P: Record<HeadLossKind, number> = { gaussian: 2, studentT: 3, negativeBinomial: 2, quantiles: 3, mse: 1 };
const QS = Float64Array.from([0.1, 0.5, 0.9]);

/** Raw outputs that reach every branch: softplus's threshold 20 (and just below), its far tails, 0. */
const EDGE_A = [20, 20 + 1e-9, 20 - 1e-9, 19.5, 25, 60, -20, -30, -50, -80, 0, 1e-12, 7, -7];
/** Counts: 0, small, around SMALL_COUNT (16), past the log-factorial table (1024). */
const EDGE_K = [0, 0, 1, 2, 3, 7, 15, 16, 17, 40, 1023, 1024, 2000, 1e5];

interface Case { y: Float; values: Float64Array; O: number; tOff: number; r0: number; r1: number }

/**
 * rows × O cells of `kind` (rows r0 … r1 of y used, target rows shifted by tOff), one in seven
 * absent (NaN), raw outputs mostly N(0, 1.5²) with one in five from EDGE_A, targets in model
 * units or counts (one in four from EDGE_K).
 */
function makeCase(kind: HeadLossKind, dtype: DType, rows: number, O: number, rng: Rng): Case {
  const p = P[kind], tOff = 3, r0 = 2, r1 = rows;
  const y = alloc(dtype, rows * p * O + 5);
  for (let i = 0; i < y.length; i++) {
    y[i] = rng.uniform() < 0.2 ? EDGE_A[rng.below(EDGE_A.length)] : 1.5 * (rng.uniform() * 2 - 1 + rng.uniform() * 2 - 1);
  }
  const values = new Float64Array((tOff + rows) * O);
  for (let i = 0; i < values.length; i++) {
    if (rng.below(7) === 0) { values[i] = NaN; continue; }
    values[i] = kind === "negativeBinomial"
      ? (rng.uniform() < 0.25 ? EDGE_K[rng.below(EDGE_K.length)] : rng.below(12))
      : 3 * (rng.uniform() * 2 - 1);
  }
  return { y, values, O, tOff, r0, r1 };
}

/**
 * Every combination of EDGE_A over a cell's raw outputs, against a few targets (the counts of
 * EDGE_K for the negative binomial): one row of one target per cell.
 */
function gridCase(kind: HeadLossKind, dtype: DType): Case {
  const p = P[kind], targets = kind === "negativeBinomial" ? EDGE_K : [0, 0.3, -2, 40];
  const combos = EDGE_A.length ** (p === 3 ? 2 : p); // studentT: μ from the targets' neighbourhood instead
  const rows = combos * targets.length, y = alloc(dtype, rows * p), values = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let c = r % combos;
    const raw = Array.from({ length: p }, () => { const v = EDGE_A[c % EDGE_A.length]; c = Math.floor(c / EDGE_A.length); return v; });
    if (p === 3) raw.unshift(0.1 * (r % 7));
    for (let k = 0; k < p; k++) y[r * p + k] = raw[k];
    values[r] = targets[Math.floor(r / combos)];
  }
  return { y, values, O: 1, tOff: 0, r0: 0, r1: rows };
}

function run(k: Kernels, kind: HeadLossKind, c: Case, withDy: boolean): { out: Float64Array; dy: Float | null } {
  const out = new Float64Array(2);
  const dy = withDy ? alloc(c.y instanceof Float32Array ? "float32" : "float64", c.y.length).fill(7) : null;
  k.headLoss(kind, kind === "quantiles" ? QS : null, c.y, c.values, c.O, c.tOff, c.r0, c.r1, dy, out);
  return { out, dy };
}

/**
 * The size of the terms each of a cell's results is a sum of (its loss, then d/da_k): where they
 * cancel, the result carries their rounding, not its own. The native and reference values come
 * from exp, log and log1p at most 2 ulp apart, so they may differ by a few 1e-16 of this.
 */
function termScales(kind: HeadLossKind, a: number[], t: number): number[] {
  if (kind === "gaussian") {
    const sigma = softplus(a[1]), d = t - a[0], g = softplusGrad(a[1]);
    return [(d * d) / (2 * sigma * sigma) + Math.abs(Math.log(sigma)) + 1, 0, (1 / sigma + (d * d) / sigma ** 3) * g];
  }
  if (kind === "studentT") {
    const sigma = softplus(a[1]), nu = 2 + softplus(a[2]), z = (t - a[0]) / sigma, z2 = z * z, w = (nu + 1) / (nu + z2);
    const l = Math.log1p(z2 / nu), shift = new Float64Array(2);
    lgammaHalfShift(0.5 * nu, shift);
    return [0.5 * (nu + 1) * l + Math.abs(Math.log(sigma)) + 0.5 * Math.abs(Math.log(nu)) + 1 + Math.abs(shift[0]), 0,
      ((1 + w * z2) / sigma) * softplusGrad(a[1]),
      (0.5 * l + (0.5 * w * z2) / nu + 0.5 / nu + 0.5 * Math.abs(shift[1])) * softplusGrad(a[2])];
  }
  if (kind === "negativeBinomial") {
    const mu = softplus(a[0]), alpha = softplus(a[1]), am = alpha * mu, r = 1 / alpha, l1 = Math.log1p(am);
    // lgamma(r + k) − lgamma(r) and ψ(r + k) − ψ(r) are at most k·log(r + k) and k/r.
    const rise0 = t * Math.abs(Math.log(r + t)) + 1, rise1 = t / r;
    return [Math.abs(r * l1) + t * (Math.abs(Math.log(am)) + l1) + rise0 + Math.abs(lgamma(t + 1)),
      ((mu + t) / (mu * (1 + am))) * softplusGrad(a[0]),
      (r * r * l1 + mu / (alpha * (1 + am)) + t / alpha + (t * mu) / (1 + am) + r * r * rise1) * softplusGrad(a[1])];
  }
  return [0, 0, 0, 0]; // quantiles, mse: no library function, the same bits
}

/** Relative to |want| + scale: the largest such error, or an error naming the first beyond tol. */
function compare(name: string, got: number, want: number, scale: number, tol: number): number {
  if (Object.is(got, want)) return 0;
  if (Number.isNaN(want) || !Number.isFinite(want)) throw new Error(`${name}: native ${got}, reference ${want}`);
  const err = Math.abs(got - want) / (Math.abs(want) + scale);
  if (!(err <= tol)) throw new Error(`${name}: native ${got}, reference ${want} (error ${err.toExponential(2)} of |reference| + ${scale.toExponential(2)}, > ${tol})`);
  return err;
}

/** 1e-14 of the terms' size: ≥ 20 times what 2 ulp in the library functions can move them. */
const TOL = 1e-14;
/** A float32 gradient: the two doubles, a hair apart, may round to neighbouring floats. */
const TOL32 = 2 ** -23;

describe.skipIf(!native)("native headLoss against the TypeScript reference", () => {
  const kinds: HeadLossKind[] = ["gaussian", "studentT", "negativeBinomial", "quantiles", "mse"];
  for (const kind of kinds) {
    for (const dtype of ["float64", "float32"] as DType[]) {
      it(`${kind} ${dtype}: count exact, loss and every gradient within a few ulp, absent cells zero`, () => {
        const rng = new Rng(kind.length * 31 + dtype.length);
        let worstLoss = 0, worstGrad = 0;
        const shapes = [[3, 1], [LOSS_BLOCK + 7, 1], [300, 3], [2 * LOSS_BLOCK + 2, 8], [130, 17]];
        for (const c of [...shapes.map(([rows, O]) => makeCase(kind, dtype, rows, O, rng)), gridCase(kind, dtype)]) {
          const O = c.O;
          const ref = run(referenceKernels, kind, c, true), got = run(native!, kind, c, true);
          expect(got.out[1], "count").toBe(ref.out[1]);
          const p = P[kind];
          let lossScale = 0;
          for (let r = c.r0; r < c.r1; r++) {
            for (let o = 0; o < O; o++) {
              const t = c.values[(c.tOff + r) * O + o];
              if (Number.isNaN(t)) continue;
              const at = r * p * O + o, a = Array.from({ length: p }, (_, k) => c.y[at + k * O]);
              const sc = termScales(kind, a, t);
              lossScale += sc[0];
              for (let k = 0; k < p; k++) {
                const i = at + k * O;
                worstGrad = Math.max(worstGrad, compare(`dy[${i}] (row ${r}, target ${o}, a ${a.join(", ")}, t ${t})`, got.dy![i], ref.dy![i],
                  sc[1 + k], dtype === "float32" ? TOL32 : TOL));
              }
            }
          }
          worstLoss = Math.max(worstLoss, compare("loss", got.out[0], ref.out[0], lossScale, TOL));
          if (kind === "quantiles" || kind === "mse") { // no library function in the way: the very same bits
            expect(Object.is(got.out[0], ref.out[0])).toBe(true);
            expect(Buffer.from(got.dy!.buffer).equals(Buffer.from(ref.dy!.buffer))).toBe(true);
          }
          // Absent cells: zero gradient; rows outside [r0, r1) untouched.
          for (let r = c.r0; r < c.r1; r++) {
            for (let o = 0; o < O; o++) {
              if (!Number.isNaN(c.values[(c.tOff + r) * O + o])) continue;
              for (let k = 0; k < P[kind]; k++) expect(got.dy![r * P[kind] * O + k * O + o]).toBe(0);
            }
          }
          for (let i = 0; i < c.r0 * P[kind] * O; i++) expect(got.dy![i]).toBe(7);
          // Without dy: the same sum.
          const noDy = run(native!, kind, c, false);
          expect(noDy.out[0]).toBe(got.out[0]);
        }
        console.log(`${kind} ${dtype}: largest difference from the reference, relative to the terms: loss ${worstLoss.toExponential(2)}, gradients ${worstGrad.toExponential(2)}`);
      });
    }

    it(`${kind}: the same bits at 1 and 2 threads`, () => {
      const c = makeCase(kind, "float32", 40 * LOSS_BLOCK + 3, 8, new Rng(5));
      addon!.setThreads(1);
      const one = run(native!, kind, c, true);
      addon!.setThreads(2);
      const two = run(native!, kind, c, true);
      addon!.setThreads(1);
      expect(Object.is(two.out[0], one.out[0])).toBe(true);
      expect(two.out[1]).toBe(one.out[1]);
      expect(Buffer.from(two.dy!.buffer).equals(Buffer.from(one.dy!.buffer))).toBe(true);
    });
  }

  it.skipIf(ISAS.length < 2)("the same bits on AVX2 and AVX-512 (every head, both dtypes, the edge grid)", () => {
    for (const kind of kinds) {
      for (const dtype of ["float64", "float32"] as DType[]) {
        for (const c of [makeCase(kind, dtype, 300, 3, new Rng(9)), makeCase(kind, dtype, 70, 1, new Rng(10)), gridCase(kind, dtype)]) {
          const [a, b] = underEach(() => run(native!, kind, c, true));
          expect(Object.is(a.out[0], b.out[0]), `${kind} ${dtype} loss ${a.out[0]} vs ${b.out[0]}`).toBe(true);
          expect(Buffer.from(a.dy!.buffer).equals(Buffer.from(b.dy!.buffer)), `${kind} ${dtype} dy`).toBe(true);
        }
      }
    }
  });

  it("refuses a quantile head without its levels, a likelihood with levels, rows past the buffers", () => {
    const c = makeCase("gaussian", "float64", 10, 2, new Rng(1)), out = new Float64Array(2);
    expect(() => addon!.headLoss(3, null, c.y, c.values, 2, 0, 0, 4, null, out)).toThrow(/arguments/);
    expect(() => addon!.headLoss(0, QS, c.y, c.values, 2, 0, 0, 4, null, out)).toThrow(/arguments/);
    expect(() => addon!.headLoss(0, null, c.y, c.values, 2, 0, 0, 12, null, out)).toThrow(/out of bounds/);
    expect(() => addon!.headLoss(0, null, c.y, c.values, 2, 10, 0, 4, null, out)).toThrow(/out of bounds/);
  });
});

/** ulps between got and want (0 when identical, ∞ when only one is finite). */
function ulps(got: number, want: number): number {
  if (Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))) return 0;
  if (!Number.isFinite(got) || !Number.isFinite(want)) return Infinity;
  const ulp = Math.max(Number.MIN_VALUE, 2 ** (Math.floor(Math.log2(Math.abs(want))) - 52));
  return Math.abs(got - want) / ulp;
}

describe.skipIf(!addon)("native/vmath.h against V8's Math.exp, Math.log, Math.log1p", () => {
  const rng = new Rng(11);
  const cases: [string, number, (x: number) => number, number, (() => number)[]][] = [
    ["exp", 0, Math.exp, 1, [() => rng.uniform() * 1500 - 750, () => rng.uniform() * 40 - 20, () => (rng.uniform() - 0.5) * 1e-6]],
    ["log", 1, Math.log, 1, [() => Math.exp(rng.uniform() * 1400 - 700), () => 0.5 + rng.uniform(), () => rng.uniform() * 1e-310,
      () => 1 + (rng.uniform() - 0.5) * 1e-6]],
    ["log1p", 2, Math.log1p, 2, [() => Math.exp(rng.uniform() * 100 - 50), () => rng.uniform() * 2 - 0.999999,
      () => (rng.uniform() - 0.5) * 1e-10, () => Math.exp(rng.uniform() * 700)]],
  ];
  for (const [name, fn, ref, maxUlps, gens] of cases) {
    it(`${name}: within ${maxUlps} ulp over 200,000 random values per range; exact at 0, ±∞, NaN, the ends of the range; the same on every ISA`, () => {
      const n = 200_000, x = new Float64Array(n);
      for (const g of gens) {
        for (let i = 0; i < n; i++) x[i] = g();
        const [out, ...others] = underEach(() => { const o = new Float64Array(n); addon!.vmath(fn, x, o); return o; });
        for (let i = 0; i < n; i++) {
          const u = ulps(out[i], ref(x[i]));
          if (!(u <= maxUlps)) throw new Error(`${name}(${x[i]}): ${out[i]}, Math.${name} ${ref(x[i])} (${u} ulp)`);
        }
        for (const o of others) expect(Buffer.from(o.buffer).equals(Buffer.from(out.buffer)), `${name}: AVX2 and AVX-512 differ`).toBe(true);
      }
      const special = Float64Array.from([0, -0, 1, -1, Infinity, -Infinity, NaN, Number.MIN_VALUE, 2.2250738585072014e-308,
        Number.MAX_VALUE, 709.78, 709.8, -745.1, -745.2, -746, 1e-300, 0.5, 2]);
      for (const got of underEach(() => { const o = new Float64Array(special.length); addon!.vmath(fn, special, o); return o; })) {
        special.forEach((v, i) => expect(ulps(got[i], ref(v)), `${name}(${v}) = ${got[i]}`).toBeLessThanOrEqual(Number.isFinite(ref(v)) && ref(v) !== 0 ? 1 : 0));
      }
    });
  }
});
