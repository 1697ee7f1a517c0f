import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { crpsGaussian, crpsStudentT } from "../src/core/crps.js";

/**
 * Written by scripts/golden/make_special_fixtures.py: the closed forms in mpmath (mp) and the
 * defining integral ∫ (F(x) − 1{x ≥ y})² dx by scipy.integrate.quad (quad); args are
 * (y, μ, σ) or (y, μ, σ, ν).
 */
interface Case { args: number[]; mp: number; quad: number }
const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, "fixtures/special/crps.json"), "utf8")) as
  { gaussian: Case[]; studentT: Case[] };

function check(name: string, cases: Case[], f: (...a: number[]) => number, ref: "mp" | "quad", rel: number): void {
  for (const c of cases) {
    const got = f(...c.args), want = c[ref];
    const err = Math.abs(got - want) / Math.abs(want);
    if (!(err <= rel)) throw new Error(`${name}(${c.args.join(", ")}): got ${got}, ${ref} ${want} (relative ${err.toExponential(2)} > ${rel})`);
  }
}

describe("closed-form CRPS", () => {
  // The closed forms in mpmath: a few ulps of the pieces (the Student-t's are 1e-14, special.test.ts).
  it("gaussian matches the formula in mpmath", () => check("crpsGaussian", fixture.gaussian, crpsGaussian, "mp", 1e-14));
  it("studentT matches the formula in mpmath", () => check("crpsStudentT", fixture.studentT, crpsStudentT, "mp", 1e-12));
  // quad's own relative error against the closed forms is below 1e-13 (the script asserts 1e-8).
  it("gaussian matches numeric integration", () => check("crpsGaussian", fixture.gaussian, crpsGaussian, "quad", 1e-12));
  it("studentT matches numeric integration", () => check("crpsStudentT", fixture.studentT, crpsStudentT, "quad", 1e-12));

  it("scales with σ and shifts with μ; the Student t tends to the Gaussian as ν grows", () => {
    expect(crpsGaussian(3, 1, 2)).toBeCloseTo(2 * crpsGaussian(1, 0, 1), 14);
    expect(crpsStudentT(3, 1, 2, 4)).toBeCloseTo(2 * crpsStudentT(1, 0, 1, 4), 14);
    expect(Math.abs(crpsStudentT(0.7, 0, 1, 1e7) - crpsGaussian(0.7, 0, 1))).toBeLessThan(1e-7);
    // At y = μ the Gaussian's is σ·(√2 − 1)/√π.
    expect(crpsGaussian(0, 0, 1)).toBeCloseTo((Math.SQRT2 - 1) / Math.sqrt(Math.PI), 15);
  });
});
