/** Exact powers of ten: every 10^k for k ≤ 22 is a double, so m·10^k and m/10^k round once. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Most significant digits the fast path takes: any 15-digit integer is below 2^53, so exact. */
const MAX_DIGITS = 15;

/**
 * Reads a plain decimal number at the start of bytes b[s..n): blanks and tabs, sign, digits,
 * point, exponent, blanks and tabs. Returns it, and leaves in `end` where it stopped (the
 * caller checks that a delimiter is there), or NaN when the fast path cannot answer exactly:
 * then the caller reads the cell's text as `decimalValue` does (more digits, a large exponent,
 * something that is not a number). Clinger's fast path: with a mantissa below 2^53 and
 * |exponent| ≤ 22, one multiplication or division by an exact power of ten is correctly
 * rounded, so the result is the very double Number(text) gives — without making the text.
 */
export class DecimalScan {
  end = 0;

  scan(b: Uint8Array, s: number, n: number): number {
    let i = s;
    while (i < n && (b[i] === 32 || b[i] === 9)) i++;
    let neg = false;
    if (i < n && b[i] === 45) { neg = true; i++; } else if (i < n && b[i] === 43) i++;
    let m = 0, digits = 0, sig = 0, scale = 0;
    for (; i < n; i++) {
      const d = b[i] - 48;
      if (d < 0 || d > 9) break;
      digits++;
      if (sig > 0 || d > 0) { if (++sig > MAX_DIGITS) return NaN; m = m * 10 + d; }
    }
    if (i < n && b[i] === 46) {
      for (i++; i < n; i++) {
        const d = b[i] - 48;
        if (d < 0 || d > 9) break;
        digits++; scale--;
        if (sig > 0 || d > 0) { if (++sig > MAX_DIGITS) return NaN; m = m * 10 + d; }
      }
    }
    if (digits === 0) return NaN;
    if (i < n && (b[i] === 101 || b[i] === 69)) {
      i++;
      let eneg = false, ex = 0, edigits = 0;
      if (i < n && b[i] === 45) { eneg = true; i++; } else if (i < n && b[i] === 43) i++;
      for (; i < n; i++) {
        const d = b[i] - 48;
        if (d < 0 || d > 9) break;
        if (++edigits > 4) return NaN;
        ex = ex * 10 + d;
      }
      if (edigits === 0) return NaN;
      scale += eneg ? -ex : ex;
    }
    while (i < n && (b[i] === 32 || b[i] === 9)) i++;
    this.end = i;
    let v: number;
    if (m === 0) v = 0;
    else if (scale >= 0 && scale <= 22) v = m * POW10[scale];
    else if (scale < 0 && scale >= -22) v = m / POW10[-scale];
    else return NaN;
    return neg ? -v : v;
  }
}
