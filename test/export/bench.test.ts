import { describe, expect, it } from "vitest";
import { rnn } from "../helpers/cli.js";
import { ort } from "./helpers.js";

/** `rnn bench --predict` measures the engine and onnxruntime side by side (a short run: the shape of the report, not the speed). */
describe("rnn bench --predict", () => {
  it.each(["elman", "lstm"])("%s: rows/s online, stream and batched, for rnn and onnxruntime", (cell) => {
    const r = rnn(["bench", "--predict", "--cell", cell, "--workload", "small", "--seconds", "0.05", "--rounds", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { onnxruntime: string | null; predict: { workload: string; cell: string; rates: Record<string, { rnn: { rowsPerSecond: number }; onnxruntime: { rowsPerSecond: number } | null }> }[] };
    expect(j.predict.map((p) => [p.workload, p.cell])).toEqual([["small", cell]]);
    for (const m of ["online", "stream", "batched"]) {
      const p = j.predict[0].rates[m];
      expect(p.rnn.rowsPerSecond, m).toBeGreaterThan(0);
      if (ort) expect(p.onnxruntime!.rowsPerSecond, m).toBeGreaterThan(0);
      else expect(p.onnxruntime).toBeNull();
    }
    expect(r.stderr).toMatch(/^small +\|/m);
  });
});

/** `rnn bench --head h` trains the workload with a SPEC §10 head (the shape of the report, not the speed). */
describe("rnn bench --head", () => {
  it.each(["gaussian", "studentT", "negativeBinomial", "quantiles"])("%s: steps/s with the head, FLOPs counting its P·O outputs, the ratio to the plain model", (head) => {
    const r = rnn(["bench", "--head", head, "--cell", "gru", "--workload", "small", "--seconds", "0.1", "--rounds", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { results: { head: string; stepsPerSecond: number; gflops: number; plainStepsPerSecond: number;
      plainGflops: number; timeVsPlain: number; perFlopVsPlain: number }[] };
    const x = j.results[0];
    expect(j.results.map((y) => y.head)).toEqual([head]);
    expect(x.stepsPerSecond).toBeGreaterThan(0);
    expect(x.plainStepsPerSecond).toBeGreaterThan(0);
    // One round each: the ratio is exactly the two rounds' times (the plain model has fewer FLOPs).
    expect(x.timeVsPlain).toBeCloseTo(x.plainStepsPerSecond / x.stepsPerSecond, 10);
    expect(x.perFlopVsPlain).toBeCloseTo(x.plainGflops / x.gflops, 10);
    expect(x.perFlopVsPlain).toBeLessThan(x.timeVsPlain);
    expect(r.stderr).toContain(`small   gru   ${head} `);
    expect(r.stderr).toMatch(/time per step ×\d\.\d{3}, per FLOP ×\d\.\d{3} the plain model's/);
  });
  it("without --head: no plain model beside it", () => {
    const r = rnn(["bench", "--cell", "gru", "--workload", "small", "--seconds", "0.1", "--rounds", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const x = (JSON.parse(r.stdout) as { results: Record<string, unknown>[] }).results[0];
    expect(x.head).toBe("mse");
    expect(x.timeVsPlain).toBeUndefined();
  });
  it("refuses a head it does not know (exit 2)", () => {
    const r = rnn(["bench", "--head", "poisson", "--workload", "small"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--head <head>' argument 'poisson' is invalid/);
  });
});
