import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { resolveTrainConfig } from "../src/commands/sweep.js";
import { checkAxes, expandGrid, parseGridArg, setDotted } from "../src/config/grid.js";
import { validateConfig } from "../src/config/load.js";
import { decodeSafetensors } from "../src/io/safetensors.js";
import { rnn, tempDir } from "./helpers/cli.js";
import { sequenceCsv } from "./robustness/util.js";

/** The array-index variables, removed so that a suite run inside a Slurm or Kubernetes job is not steered by its own. */
const NO_INDEX = { SLURM_ARRAY_TASK_ID: undefined, JOB_COMPLETION_INDEX: undefined };

/** A tiny sequence-regression set-up: data/d.csv, and cfg/c.yaml pointing at it from another folder. */
function setUp(): string {
  const dir = tempDir("rnn-sweep-");
  mkdirSync(path.join(dir, "data"));
  mkdirSync(path.join(dir, "cfg"));
  writeFileSync(path.join(dir, "data/d.csv"), sequenceCsv(30, 12));
  writeFileSync(path.join(dir, "cfg/c.yaml"), `seed: 3
data: { train: ../data/d.csv, sequenceColumn: id, inputs: [x], targets: [y], validationSplit: 0.2, normalize: true }
model: { hiddenSize: 4 }
training: { epochs: 2, batchSize: 8, bptt: { truncate: 6 }, optimizer: { name: adam, lr: 0.01 } }
output: { dir: run }
`);
  return dir;
}

interface Manifest {
  config: string;
  grid: { key: string; values: unknown[] }[];
  points: { index: number; file: string; values: Record<string, unknown>; runDir: string }[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;

/** The val_loss column of a run's epochs.csv, as written. */
function valLosses(runDir: string): string[] {
  return readFileSync(path.join(runDir, "epochs.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(",")[2]);
}

describe("grid expansion", () => {
  it("reads values as YAML scalars", () => {
    expect(parseGridArg("k=0.01, 3e-4,true,null,abc,'1'")).toEqual({ key: "k", values: [0.01, 3e-4, true, null, "abc", "1"], texts: ["0.01", "3e-4", "true", "null", "abc", "'1'"] });
    expect(() => parseGridArg("k=null,~")).toThrow("--grid k=~: the same value as null, given before");
    expect(() => parseGridArg("k=[1]")).toThrow("--grid k=[1]: must be a scalar (a number, a string, true, false or null), got a list of 1");
    expect(() => parseGridArg("k=1,,2")).toThrow("--grid k: an empty value (write null for null)");
    expect(() => parseGridArg("model..hiddenSize=1")).toThrow('"model..hiddenSize" is not a dotted key');
    expect(() => parseGridArg("model.hiddenSize")).toThrow("--grid model.hiddenSize: expected <dotted.key>=v1,v2,…");
  });

  it("is the cartesian product in the order given, the last grid varying fastest", () => {
    const axes = [parseGridArg("a=1,2"), parseGridArg("b=x,y,z")];
    const points = expandGrid(axes);
    expect(points.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(points.map((p) => p.settings.map((s) => s.value))).toEqual([[1, "x"], [1, "y"], [1, "z"], [2, "x"], [2, "y"], [2, "z"]]);
    expect(expandGrid([...axes, parseGridArg("c=true,false")])).toHaveLength(12);
    expect(() => checkAxes([])).toThrow("a sweep needs at least one --grid");
    expect(() => checkAxes([parseGridArg("a=1"), parseGridArg("a=2")])).toThrow("--grid a: given twice");
    expect(() => checkAxes([parseGridArg("t.b=1"), parseGridArg("t.b.c=2")])).toThrow("--grid t.b and --grid t.b.c: one key holds the other");
    const ten = parseGridArg("k=0,1,2,3,4,5,6,7,8,9");
    expect(() => checkAxes([ten, { ...ten, key: "l" }, { ...ten, key: "m" }, { ...ten, key: "n" }, parseGridArg("o=1,2")]))
      .toThrow("--grid: 10 × 10 × 10 × 10 × 2 = 20000 points; a sweep may have at most 10000");
  });

  it("sets a dotted key in a copy, making mappings on the way, never a prototype", () => {
    const src = { training: { clip: null, epochs: 2 } };
    expect(setDotted(src, "training.clip.norm", 1)).toEqual({ training: { clip: { norm: 1 }, epochs: 2 } });
    expect(src).toEqual({ training: { clip: null, epochs: 2 } });
    const bad = setDotted({}, "__proto__.polluted", 1);
    expect(Object.keys(bad)).toEqual(["__proto__"]);
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});

describe("rnn sweep", () => {
  const dir = setUp();
  const run = (args: string[], env: Record<string, string | undefined> = {}) => rnn(args, { cwd: dir, env: { ...NO_INDEX, ...env } });
  const folder = path.join(dir, "cfg/c-sweep");
  const grid = ["--grid", "training.optimizer.lr=0.01,0.003", "--grid", "model.hiddenSize=4,6"];
  const expected = [[0.01, 4], [0.01, 6], [0.003, 4], [0.003, 6]];

  it("refuses a bad grid with one line naming the key and value, and writes nothing", () => {
    const cases: [string[], string][] = [
      [["--grid", "model.hiddenSize=4,0"], "rnn: c.yaml: --grid model.hiddenSize=0: model.hiddenSize: must be ≥ 1"],
      [["--grid", "model.hiden=3"], "rnn: c.yaml: --grid model.hiden=3: model.hiden: unknown key"],
      [["--grid", "training.optimizer.lr=0.1", "--grid", "training.dtype=float16"], 'rnn: c.yaml: --grid training.dtype=float16: training.dtype: must be one of "float32", "float64", got "float16"'],
      [["--grid", "model.cell=elman,lstm", "--grid", "model.activation=relu"], "rnn: c.yaml: --grid model.activation=relu: model.activation: lstm has fixed nonlinearities: activation must be tanh"],
      [["--grid", "training.bptt.stride=7"], "rnn: c.yaml: --grid training.bptt.stride=7: training.bptt.stride: must be ≤ truncate"],
      [["--grid", "output.dir=a,b", "--grid", "seed=1,2"], `rnn: --grid: points 0 and 1 would share the run directory ${path.join(dir, "cfg/a")}`],
      [["--out", "x"], "rnn: --grid: none given; a sweep needs at least one --grid <dotted.key>=v1,v2,…"],
    ];
    for (const [args, message] of cases) {
      const r = run(["sweep", "cfg/c.yaml", ...args]);
      expect([r.code, r.stderr, r.stdout], args.join(" ")).toEqual([2, `${message}\n`, ""]);
    }
    expect(readdirSync(path.join(dir, "cfg"))).toEqual(["c.yaml"]);
    expect(existsSync(path.join(dir, "x"))).toBe(false);
  });

  it("writes one complete, valid config per point, and sweep.json", () => {
    const r = run(["sweep", "cfg/c.yaml", ...grid]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("4 points in cfg/c-sweep; train one with: rnn train cfg/c-sweep --index i\n");
    expect(r.stdout).toBe([0, 1, 2, 3].map((i) => `cfg/c-sweep/point-00${i}.yaml\n`).join(""));
    expect(readdirSync(folder).sort()).toEqual(["point-000.yaml", "point-001.yaml", "point-002.yaml", "point-003.yaml", "sweep.json"]);

    const source = validateConfig(parseYaml(readFileSync(path.join(dir, "cfg/c.yaml"), "utf8")), "c.yaml");
    expected.forEach(([lr, hidden], i) => {
      const written: unknown = parseYaml(readFileSync(path.join(folder, `point-00${i}.yaml`), "utf8"));
      const cfg = validateConfig(written, `point-00${i}.yaml`);
      expect(cfg, "complete: nothing left to defaults").toEqual(written);
      expect([cfg.training.optimizer.lr, cfg.model.hiddenSize]).toEqual([lr, hidden]);
      expect(cfg.data.train).toBe(path.join(dir, "data/d.csv"));
      expect(cfg.output.dir).toBe(path.join(folder, `runs/00${i}`));
      // Everything the grid does not name is the source config's.
      expect({ ...cfg, data: source.data, model: source.model, training: source.training, output: source.output }).toEqual(source);
      expect({ ...cfg.training, optimizer: source.training.optimizer }).toEqual(source.training);
      expect({ ...cfg.model, hiddenSize: source.model.hiddenSize }).toEqual(source.model);
      expect({ ...cfg.data, train: source.data.train }).toEqual(source.data);
    });

    expect(readJson<Manifest>(path.join(folder, "sweep.json"))).toEqual({
      config: path.join(dir, "cfg/c.yaml"),
      grid: [{ key: "training.optimizer.lr", values: [0.01, 0.003] }, { key: "model.hiddenSize", values: [4, 6] }],
      points: expected.map(([lr, hidden], i) => ({
        index: i, file: path.join(folder, `point-00${i}.yaml`), runDir: path.join(folder, `runs/00${i}`),
        values: { "training.optimizer.lr": lr, "model.hiddenSize": hidden },
      })),
    });
  });

  it("refuses a folder that holds a sweep; --force replaces it, point files and all", () => {
    const r = run(["sweep", "cfg/c.yaml", "--grid", "seed=1,2"]);
    expect([r.code, r.stderr]).toEqual([2, "rnn: cfg/c-sweep: already holds a sweep (sweep.json); pass --force to replace it\n"]);
    expect(readJson<Manifest>(path.join(folder, "sweep.json")).points).toHaveLength(4);

    const other = path.join(dir, "other");
    const f = run(["sweep", "cfg/c.yaml", "--grid", "training.shuffle=true,false", "--grid", "model.init=null", "--out", "other"]);
    expect(f.code, f.stderr).toBe(0);
    const g = run(["sweep", "cfg/c.yaml", "--grid", "training.shuffle=false", "--out", "other", "--force"]);
    expect(g.code, g.stderr).toBe(0);
    expect(readdirSync(other).sort()).toEqual(["point-000.yaml", "sweep.json"]);
    const cfg = validateConfig(parseYaml(readFileSync(path.join(other, "point-000.yaml"), "utf8")), "point-000.yaml");
    expect([cfg.training.shuffle, cfg.model.init]).toEqual([false, null]);
  });

  it("train <folder> --index i trains point i into its run directory", () => {
    const r = run(["train", "cfg/c-sweep", "--index", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`sweep point: ${path.join(folder, "point-001.yaml")}\n`);
    expect(existsSync(path.join(folder, "runs/000"))).toBe(false);
    const ckpt = path.join(folder, "runs/001/last.safetensors");
    const config = JSON.parse(decodeSafetensors(readFileSync(ckpt), ckpt).metadata.config) as { model: { hiddenSize: number }; training: { optimizer: { lr: number } } };
    expect([config.training.optimizer.lr, config.model.hiddenSize]).toEqual(expected[1]);
  });

  it("without --index, SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX picks the point", () => {
    const slurm = run(["train", "cfg/c-sweep", "--quiet"], { SLURM_ARRAY_TASK_ID: "2", JOB_COMPLETION_INDEX: "3" });
    expect(slurm.code, slurm.stderr).toBe(0);
    expect(existsSync(path.join(folder, "runs/002/last.safetensors"))).toBe(true);
    expect(existsSync(path.join(folder, "runs/003"))).toBe(false);
    const k8s = run(["train", "cfg/c-sweep", "--quiet"], { JOB_COMPLETION_INDEX: "3" });
    expect(k8s.code, k8s.stderr).toBe(0);
    expect(existsSync(path.join(folder, "runs/003/last.safetensors"))).toBe(true);
    expect(existsSync(path.join(folder, "runs/000"))).toBe(false);
  });

  it("resolveTrainConfig: --index first, then the variables in order; an empty one counts as unset; a config file passes through", async () => {
    const point = (i: number) => path.join(folder, `point-00${i}.yaml`);
    expect(await resolveTrainConfig(folder, "0", { SLURM_ARRAY_TASK_ID: "2" })).toBe(point(0));
    expect(await resolveTrainConfig(folder, undefined, { SLURM_ARRAY_TASK_ID: "2", JOB_COMPLETION_INDEX: "3" })).toBe(point(2));
    expect(await resolveTrainConfig(folder, undefined, { SLURM_ARRAY_TASK_ID: "", JOB_COMPLETION_INDEX: "1" })).toBe(point(1));
    const cfg = path.join(dir, "cfg/c.yaml");
    expect(await resolveTrainConfig(cfg, undefined, { SLURM_ARRAY_TASK_ID: "2" })).toBe(cfg);
    await expect(resolveTrainConfig(cfg, "1", {})).rejects.toThrow(`--index 1: ${cfg} is not a sweep folder`);
    await expect(resolveTrainConfig(path.join(dir, "cfg"), "1", {})).rejects.toThrow(`${path.join(dir, "cfg")}: no sweep.json here`);
    expect(await resolveTrainConfig(path.join(dir, "cfg"), undefined, { SLURM_ARRAY_TASK_ID: "2" }), "left to train, which refuses a directory").toBe(path.join(dir, "cfg"));
  });

  it("an index out of range, not an integer, or missing everywhere: exit 2 naming the folder and its points", () => {
    const cases: [string[], Record<string, string>, string][] = [
      [["--index", "4"], {}, "--index 4: no such point"],
      [[], { SLURM_ARRAY_TASK_ID: "7" }, "SLURM_ARRAY_TASK_ID 7: no such point"],
      [[], { JOB_COMPLETION_INDEX: "1.5" }, 'JOB_COMPLETION_INDEX "1.5" is not a point index'],
      [["--index", "-1"], {}, '--index "-1" is not a point index'],
      [[], {}, "which point? pass --index i or set SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"],
    ];
    for (const [args, env, why] of cases) {
      const r = run(["train", "cfg/c-sweep", ...args], env);
      expect([r.code, r.stderr], why).toEqual([2, `rnn: cfg/c-sweep: ${why}; the sweep has 4 points (0–3)\n`]);
    }
  });

  it("sweep summary: best val_loss is the lowest in each run's epochs.csv; CSV and --json agree", () => {
    // Point 0 as a run stopped after its first epoch would leave it.
    mkdirSync(path.join(folder, "runs/000"), { recursive: true });
    writeFileSync(path.join(folder, "runs/000/epochs.csv"), readFileSync(path.join(folder, "runs/001/epochs.csv"), "utf8").split("\n").slice(0, 2).join("\n") + "\n");

    const csv = run(["sweep", "summary", "cfg/c-sweep"]);
    expect(csv.code, csv.stderr).toBe(0);
    const rows = parseCsv(csv.stdout) as string[][];
    expect(rows[0]).toEqual(["index", "training.optimizer.lr", "model.hiddenSize", "best_val_loss", "best_epoch", "epochs", "status"]);
    expect(rows).toHaveLength(5);
    const json = run(["sweep", "summary", "cfg/c-sweep", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const objects = JSON.parse(json.stdout) as Record<string, unknown>[];

    expected.forEach(([lr, hidden], i) => {
      const losses = valLosses(path.join(folder, `runs/00${i}`));
      const best = Math.min(...losses.map(Number));
      expect(losses).toHaveLength(i === 0 ? 1 : 2);
      expect(rows[i + 1]).toEqual([String(i), String(lr), String(hidden), losses[losses.map(Number).indexOf(best)],
        String(losses.map(Number).indexOf(best) + 1), i === 0 ? "1" : "2", i === 0 ? "partial" : "done"]);
      expect(objects[i]).toEqual({
        index: i, "training.optimizer.lr": lr, "model.hiddenSize": hidden, best_val_loss: best,
        best_epoch: losses.map(Number).indexOf(best) + 1, epochs: i === 0 ? 1 : 2, status: i === 0 ? "partial" : "done",
      });
    });
  });

  it("sweep summary: missing runs, runs without validation data, and values that CSV must quote", () => {
    const q = run(["sweep", "cfg/c.yaml", "--grid", 'model.init=x"y.safetensors,null', "--grid", "data.validationSplit=0", "--out", "q"]);
    expect(q.code, q.stderr).toBe(0);
    const t = run(["train", "q", "--index", "1", "--quiet"]);
    expect(t.code, t.stderr).toBe(0);
    const s = run(["sweep", "summary", "q"]);
    expect([s.code, s.stdout]).toEqual([0,
      'index,model.init,data.validationSplit,best_val_loss,best_epoch,epochs,status\n0,"x""y.safetensors",0,,,0,missing\n1,,0,,,2,done\n']);
    expect(JSON.parse(run(["sweep", "summary", "q", "--json"]).stdout)).toEqual([
      { index: 0, "model.init": 'x"y.safetensors', "data.validationSplit": 0, best_val_loss: null, best_epoch: null, epochs: 0, status: "missing" },
      { index: 1, "model.init": null, "data.validationSplit": 0, best_val_loss: null, best_epoch: null, epochs: 2, status: "done" },
    ]);
  });

  it("sweep and sweep summary share the command: summary's usage errors are its own", () => {
    const missing = run(["sweep", "summary"]);
    expect([missing.code, missing.stderr]).toEqual([2, "error: missing required argument 'folder'\n"]);
    const stray = run(["sweep", "summary", "q", "--force"]);
    expect([stray.code, stray.stderr]).toEqual([2, "rnn: sweep summary: --force is an option of rnn sweep <config>, not of sweep summary\n"]);
    const notSweep = run(["sweep", "summary", "cfg"]);
    expect([notSweep.code, notSweep.stderr]).toEqual([2, "rnn: cfg: no sweep.json here (not a sweep folder written by rnn sweep)\n"]);
  });

  it("--force over a sweep whose points have run keeps runs/ and says so", () => {
    const r = run(["sweep", "cfg/c.yaml", ...grid, "--force"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split("\n")[0]).toBe("warning: the run directories of 4 points exist already (an earlier sweep?); rnn train refuses those that hold a checkpoint unless given --force");
    expect(readdirSync(path.join(folder, "runs")).sort()).toEqual(["000", "001", "002", "003"]);
    expect(run(["train", "cfg/c-sweep", "--index", "1"]).stderr).toMatch(/already holds a checkpoint; pass --resume .* or --force/);
  });
});

describe("sweep folders that hold other things (issue 24, item 7)", () => {
  const run = (cwd: string, args: string[]) => rnn(args, { cwd, env: NO_INDEX });

  it("--out a folder of other files: refused without --force, nothing touched; with --force only the sweep's own files are written", () => {
    const dir = setUp();
    const notes = path.join(dir, "notes");
    mkdirSync(notes);
    writeFileSync(path.join(notes, "point-000.yaml"), "my own notes\n");
    writeFileSync(path.join(notes, "point-007.yaml"), "more notes\n");
    const r = run(dir, ["sweep", "cfg/c.yaml", "--grid", "model.hiddenSize=4,5", "--out", "notes"]);
    expect([r.code, r.stderr]).toEqual([2, 'rnn: notes: holds 2 file(s) but no sweep (sweep.json), e.g. "point-000.yaml"; choose an empty or new folder, or pass --force to write the sweep among them\n']);
    expect(readFileSync(path.join(notes, "point-000.yaml"), "utf8")).toBe("my own notes\n"); // was: overwritten
    expect(readdirSync(notes).sort()).toEqual(["point-000.yaml", "point-007.yaml"]);
    const f = run(dir, ["sweep", "cfg/c.yaml", "--grid", "model.hiddenSize=4,5", "--out", "notes", "--force"]);
    expect(f.code, f.stderr).toBe(0);
    expect(readdirSync(notes).sort()).toEqual(["point-000.yaml", "point-001.yaml", "point-007.yaml", "sweep.json"]); // point-007 was deleted
    const g = run(dir, ["sweep", "cfg/c.yaml", "--grid", "model.hiddenSize=4", "--out", "notes", "--force"]);
    expect(g.code, g.stderr).toBe(0);
    expect(readdirSync(notes).sort()).toEqual(["point-000.yaml", "point-007.yaml", "sweep.json"]); // the replaced sweep's point-001 goes
  });

  it("summary after sweep --force with other values: the old run in a point's folder is stale, not credited to the new values", () => {
    const dir = setUp();
    expect(run(dir, ["sweep", "cfg/c.yaml", "--grid", "model.hiddenSize=4,5"]).code).toBe(0);
    const t = run(dir, ["train", "cfg/c-sweep", "--index", "0", "--quiet"]);
    expect(t.code, t.stderr).toBe(0);
    const before = JSON.parse(run(dir, ["sweep", "summary", "cfg/c-sweep", "--json"]).stdout) as { status: string; best_val_loss: number | null }[];
    expect(before.map((p) => p.status)).toEqual(["done", "missing"]);
    expect(run(dir, ["sweep", "cfg/c.yaml", "--grid", "model.hiddenSize=7,8", "--force"]).code).toBe(0);
    const after = JSON.parse(run(dir, ["sweep", "summary", "cfg/c-sweep", "--json"]).stdout) as { "model.hiddenSize": number; status: string; best_val_loss: number | null }[];
    expect(after.map((p) => [p["model.hiddenSize"], p.status, p.best_val_loss])).toEqual([[7, "stale", null], [8, "missing", null]]); // was: 7 credited with the hiddenSize 4 run's loss
  });
});
