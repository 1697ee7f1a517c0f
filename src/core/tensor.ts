/** Element types the model can compute and store in (`training.dtype`). */
export type DType = "float32" | "float64";

/** A flat buffer of one dtype; every tensor in the core is a view or an offset into one. */
export type Float = Float32Array | Float64Array;

/** Allocates a zeroed buffer of `n` elements of `dtype`. */
export function alloc(dtype: DType, n: number): Float {
  return dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
}

/** The dtype of a buffer. */
export function dtypeOf(a: Float): DType {
  return a instanceof Float32Array ? "float32" : "float64";
}

/** Product of a shape's dimensions. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
