/**
 * The run directory and resume safety (issue 13). Each block is an attack that used to lose a
 * run's result or train on garbage, and what rnn must do instead: a run directory is locked
 * while a run writes it; --seed is held to the checkpoint's bound; normalisation statistics are
 * finite or refused; --resume refuses a config that changes what the saved run depends on;
 * --force and the temp sweep remove only rnn's own files.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { computeNormalization } from "../../src/data/dataset.js";
import { InputError } from "../../src/errors.js";
import { decodeSafetensors } from "../../src/io/safetensors.js";
import { BIN } from "../helpers/cli.js";
import { cleanUp, cli, expectRejected, sequenceCsv, smallConfig, tempDir } from "./util.js";

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
const meta = (file: string): Record<string, string> => ({ ...decodeSafetensors(readFileSync(file), file).metadata });
const dataRows = (file: string): number => readFileSync(file, "utf8").trim().split("\n").length - 1;
/** Model tensors of a checkpoint as hex, by name. */
const tensors = (file: string): Record<string, string> => Object.fromEntries([...decodeSafetensors(readFileSync(file), file).tensors]
  .map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")]));

/** Waits (up to 30 s) until `ok()` holds. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) { if (ok()) return; await sleep(20); }
  throw new Error(`timed out waiting for ${what}`);
}

describe("one run at a time in a run directory", () => {
  const dir = tempDir("rnn-lock-");
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(200, 30));
  writeFileSync(path.join(dir, "long.yaml"), smallConfig({ epochs: 500, hidden: 32 }));
  afterAll(() => cleanUp(dir));
  const run = path.join(dir, "run"), last = path.join(run, "last.safetensors"), lock = path.join(run, "rnn.lock");

  it("a second train or a --resume while a run writes the directory is refused, naming the holder; a SIGKILLed run's lock is taken over", async () => {
    const a: ChildProcess = spawn(process.execPath, [BIN, "train", "long.yaml", "--quiet"], { cwd: dir, stdio: "ignore" });
    const ended = new Promise<NodeJS.Signals | null>((res) => a.on("close", (_c, sig) => res(sig)));
    try {
      await until(() => existsSync(last), "the first checkpoint");
      expect(JSON.parse(readFileSync(lock, "utf8"))).toMatchObject({ pid: a.pid, host: hostname() });
      const t0 = performance.now();
      const second = await cli(["train", "long.yaml", "--force"], { cwd: dir });
      const resume = await cli(["train", "long.yaml", "--resume", last], { cwd: dir });
      const ms = performance.now() - t0;
      for (const r of [second, resume]) expectRejected(r, { file: run, where: `in use by rnn process ${a.pid}` });
      console.info(`lock: second train and --resume refused in ${Math.round(ms)} ms together, while pid ${a.pid} trains`);
    } finally {
      a.kill("SIGKILL");
    }
    expect(await ended).toBe("SIGKILL");
    expect(existsSync(lock), "SIGKILL leaves the lock behind").toBe(true);
    // Taken over: the run continues (to one epoch past the checkpoint: epochs may change on resume).
    const e = Number(meta(last).epoch);
    writeFileSync(path.join(dir, "short.yaml"), smallConfig({ epochs: e + 1, hidden: 32 }));
    const r = await cli(["train", "short.yaml", "--resume", last, "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(dataRows(path.join(run, "epochs.csv")), "one row per epoch, none twice").toBe(e + 1);
    expect(existsSync(lock), "released at exit").toBe(false);
  }, 120_000);

  it("a lock from another host is not taken over; an unreadable one is refused; one whose pid was reused is taken over", async () => {
    const other = path.join(dir, "other");
    mkdirSync(other);
    const at = path.join(other, "rnn.lock");
    writeFileSync(at, JSON.stringify({ pid: 1, host: "elsewhere.example", started: "2026-01-01T00:00:00.000Z", procStart: null }));
    expectRejected(await cli(["train", "long.yaml", "--out", "other"], { cwd: dir }), { file: other, where: `in use by rnn process 1 on host elsewhere.example since 2026-01-01T00:00:00.000Z (rnn.lock); wait for it to end, or remove ${at} if that run is gone` });
    writeFileSync(at, "garbage");
    expectRejected(await cli(["train", "long.yaml", "--out", "other"], { cwd: dir }), { file: at, where: "lock file rnn cannot read" });
    // This test process is alive, but it is not the process that took the lock (another start time).
    writeFileSync(at, JSON.stringify({ pid: process.pid, host: hostname(), started: "2026-01-01T00:00:00.000Z", procStart: "1" }));
    writeFileSync(path.join(dir, "two.yaml"), smallConfig({ epochs: 1, hidden: 8 }));
    const r = await cli(["train", "two.yaml", "--out", "other", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(at)).toBe(false);
  }, 60_000);
});

describe("--seed", () => {
  const dir = tempDir("rnn-seed-");
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(30, 12));
  writeFileSync(path.join(dir, "c.yaml"), smallConfig({ epochs: 1 }));
  afterAll(() => cleanUp(dir));

  it("is held to the config's bound, so every seed it accepts gives a checkpoint that loads, and distinct seeds distinct runs", async () => {
    for (const s of ["4294967296", "99999999999999999999"]) {
      expectRejected(await cli(["train", "c.yaml", "--seed", s, "--out", "big"], { cwd: dir }), { file: "--seed", where: "must be ≤ 4294967295" });
    }
    expect(existsSync(path.join(dir, "big")), "nothing written").toBe(false);
    const runs = ["0", "4294967295", "2147483648"];
    for (const s of runs) {
      const r = await cli(["train", "c.yaml", "--seed", s, "--out", `s${s}`, "--quiet"], { cwd: dir, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      const ck = path.join(dir, `s${s}`, "last.safetensors");
      expect(meta(ck).config).toContain(`"seed":${s}`);
      const ev = await cli(["eval", ck, "--json"], { cwd: dir });
      expect(ev.code, ev.stderr).toBe(0);
    }
    const weights = runs.map((s) => JSON.stringify(tensors(path.join(dir, `s${s}`, "last.safetensors"))));
    expect(new Set(weights).size).toBe(runs.length);
  }, 60_000);
});

describe("normalisation of large values", () => {
  const dir = tempDir("rnn-norm-");
  afterAll(() => cleanUp(dir));
  const base = sequenceCsv(60, 12).trim().split("\n");
  /** The data with x multiplied by `k` (as text: 1e200 × x), y as it was. */
  const scaled = (k: string): string => [base[0], ...base.slice(1).map((l) => {
    const [id, x, y] = l.split(",");
    return `${id},${Number(x) === 0 ? "0" : `${x}e${k}`},${y}`;
  })].join("\n") + "\n";

  it("a column around 1e200 trains as the same column unscaled does; statistics are finite and every command reads the checkpoint", async () => {
    writeFileSync(path.join(dir, "d.csv"), sequenceCsv(60, 12));
    writeFileSync(path.join(dir, "big.csv"), scaled("200"));
    writeFileSync(path.join(dir, "c.yaml"), smallConfig({ epochs: 3, out: "plain" }));
    writeFileSync(path.join(dir, "big.yaml"), smallConfig({ epochs: 3, out: "big" }).replace("train: d.csv", "train: big.csv"));
    for (const c of ["c.yaml", "big.yaml"]) {
      const r = await cli(["train", c, "--quiet"], { cwd: dir, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
    }
    const ck = path.join(dir, "big/last.safetensors");
    const norm = JSON.parse(meta(ck).normalization) as Record<string, { mean: number; std: number }>;
    const plain = JSON.parse(meta(path.join(dir, "plain/last.safetensors")).normalization) as typeof norm;
    expect(norm.x.std / 1e200 / plain.x.std).toBeCloseTo(1, 12);
    // The input carries the same signal: the losses agree with the unscaled run's to float32 rounding.
    const loss = (run: string): number[] => readFileSync(path.join(dir, run, "epochs.csv"), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[2]));
    const [a, b] = [loss("big"), loss("plain")];
    const rel = Math.max(...a.map((v, i) => Math.abs(v - b[i]) / b[i]));
    console.info(`x × 1e200: val_loss per epoch ${a.join(", ")}; unscaled ${b.join(", ")}; largest relative difference ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-4);
    for (const args of [["eval", ck, "--json"], ["predict", ck, "--data", "big.csv", "--last"]]) {
      const r = await cli(args, { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/NaN|Infinity/);
    }
    writeFileSync(path.join(dir, "more.yaml"), smallConfig({ epochs: 4, out: "big" }).replace("train: d.csv", "train: big.csv"));
    const resumed = await cli(["train", "more.yaml", "--resume", ck, "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
  }, 90_000);

  it("values near the largest double still give finite statistics and inputs", async () => {
    writeFileSync(path.join(dir, "huge.csv"), scaled("308"));
    writeFileSync(path.join(dir, "huge.yaml"), smallConfig({ epochs: 1, out: "huge" }).replace("train: d.csv", "train: huge.csv"));
    const r = await cli(["train", "huge.yaml", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const ev = await cli(["eval", path.join(dir, "huge/last.safetensors"), "--json"], { cwd: dir });
    expect(ev.code, ev.stderr).toBe(0);
  }, 60_000);

  it("statistics that are not finite are refused, naming the file and the column", () => {
    const raw = { id: "a", line: 2, length: 2, x: new Float64Array([Infinity, 1]), y: new Float64Array([0, 1]), labels: null };
    const plan = { inputs: ["x"], targets: ["y"], task: "regression", targetsAt: "every", shift: 0, scaleTargets: true, counts: null } as const;
    expect(() => computeNormalization([raw], plan, "d.csv")).toThrow(InputError);
    expect(() => computeNormalization([raw], plan, "d.csv")).toThrow(/^d\.csv: column "x": normalisation statistics overflow/);
  });
});

describe("--resume with a changed config", () => {
  const dir = tempDir("rnn-resume-");
  afterAll(() => cleanUp(dir));
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(40, 12));
  const cfg = smallConfig({ epochs: 2 });
  writeFileSync(path.join(dir, "c.yaml"), cfg);
  const ck = "run/last.safetensors";

  it("refuses every change the position, carried state, normalisation or classes depend on, naming the checkpoint, key and values", async () => {
    const r0 = await cli(["train", "c.yaml", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r0.code, r0.stderr).toBe(0);
    copyFileSync(path.join(dir, "d.csv"), path.join(dir, "copy.csv"));
    writeFileSync(path.join(dir, "other.csv"), "id,a,b\n" + sequenceCsv(40, 12).trim().split("\n").slice(1).join("\n") + "\n");
    const cases: [string, string, string][] = [
      ["batchSize: 8", "batchSize: 4", "training.batchSize 8, the config says 4"],
      ["truncate: 10, stride: 5", "truncate: 8, stride: 5", "training.bptt.truncate 10, the config says 8"],
      ["truncate: 10, stride: 5", "truncate: 10, stride: 4", "training.bptt.stride 5, the config says 4"],
      ["normalize: true }", "normalize: true, shift: 1 }", "data.shift 0, the config says 1"],
      ["validationSplit: 0.1", "validationSplit: 0.2", "data.validationSplit 0.1, the config says 0.2"],
      ["normalize: true", "normalize: false", "data.normalize true, the config says false"],
      ["batchSize: 8", "batchSize: 8\n  shuffle: false", "training.shuffle true, the config says false"],
      ["sequenceColumn: id, ", "", "data.sequenceColumn \"id\", the config says null"],
      ["inputs: [x], targets: [y]", "inputs: [y], targets: [x]", "data.inputs [\"x\"], the config says [\"y\"]"],
      ["train: d.csv", "train: copy.csv", `data.train "${path.join(dir, "d.csv")}", the config says "${path.join(dir, "copy.csv")}"`],
      ["train: d.csv", "train: other.csv", "data.train"],
      ["dtype: float32", "dtype: float64", "training.dtype \"float32\", the config says \"float64\""],
      ["name: adam, lr: 0.01", "name: sgd, lr: 0.01", "training.optimizer.name \"adam\", the config says \"sgd\""],
      ["hiddenSize: 6", "hiddenSize: 7", "model.hiddenSize 6, the config says 7"],
    ];
    const t0 = performance.now();
    const results = await Promise.all(cases.map(async ([from, to], i) => {
      expect(cfg).toContain(from);
      writeFileSync(path.join(dir, `k${i}.yaml`), cfg.replace(from, to));
      return cli(["train", `k${i}.yaml`, "--resume", ck], { cwd: dir });
    }));
    results.forEach((r, i) => expectRejected(r, { file: ck, where: `was trained with ${cases[i][2]}` }));
    expect(results[0].stderr).toContain("--resume may change only training.epochs, training.optimizer.lr, training.clip, model.init, output.dir, output.tensorboard");
    expectRejected(await cli(["train", "c.yaml", "--resume", ck, "--seed", "4"], { cwd: dir }), { file: ck, where: "was trained with seed 3, the config says 4" });
    console.info(`resume: ${cases.length + 1} changed keys refused in ${Math.round(performance.now() - t0)} ms`);
    expect(dataRows(path.join(dir, "run/epochs.csv")), "the refused runs wrote nothing").toBe(2);
  }, 60_000);

  it("allows epochs, lr, clip and the output directory to change", async () => {
    writeFileSync(path.join(dir, "more.yaml"), cfg.replace("epochs: 2", "epochs: 3").replace("lr: 0.01", "lr: 0.005").replace("norm: 1.0", "norm: 2.0"));
    const r = await cli(["train", "more.yaml", "--resume", ck, "--out", "moved", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(meta(path.join(dir, "moved/last.safetensors")).epoch).toBe("3");
  }, 60_000);
});

describe("--force and the temp sweep touch only rnn's files", () => {
  const dir = tempDir("rnn-force-");
  afterAll(() => cleanUp(dir));
  writeFileSync(path.join(dir, "d.csv"), sequenceCsv(30, 12));
  writeFileSync(path.join(dir, "c.yaml"), smallConfig({ epochs: 1 }));
  const run = path.join(dir, "run");

  it("without --force, another run's logs or plots are refused, naming the file; --force removes rnn's files and keeps the rest", async () => {
    mkdirSync(run);
    writeFileSync(path.join(run, "epochs.csv"), "epoch,train_loss,val_loss,seconds\n1,0.5,0.4,1\n");
    expectRejected(await cli(["train", "c.yaml"], { cwd: dir }), { file: path.join(run, "epochs.csv"), where: "holds another run's epochs.csv; pass --force" });
    writeFileSync(path.join(run, "epochs.csv"), "epoch,train_loss,val_loss,seconds\n"); // a header alone holds nothing
    writeFileSync(path.join(run, "loss.svg"), "<svg/>");
    expectRejected(await cli(["train", "c.yaml"], { cwd: dir }), { file: path.join(run, "loss.svg"), where: "holds another run's loss.svg" });
    const foreign = ["notes.txt", ".x.tmp-999999999-abc", ".data.csv.tmp-999999999-kz1", "model.safetensors"];
    for (const f of foreign) writeFileSync(path.join(run, f), "not rnn's");
    const ours = [".last.safetensors.tmp-999999999-abc", ".epochs.csv.tmp-999999999-k0", ".rnn.lock.tmp-999999999-q"];
    for (const f of ours) writeFileSync(path.join(run, f), "half a file");
    writeFileSync(path.join(run, "grad-norm.svg"), "<svg/>");
    const r = await cli(["train", "c.yaml", "--force", "--quiet"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const left = readdirSync(run).sort();
    expect(left).toEqual([...foreign, "best.safetensors", "epochs.csv", "grad-norm.svg", "last.safetensors", "loss.svg", "updates.csv"].sort());
    for (const f of foreign) expect(readFileSync(path.join(run, f), "utf8")).toBe("not rnn's");
    expect(readFileSync(path.join(run, "loss.svg"), "utf8")).not.toBe("<svg/>");
  }, 60_000);
});
