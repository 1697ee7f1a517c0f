/**
 * Numbers as SPEC §2 prints them: the shortest text that reads back to the same double
 * (JavaScript's String(x)), never rounded.
 */
export function num(x: number): string {
  return String(x);
}

/** One CSV field, quoted as RFC 4180 asks when it holds a comma, a quote or a line break. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (with its newline) from already formatted fields. */
export function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(",") + "\n";
}
