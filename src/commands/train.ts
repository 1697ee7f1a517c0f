import { existsSync, readdirSync, rmSync } from "node:fs";
import { totalmem } from "node:os";
import path from "node:path";
import { SingleBar } from "cli-progress";
import { initParams } from "../core/init.js";
import { Network, trainingBytes } from "../core/network.js";
import { createOptimizer } from "../core/optim.js";
import { Rng } from "../core/rng.js";
import type { Float } from "../core/tensor.js";
import { loadConfig, type ResolvedConfig } from "../config/load.js";
import { batchify, epochBatches, makeBatch, type TargetShape } from "../data/batches.js";
import { loadTrainingData } from "../data/load.js";
import { InputError, Interrupted, JobError } from "../errors.js";
import { copyParams, loadCheckpoint, modelShapeOf, saveCheckpoint, type Checkpoint, type Position } from "../io/checkpoint.js";
import { num } from "../io/format.js";
import { CsvLog, EPOCHS_HEADER, UPDATES_HEADER } from "../io/runlog.js";
import { writeOut, type Io } from "../io/terminal.js";
import { ensureDir } from "../io/atomic.js";
import { pooledLoss } from "../train/evaluate.js";
import { trainLoop, type BatchSource, type Start } from "../train/trainer.js";
import { loadBackend } from "../kernels/backends.js";
import { RunPlotter } from "./plot.js";

export interface TrainOptions {
  resume?: string;
  force?: boolean;
  out?: string;
  seed?: number;
  json?: boolean;
  quiet?: boolean;
}

const LAST = "last.safetensors";
const BEST = "best.safetensors";

/** Applies --seed and --out to the config (the checkpoint records what actually ran). */
function withOverrides(c: ResolvedConfig, o: TrainOptions): ResolvedConfig {
  return {
    ...c,
    seed: o.seed ?? c.seed,
    output: { dir: o.out !== undefined ? path.resolve(o.out) : c.output.dir },
  };
}

/** Deletes temp files that killed runs left behind (`.<name>.tmp-<pid>-…` of a process that is gone). */
function removeStaleTemps(dir: string): void {
  for (const f of readdirSync(dir)) {
    const m = /^\..+\.tmp-(\d+)-/.exec(f);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    try { if (!alive) { process.kill(pid, 0); alive = true; } } catch (e) { alive = (e as NodeJS.ErrnoException).code === "EPERM"; }
    if (!alive) rmSync(path.join(dir, f), { force: true });
  }
}

/** Signals ask the loop to stop after the current update; a second one exits at once. */
function watchSignals(): { requested: () => "SIGINT" | "SIGTERM" | null; dispose: () => void } {
  let got: "SIGINT" | "SIGTERM" | null = null;
  const on = (sig: "SIGINT" | "SIGTERM") => () => {
    if (got) process.exit(sig === "SIGINT" ? 130 : 143); // files are written atomically: nothing is torn
    got = sig;
  };
  const int = on("SIGINT"), term = on("SIGTERM");
  process.on("SIGINT", int); process.on("SIGTERM", term);
  return { requested: () => got, dispose: () => { process.off("SIGINT", int); process.off("SIGTERM", term); } };
}

/**
 * `rnn train <config>`: trains as the config says and writes the run directory
 * (last.safetensors, best.safetensors, updates.csv, epochs.csv).
 */
export async function train(configPath: string, o: TrainOptions, io: Io): Promise<number> {
  const cfg = withOverrides(await loadConfig(configPath), o);
  if (o.resume && o.force) throw new InputError("--resume and --force: choose one");
  const dir = cfg.output.dir;
  const resume: Checkpoint | null = o.resume ? loadCheckpoint(o.resume) : null;
  if (!resume && !o.force && (existsSync(path.join(dir, LAST)) || existsSync(path.join(dir, BEST)))) {
    throw new InputError(`${dir}: already holds a checkpoint; pass --resume ${path.join(dir, LAST)} to continue it or --force to start over`);
  }

  const data = await loadTrainingData(cfg, resume ?? undefined);
  const shape = modelShapeOf(cfg, data.classes);
  const dtype = cfg.training.dtype;
  const longest = data.series ? Math.floor(data.train[0].length / cfg.training.batchSize) : Math.max(...data.train.map((s) => s.length));
  const windowT = Math.min(longest, cfg.training.bptt?.truncate ?? longest);
  const need = trainingBytes(shape, dtype, windowT, Math.min(cfg.training.batchSize, data.series ? cfg.training.batchSize : data.train.length));
  const have = totalmem();
  if (need > 0.8 * have) {
    throw new InputError(`${configPath}: model.hiddenSize ${shape.hiddenSize} × layers ${shape.layers}: training would need about ${(need / 2 ** 30).toFixed(1)} GiB, more than 80% of this machine's ${(have / 2 ** 30).toFixed(1)} GiB`);
  }
  const net = new Network(shape, dtype, { kernels: loadBackend().kernels });
  const opt = createOptimizer(cfg.training.optimizer, net.layout.size, dtype);
  if (resume) {
    const was = resume.config.model, now = cfg.model;
    const changed = (["cell", "activation", "hiddenSize", "layers", "bias"] as const).find((k) => was[k] !== now[k]);
    if (changed) throw new InputError(`${o.resume}: was trained with model.${changed} ${String(was[changed])}, the config says ${String(now[changed])}`);
    copyParams(resume, net.layout, net.params);
    if (resume.optimizer) {
      if (resume.optimizer.name !== cfg.training.optimizer.name) {
        throw new InputError(`${o.resume}: was trained with ${resume.optimizer.name}, the config says ${cfg.training.optimizer.name}`);
      }
      for (const [k, buf] of resume.optimizer.state) opt.state[k]?.set(buf);
      opt.steps = resume.optimizer.steps;
    }
  } else if (cfg.model.init !== null) {
    const init = loadCheckpoint(cfg.model.init);
    if (init.shape.inputSize !== shape.inputSize || init.shape.outputSize !== shape.outputSize
      || init.shape.hiddenSize !== shape.hiddenSize || init.shape.layers !== shape.layers || init.shape.bias !== shape.bias) {
      throw new InputError(`${configPath}: model.init: ${cfg.model.init} holds a model of another shape (${JSON.stringify(init.shape)})`);
    }
    copyParams(init, net.layout, net.params);
  } else {
    initParams(net.layout, net.params, shape.hiddenSize, new Rng(cfg.seed, 0));
  }

  const ts: TargetShape = cfg.task === "regression"
    ? { task: "regression", outputs: shape.outputSize } : { task: "classification", classes: shape.outputSize };
  const B = cfg.training.batchSize;
  const trainSeqs = data.series ? batchify(data.train[0], B, cfg.data.train) : data.train;
  const source: BatchSource = {
    batches: (epoch) => data.series ? [trainSeqs.map((_, i) => i)]
      : epochBatches(trainSeqs.length, B, cfg.training.shuffle, cfg.seed, epoch),
    make: (idx) => makeBatch(idx.map((i) => trainSeqs[i]), shape.inputSize, ts, dtype),
    validate: () => {
      if (data.val.length === 0) return null;
      const r = pooledLoss(net, data.val, ts);
      return r.count > 0 ? r.sum / r.count : null;
    },
  };

  ensureDir(dir);
  removeStaleTemps(dir);
  const updates = new CsvLog(path.join(dir, "updates.csv"), UPDATES_HEADER);
  const epochs = new CsvLog(path.join(dir, "epochs.csv"), EPOCHS_HEADER);
  const start: Start = resume
    ? { epoch: resume.position ? resume.position.epoch - 1 : resume.epoch, step: resume.step, position: resume.position, carry: resume.carry }
    : { epoch: 0, step: 0, position: null, carry: null };
  if (resume) {
    updates.truncate("step", start.step);
    epochs.truncate("epoch", start.epoch);
  } else {
    if (o.force) for (const f of [LAST, BEST]) rmSync(path.join(dir, f), { force: true });
    updates.reset(); epochs.reset();
  }

  const plots = new RunPlotter(dir, cfg.training.clip, (m) => io.stderr.write(`${io.color.yellow("warning")}: ${m}\n`));
  let best = resume?.bestValLoss ?? Infinity;
  let step = start.step;
  const save = (file: string, epoch: number, position: Position | null, carry: readonly Float[] | null): void => {
    updates.flush(); epochs.flush();
    saveCheckpoint(path.join(dir, file), {
      config: cfg, shape, dtype, params: net.params, normalization: data.normalization, classes: data.classes,
      epoch, step, optimizer: { name: opt.config.name, steps: opt.steps, state: opt.state },
      position, carry, bestValLoss: Number.isFinite(best) ? best : null,
    });
  };

  const E = cfg.training.epochs;
  const c = io.color;
  const bar = io.interactive && !o.quiet
    ? new SingleBar({ format: "epoch {epoch}/{epochs} [{bar}] batch {value}/{total}  loss {loss}", stream: io.stderr as NodeJS.WriteStream, hideCursor: true, clearOnComplete: true })
    : null;
  let barEpoch = 0;
  const signals = watchSignals();
  const t0 = performance.now();
  let result: "done" | "stopped";
  try {
    result = await trainLoop(net, opt, source, {
      epochs: E, bptt: cfg.training.bptt, clip: cfg.training.clip, lr: cfg.training.optimizer.lr,
    }, start, {
      now: () => performance.now() / 1000,
      stopRequested: () => signals.requested() !== null,
      onUpdate: (u, batch, batches) => {
        step = u.step;
        updates.add([u.epoch, u.step, u.loss, u.gradNorm, u.lr]);
        if (bar) {
          if (barEpoch !== u.epoch) {
            if (barEpoch) bar.stop();
            barEpoch = u.epoch;
            bar.start(batches, 0, { epoch: u.epoch, epochs: E, loss: "" });
          }
          bar.update(batch - 1, { loss: u.loss.toPrecision(4) });
        }
      },
      onEpoch: async (e) => {
        if (bar && barEpoch) { bar.stop(); barEpoch = 0; }
        epochs.add([e.epoch, e.trainLoss, e.valLoss, e.seconds]);
        const isBest = e.valLoss !== null && e.valLoss < best;
        if (isBest) best = e.valLoss as number;
        if (isBest) save(BEST, e.epoch, null, null);
        save(LAST, e.epoch, null, null);
        await plots.epochEnd(); // after save(): the CSV rows are flushed by then
        if (!o.quiet) {
          const val = e.valLoss === null ? "" : `  val_loss ${e.valLoss.toPrecision(6)}${isBest ? c.green(" *") : ""}`;
          io.stderr.write(`${c.bold(`epoch ${e.epoch}/${E}`)}  train_loss ${e.trainLoss.toPrecision(6)}${val}  ${e.seconds.toFixed(2)}s\n`);
        }
        if (o.json) {
          io.stdout.write(JSON.stringify({ epoch: e.epoch, step, train_loss: Number.isNaN(e.trainLoss) ? null : e.trainLoss, val_loss: e.valLoss, seconds: e.seconds }) + "\n");
        }
      },
      onStop: (pos, carry) => save(LAST, pos.epoch - 1, pos, carry),
    });
  } catch (e) {
    // The updates up to a divergence are the user's best clue (its grad_norm column): keep them.
    // The checkpoint is not touched, so it stays the last good one.
    if (e instanceof JobError) { updates.flush(); epochs.flush(); }
    throw e;
  } finally {
    bar?.stop();
    signals.dispose();
    await plots.finish(); // also after a stop or a divergence; never throws
  }
  const sig = signals.requested();
  if (result === "stopped" && sig) throw new Interrupted(sig);
  if (!o.quiet) {
    const secs = (performance.now() - t0) / 1000;
    io.stderr.write(`${c.green("done")}: ${step} updates in ${secs.toFixed(1)}s; ${path.join(dir, LAST)}${Number.isFinite(best) ? `, best val_loss ${num(best)} in ${BEST}` : ""}\n`);
  }
  await writeOut(io, "");
  return 0;
}
