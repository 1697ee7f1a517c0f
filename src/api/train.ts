import path from "node:path";
import { loadConfig, resolvePaths, validateConfig, type ResolvedConfig } from "../config/load.js";
import { soloComm } from "../distributed/comm.js";
import { BEST, LAST } from "../io/rundir.js";
import { prepareRun, runTraining } from "../train/run.js";

/** An epoch as `train`'s `onEpoch` sees it (the row epochs.csv gets). */
export interface EpochInfo {
  readonly epoch: number;
  /** Optimizer updates so far. */
  readonly step: number;
  readonly trainLoss: number;
  readonly valLoss: number | null;
  /** val_mse, val_rmse, val_mae or val_accuracy (with validation data). */
  readonly valMetrics: Readonly<Record<string, number>>;
  readonly seconds: number;
  /** This epoch is now best.safetensors. */
  readonly isBest: boolean;
}

export interface TrainOptions {
  /** Called after each epoch, once its checkpoint is saved. */
  onEpoch?: (e: EpochInfo) => void | Promise<void>;
  /** Aborting stops the run after the current update; it saves a checkpoint `resume` continues. */
  signal?: AbortSignal;
  /** Continue the run saved in this checkpoint. */
  resume?: string;
  /** Start over in a run directory that already holds a checkpoint. */
  force?: boolean;
}

export interface TrainResult {
  /** How the run ended: all epochs, early stopping, or the AbortSignal. */
  readonly status: "done" | "stopped early" | "aborted";
  /** Optimizer updates in all. */
  readonly steps: number;
  readonly bestValLoss: number | null;
  /** The run directory and its checkpoints (best: with validation data). */
  readonly dir: string;
  readonly last: string;
  readonly best: string | null;
}

/** A config given as an object: validated as a config file is, its paths relative to the working directory. */
function fromObject(config: object): ResolvedConfig {
  return resolvePaths(validateConfig(config, "config"), path.join(process.cwd(), "config.json"));
}

/**
 * Trains in this process as `rnn train` does (the same checks, run directory, checkpoints and
 * logs; one process, no MPI), with progress as events and an AbortSignal. `config` is a config
 * file's path or a config object. Bad input rejects with an `InputError`, divergence with a
 * `JobError` (both `RnnError`s, with the CLI's messages).
 */
export async function train(config: string | object, o: TrainOptions = {}): Promise<TrainResult> {
  const cfg = typeof config === "string" ? await loadConfig(config) : fromObject(config);
  const setup = await prepareRun(cfg, typeof config === "string" ? config : "config", o, soloComm);
  try {
    const end = await runTraining(setup, {
      stopRequested: () => (o.signal?.aborted ? "SIGINT" : null),
      onEpoch: (e, step, isBest) => o.onEpoch?.({
        epoch: e.epoch, step, trainLoss: e.trainLoss, valLoss: e.valLoss, valMetrics: e.valMetrics, seconds: e.seconds, isBest,
      }),
    }, soloComm);
    const dir = setup.cfg.output.dir;
    const hasBest = Number.isFinite(end.best);
    return {
      status: end.result === "done" || end.result === "stopped early" ? end.result : "aborted",
      steps: end.step, bestValLoss: hasBest ? end.best : null,
      dir, last: path.join(dir, LAST), best: hasBest ? path.join(dir, BEST) : null,
    };
  } finally {
    setup.run?.close();
  }
}
