import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { exitCodeOf, failureText, InputError } from "./errors.js";
import { processIo, type Io } from "./io/terminal.js";
import { packageVersion } from "./io/version.js";

/** A whole-number flag, bounded: an absurd value is refused here, not met as an allocation later. */
function intArg(name: string, max = Infinity) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer.`);
    const n = Number(v);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}.`);
    return n;
  };
}

/** A whole-number flag that must be at least 1. */
function positiveIntArg(name: string, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got ${JSON.stringify(v)}.`);
    return intArg(name, max)(v);
  };
}

/** A number flag ≥ 0 (--temperature). */
function nonNegativeNumberArg(name: string) {
  return (v: string): number => {
    const n = /^\s*$/.test(v) ? NaN : Number(v);
    if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got ${JSON.stringify(v)}.`);
    return n;
  };
}

/** --quantiles 0.1,0.5,0.9: numbers in [0, 1], strictly increasing. */
function quantileList(v: string): number[] {
  const qs = v.split(",").map((s) => s.trim());
  const out = qs.map((s) => (/^(0(\.\d*)?|\.\d+|1(\.0*)?)$/.test(s) ? Number(s) : NaN));
  const bad = qs.find((_, i) => Number.isNaN(out[i]));
  if (bad !== undefined) throw new InvalidArgumentError(`--quantiles: ${JSON.stringify(bad)} is not a number in [0, 1].`);
  if (out.some((q, i) => i > 0 && !(q > out[i - 1]))) throw new InvalidArgumentError("--quantiles must be strictly increasing.");
  return out;
}

/**
 * Builds the command line. Each action runs one command file's exported function and
 * stores its exit code; the commands are imported lazily so that `--help` stays fast.
 */
export function buildProgram(io: Io, setCode: (code: number) => void, debug = false): Command {
  const program = new Command("rnn")
    .description("Train, evaluate and run recurrent neural networks: stacked Elman, LSTM and GRU, truncated BPTT, gradient clipping; data-parallel under MPI (mpirun, srun).")
    .version(packageVersion(), "-V, --version")
    .option("--debug", "print stack traces of errors")
    .showSuggestionAfterError()
    .configureOutput({ writeErr: (s) => io.stderr.write(s), writeOut: (s) => io.stderr.write(s) })
    .exitOverride();

  program.command("init")
    .description("print a starter config (YAML, every key commented) for a CSV: columns, task, sizes and training control guessed from its first rows")
    .argument("<data.csv>", "the training data")
    .option("--target <column>", "a target column (repeatable; default: the last column)", (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option("--sequence <column>", "the sequence id column (default: guessed from the first column)")
    .option("--no-sequence", "no sequence column: the file is one long series")
    .addOption(new Option("--task <task>", "the task (default: guessed from the target's cells); forecast: regression of the next row from the rows so far")
      .choices(["regression", "classification", "forecast"]))
    .option("--out <config.yaml>", "write the config to this file (atomically) instead of stdout, paths relative to its folder")
    .option("--force", "with --out: replace an existing file")
    .action(async (csv: string, opts: import("./commands/init.js").InitOptions) => {
      const { init } = await import("./commands/init.js");
      setCode(await init(csv, opts, io));
    });

  program.command("train")
    .description("train the model a config describes; writes a run directory")
    .argument("<config>", "config file (.yaml, .yml or .json), or a sweep folder (written by rnn sweep)")
    .option("--index <i>", "with a sweep folder: the point to train (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX)")
    .option("--resume <ckpt>", "continue the run saved in this checkpoint")
    .option("--force", "start over in a run directory that already holds a checkpoint")
    .option("--out <dir>", "run directory (default: the config's output.dir)")
    .option("--seed <n>", "seed for initialisation and shuffling (overrides the config)", intArg("--seed"))
    .option("--set <key=value>", "override a config key by its dotted path, the value read as YAML (repeatable): --set training.epochs=5",
      (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option("--json", "print one JSON object per epoch on stdout")
    .option("--quiet", "print nothing on stderr but errors")
    .option("--tensorboard", "also write a TensorBoard event file into the run directory (output.tensorboard: true)")
    .action(async (arg: string, opts: Omit<import("./commands/train.js").TrainOptions, "set"> & { index?: string; set?: string[] }) => {
      const { resolveTrainConfig } = await import("./commands/sweep.js");
      const { parseSetArg } = await import("./config/grid.js");
      const { index, set, ...rest } = opts;
      const trainOpts = { ...rest, set: (set ?? []).map(parseSetArg), debug };
      const config = await resolveTrainConfig(arg, index, process.env);
      // Under an MPI launcher rank 0 alone prints (SPEC §9).
      const { detectLaunch } = await import("./distributed/launch.js");
      if (config !== arg && !opts.quiet && detectLaunch(process.env).rank === 0) io.stderr.write(`sweep point: ${config}\n`);
      const { train } = await import("./commands/train.js");
      setCode(await train(config, trainOpts, io));
    });

  const sweepCommand = program.command("sweep")
    .description("write one config per point of a hyper-parameter grid into a sweep folder; see also: rnn sweep summary <folder>")
    .argument("<config>", "the config the grid varies")
    .option("--grid <key=v1,v2,…>", "a dotted config key and its values, read as YAML scalars; repeat it for a grid (the last varies fastest)",
      (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option("--out <folder>", "the sweep folder (default: <config dir>/<config name>-sweep)")
    .option("--force", "replace the sweep this folder already holds")
    .action(async (config: string, opts: import("./commands/sweep.js").SweepOptions) => {
      const { sweep } = await import("./commands/sweep.js");
      setCode(await sweep(config, opts, io));
    });
  sweepCommand.command("summary")
    .description("one row per point of a sweep: its grid values, best_val_loss, best_epoch, epochs, status (CSV)")
    .argument("<folder>", "a sweep folder (written by rnn sweep)")
    .option("--json", "print one JSON array instead of CSV")
    .action(async (folder: string, opts: { json?: boolean }, cmd: Command) => {
      // Commander lets `sweep` take its options from anywhere on the line, `summary …` included.
      const stray = Object.keys(cmd.parent?.opts() ?? {});
      if (stray.length > 0) throw new InputError(`sweep summary: --${stray[0]} is an option of rnn sweep <config>, not of sweep summary`);
      const { sweepSummary } = await import("./commands/sweep.js");
      setCode(await sweepSummary(folder, opts, io));
    });

  program.command("eval")
    .description("evaluate a checkpoint: pooled loss and the task's metrics")
    .argument("<checkpoint>", "a .safetensors checkpoint")
    .option("--data <csv>", "data to evaluate (default: the checkpoint's validation data; - reads stdin)")
    .option("--json", "print one JSON object on stdout")
    .action(async (ckpt: string, opts: { data?: string; json?: boolean }) => {
      const { evaluate } = await import("./commands/eval.js");
      setCode(await evaluate(ckpt, opts, io));
    });

  program.command("predict")
    .description("predict every row of a CSV (streamed; CSV out on stdout)")
    .argument("<checkpoint>", "a .safetensors checkpoint")
    .option("--data <csv>", "input CSV; - or none reads stdin")
    .option("--last", "print only each sequence's final step")
    .action(async (ckpt: string, opts: { data?: string; last?: boolean }) => {
      const { predict } = await import("./commands/predict.js");
      setCode(await predict(ckpt, opts, io));
    });

  program.command("forecast")
    .description("roll an autoregressive model forward: h rows past the end of each sequence (CSV on stdout); with --samples, sample paths of a likelihood model and their quantiles")
    .argument("<checkpoint>", "a .safetensors checkpoint of a regression model trained with data.shift 1")
    .requiredOption("--horizon <h>", "rows to forecast per sequence", positiveIntArg("--horizon", 1_000_000))
    .option("--data <csv>", "the history to forecast from; - or none reads stdin")
    .option("--samples <n>", "draw n sample paths per sequence (model.likelihood models): print their mean and quantiles", positiveIntArg("--samples", 10_000_000))
    .option("--quantiles <list>", "with --samples: the quantiles of the paths to print (default 0.1,0.5,0.9)", quantileList)
    .option("--seed <n>", "with --samples: the generator's seed (default the checkpoint's seed)", intArg("--seed", 2 ** 32 - 1))
    .option("--paths", "with --samples: print every path (sequence, sample, t, targets) instead of their summary")
    .option("--plot <file.svg>", "also draw history and forecast (the first sequences) into an SVG file; probabilistic models as a fan chart (10–90% band, median)")
    .action(async (ckpt: string, opts: import("./commands/forecast.js").ForecastOptions) => {
      const { forecast } = await import("./commands/forecast.js");
      setCode(await forecast(ckpt, opts, io));
    });

  program.command("backtest")
    .description("hold out the last h rows of every sequence, forecast them from the rows before, and score the forecast beside the seasonal naive one (JSON on stdout)")
    .argument("<checkpoint>", "a .safetensors checkpoint of a regression model trained with data.shift 1")
    .requiredOption("--horizon <h>", "rows held out and forecast per sequence", positiveIntArg("--horizon", 1_000_000))
    .option("--data <csv>", "the sequences to backtest; - reads stdin (default: the checkpoint's validation data)")
    .option("--season <m>", "the season of the naive baseline and of MASE's scale (default 1)", positiveIntArg("--season", 1_000_000))
    .option("--samples <n>", "forecast by the mean of n sample paths (model.likelihood models) and add crps and coverage80", positiveIntArg("--samples", 10_000_000))
    .option("--seed <n>", "with --samples: the generator's seed (default the checkpoint's seed)", intArg("--seed", 2 ** 32 - 1))
    .option("--json", "print only the JSON object (no table on stderr)")
    .action(async (ckpt: string, opts: import("./commands/backtest.js").BacktestOptions) => {
      const { backtest } = await import("./commands/backtest.js");
      setCode(await backtest(ckpt, opts, io));
    });

  program.command("sample")
    .description("write text from a language model (data.text): the prime fed in, then token after token on stdout (streamed)")
    .argument("<checkpoint>", "a .safetensors checkpoint of a data.text model")
    .option("--prime <text>", "text to start from (default: token 0); not printed")
    .option("--length <n>", "tokens to generate (default 500)", intArg("--length", 1_000_000_000))
    .option("--temperature <t>", "0: the most likely token; else softmax(logits / t) (default 1)", nonNegativeNumberArg("--temperature"))
    .option("--top-k <k>", "draw from the k most likely tokens only", positiveIntArg("--top-k", 1_000_000_000))
    .option("--seed <n>", "the generator's seed (default the checkpoint's seed)", intArg("--seed", 2 ** 32 - 1))
    .option("--probs", "print the next token's distribution after the prime (CSV token,p) instead")
    .action(async (ckpt: string, opts: import("./commands/sample.js").SampleOptions) => {
      const { sample } = await import("./commands/sample.js");
      setCode(await sample(ckpt, opts, io));
    });

  program.command("export")
    .description("write a checkpoint as an ONNX model (raw inputs in, what predict prints out; state in and out)")
    .argument("<checkpoint>", "a .safetensors checkpoint")
    .requiredOption("--onnx <file.onnx>", "the ONNX file to write")
    .addOption(new Option("--state-inputs <kind>", "h0/c0 optional (zero when absent; SPEC §8) or required (onnxruntime-node feeds no optional input: use required to carry state from Node)")
      .choices(["optional", "required"]).default("optional"))
    .option("--verify", "run the written model in onnxruntime (if installed) and compare it with rnn predict")
    .option("--data <csv>", "with --verify: data to compare on (default: the checkpoint's validation data, else its training data)")
    .action(async (ckpt: string, opts: import("./commands/export.js").ExportOptions) => {
      const { exportCommand } = await import("./commands/export.js");
      setCode(await exportCommand(ckpt, opts, io));
    });

  program.command("bench")
    .description("measure training speed (or with --predict, inference speed) on the standard workloads (small, medium, large)")
    .option("--workload <names>", "comma-separated workloads", "small,medium,large")
    .option("--seconds <s>", "timed seconds per workload, after warm-up", (v) => {
      const n = Number(v);
      if (!(n > 0 && n <= 3600)) throw new InvalidArgumentError("--seconds must be a number of seconds from 0 to 3600.");
      return n;
    }, 3)
    .option("--rounds <n>", "timed rounds per workload (the median is reported)", intArg("--rounds", 1000), 5)
    .option("--backend <name>", "native, js or auto", "auto")
    .option("--threads <n>", "threads for the native kernels (default: all cores)", intArg("--threads"))
    .option("--cell <cell>", "elman, lstm or gru", "elman")
    .addOption(new Option("--head <head>", "train with this SPEC §10 head (model.likelihood, or quantiles 0.1,0.5,0.9) to time its cost; the plain model runs in the rounds between, for the ratio").choices(["gaussian", "studentT", "negativeBinomial", "quantiles"]))
    .option("--recurrent-dropout <q>", "train with this recurrent dropout (model.recurrentDropout) to time its cost", (v) => {
      const q = Number(v);
      if (!(q >= 0 && q < 1)) throw new InvalidArgumentError("--recurrent-dropout must be a number in [0, 1).");
      return q;
    })
    .option("--bidirectional", "train a bidirectional layer (model.bidirectional, SPEC §13: one window of T steps read both ways) to time its cost")
    .option("--predict", "measure inference instead: predict rows/s, batch 1 streaming and batched, beside onnxruntime on the exported model")
    .option("--json", "print the results as one JSON object on stdout")
    .option("--data <files>", "instead: time reading these data files (comma-separated) into memory, rows/s and bytes per cell")
    .option("--text", "instead: train the text protocol (embedding 64, LSTM 2×256, vocabulary 65, batch 32, TBPTT 64, Adam) beside PyTorch's CPU training of it (/usr/bin/python3 with torch)")
    .action(async (opts: import("./commands/bench.js").BenchOptions & { data?: string; text?: boolean }) => {
      if (opts.text) {
        const { benchText } = await import("./commands/bench-text.js");
        setCode(await benchText({ seconds: opts.seconds, rounds: opts.rounds, backend: opts.backend, threads: opts.threads, json: opts.json }, io));
        return;
      }
      if (opts.data !== undefined) {
        const { benchData } = await import("./commands/bench-data.js");
        setCode(await benchData({ data: opts.data, rounds: opts.rounds, json: opts.json }, io));
        return;
      }
      const { bench } = await import("./commands/bench.js");
      setCode(await bench(opts, io));
    });

  program.command("grad-flow")
    .description("how gradients flow back through time: ‖∂L_t/∂h_(t−k)‖ and ‖∏ ∂h_j/∂h_(j−1)‖ per lag k and layer")
    .argument("<model>", "a checkpoint (.safetensors) or a config (its model.init weights, or seeded ones)")
    .option("--data <csv>", "sequences to measure on (default: the checkpoint's validation data, else its training data)")
    .option("--lags <k>", "largest lag", intArg("--lags", 100_000), 50)
    .option("--sequences <n>", "at most this many sequences", intArg("--sequences", 1_000_000), 64)
    .option("--json", "print JSON on stdout instead of CSV")
    .option("--plot <file.svg>", "also write a log-scale plot")
    .action(async (model: string, opts: import("./commands/grad-flow.js").GradFlowOptions) => {
      const { gradFlowCommand } = await import("./commands/grad-flow.js");
      setCode(await gradFlowCommand(model, opts, io));
    });

  program.command("plot")
    .description("write loss.svg and grad-norm.svg into a run directory (from its updates.csv and epochs.csv)")
    .argument("<run dir>", "a run directory written by rnn train")
    .action(async (dir: string) => {
      const { plot } = await import("./commands/plot.js");
      setCode(await plot(dir, io));
    });

  program.command("grad-check")
    .description("compare BPTT gradients with central finite differences (float64)")
    .argument("[config]", "check the model this config describes on a few of its sequences (default: the built-in suite)")
    .option("--json", "print {ok, maxRelError, cases} as JSON on stdout")
    .action(async (config: string | undefined, opts: { json?: boolean }) => {
      const { gradCheck } = await import("./commands/grad-check.js");
      setCode(await gradCheck(config, opts, io));
    });

  return program;
}

/** Runs the CLI; returns the exit code. The one place typed errors become exit codes. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code = 0;
  const debug = argv.includes("--debug");
  const program = buildProgram(io, (c) => { code = c; }, debug);
  program.commands.forEach((c) => c.exitOverride().configureOutput({
    writeErr: (s) => io.stderr.write(s), writeOut: (s) => io.stderr.write(s),
  }));
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    io.stderr.write(failureText(e, debug));
    return exitCodeOf(e);
  }
}
