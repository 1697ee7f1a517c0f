import path from "node:path";
import { SingleBar } from "cli-progress";
import { initParams } from "../core/init.js";
import { Network, trainingBytes, type ModelShape } from "../core/network.js";
import { createOptimizer, type Optimizer } from "../core/optim.js";
import { EarlyStopping, LrSchedule } from "../core/schedule.js";
import { Rng } from "../core/rng.js";
import type { Float } from "../core/tensor.js";
import { setDotted, type Override } from "../config/grid.js";
import { loadConfig, readConfigFile, resolvePaths, validateConfig, type ResolvedConfig } from "../config/load.js";
import { MAX_SEED } from "../config/schema.js";
import { batchify, epochBatches, makeBatch, type TargetShape } from "../data/batches.js";
import { loadTrainingData, type TrainingData } from "../data/load.js";
import { rowShare, type Communicator } from "../distributed/comm.js";
import { agree, joinWorld, threadsPerRank } from "../distributed/launch.js";
import { InputError, Interrupted, JobError, ReportedElsewhere, RnnError, STOP_SIGNALS, type StopSignal } from "../errors.js";
import { copyParams, loadCheckpoint, modelShapeOf, type Checkpoint, type Position } from "../io/checkpoint.js";
import { num } from "../io/format.js";
import { memoryLimit } from "../io/memory.js";
import { BEST, LAST, RunDir } from "../io/rundir.js";
import { requireStdout, writeOut, type Io } from "../io/terminal.js";
import { loadBackend } from "../kernels/backends.js";
import { metricSums, metricsOf, VAL_METRICS } from "../train/evaluate.js";
import { DropoutMasks } from "../train/dropout.js";
import { checkResumable } from "../train/resume.js";
import { trainLoop, type BatchSource, type EpochRow, type Start, type UpdateRow } from "../train/trainer.js";
import { RunPlotter } from "./plot.js";

export interface TrainOptions {
  resume?: string;
  force?: boolean;
  out?: string;
  seed?: number;
  json?: boolean;
  quiet?: boolean;
  /** `--set key=value` overrides (SPEC §6), in the order given. */
  set?: readonly Override[];
}

/**
 * The config, with the --set overrides applied to the parsed file before it is validated, so
 * that they are checked as the file's own keys are (and their paths read relative to it).
 */
async function readConfig(file: string, sets: readonly Override[]): Promise<ResolvedConfig> {
  if (sets.length === 0) return loadConfig(file);
  let raw = await readConfigFile(file);
  for (const o of sets) raw = setDotted(raw ?? {}, o.key, o.value);
  return resolvePaths(validateConfig(raw, `${path.basename(file)} (with --set)`), file);
}

/** Applies --seed and --out to the config (the checkpoint records what actually ran). */
function withOverrides(c: ResolvedConfig, o: TrainOptions): ResolvedConfig {
  // The checkpoint records the seed, and its reader holds it to the config's bound: so does --seed.
  if (o.seed !== undefined && !(o.seed <= MAX_SEED)) throw new InputError(`--seed ${o.seed}: must be ≤ ${MAX_SEED}`);
  return {
    ...c,
    seed: o.seed ?? c.seed,
    output: { dir: o.out !== undefined ? path.resolve(o.out) : c.output.dir },
  };
}

/**
 * Signals ask the loop to stop after the current update; a second one exits at once. SIGUSR1
 * too: Open MPI's mpirun passes it on to every rank as it is (SIGINT and SIGTERM it turns into
 * SIGTERM followed by SIGKILL a second later), and Slurm can send it ahead of a preemption.
 */
function watchSignals(): { requested: () => StopSignal | null; dispose: () => void } {
  let got: StopSignal | null = null;
  const handlers = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((sig) => [sig, () => {
    if (got) process.exit(STOP_SIGNALS[sig]); // files are written atomically: nothing is torn
    got = sig;
  }] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  return { requested: () => got, dispose: () => { for (const [sig, h] of handlers) process.off(sig, h); } };
}

/** Everything a run needs before its first update. */
interface Setup {
  readonly cfg: ResolvedConfig;
  readonly data: TrainingData;
  readonly shape: ModelShape;
  readonly net: Network;
  readonly opt: Optimizer;
  readonly resume: Checkpoint | null;
  readonly start: Start;
  /** The run directory, on rank 0 only. */
  readonly run: RunDir | null;
}

/** Refuses a model whose windows would not fit in memory, before allocating them. */
function checkMemory(configPath: string, cfg: ResolvedConfig, data: TrainingData, shape: ModelShape): void {
  const B = cfg.training.batchSize;
  const longest = data.series ? Math.floor(data.train[0].length / B) : Math.max(...data.train.map((s) => s.length));
  const windowT = Math.min(longest, cfg.training.bptt?.truncate ?? longest);
  const need = trainingBytes(shape, cfg.training.dtype, windowT, Math.min(B, data.series ? B : data.train.length));
  const have = memoryLimit();
  if (need > 0.8 * have.bytes) {
    const of = have.source === "this machine" ? "this machine's" : `the limit of ${have.source}:`;
    throw new InputError(`${configPath}: model.hiddenSize ${shape.hiddenSize} × layers ${shape.layers}: training would need about ${(need / 2 ** 30).toFixed(1)} GiB, more than 80% of ${of} ${(have.bytes / 2 ** 30).toFixed(1)} GiB`);
  }
}

/** Starting weights: the checkpoint resumed (with its optimizer state), model.init, or seeded. */
function initialWeights(net: Network, opt: Optimizer, cfg: ResolvedConfig, configPath: string, resume: Checkpoint | null): void {
  if (resume) {
    copyParams(resume, net.layout, net.params); // the config matches the checkpoint's: checkResumable
    if (resume.optimizer) {
      for (const [k, buf] of resume.optimizer.state) opt.state[k]?.set(buf);
      opt.steps = resume.optimizer.steps;
    }
  } else if (cfg.model.init !== null) {
    const init = loadCheckpoint(cfg.model.init);
    const s = net.shape;
    if (init.shape.inputSize !== s.inputSize || init.shape.outputSize !== s.outputSize
      || init.shape.hiddenSize !== s.hiddenSize || init.shape.layers !== s.layers || init.shape.bias !== s.bias) {
      throw new InputError(`${configPath}: model.init: ${cfg.model.init} holds a model of another shape (${JSON.stringify(init.shape)})`);
    }
    copyParams(init, net.layout, net.params);
  } else {
    initParams(net.layout, net.params, net.shape.hiddenSize, new Rng(cfg.seed, 0));
  }
}

/** Loads and checks everything; every rank does, rank 0 alone also opens the run directory. */
async function prepare(configPath: string, o: TrainOptions, comm: Communicator): Promise<Setup> {
  const cfg = withOverrides(await readConfig(configPath, o.set ?? []), o);
  if (o.resume && o.force) throw new InputError("--resume and --force: choose one");
  const lead = comm.rank === 0;
  if (lead) RunDir.refuseFinished(cfg.output.dir, o.resume !== undefined, o.force === true);
  const resume = o.resume ? loadCheckpoint(o.resume) : null;
  if (resume) checkResumable(resume, cfg);
  const data = await loadTrainingData(cfg, resume ?? undefined);
  const shape = modelShapeOf(cfg, data.classes);
  checkMemory(configPath, cfg, data, shape);
  const net = new Network(shape, cfg.training.dtype, { kernels: loadBackend(undefined, threadsPerRank(comm)).kernels });
  const opt = createOptimizer(cfg.training.optimizer, net.layout.size, cfg.training.dtype);
  initialWeights(net, opt, cfg, configPath, resume);
  const start: Start = resume
    ? { epoch: resume.position ? resume.position.epoch - 1 : resume.epoch, step: resume.step, position: resume.position, carry: resume.carry }
    : { epoch: 0, step: 0, position: null, carry: null };
  const valColumns = data.val.length > 0 ? VAL_METRICS[cfg.task] : [];
  const run = lead ? RunDir.open(cfg.output.dir, resume ? start : null, o.force === true, valColumns) : null;
  return { cfg, data, shape, net, opt, resume, start, run };
}

/**
 * The training batches (shares of them, under MPI) and the validation loss, summed over the
 * ranks: each rank runs its share of the validation sequences.
 */
function batchSource(s: Setup, comm: Communicator): BatchSource {
  const { cfg, data, shape, net } = s;
  const ts: TargetShape = cfg.task === "regression"
    ? { task: "regression", outputs: shape.outputSize } : { task: "classification", classes: shape.outputSize };
  const B = cfg.training.batchSize;
  const seqs = data.series ? batchify(data.train[0], B, cfg.data.train) : data.train;
  const [vlo, vhi] = rowShare(comm.rank, comm.size, data.val.length);
  const valShare = data.val.slice(vlo, vhi);
  const stats = cfg.data.targets.map((c) => data.normalization?.[c] ?? { mean: 0, std: 1 });
  return {
    batches: (epoch) => data.series ? [seqs.map((_, i) => i)] : epochBatches(seqs.length, B, cfg.training.shuffle, cfg.seed, epoch),
    make: (idx, lo, hi) => makeBatch(idx.slice(lo, hi).map((i) => seqs[i]), shape.inputSize, ts, cfg.training.dtype,
      Math.max(...idx.map((i) => seqs[i].length))),
    validate: () => {
      if (data.val.length === 0) return null;
      const m = valShare.length > 0 ? metricSums(net, valShare, ts, stats) : { sum: 0, count: 0, se: 0, ae: 0, correct: 0 };
      const total = new Float64Array([m.sum, m.count, m.se, m.ae, m.correct]);
      comm.allreduce(total, "sum");
      const [sum, count, se, ae, correct] = total;
      if (count === 0) return null;
      const all = metricsOf({ sum, count, se, ae, correct }, cfg.task);
      return { loss: all.loss, metrics: Object.fromEntries(VAL_METRICS[cfg.task].map((k) => [k, all[k.slice(4)]])) };
    },
  };
}

/** What a person sees on stderr (progress bar on a terminal, a line per epoch) and --json on stdout. */
function reporter(io: Io, o: TrainOptions, epochs: number) {
  const c = io.color;
  const bar = io.interactive && !o.quiet
    ? new SingleBar({ format: "epoch {epoch}/{epochs} [{bar}] batch {value}/{total}  loss {loss}", stream: io.stderr as NodeJS.WriteStream, hideCursor: true, clearOnComplete: true })
    : null;
  let barEpoch = 0;
  return {
    update(u: UpdateRow, batch: number, batches: number): void {
      if (!bar) return;
      if (barEpoch !== u.epoch) {
        if (barEpoch) bar.stop();
        barEpoch = u.epoch;
        bar.start(batches, 0, { epoch: u.epoch, epochs, loss: "" });
      }
      bar.update(batch - 1, { loss: u.loss.toPrecision(4) });
    },
    epoch(e: EpochRow, step: number, isBest: boolean): void {
      if (bar && barEpoch) { bar.stop(); barEpoch = 0; }
      if (!o.quiet) {
        const val = e.valLoss === null ? "" : `  val_loss ${e.valLoss.toPrecision(6)}${isBest ? c.green(" *") : ""}`;
        io.stderr.write(`${c.bold(`epoch ${e.epoch}/${epochs}`)}  train_loss ${e.trainLoss.toPrecision(6)}${val}  ${e.seconds.toFixed(2)}s\n`);
      }
      if (o.json) {
        io.stdout.write(JSON.stringify({ epoch: e.epoch, step, train_loss: Number.isNaN(e.trainLoss) ? null : e.trainLoss, val_loss: e.valLoss, seconds: e.seconds, ...e.valMetrics }) + "\n");
      }
    },
    stop(): void { bar?.stop(); },
  };
}

/** The schedule and early stopping the config asks for, at the checkpoint's progress when resuming. */
function trainingControl(cfg: ResolvedConfig, opt: Optimizer, resume: Checkpoint | null): { schedule: LrSchedule | null; earlyStopping: EarlyStopping | null } {
  const t = cfg.training;
  const schedule = t.schedule ? new LrSchedule(t.schedule, t.optimizer.lr) : null;
  if (schedule && resume?.schedule) schedule.restore(resume.schedule);
  if (schedule) opt.lr = schedule.lr;
  const earlyStopping = t.earlyStopping ? new EarlyStopping(t.earlyStopping.patience, t.earlyStopping.minDelta) : null;
  if (earlyStopping && resume?.earlyStopping) earlyStopping.restore(resume.earlyStopping);
  return { schedule, earlyStopping };
}

/** How a run ended: the loop's result, the last step, the best validation loss, and early stopping's state. */
interface Ending { result: "done" | "stopped early" | StopSignal; step: number; best: number; earlyStopping: EarlyStopping | null }

/** Runs the loop, writing the run directory (rank 0); returns how it ended. */
async function loop(s: Setup, o: TrainOptions, io: Io, comm: Communicator): Promise<Ending> {
  const { cfg, data, shape, net, opt, run } = s;
  const lead = run !== null;
  const show = reporter(io, o, cfg.training.epochs);
  const plots = run ? new RunPlotter(run.dir, cfg.training.clip, (m) => io.stderr.write(`${io.color.yellow("warning")}: ${m}\n`)) : null;
  const { schedule, earlyStopping } = trainingControl(cfg, opt, s.resume);
  let best = s.resume?.bestValLoss ?? Infinity;
  let step = s.start.step;
  // A run that early stopping ended has nothing left to train: resuming it changes nothing.
  if (earlyStopping?.stopped()) return { result: "stopped early", step, best, earlyStopping };
  const save = (file: typeof LAST | typeof BEST, epoch: number, position: Position | null, carry: readonly Float[] | null): void => {
    run?.save(file, {
      config: cfg, shape, dtype: cfg.training.dtype, params: net.params, normalization: data.normalization, fill: data.fill, classes: data.classes,
      epoch, step, optimizer: { name: opt.config.name, steps: opt.steps, state: opt.state },
      position, carry, bestValLoss: Number.isFinite(best) ? best : null,
      schedule: schedule?.state() ?? null, earlyStopping: earlyStopping?.state() ?? null,
    });
  };
  const valColumns = data.val.length > 0 ? VAL_METRICS[cfg.task] : [];
  const signals = watchSignals();
  try {
    const result = await trainLoop(net, opt, batchSource(s, comm), {
      epochs: cfg.training.epochs, bptt: cfg.training.bptt, clip: cfg.training.clip, schedule, earlyStopping,
      dropout: new DropoutMasks(cfg.seed, cfg.model.dropout, cfg.model.recurrentDropout, shape.hiddenSize, shape.layers, cfg.training.dtype),
    }, s.start, {
      now: () => performance.now() / 1000,
      stopRequested: signals.requested,
      onUpdate: (u, batch, batches) => {
        step = u.step;
        run?.updates.add([u.epoch, u.step, u.loss, u.gradNorm, u.lr]);
        if (lead) show.update(u, batch, batches);
      },
      onEpoch: async (e) => {
        run?.epochs.add([e.epoch, e.trainLoss, e.valLoss, e.seconds, ...valColumns.map((k) => e.valMetrics[k] ?? null)]);
        const isBest = e.valLoss !== null && e.valLoss < best;
        if (isBest) best = e.valLoss as number;
        if (isBest) save(BEST, e.epoch, null, null);
        save(LAST, e.epoch, null, null);
        await plots?.epochEnd(); // after save(): the CSV rows are flushed by then
        if (lead) show.epoch(e, step, isBest);
      },
      onStop: (pos, carry) => save(LAST, pos.epoch - 1, pos, carry),
    }, comm);
    return { result, step, best, earlyStopping };
  } catch (e) {
    // The updates up to a divergence are the user's best clue (its grad_norm column): keep them.
    // The checkpoint is not touched, so it stays the last good one.
    if (e instanceof JobError) run?.flush();
    throw e;
  } finally {
    show.stop();
    signals.dispose();
    await plots?.finish(); // also after a stop or a divergence; never throws
  }
}

/**
 * `rnn train <config>`: trains as the config says and writes the run directory
 * (last.safetensors, best.safetensors, updates.csv, epochs.csv). Under an MPI launcher
 * (mpirun, srun) it trains data-parallel over the ranks (SPEC §9); rank 0 writes and prints.
 */
export async function train(configPath: string, o: TrainOptions, io: Io): Promise<number> {
  const comm = joinWorld(process.env);
  const lead = comm.rank === 0;
  let run: RunDir | null = null;
  try {
    // Every rank loads the same inputs; if any fails, all leave together (rank 0 says why).
    const setup = await agree(comm, () => {
      if (o.json && lead) requireStdout(io); // --json into a closed stdout: refused before the run, not after it
      return prepare(configPath, o, comm);
    });
    run = setup.run;
    const t0 = performance.now();
    let end: Awaited<ReturnType<typeof loop>>;
    try {
      end = await loop(setup, o, lead ? io : { ...io, interactive: false }, comm);
      if (end.result !== "done" && end.result !== "stopped early") throw new Interrupted(end.result);
    } catch (e) {
      if (comm.size > 1) {
        // A stop or a divergence meets every rank at the same update: rank 0 reports it. Anything
        // else (a full disk on rank 0) leaves the others waiting in a collective: end them all.
        if (e instanceof JobError || e instanceof Interrupted) throw lead ? e : new ReportedElsewhere(e.exitCode);
        io.stderr.write(`rnn: ${lead ? "" : `rank ${comm.rank}: `}${e instanceof Error ? e.message : String(e)}\n`);
        comm.abort(e instanceof RnnError ? e.exitCode : 1);
      }
      throw e;
    }
    if (lead && !o.quiet && end.result === "stopped early" && end.earlyStopping) {
      const es = end.earlyStopping;
      io.stderr.write(`${io.color.yellow("early stopping")}: val_loss has not improved by more than minDelta ${setup.cfg.training.earlyStopping?.minDelta ?? 0} for ${es.wait} epoch(s) since epoch ${es.bestEpoch} (val_loss ${num(es.best)}); training stops\n`);
    }
    if (lead && !o.quiet) {
      const secs = (performance.now() - t0) / 1000;
      const dir = setup.cfg.output.dir;
      const world = comm.size > 1 ? ` on ${comm.size} ranks` : "";
      io.stderr.write(`${io.color.green("done")}: ${end.step} updates in ${secs.toFixed(1)}s${world}; ${path.join(dir, LAST)}${Number.isFinite(end.best) ? `, best val_loss ${num(end.best)} in ${BEST}` : ""}\n`);
    }
    await writeOut(io, "");
    return 0;
  } finally {
    run?.close(); // the run directory's lock (an exit hook frees it too, whatever the way out)
    comm.finalize();
  }
}
