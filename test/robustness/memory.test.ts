/**
 * Resource bounds. `rnn predict` streams: a million rows generated on the fly into its stdin
 * (nothing large is written to disk) run in bounded memory, measured as the child's peak RSS
 * (GNU time's %M, or /proc VmHWM polling where /usr/bin/time is missing). CSV loading for
 * eval holds the data (train and eval need it whole) but stays proportionate. A config that
 * would need absurd memory is refused before allocating, with the figure it would need.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanUp, cli, trainedSetup, type Setup } from "./util.js";

const ROWS = 1_000_000;
/** The bound for predict's peak RSS (Node itself is ~60 MB). */
const PREDICT_LIMIT_MB = 200;

/**
 * Writes `rows` CSV rows (`id,x,y`) into a child's stdin, `perSequence` rows per id, with
 * backpressure; y is empty, or 0.5·x with `targets`.
 */
function rowsInto(rows: number, perSequence: number, targets = false) {
  return async (stdin: NodeJS.WritableStream): Promise<void> => {
    const write = (s: string): Promise<void> => new Promise((res, rej) => {
      if (stdin.write(s)) { res(); return; }
      const onError = (e: Error): void => { stdin.off("drain", onDrain); rej(e); };
      const onDrain = (): void => { stdin.off("error", onError); res(); };
      stdin.once("drain", onDrain);
      stdin.once("error", onError);
    });
    await write("id,x,y\n");
    const CHUNK = 5000;
    for (let r0 = 0; r0 < rows; r0 += CHUNK) {
      let text = "";
      for (let r = r0; r < Math.min(rows, r0 + CHUNK); r++) {
        const x = ((r * 7919) % 2000) / 1000 - 1;
        text += `s${Math.floor(r / perSequence)},${x},${targets ? x / 2 : ""}\n`;
      }
      await write(text);
    }
    stdin.end();
  };
}

const mb = (kb: number | null): number => (kb ?? NaN) / 1024;

describe("bounded memory", () => {
  let setup: Setup;
  beforeAll(async () => { setup = await trainedSetup(); }, 60_000);
  afterAll(() => cleanUp(setup?.dir));

  const predictRun = async (rows: number, per: number, last = false, nodeFlags: readonly string[] = []) => {
    const r = await cli(["predict", setup.ckpt, ...(last ? ["--last"] : [])], {
      cwd: setup.dir, input: rowsInto(rows, per), measure: true, timeoutMs: 60_000, maxStdout: 200, nodeFlags,
    });
    expect(r.timedOut).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdoutLines, "a header and one line per row (per sequence with --last)").toBe((last ? Math.ceil(rows / per) : rows) + 1);
    expect(r.peakKb, "peak RSS measured").not.toBeNull();
    console.info(`predict, ${rows} rows in sequences of ${per}${last ? " --last" : ""}: peak RSS ${mb(r.peakKb).toFixed(1)} MB, ${(r.ms / 1000).toFixed(1)} s`);
    return mb(r.peakKb);
  };

  it(`predict streams ${ROWS} rows of one sequence from stdin in under ${PREDICT_LIMIT_MB} MB, and 5× the rows take no more memory`, async () => {
    // The GC's concurrent marking runs on helper threads, which a loaded machine starves, letting
    // the heap (and the peak RSS) grow with the run's length though nothing is retained; marking on
    // the main thread makes the growth a measure of what predict keeps.
    const gc = ["--single-threaded-gc"];
    const small = await predictRun(ROWS / 5, ROWS / 5, false, gc);
    const big = await predictRun(ROWS, ROWS, false, gc);
    expect(big).toBeLessThan(PREDICT_LIMIT_MB);
    expect(big - small, "peak RSS growth from 200 000 to 1 000 000 rows (MB)").toBeLessThan(40);
  }, 90_000);

  it(`predict streams rows in sequences of 1 000 steps in under ${PREDICT_LIMIT_MB} MB`, async () => {
    expect(await predictRun(ROWS / 2, 1000)).toBeLessThan(PREDICT_LIMIT_MB);
  }, 90_000);

  // Fails today: src/commands/predict.ts flushes its output buffer (`emit`) only when a 256-step
  // chunk fills, so with sequences shorter than 256 steps every output line is held in memory
  // until the input ends (434 MB for these 10^6 rows, and nothing reaches stdout before EOF).
  // Fix: `await emit()` after each endSequence() too (emit already waits for 64 KiB). Enable then.
  it(`predict streams ${ROWS} rows in 10 000 sequences of 100 steps in under ${PREDICT_LIMIT_MB} MB`, async () => {
    expect(await predictRun(ROWS, 100)).toBeLessThan(PREDICT_LIMIT_MB);
    expect(await predictRun(ROWS, 100, true)).toBeLessThan(PREDICT_LIMIT_MB);
  }, 90_000);

  // The reappearing-id check keeps every id seen (about 150 MB per 10^6 distinct ids, README
  // "Guarantees"): memory grows with the number of sequences, not with rows.
  it(`predict on ${ROWS} one-row sequences stays under ${PREDICT_LIMIT_MB + 150} MB`, async () => {
    expect(await predictRun(ROWS, 1)).toBeLessThan(PREDICT_LIMIT_MB + 150);
  }, 90_000);

  it(`eval holds ${ROWS} rows from stdin in proportionate memory`, async () => {
    const r = await cli(["eval", setup.ckpt, "--data", "-", "--json"], { cwd: setup.dir, input: rowsInto(ROWS, 1000, true), measure: true, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { n: number }).n).toBe(ROWS);
    console.info(`eval, ${ROWS} rows held in memory: peak RSS ${mb(r.peakKb).toFixed(1)} MB, ${(r.ms / 1000).toFixed(1)} s`);
    expect(mb(r.peakKb)).toBeLessThan(400);
  }, 90_000);

  it("a config that would need terabytes (hiddenSize 65536, 64 layers) is refused before allocating, with the figure", async () => {
    writeFileSync(path.join(setup.dir, "huge.yaml"), "data: { train: d.csv, sequenceColumn: id, inputs: [x], targets: [y] }\nmodel: { hiddenSize: 65536, layers: 64 }\n");
    const r = await cli(["train", "huge.yaml"], { cwd: setup.dir, measure: true, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^rnn: huge\.yaml: model\.hiddenSize: .*would need [\d.]+ TiB/);
    expect(mb(r.peakKb)).toBeLessThan(150);
  });
});
