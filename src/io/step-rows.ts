import { addonFunction, type Addon } from "../kernels/native.js";
import { csvField, num } from "./format.js";

/** The addon's formatRows (native/format.cc): bytes written up to, or −1 when `out` is too small. */
export type FormatRows = Addon["formatRows"];

/** The native row formatter, or null where the addon is not built (then String(x) is used). */
export function nativeFormatRows(): FormatRows | null {
  return addonFunction("formatRows");
}

/**
 * CSV lines of numbers after a key and a step (predict's `id,t,pred…`): the very text of
 * csvLine([...key, String(t), ...values.map(num)]) — SPEC §2's shortest round-trip numbers —
 * written by the addon into one buffer per block of rows instead of a string per number.
 */
export class StepRows {
  private buf = Buffer.alloc(1 << 16);
  private keyText = "";
  private prefix: Uint8Array = new Uint8Array(0);

  constructor(private readonly cols: number, private readonly format: FormatRows | null = nativeFormatRows()) {}

  /** Lines for steps t0…t0+rows−1, row r's numbers at values[r·cols…]. */
  lines(key: readonly string[], t0: number, values: Float64Array, rows: number): string {
    const head = key.map((k) => `${csvField(k)},`).join("");
    if (this.format === null) {
      let s = "";
      for (let r = 0; r < rows; r++) {
        s += `${head}${t0 + r}`;
        for (let c = 0; c < this.cols; c++) s += `,${num(values[r * this.cols + c])}`;
        s += "\n";
      }
      return s;
    }
    if (head !== this.keyText) { this.keyText = head; this.prefix = Buffer.from(head, "utf8"); }
    for (;;) {
      const end = this.format(values, rows, this.cols, this.prefix, t0, this.buf, 0);
      if (end >= 0) return this.buf.toString("utf8", 0, end);
      this.buf = Buffer.alloc(this.buf.length * 2);
    }
  }
}
