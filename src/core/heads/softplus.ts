/** `torch.nn.functional.softplus(x)` with β 1 and threshold 20: x above 20, else log(1 + eˣ). */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

/** d softplus(x)/dx as torch's backward computes it: 1 above the threshold, else eˣ/(eˣ + 1). */
export function softplusGrad(x: number): number {
  if (x > 20) return 1;
  const z = Math.exp(x);
  return z / (z + 1);
}
