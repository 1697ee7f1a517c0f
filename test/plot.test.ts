import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { Chalk } from "chalk";
import { describe, expect, it } from "vitest";
import { plot, RunPlotter, writeRunPlots } from "../src/commands/plot.js";
import { train } from "../src/commands/train.js";
import { InputError } from "../src/errors.js";
import { decimate, renderSvg, type LinePlot } from "../src/io/plot.js";
import type { Io } from "../src/io/terminal.js";
import { tempDir } from "./helpers/cli.js";

/** An in-process Io whose stderr is collected. */
function testIo(): { io: Io; err: () => string } {
  const stderr = new PassThrough(), stdout = new PassThrough();
  let text = "";
  stderr.on("data", (d: Buffer) => { text += d.toString(); });
  stdout.resume();
  return { io: { stdout, stderr, stdin: new PassThrough(), interactive: false, color: new Chalk({ level: 0 }) }, err: () => text };
}

/**
 * Checks that every element is closed in order (no parser needed for this much): the tags of
 * the document, with self-closing ones and the XML declaration skipped.
 */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:.-]*)(?:[^>"']|"[^"]*"|'[^']*')*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (!close) stack.push(name);
    else if (stack.pop() !== name) return false;
  }
  return stack.length === 0;
}

const line = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => ({ x: i + 1, y: f(i) }));

const lossPlots: LinePlot[] = [
  {
    title: "Loss per epoch", xLabel: "epoch", yLabel: "loss", logY: true, integerX: true,
    series: [{ name: "train_loss", points: line(12, (i) => Math.exp(-i / 4)) }, { name: "val_loss", points: line(12, (i) => 1.1 * Math.exp(-i / 5)) }],
  },
  {
    title: "Loss per update", xLabel: "step", yLabel: "loss per window",
    series: [{ name: "loss", points: line(3000, (i) => 1 + Math.sin(i / 7)) }],
  },
];

describe("renderSvg", () => {
  it("renders stacked plots into one well-formed SVG with titles, axis titles and a legend", async () => {
    const svg = await renderSvg(lossPlots);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(balanced(svg)).toBe(true);
    for (const text of ["Loss per epoch", "Loss per update", "epoch", "step", "loss per window", "train_loss", "val_loss", ">loss<"]) {
      expect(svg).toContain(text);
    }
    expect(svg).not.toContain("NaN");
  });

  it("gives identical bytes for identical input, whatever was rendered before", async () => {
    const a = await renderSvg(lossPlots);
    await renderSvg([{ title: "other", xLabel: "a", yLabel: "b", series: [{ name: "z", points: line(5, (i) => i) }] }]);
    const b = await renderSvg(lossPlots);
    expect(b).toBe(a);
  });

  it("drops zero, negative and non-finite values on a log axis instead of failing", async () => {
    const svg = await renderSvg([{
      title: "norms", xLabel: "step", yLabel: "norm", logY: true,
      series: [{ name: "g", points: [{ x: 1, y: 0 }, { x: 2, y: NaN }, { x: 3, y: 2 }, { x: 4, y: -1 }, { x: 5, y: Infinity }, { x: NaN, y: 3 }, { x: 6, y: 4 }] }],
      rules: [{ y: 1, label: "clip norm 1" }, { y: 0, label: "never drawn" }],
    }]);
    expect(balanced(svg)).toBe(true);
    expect(svg).not.toContain("NaN");
    expect(svg).not.toContain("Infinity");
    expect(svg).toContain("clip norm 1");
    expect(svg).not.toContain("never drawn");
  });

  it("draws empty plots, empty series and single points", async () => {
    const svg = await renderSvg([
      { title: "nothing", xLabel: "x", yLabel: "y", logY: true, series: [{ name: "empty", points: [] }] },
      { title: "no series", xLabel: "x", yLabel: "y", series: [] },
      { title: "all invalid", xLabel: "x", yLabel: "y", logY: true, series: [{ name: "bad", points: [{ x: 1, y: 0 }] }] },
      { title: "one point", xLabel: "x", yLabel: "y", logY: true, series: [{ name: "one", points: [{ x: 3, y: 0.5 }] }, { name: "none", points: [] }] },
      { title: "one dot", xLabel: "x", yLabel: "y", series: [{ name: "dot", mark: "point", points: [{ x: 3, y: 0.5 }] }] },
    ]);
    expect(balanced(svg)).toBe(true);
    expect(svg).not.toContain("NaN");
    expect(svg.match(/no data/g)?.length).toBe(3);
    for (const name of ["empty", "one", "none", "dot"]) expect(svg).toContain(`>${name}<`);
  });
});

describe("renderSvg bands (forecast's fan chart)", () => {
  it("fills each band's area between low and high in the colour of the series it is like", async () => {
    const svg = await renderSvg([{
      title: "fan", xLabel: "t", yLabel: "y",
      series: [{ name: "history", points: [{ x: 0, y: 1 }, { x: 1, y: 2 }] }, { name: "median", points: [{ x: 2, y: 2 }, { x: 3, y: 3 }] }],
      bands: [{ name: "10–90%", like: "median", points: [{ x: 2, low: 1, high: 3 }, { x: 3, low: 2, high: 5 }] }],
    }]);
    const area = /<path aria-label="[^"]*10–90%"[^>]*aria-roledescription="area mark"[^>]*>/.exec(svg)?.[0] ?? "";
    expect(area).not.toBe("");
    const fill = /fill="(#[0-9a-f]{6})"/.exec(area)?.[1];
    // The median's line is drawn in the same colour (the second series: the palette's orange).
    expect(fill).toBe("#f58518");
    expect(svg).toMatch(/aria-roledescription="line mark"[^>]*stroke="#f58518"|stroke="#f58518"[^>]*aria-roledescription="line mark"/);
  });
});

describe("decimate", () => {
  it("keeps the lowest and the highest point of each interval, spikes included, in x order", () => {
    const pts = line(10_000, (i) => (i === 4321 ? 1e6 : i === 777 ? -5 : Math.sin(i)));
    const out = decimate(pts, 100);
    expect(out.length).toBeLessThanOrEqual(200);
    expect(out.some((p) => p.y === 1e6 && p.x === 4322)).toBe(true);
    expect(out.some((p) => p.y === -5)).toBe(true);
    expect(out.every((p, i) => i === 0 || p.x > out[i - 1].x)).toBe(true);
    expect(decimate(line(50, (i) => i), 100)).toEqual(line(50, (i) => i));
  });
});

/** A run directory as `rnn train` leaves it, written by hand. */
function handRun(opts: { epochs?: string | null; updates?: string } = {}): string {
  const dir = path.join(tempDir("rnn-plot-"), "myrun");
  mkdirSync(dir);
  const rows = ["epoch,step,loss,grad_norm,lr"];
  for (let s = 1; s <= 30; s++) rows.push(`${Math.ceil(s / 10)},${s},${1 / s},${s === 7 ? 0 : 2 / Math.sqrt(s)},0.01`);
  writeFileSync(path.join(dir, "updates.csv"), opts.updates ?? rows.join("\n") + "\n");
  const epochs = opts.epochs === undefined ? "epoch,train_loss,val_loss,seconds\n1,0.3,,0.5\n2,0.08,0.09,0.4\n3,0.05,0.07,0.4\n" : opts.epochs;
  if (epochs !== null) writeFileSync(path.join(dir, "epochs.csv"), epochs);
  return dir;
}

describe("writeRunPlots", () => {
  it("writes loss.svg and grad-norm.svg with the clip threshold", async () => {
    const dir = handRun();
    const files = await writeRunPlots(dir, { norm: 0.5 });
    expect(files).toEqual([path.join(dir, "loss.svg"), path.join(dir, "grad-norm.svg")]);
    const loss = readFileSync(files[0], "utf8"), grad = readFileSync(files[1], "utf8");
    for (const svg of [loss, grad]) {
      expect(svg.startsWith("<svg")).toBe(true);
      expect(balanced(svg)).toBe(true);
    }
    for (const text of ["myrun: loss per epoch", "myrun: loss per update", "train_loss", "val_loss"]) expect(loss).toContain(text);
    expect(grad).toContain("clip norm 0.5");
    expect(grad).toContain("grad_norm");
  });

  it("tolerates a missing epochs.csv, no validation, a row being appended, and names the clip mode", async () => {
    const noEpochs = handRun({ epochs: null });
    const [loss, grad] = (await writeRunPlots(noEpochs, { value: 2 })).map((f) => readFileSync(f, "utf8"));
    expect(loss).toContain("no data");
    expect(grad).not.toContain("clip norm");
    expect(grad).toContain("clipped by value");

    const noVal = handRun({ epochs: "epoch,train_loss,val_loss,seconds\n1,0.3,,0.5\n2,0.2,,0.5\n", updates: "epoch,step,loss,grad_norm,lr\n1,1,0.5,1,0.1\n1,2,0.4,0.9,0.1\n1,3,0.3" });
    const [loss2, grad2] = (await writeRunPlots(noVal, null)).map((f) => readFileSync(f, "utf8"));
    expect(loss2).toContain("train_loss");
    expect(loss2).not.toContain("val_loss");
    expect(grad2).toContain("no clipping");
  });

  it("rejects a garbled updates.csv naming the file and the line", async () => {
    const bad = handRun({ updates: "epoch,step,loss,grad_norm,lr\n1,1,0.5,1,0.1\n1,2,oops,1,0.1\n" });
    await expect(writeRunPlots(bad, null)).rejects.toThrow(new InputError(`${path.join(bad, "updates.csv")}: line 3, column "loss": "oops" is not a number`));
    const noCol = handRun({ updates: "epoch,step,loss\n1,1,0.5\n" });
    await expect(writeRunPlots(noCol, null)).rejects.toThrow(/updates\.csv: line 1: missing column "grad_norm"/);
    const ragged = handRun({ updates: "epoch,step,loss,grad_norm,lr\n1,1\n1,2,0.4,1,0.1\n" });
    await expect(writeRunPlots(ragged, null)).rejects.toThrow(/updates\.csv: line 2: 2 fields, the header has 5/);
  });
});

describe("RunPlotter", () => {
  it("writes after an epoch once 10× the last write's time has passed, and at the end if behind", async () => {
    const dir = handRun();
    let clock = 0;
    // Each reading of the clock moves it on by 1 s, so every write takes 1 s.
    const plotter = new RunPlotter(dir, { norm: 1 }, (m) => { throw new Error(m); }, () => clock++);
    expect(await plotter.epochEnd()).toBe(true); // asks at 0, writes 1 → 2, next due at 12
    expect(existsSync(path.join(dir, "grad-norm.svg"))).toBe(true);
    expect(await plotter.epochEnd()).toBe(false); // asks at 3
    clock = 12;
    expect(await plotter.epochEnd()).toBe(true); // asks at 12, writes 13 → 14, next due at 24
    expect(await plotter.finish()).toBe(false); // no epoch skipped since
    expect(await plotter.epochEnd()).toBe(false); // asks at 15
    expect(await plotter.finish()).toBe(true);
  });

  it("warns once and carries on when the plots cannot be written", async () => {
    const warnings: string[] = [];
    const plotter = new RunPlotter(path.join(tempDir("rnn-plot-"), "gone"), null, (m) => warnings.push(m));
    expect(await plotter.epochEnd()).toBe(false);
    expect(await plotter.finish()).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^plots not written: .*gone.*updates\.csv: not found/);
  });
});

describe("rnn plot", () => {
  it("fails with an InputError naming a missing directory or updates.csv", async () => {
    const missing = path.join(tempDir("rnn-plot-"), "nope");
    await expect(plot(missing, testIo().io)).rejects.toThrow(InputError);
    await expect(plot(missing, testIo().io)).rejects.toThrow(missing);
    const empty = tempDir("rnn-plot-");
    await expect(plot(empty, testIo().io)).rejects.toThrow(`${path.join(empty, "updates.csv")}: not found`);
  });

  it("plots a trained run with the clip threshold from its checkpoint", async () => {
    const dir = tempDir("rnn-plot-");
    const rows = ["x,y"];
    for (let t = 0; t < 400; t++) rows.push(`${Math.sin(t / 5).toFixed(5)},${Math.sin((t + 1) / 5).toFixed(5)}`);
    writeFileSync(path.join(dir, "d.csv"), rows.join("\n") + "\n");
    writeFileSync(path.join(dir, "c.yaml"), `data: { train: d.csv, inputs: [x], targets: [y], validationSplit: 0.1 }
model: { hiddenSize: 8 }
training: { epochs: 2, batchSize: 4, bptt: { truncate: 10 }, optimizer: { name: sgd, lr: 0.1 }, clip: { norm: 0.25 } }
output: { dir: run }
`);
    expect(await train(path.join(dir, "c.yaml"), { quiet: true }, testIo().io)).toBe(0);
    const run = path.join(dir, "run");
    const { io, err } = testIo();
    expect(await plot(run, io)).toBe(0);
    expect(err()).toBe(`${path.join(run, "loss.svg")}\n${path.join(run, "grad-norm.svg")}\n`);
    expect(existsSync(path.join(run, "loss.svg"))).toBe(true);
    expect(readFileSync(path.join(run, "grad-norm.svg"), "utf8")).toContain("clip norm 0.25");
  });
});
