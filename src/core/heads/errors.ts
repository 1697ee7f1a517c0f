/**
 * The point-forecast errors eval reports (SPEC §2: mse, rmse, mae in original units), kept as
 * two sums at `at` and `at + 1` of a scorer's sums (count in sums[1]).
 */
export function addError(sums: Float64Array, at: number, predicted: number, actual: number): void {
  const d = predicted - actual;
  sums[at] += d * d; sums[at + 1] += Math.abs(d);
}

export function errorMetrics(sums: Float64Array, at: number): { mse: number; rmse: number; mae: number } {
  const n = sums[1];
  return { mse: sums[at] / n, rmse: Math.sqrt(sums[at] / n), mae: sums[at + 1] / n };
}

export const ERROR_COLUMNS = ["val_mse", "val_rmse", "val_mae"] as const;
