import path from "node:path";
import { SingleBar } from "cli-progress";
import { setDotted, type Override } from "../config/grid.js";
import { loadConfig, readConfigFile, resolvePaths, validateConfig, type ResolvedConfig } from "../config/load.js";
import { MAX_SEED } from "../config/schema.js";
import type { Communicator } from "../distributed/comm.js";
import { requireAgreement, runDigest, type RunFile } from "../distributed/consensus.js";
import { agree, joinWorld } from "../distributed/launch.js";
import { exitCodeOf, failureText, InputError, Interrupted, JobError, ReportedElsewhere, RnnError, STOP_SIGNALS, type StopSignal } from "../errors.js";
import { num } from "../io/format.js";
import { BEST, LAST, type RunDir } from "../io/rundir.js";
import { requireStdout, writeOut, type Io } from "../io/terminal.js";
import { packageVersion } from "../io/version.js";
import { prepareRun, runTraining, type Ending, type Setup } from "../train/run.js";
import type { EpochRow, UpdateRow } from "../train/trainer.js";
import { RunPlotter } from "./plot.js";

export interface TrainOptions {
  resume?: string;
  force?: boolean;
  out?: string;
  seed?: number;
  json?: boolean;
  quiet?: boolean;
  /** Also write a TensorBoard event file (`--tensorboard`: output.tensorboard, SPEC §14). */
  tensorboard?: boolean;
  /** `--set key=value` overrides (SPEC §6), in the order given. */
  set?: readonly Override[];
  /** Stack traces with errors (`--debug`): under MPI rank 0 prints its own failure, see below. */
  debug?: boolean;
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

/** The files a run reads, compared across the ranks by content (their paths may differ). */
const runFiles = (c: ResolvedConfig, o: TrainOptions): RunFile[] => [
  { what: "data.train", file: c.data.train }, { what: "data.validation", file: c.data.validation },
  { what: "model.init", file: c.model.init }, { what: "--resume", file: o.resume ?? null },
];
const LOCAL_KEYS = ["file", "data.train", "data.validation", "model.init", "output.dir"];

/** Applies --seed, --out and --tensorboard to the config (the checkpoint records what actually ran). */
function withOverrides(c: ResolvedConfig, o: TrainOptions): ResolvedConfig {
  // The checkpoint records the seed, and its reader holds it to the config's bound: so does --seed.
  if (o.seed !== undefined && !(o.seed <= MAX_SEED)) throw new InputError(`--seed ${o.seed}: must be ≤ ${MAX_SEED}`);
  return {
    ...c,
    seed: o.seed ?? c.seed,
    output: { dir: o.out !== undefined ? path.resolve(o.out) : c.output.dir, tensorboard: o.tensorboard === true || c.output.tensorboard },
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

/** The loop with the CLI around it: progress on stderr, --json lines, plots, signals. */
async function loop(s: Setup, o: TrainOptions, io: Io, comm: Communicator): Promise<Ending> {
  const show = reporter(io, o, s.cfg.training.epochs);
  const plots = s.run ? new RunPlotter(s.run.dir, s.cfg.training.clip, (m) => io.stderr.write(`${io.color.yellow("warning")}: ${m}\n`)) : null;
  const signals = watchSignals();
  try {
    return await runTraining(s, {
      stopRequested: signals.requested,
      onUpdate: (u, batch, batches) => show.update(u, batch, batches),
      onEpoch: async (e, step, isBest) => {
        await plots?.epochEnd();
        show.epoch(e, step, isBest);
      },
    }, comm);
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
    const { cfg, digest } = await agree(comm, async () => {
      if (o.json && lead) requireStdout(io); // --json into a closed stdout: refused before the run, not after it
      const c = withOverrides(await readConfig(configPath, o.set ?? []), o);
      return { cfg: c, digest: comm.size > 1 ? await runDigest(packageVersion(), c, runFiles(c, o), LOCAL_KEYS) : null };
    });
    // Ranks that read different configs, flags or files are refused on every rank, naming it.
    if (digest !== null) requireAgreement(comm, digest, configPath);
    const setup = await agree(comm, () => prepareRun(cfg, configPath, o, comm));
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
  } catch (e) {
    // Under MPI rank 0 says why before MPI_Finalize, not after in main: once a rank has exited
    // non-zero the launcher ends the job, and a line written later can be lost (it was, in CI).
    if (comm.size > 1 && lead && !(e instanceof ReportedElsewhere)) {
      io.stderr.write(failureText(e, o.debug === true));
      throw new ReportedElsewhere(exitCodeOf(e));
    }
    throw e;
  } finally {
    run?.close(); // the run directory's lock (an exit hook frees it too, whatever the way out)
    comm.finalize();
  }
}
