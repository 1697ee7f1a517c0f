/**
 * Tensor comparison for golden tests: on failure it names the tensor, the index and the
 * largest difference, so a mismatch says where it is.
 */
export function closeTo(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  if (got.length !== want.length) throw new Error(`${name}: length ${got.length}, expected ${want.length}`);
  let worst = -1, worstDiff = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const ok = d <= tol * (1 + Math.abs(want[i]));
    if (!ok && (worst < 0 || d > worstDiff) || Number.isNaN(got[i]) !== Number.isNaN(want[i])) {
      worst = i; worstDiff = d;
    }
  }
  if (worst >= 0) {
    throw new Error(`${name}[${worst}]: got ${got[worst]}, expected ${want[worst]} (|diff| ${worstDiff.toExponential(3)} > tol ${tol} · (1 + |expected|))`);
  }
}
