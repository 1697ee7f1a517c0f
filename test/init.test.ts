import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig, type ResolvedConfig } from "../src/config/load.js";
import { BIN, rnn, tempDir } from "./helpers/cli.js";

/**
 * `rnn init <data.csv>`: the starter config it prints for each kind of CSV validates with the
 * project's own schema, holds the guesses its comments explain, and `rnn train` runs it as is.
 */

/** Rows of a CSV from a header and a row function. */
function csv(header: string, n: number, row: (i: number) => (string | number)[]): string {
  return [header, ...Array.from({ length: n }, (_, i) => row(i).join(","))].join("\n") + "\n";
}

/** Sequences `s0`, `s1`, … of `steps` rows each; `row(s, t)` gives the other cells. */
function sequences(header: string, count: number, steps: number, row: (s: number, t: number) => (string | number)[]): string {
  return csv(header, count * steps, (i) => {
    const s = Math.floor(i / steps), t = i % steps;
    return [`s${s}`, ...row(s, t)];
  });
}

const f = (x: number): string => x.toFixed(4);

/** Runs `rnn init` in `dir` with stdout piped, saves what it prints as config.yaml there, and loads that. */
async function init(dir: string, args: string[]): Promise<{ text: string; cfg: ResolvedConfig; stderr: string }> {
  const r = rnn(["init", ...args], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  writeFileSync(path.join(dir, "config.yaml"), r.stdout);
  return { text: r.stdout, cfg: await loadConfig(path.join(dir, "config.yaml")), stderr: r.stderr };
}

/** `rnn train` of the saved config, one epoch; returns the run directory. */
function trainOneEpoch(dir: string, cfg: ResolvedConfig, config = "config.yaml"): string {
  const r = rnn(["train", config, "--set", "training.epochs=1", "--quiet"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  expect(existsSync(path.join(cfg.output.dir, "last.safetensors"))).toBe(true);
  return cfg.output.dir;
}

/** Every key line carries a comment (as configs/sine.yaml); section headers and comment lines aside. */
function expectEveryKeyCommented(text: string): void {
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("#") || /^[a-z]+:$/.test(line)) continue;
    expect(line, line).toMatch(/^ {0,2}[A-Za-z]+: .* # \S/);
  }
}

/** The comment on a key's line. */
function note(text: string, key: string): string {
  const line = text.split("\n").find((l) => l.trimStart().startsWith(`${key}:`));
  return line?.slice(line.indexOf(" # ") + 3) ?? "";
}

describe("rnn init", () => {
  it("regression with a sequence column: ids guessed, a time index left out, few sequences → 0.2 held out", async () => {
    const dir = tempDir("rnn-init-");
    writeFileSync(path.join(dir, "d.csv"), sequences("series,t,x1,x2,y", 30, 12,
      (s, t) => [t, f(Math.sin(0.4 * t + s)), f(Math.cos(0.3 * t)), f(Math.sin(0.4 * t + s) * 0.5 + 0.1 * t)]));
    const { text, cfg, stderr } = await init(dir, ["d.csv"]);
    expectEveryKeyCommented(text);
    expect(cfg.data).toMatchObject({
      train: path.join(dir, "d.csv"), sequenceColumn: "series", inputs: ["x1", "x2"], targets: ["y"],
      shift: 0, normalize: true, validationSplit: 0.2, validation: null,
    });
    expect(cfg.task).toBe("regression");
    expect(cfg.targetsAt).toBe("every");
    expect(cfg.training).toMatchObject({
      earlyStopping: { patience: 5, minDelta: 0 }, schedule: { name: "plateau" }, bptt: null, shuffle: true,
      optimizer: { name: "adamw" },
    });
    expect(cfg.output.dir).toBe(path.join(dir, "runs/d"));
    expect(note(text, "inputs")).toContain('"t" (a time index)');
    expect(note(text, "sequenceColumn")).toMatch(/^guessed: the first column, 30 ids in contiguous runs of 12 rows/);
    expect(note(text, "validationSplit")).toContain("round(0.2 × 30) = 6 sequences");
    expect(text).toMatch(/^# Paths are relative to this file's folder, and were written for a file saved in the folder$/m);
    expect(stderr).toContain('regression of "y" from 2 inputs; 30 sequences by "series"');
    trainOneEpoch(dir, cfg);
  });

  it("classification with string labels, one per sequence: targetsAt last", async () => {
    const dir = tempDir("rnn-init-");
    const labels = ["up", "down", "flat"];
    writeFileSync(path.join(dir, "d.csv"), sequences("id,a,b,shape", 40, 10, (s, t) => {
      const slope = [1, -1, 0][s % 3];
      return [f(slope * 0.1 * t + 0.01 * s), f(Math.cos(t + s)), labels[s % 3]];
    }));
    const { text, cfg } = await init(dir, ["d.csv"]);
    expect(cfg.task).toBe("classification");
    expect(cfg.targetsAt).toBe("last");
    expect(cfg.data).toMatchObject({ sequenceColumn: "id", inputs: ["a", "b"], targets: ["shape"] });
    expect(note(text, "task")).toBe('guessed: "shape" holds text labels: 3 classes: "down", "flat", "up"');
    trainOneEpoch(dir, cfg);
  });

  it("a few distinct whole numbers are labels; --task regression overrides", async () => {
    const dir = tempDir("rnn-init-");
    writeFileSync(path.join(dir, "d.csv"), csv("x,z,label", 300, (i) => [f(Math.sin(i)), f(Math.cos(i / 7)), i % 3]));
    const guessed = await init(dir, ["d.csv"]);
    expect(guessed.cfg.task).toBe("classification");
    expect(guessed.cfg.data.sequenceColumn).toBeNull();
    expect(note(guessed.text, "task")).toContain("holds only 3 whole numbers, taken for labels");
    const given = await init(dir, ["d.csv", "--task", "regression"]);
    expect(given.cfg.task).toBe("regression");
    expect(note(given.text, "task")).toBe("regression (--task)");
  });

  it("missing-value texts (NA, NaN, empty) go into data.missing, inputs filled forward", async () => {
    const dir = tempDir("rnn-init-");
    writeFileSync(path.join(dir, "d.csv"), sequences("unit,p,q,y", 24, 15, (s, t) => {
      const k = s * 15 + t;
      return [k % 17 === 3 ? "NA" : f(Math.sin(0.2 * k)), k % 23 === 5 ? "NaN" : f(Math.cos(0.1 * k)), k % 19 === 7 ? "" : f(Math.sin(0.2 * k + 1))];
    }));
    const { text, cfg } = await init(dir, ["d.csv"]);
    expect(cfg.data.missing).toEqual({ values: ["", "NA", "NaN"], inputs: "ffill" });
    expect(note(text, "missing")).toMatch(/^seen in its 360 rows: "NA" ×\d+ \("p"\), "NaN" ×\d+ \("q"\), "" ×\d+ \("y"\)/);
    trainOneEpoch(dir, cfg);
  });

  it("--task forecast: the target is its own input with shift 1, and rnn forecast rolls it forward", async () => {
    const dir = tempDir("rnn-init-");
    writeFileSync(path.join(dir, "s.csv"), csv("t,x", 600, (i) => [i, f(Math.sin((2 * Math.PI * i) / 50))]));
    const refused = rnn(["init", "s.csv"], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('rnn: s.csv: no numeric input column besides the target "x" (left out: "t" (a time index)); --task forecast predicts it from its own past\n');
    const { cfg, text } = await init(dir, ["s.csv", "--task", "forecast"]);
    expect(cfg.data).toMatchObject({ sequenceColumn: null, inputs: ["x"], targets: ["x"], shift: 1, validationSplit: 0.1 });
    expect(cfg.training).toMatchObject({ shuffle: false, batchSize: 2, bptt: { truncate: 50, stride: 50 } });
    expect(note(text, "batchSize")).toBe("2 streams of ⌊540/2⌋ = 270 steps side by side (one per 200 rows, at most 32)");
    const run = trainOneEpoch(dir, cfg);
    const r = rnn(["forecast", path.join(run, "last.safetensors"), "--horizon", "3", "--data", "s.csv"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(4);
  });

  it("--sequence, --no-sequence and --target choose; a row id is no sequence and no input", async () => {
    const dir = tempDir("rnn-init-");
    writeFileSync(path.join(dir, "d.csv"), csv("id,g,a,b,c", 200, (i) => [i, `g${Math.floor(i / 20)}`, f(Math.sin(i)), f(Math.cos(i)), f(Math.sin(i / 3))]));
    const plain = await init(dir, ["d.csv"]);
    expect(plain.cfg.data).toMatchObject({ sequenceColumn: null, inputs: ["a", "b"], targets: ["c"] });
    expect(note(plain.text, "inputs")).toBe('the other numeric columns; left out: "id" (a row index), "g" (text)');
    const given = await init(dir, ["d.csv", "--sequence", "g", "--target", "a", "--target", "c"]);
    expect(given.cfg.data).toMatchObject({ sequenceColumn: "g", inputs: ["b"], targets: ["a", "c"] });
    expect(note(given.text, "targets")).toBe("given (--target)");
    trainOneEpoch(dir, given.cfg);
    writeFileSync(path.join(dir, "e.csv"), sequences("series,a,b", 5, 10, (s, t) => [f(Math.sin(s + t)), f(Math.cos(s * t))]));
    expect((await init(dir, ["e.csv"])).cfg.data.sequenceColumn).toBe("series");
    expect((await init(dir, ["e.csv", "--no-sequence"])).cfg.data.sequenceColumn).toBeNull();
  });

  it("--out writes the file with paths relative to its folder; refuses to overwrite without --force", async () => {
    const dir = tempDir("rnn-init-");
    mkdirSync(path.join(dir, "data"));
    writeFileSync(path.join(dir, "data/d.csv"), sequences("id,x,y", 20, 8, (s, t) => [f(Math.sin(s + t)), f(Math.cos(s + t))]));
    const r = rnn(["init", "data/d.csv", "--out", "configs/d.yaml"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("wrote configs/d.yaml");
    const text = readFileSync(path.join(dir, "configs/d.yaml"), "utf8");
    const raw = parse(text) as { data: { train: string }; output: { dir: string } };
    expect(raw.data.train).toBe("../data/d.csv");
    expect(raw.output.dir).toBe("runs/d");
    expect(text).toMatch(/^# Paths are relative to this file's folder\.$/m);
    const cfg = await loadConfig(path.join(dir, "configs/d.yaml"));
    expect(cfg.output.dir).toBe(path.join(dir, "configs/runs/d"));

    const again = rnn(["init", "data/d.csv", "--out", "configs/d.yaml"], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toBe("rnn: configs/d.yaml: already exists; pass --force to replace it\n");
    expect(rnn(["init", "data/d.csv", "--out", "configs/d.yaml", "--force", "--task", "forecast"], { cwd: dir }).code).toBe(0);
    expect((await loadConfig(path.join(dir, "configs/d.yaml"))).data.shift).toBe(1);
    trainOneEpoch(path.join(dir, "data"), cfg, "../configs/d.yaml"); // from another folder
  });

  it("stdout redirected to a file (a shell's >): paths relative to that file's folder", async () => {
    const dir = tempDir("rnn-init-");
    mkdirSync(path.join(dir, "configs"));
    writeFileSync(path.join(dir, "d.csv"), sequences("id,x,y", 20, 8, (s, t) => [f(Math.sin(s + t)), f(Math.cos(s + t))]));
    const fd = openSync(path.join(dir, "configs/mine.yaml"), "w");
    const r = spawnSync(process.execPath, [BIN, "init", "d.csv"], { cwd: dir, stdio: ["ignore", fd, "pipe"], encoding: "utf8" });
    closeSync(fd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("train it: rnn train configs/mine.yaml");
    const raw = parse(readFileSync(path.join(dir, "configs/mine.yaml"), "utf8")) as { data: { train: string }; output: { dir: string } };
    expect(raw.data).toMatchObject({ train: "../d.csv" });
    expect(raw.output.dir).toBe("runs/mine");
  });

  it("reads only the first rows of a long file and estimates the rest", async () => {
    const dir = tempDir("rnn-init-");
    writeFileSync(path.join(dir, "big.csv"), csv("a,b,y", 120_000, (i) => [f(Math.sin(i / 10)), f(Math.cos(i / 7)), f(Math.sin(i / 10 + 1))]));
    const { text } = await init(dir, ["big.csv"]);
    const m = /first 50000 rows \(of about (\d+)\)/.exec(text);
    expect(m, text.split("\n")[0]).not.toBeNull();
    expect(Math.abs(Number(m?.[1]) - 120_000)).toBeLessThan(6_000);
    expect(note(text, "hiddenSize")).toMatch(/^from about \d+ rows/);
  });

  const errors: [string, string[], string, RegExp][] = [
    ["a missing file", ["nope.csv"], "", /^rnn: nope\.csv: no such file\n$/],
    ["no numeric column", ["t.csv"], "name,kind\nab,x\ncd,y\n", /^rnn: t\.csv: no numeric column in its 2 rows \(the header has "name", "kind"\)/],
    ["--target not in the header", ["d.csv", "--target", "zz"], "a,b\n1,2\n3,4\n", /^rnn: d\.csv: line 1: missing target column "zz" \(the header has "a", "b"\)\n$/],
    ["--sequence not in the header", ["d.csv", "--sequence", "id"], "a,b\n1,2\n3,4\n", /^rnn: d\.csv: line 1: missing sequence column "id"/],
    ["regression of a text column", ["d.csv", "--task", "regression"], "a,b\n1,x\n3,y\n", /^rnn: d\.csv: line 2, column "b": "x" is not a number: --task regression needs numeric targets\n$/],
    ["an --out that is no YAML", ["d.csv", "--out", "c.json"], "a,b\n1,2\n3,4\n", /^rnn: c\.json: rnn init writes YAML/],
    ["--force without --out", ["d.csv", "--force"], "a,b\n1,2\n3,4\n", /^rnn: --force goes with --out/],
    ["a ragged row", ["d.csv"], "a,b\n1,2\n3\n", /^rnn: d\.csv: line 3: 1 fields, the header has 2\n$/],
    ["an unknown --task", ["d.csv", "--task", "guess"], "a,b\n1,2\n", /argument 'guess' is invalid/],
  ];
  it.each(errors)("%s: exit 2, one line naming the file or column", (_what, args, content, message) => {
    const dir = tempDir("rnn-init-");
    if (content !== "") writeFileSync(path.join(dir, args[0]), content);
    const r = rnn(["init", ...args], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
