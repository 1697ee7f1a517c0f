import { initParams } from "../core/init.js";
import { directions, Network, trainingBytes, type ModelShape } from "../core/network.js";
import { createOptimizer, type Optimizer } from "../core/optim.js";
import { EarlyStopping, LrSchedule } from "../core/schedule.js";
import { Rng } from "../core/rng.js";
import type { Float } from "../core/tensor.js";
import type { ResolvedConfig } from "../config/load.js";
import { batchify, epochBatches, makeBatch, targetShapeOf } from "../data/batches.js";
import { targetStats } from "../data/dataset.js";
import { hasValidation, loadTrainingData, targetPlan, type TrainingData } from "../data/load.js";
import { sequenceBatch, streamBatch } from "../data/text.js";
import { rowShare, type Communicator } from "../distributed/comm.js";
import { threadsPerRank } from "../distributed/launch.js";
import { InputError, JobError, type StopSignal } from "../errors.js";
import { copyParams, loadCheckpoint, modelShapeOf, type Checkpoint, type Position } from "../io/checkpoint.js";
import { memoryLimit } from "../io/memory.js";
import { BEST, LAST, RunDir } from "../io/rundir.js";
import { loadBackend } from "../kernels/backends.js";
import { DropoutMasks } from "./dropout.js";
import { batchMetricSums, metricSlots, metricSums, metricsOf, valColumns } from "./evaluate.js";
import { checkResumable } from "./resume.js";
import { trainLoop, type BatchSource, type EpochRow, type Start, type UpdateRow } from "./trainer.js";

/*
 * A training run from a resolved config to its run directory, for the CLI (commands/train.ts:
 * terminal, signals, plots, MPI) and the library (api.ts): load and check, then the loop with
 * its checkpoints and logs.
 */

/** Everything a run needs before its first update. */
export interface Setup {
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
  const longest = data.text ? Math.floor(data.text.train.length / B)
    : data.series ? Math.floor(data.train[0].length / B) : Math.max(...data.train.map((s) => s.length));
  const windowT = Math.min(longest, cfg.training.bptt?.truncate ?? longest);
  const need = trainingBytes(shape, cfg.training.dtype, windowT, Math.min(B, data.series ? B : data.train.length));
  const have = memoryLimit();
  if (need > 0.8 * have.bytes) {
    const of = have.source === "this machine" ? "this machine's" : `the limit of ${have.source}:`;
    throw new InputError(`${configPath}: model.hiddenSize ${shape.hiddenSize} × layers ${shape.layers}: training would need about ${(need / 2 ** 30).toFixed(1)} GiB, more than 80% of ${of} ${(have.bytes / 2 ** 30).toFixed(1)} GiB`);
  }
}

/** Starting weights: the checkpoint resumed (with its optimizer state), model.init, or seeded. */
function initialWeights(net: Network, opt: Optimizer, cfg: ResolvedConfig, configPath: string, resume: Checkpoint | null,
  categories: TrainingData["categories"]): void {
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
      || init.shape.hiddenSize !== s.hiddenSize || init.shape.layers !== s.layers || init.shape.bias !== s.bias
      || init.shape.embedding?.size !== s.embedding?.size
      || JSON.stringify(init.shape.categorical ?? null) !== JSON.stringify(s.categorical ?? null)) {
      throw new InputError(`${configPath}: model.init: ${cfg.model.init} holds a model of another shape (${JSON.stringify(init.shape)})`);
    }
    // SPEC §11: table row k + 1 is category k of the lists; other lists would give rows to other categories.
    const other = cfg.data.categorical.find(({ column }) => JSON.stringify(init.categories?.[column] ?? null) !== JSON.stringify(categories?.[column] ?? null));
    if (other) {
      throw new InputError(`${configPath}: model.init: ${cfg.model.init} has other categories for column ${JSON.stringify(other.column)} than the training data (its embed rows would stand for other categories)`);
    }
    copyParams(init, net.layout, net.params);
  } else {
    initParams(net.layout, net.params, net.shape.hiddenSize, new Rng(cfg.seed, 0));
  }
}

/** Where a run starts: afresh, resuming a checkpoint, or forced over an earlier run's files. */
export interface RunStart {
  readonly resume?: string;
  readonly force?: boolean;
}

/**
 * Loads and checks everything for a run of `cfg` (read from `configPath`, named in messages);
 * every rank does, rank 0 alone also opens the run directory.
 */
export async function prepareRun(cfg: ResolvedConfig, configPath: string, o: RunStart, comm: Communicator): Promise<Setup> {
  if (o.resume && o.force) throw new InputError("--resume and --force: choose one");
  const lead = comm.rank === 0;
  if (lead) RunDir.refuseFinished(cfg.output.dir, o.resume !== undefined, o.force === true);
  const resume = o.resume ? loadCheckpoint(o.resume) : null;
  if (resume) checkResumable(resume, cfg);
  const data = await loadTrainingData(cfg, resume ?? undefined);
  const shape = modelShapeOf(cfg, data.text?.vocab ?? data.classes, data.categories);
  checkMemory(configPath, cfg, data, shape);
  const net = new Network(shape, cfg.training.dtype, { kernels: loadBackend(undefined, threadsPerRank(comm)).kernels });
  const opt = createOptimizer(cfg.training.optimizer, net.layout.size, cfg.training.dtype, net.kernels);
  initialWeights(net, opt, cfg, configPath, resume, data.categories);
  const start: Start = resume
    ? { epoch: resume.position ? resume.position.epoch - 1 : resume.epoch, step: resume.step, position: resume.position, carry: resume.carry }
    : { epoch: 0, step: 0, position: null, carry: null };
  const columns = hasValidation(data) ? valColumns(targetShapeOf(cfg, shape.outputSize)) : [];
  const run = lead ? RunDir.open(cfg.output.dir, resume ? start : null, o.force === true, columns, cfg.output.tensorboard) : null;
  return { cfg, data, shape, net, opt, resume, start, run };
}

/**
 * The training batches (shares of them, under MPI) and the validation loss, summed over the
 * ranks: each rank runs its share of the validation sequences.
 */
function batchSource(s: Setup, comm: Communicator): BatchSource {
  const { cfg, data, shape, net } = s;
  const ts = targetShapeOf(cfg, shape.outputSize);
  const B = cfg.training.batchSize;
  if (data.text) return textSource(s, comm);
  const seqs = data.series ? batchify(data.train[0], B, cfg.data.train) : data.train;
  const [vlo, vhi] = rowShare(comm.rank, comm.size, data.val.length);
  const valShare = data.val.slice(vlo, vhi);
  const stats = targetStats(targetPlan(cfg), data.normalization);
  return {
    batches: (epoch) => data.series ? [seqs.map((_, i) => i)] : epochBatches(seqs.length, B, cfg.training.shuffle, cfg.seed, epoch),
    make: (idx, lo, hi) => makeBatch(idx.slice(lo, hi).map((i) => seqs[i]), shape.inputSize, ts, cfg.training.dtype,
      Math.max(...idx.map((i) => seqs[i].length))),
    validate: () => {
      if (data.val.length === 0) return null;
      const total = valShare.length > 0 ? metricSums(net, valShare, ts, stats) : new Float64Array(metricSlots(ts));
      comm.allreduce(total, "sum");
      if (total[1] === 0) return null;
      const all = metricsOf(total, ts);
      return { loss: total[0] / total[1], metrics: Object.fromEntries(valColumns(ts).map((k) => [k, all[k.slice(4)] as number])) };
    },
  };
}

/**
 * A text's batches (SPEC §12): the training tokens' B streams as one batch (a rank's share of
 * the streams under MPI, made once), and the validation text as one sequence, on rank 0.
 */
function textSource(s: Setup, comm: Communicator): BatchSource {
  const text = s.data.text!, net = s.net, V = s.shape.outputSize, B = s.cfg.training.batchSize;
  const ts = targetShapeOf(s.cfg, V);
  let share: { lo: number; hi: number; batch: ReturnType<typeof streamBatch> } | null = null;
  const val = text.val && comm.rank === 0 ? sequenceBatch(text.val, V) : null;
  return {
    batches: () => [Array.from({ length: B }, (_, i) => i)],
    make: (_idx, lo, hi) => {
      if (!share || share.lo !== lo || share.hi !== hi) share = { lo, hi, batch: streamBatch(text.train, B, V, lo, hi) };
      return share.batch;
    },
    validate: () => {
      if (!text.val) return null;
      const total = val ? batchMetricSums(net, [val], ts) : new Float64Array(metricSlots(ts));
      comm.allreduce(total, "sum");
      const all = metricsOf(total, ts);
      return { loss: total[0] / total[1], metrics: Object.fromEntries(valColumns(ts).map((k) => [k, all[k.slice(4)] as number])) };
    },
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
export interface Ending { result: "done" | "stopped early" | StopSignal; step: number; best: number; earlyStopping: EarlyStopping | null }

/** Where a run talks to its caller: the CLI (terminal, signals, plots) or the library. */
export interface RunHooks {
  /** Polled at every update: a stop signal ends the run after that update, saved. */
  stopRequested(): StopSignal | null;
  /** After each update (rank 0); `batch` of `batches` is the epoch's progress. */
  onUpdate?(u: UpdateRow, batch: number, batches: number): void;
  /** After each epoch is logged and saved (rank 0); `isBest` when it is best.safetensors now. */
  onEpoch?(e: EpochRow, step: number, isBest: boolean): void | Promise<void>;
}

/** Runs the loop, writing the run directory (rank 0); returns how it ended. */
export async function runTraining(s: Setup, hooks: RunHooks, comm: Communicator): Promise<Ending> {
  const { cfg, data, shape, net, opt, run } = s;
  const lead = run !== null;
  const { schedule, earlyStopping } = trainingControl(cfg, opt, s.resume);
  let best = s.resume?.bestValLoss ?? Infinity;
  let step = s.start.step;
  // A run that early stopping ended has nothing left to train: resuming it changes nothing.
  if (earlyStopping?.stopped()) return { result: "stopped early", step, best, earlyStopping };
  const save = (file: typeof LAST | typeof BEST, epoch: number, position: Position | null, carry: readonly Float[] | null): void => {
    run?.save(file, {
      config: cfg, shape, dtype: cfg.training.dtype, params: net.params, normalization: data.normalization, fill: data.fill, classes: data.classes,
      vocab: data.text?.vocab ?? null, categories: data.categories,
      epoch, step, optimizer: { name: opt.config.name, steps: opt.steps, state: opt.state },
      position, carry, bestValLoss: Number.isFinite(best) ? best : null,
      schedule: schedule?.state() ?? null, earlyStopping: earlyStopping?.state() ?? null,
    });
  };
  const columns = hasValidation(data) ? valColumns(targetShapeOf(cfg, shape.outputSize)) : [];
  try {
    const result = await trainLoop(net, opt, batchSource(s, comm), {
      epochs: cfg.training.epochs, bptt: cfg.training.bptt, clip: cfg.training.clip, schedule, earlyStopping,
      dropout: new DropoutMasks(cfg.seed, cfg.model.dropout, cfg.model.recurrentDropout, shape.hiddenSize, shape.layers, cfg.training.dtype, directions(shape)),
    }, s.start, {
      now: () => performance.now() / 1000,
      stopRequested: () => hooks.stopRequested(),
      onUpdate: (u, batch, batches) => {
        step = u.step;
        run?.updates.add([u.epoch, u.step, u.loss, u.gradNorm, u.lr]);
        if (lead) hooks.onUpdate?.(u, batch, batches);
      },
      onEpoch: async (e) => {
        run?.epochs.add([e.epoch, e.trainLoss, e.valLoss, e.seconds, ...columns.map((k) => e.valMetrics[k] ?? null)]);
        const isBest = e.valLoss !== null && e.valLoss < best;
        if (isBest) best = e.valLoss as number;
        if (isBest) save(BEST, e.epoch, null, null);
        save(LAST, e.epoch, null, null); // the CSV rows are flushed by then
        if (lead) await hooks.onEpoch?.(e, step, isBest);
      },
      onStop: (pos, carry) => save(LAST, pos.epoch - 1, pos, carry),
    }, comm);
    return { result, step, best, earlyStopping };
  } catch (e) {
    // The updates up to a divergence are the user's best clue (its grad_norm column): keep them.
    // The checkpoint is not touched, so it stays the last good one.
    if (e instanceof JobError) run?.flush();
    throw e;
  }
}
