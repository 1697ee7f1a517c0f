import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  betaInc, digamma, erf, erfc, gammaIncP, gammaIncQ, lbeta, lgamma, lgammaHalfShift, normalCdf, normalPdf,
  normalQuantile, studentTCdf, studentTPdf, studentTQuantile,
} from "../src/core/special.js";

/** A JSON number, or the string the fixture script writes for a non-finite one. */
type Num = number | "Infinity" | "-Infinity" | "NaN";
interface Case { args: Num[]; mp: Num; sp: Num }

/** Written by scripts/golden/make_special_fixtures.py: mpmath at 50 digits (mp) and scipy (sp). */
const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures/special/special.json"), "utf8")) as Record<string, Case[]>;

function toNumber(v: Num): number {
  return typeof v === "number" ? v : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : NaN;
}

type Fn = (...args: number[]) => number;

/**
 * Checks every case: |got − want| ≤ rel·|want| + abs, want the mpmath or the scipy value. On failure names the function, the arguments,
 * both values and the error; the largest relative error is returned so the summary can show it.
 */
function check(name: string, f: Fn, ref: "mp" | "sp", rel: number, abs: number): number {
  let worst = 0;
  for (const c of fixture[name]) {
    const args = c.args.map(toNumber);
    const want = toNumber(c[ref]), got = f(...args);
    // scipy's Student t flushes results below ~1e-300 at |t| > 1e154 to 0; mpmath has them.
    if (ref === "sp" && want === 0 && toNumber(c.mp) !== 0) continue;
    if (Number.isNaN(want) || !Number.isFinite(want)) {
      expect(got, `${name}(${args.join(", ")})`).toBe(want);
      continue;
    }
    const err = Math.abs(got - want);
    if (!(err <= rel * Math.abs(want) + abs)) {
      throw new Error(`${name}(${args.join(", ")}): got ${got}, ${ref} ${want}; mpmath ${toNumber(c.mp)}, scipy ${toNumber(c.sp)} (relative error ${(err / Math.abs(want)).toExponential(2)} > ${rel}, abs ${abs})`);
    }
    if (want !== 0) worst = Math.max(worst, err / Math.abs(want));
  }
  return worst;
}

/** lgammaHalfShift's two values as functions of x. */
const halfShift = new Float64Array(2);
const lgammaHalf: Fn = (x) => { lgammaHalfShift(x, halfShift); return halfShift[0]; };
const digammaHalf: Fn = (x) => { lgammaHalfShift(x, halfShift); return halfShift[1]; };

// Relative tolerances against mpmath: a few times the largest error measured (printed by the
// tests); an absolute one besides where the function crosses 0.
const table: [string, Fn, number, number?][] = [
  ["lgamma", lgamma, 2e-15],
  ["digamma", digamma, 4e-15],
  // lgamma(x) − lgamma(x + ½) crosses 0 near x = 1.3 (ν = 2.6, in the middle of Student's t's
  // range); the log of its ten-factor product carries their rounding, a few 1e-16 absolute.
  ["lgammaHalfShift", lgammaHalf, 2e-15, 1e-15],
  ["digammaHalfShift", digammaHalf, 2e-15],
  ["lbeta", lbeta, 1e-14],
  ["erf", erf, 1e-15],
  ["erfc", erfc, 2e-15],
  ["normalCdf", normalCdf, 2e-15],
  ["normalPdf", normalPdf, 1e-15],
  ["normalQuantile", normalQuantile, 1e-15],
  // The incomplete functions carry exp(a·log x − x − lgamma(a)), whose rounding grows with
  // a·log x; Student's t density likewise exp(−(ν+1)/2·log1p(t²/ν)) at t = 1000.
  ["gammaIncP", gammaIncP, 1e-13],
  ["gammaIncQ", gammaIncQ, 1e-13],
  ["betaInc", betaInc, 1e-13],
  ["studentTCdf", studentTCdf, 1e-13],
  ["studentTPdf", studentTPdf, 2e-13],
  ["studentTQuantile", studentTQuantile, 2e-13],
];

/**
 * Against scipy as well (relative + absolute): scipy's own errors against mpmath, printed by the
 * fixture script, set these — gammaln near its zeros at 1 and 2 (absolute 1e-15, relative up to
 * 3e-7), ndtr's z/√2 rounding (1.5e-13), t.pdf (4e-13). scipy's t.ppf is left out: far in the
 * tails at small ν it is off by orders of magnitude (ν = 0.3, p = 1e-12); scipy's erfc flushes its
 * subnormal results (x = 27.2) to 0.
 */
const scipyTable: [string, Fn, number, number][] = [
  ["lgamma", lgamma, 1e-14, 1e-14], ["digamma", digamma, 1e-14, 0], ["lbeta", lbeta, 1e-9, 0],
  ["erf", erf, 1e-15, 0], ["erfc", erfc, 1e-13, 1e-300], ["normalCdf", normalCdf, 4e-13, 0],
  ["normalPdf", normalPdf, 1e-13, 0], ["normalQuantile", normalQuantile, 1e-15, 0],
  ["gammaIncP", gammaIncP, 1e-13, 0], ["gammaIncQ", gammaIncQ, 1e-13, 0], ["betaInc", betaInc, 1e-13, 0],
  ["studentTCdf", studentTCdf, 2e-13, 0], ["studentTPdf", studentTPdf, 1e-12, 0],
];

describe("special functions against mpmath (scripts/golden/make_special_fixtures.py)", () => {
  for (const [name, f, rel, abs = 0] of table) {
    it(`${name}: ${fixture[name].length} cases within ${rel} relative${abs ? ` + ${abs}` : ""}`, () => {
      const worst = check(name, f, "mp", rel, abs);
      console.log(`${name}: max relative error vs mpmath ${worst.toExponential(2)}`);
    });
  }
  for (const [name, f, rel, abs] of scipyTable) {
    it(`${name}: agrees with scipy within ${rel} relative + ${abs}`, () => {
      check(name, f, "sp", rel, abs);
    });
  }

  it("edge values", () => {
    expect(lgamma(1)).toBe(0);
    expect(lgamma(2)).toBe(0);
    expect(lgamma(0)).toBeNaN();
    expect(lgamma(-1)).toBeNaN();
    expect(lgamma(Infinity)).toBe(Infinity);
    expect(digamma(0)).toBeNaN();
    expect(erf(0)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erfc(Infinity)).toBe(0);
    expect(erf(Infinity)).toBe(1);
    expect(normalCdf(-Infinity)).toBe(0);
    expect(normalCdf(Infinity)).toBe(1);
    expect(normalPdf(Infinity)).toBe(0);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(1.5)).toBeNaN();
    expect(studentTCdf(0, 3)).toBe(0.5);
    expect(studentTQuantile(0.5, 3)).toBe(0);
    expect(gammaIncP(2, 0)).toBe(0);
    expect(gammaIncQ(2, 0)).toBe(1);
    expect(betaInc(2, 3, 0)).toBe(0);
    expect(betaInc(2, 3, 1)).toBe(1);
  });

  it("a Student-t quantile beyond the largest double is infinite", () => {
    expect(studentTQuantile(1e-300, 0.3)).toBe(-Infinity);
    expect(studentTQuantile(1 - 1e-16, 0.02)).toBe(Infinity);
    expect(studentTCdf(-Infinity, 0.3)).toBe(0);
    expect(studentTPdf(Infinity, 0.3)).toBe(0);
  });

  it("round trips: Φ(Φ⁻¹(p)) and F_ν(F_ν⁻¹(p)) return p", () => {
    for (const p of [1e-250, 1e-9, 0.01, 0.1, 0.3, 0.5 - 1e-13, 0.7, 0.95, 1 - 1e-9]) {
      // The condition number of the CDF at its quantile, |x·f(x)/F(x)| (x² for the normal's far tail),
      // times a few ulps: a one-ulp error in the quantile moves the CDF by that much.
      const q = Math.min(p, 1 - p);
      const zq = normalQuantile(p);
      expect(Math.abs(normalCdf(zq) - p)).toBeLessThanOrEqual(4e-16 * (1 + zq * zq) * q + 2e-16);
      for (const nu of [0.5, 2.3, 40]) {
        const t = studentTQuantile(p, nu);
        if (!Number.isFinite(t)) { // ν = 0.5, p = 1e-250: |t| ≈ 1e500, past the doubles
          expect(studentTCdf(-Number.MAX_VALUE, nu)).toBeGreaterThan(q);
          continue;
        }
        const cond = Math.abs(t * studentTPdf(t, nu)) / q;
        expect(Math.abs(studentTCdf(t, nu) - p)).toBeLessThanOrEqual(1e-14 * (1 + cond) * q + 2e-16);
      }
    }
  });
});
