import { availableParallelism } from "node:os";
import { InputError, ReportedElsewhere, RnnError } from "../errors.js";
import { soloComm, type Communicator } from "./comm.js";
import { loadMpi, mpiComm } from "./mpi.js";

/** What the environment says about the launcher that started this process. */
export interface Launch {
  /** The launcher's name, or null when no launcher started this process. */
  readonly launcher: string | null;
  /** The variable that says how many processes it started, and their number (null: not said). */
  readonly sizeVar: string | null;
  readonly promised: number | null;
  /** This process's rank as the environment says (0 when it does not). */
  readonly rank: number;
}

const count = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : null);

/**
 * Reads the launcher's variables: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE/RANK), MPICH's
 * Hydra and Slurm's PMI-2 (PMI_SIZE/RANK), a PMIx server (PMIX_RANK; Open MPI 5, srun
 * --mpi=pmix), Slurm's srun (SLURM_NTASKS/PROCID); the first found wins.
 */
export function detectLaunch(env: NodeJS.ProcessEnv): Launch {
  const kinds: [string, string, string][] = [
    ["mpirun (Open MPI)", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"],
    ["a PMI launcher (mpiexec, srun --mpi=pmi2)", "PMI_SIZE", "PMI_RANK"],
    ["srun (Slurm)", "SLURM_NTASKS", "SLURM_PROCID"],
  ];
  for (const [launcher, sizeVar, rankVar] of kinds) {
    const n = count(env[sizeVar]);
    if (n !== null) return { launcher, sizeVar, promised: n, rank: count(env[rankVar]) ?? 0 };
  }
  const pmix = count(env.PMIX_RANK);
  if (pmix !== null) return { launcher: "a PMIx launcher", sizeVar: null, promised: null, rank: pmix };
  return { launcher: null, sizeVar: null, promised: null, rank: 0 };
}

/**
 * Under srun, Open MPI (4 as Debian builds it, and 5) reaches Slurm only through PMIx: started
 * without it (`--mpi=none`, Slurm's usual MpiDefault, or `--mpi=pmi2`) it dies inside MPI_Init
 * with an abort dump. Seen before MPI_Init: an srun step of N > 1 tasks (SLURM_STEP_NUM_TASKS,
 * which srun sets and a batch script's own shell has not; SLURM_NTASKS alone is the allocation),
 * no PMIx server (no PMIX_RANK), not mpirun's own ranks, and an Open MPI `library`. Returns the
 * one-line refusal, or null. MPICH is left alone: srun --mpi=pmi2 is its PMI.
 */
export function srunWithoutPmix(env: NodeJS.ProcessEnv, library: string): string | null {
  if (!/open mpi/i.test(library) || env.PMIX_RANK !== undefined || env.OMPI_COMM_WORLD_SIZE !== undefined) return null;
  const n = count(env.SLURM_STEP_NUM_TASKS);
  if (n === null || n <= 1) return null;
  const pmi = env.PMI_RANK !== undefined || env.PMI_FD !== undefined ? ", only Slurm's PMI-2 (PMI_RANK)" : "";
  return `srun started ${n} tasks (SLURM_STEP_NUM_TASKS=${n}) with no PMIx (PMIX_RANK is not set${pmi}), which ${library} needs to start under srun: launch with srun --mpi=pmix, or set MpiDefault=pmix in slurm.conf`;
}

/**
 * The world this process trains in: a single process when no launcher asked for more, else
 * MPI_COMM_WORLD. Refused (exit 2): a launcher asking for N > 1 processes where this rnn was
 * built without MPI, and a world of 1 where N were promised (the MPI library could not reach
 * the launcher's PMI: the processes would each train alone and overwrite one another), and srun
 * without the PMIx that Open MPI needs (srunWithoutPmix), before MPI_Init would abort.
 * `load` is the binding's loader (a test passes one that fails).
 */
export function joinWorld(env: NodeJS.ProcessEnv, load: typeof loadMpi = loadMpi): Communicator {
  const l = detectLaunch(env);
  if (l.launcher === null || l.promised === 1) return soloComm;
  // Every process finds the same fault: rank 0 says it once.
  const refuse = (msg: string): never => { throw l.rank === 0 ? new InputError(msg) : new ReportedElsewhere(2); };
  const addon = load();
  if (addon instanceof Error) {
    return refuse(`started by ${l.launcher} as one of ${l.promised ?? "several"} processes, but this rnn has no MPI support (no MPI was found when it was installed): apt-get install libopenmpi-dev (or your MPI's development files), then npm rebuild`);
  }
  const noPmix = srunWithoutPmix(env, addon.library());
  if (noPmix !== null) return refuse(noPmix);
  const comm = mpiComm(addon);
  if (comm.size === 1 && l.promised !== null && l.promised > 1) {
    comm.finalize();
    return refuse(`${l.launcher} promised ${l.promised} processes (${l.sizeVar}=${l.promised}), but MPI started a world of 1: the MPI library rnn was built with (${comm.library}) could not reach the launcher; launch with that MPI's own mpirun, or srun --mpi=<its PMI>`);
  }
  return comm;
}

/**
 * Runs `step` on every rank and agrees on how it went, so that no rank is left waiting in a
 * collective for one that failed: when any rank failed, every rank throws — the lowest failing
 * rank its own error (prefixed with its rank when not 0), the others ReportedElsewhere — with
 * the largest exit code among them.
 */
export async function agree<T>(comm: Communicator, step: () => T | Promise<T>): Promise<T> {
  if (comm.size === 1) return step();
  let value: T | undefined, error: unknown = null, failed = false;
  try { value = await step(); } catch (e) { error = e; failed = true; }
  const code = !failed ? 0 : error instanceof RnnError ? error.exitCode : 1;
  const buf = new Float64Array([code, failed ? -comm.rank : -comm.size]);
  comm.allreduce(buf, "max");
  if (buf[0] === 0) return value as T;
  if (!failed || -buf[1] !== comm.rank) throw new ReportedElsewhere(buf[0]);
  if (comm.rank === 0 || !(error instanceof RnnError)) throw error;
  throw new RnnError(`rank ${comm.rank}: ${error.message}`, buf[0]);
}

/**
 * Kernel threads of one rank under MPI: the machine's cores shared among the ranks on it.
 * Undefined (the backend's own default) for a single process, or when RNN_THREADS says.
 */
export function threadsPerRank(comm: Communicator): number | undefined {
  if (comm.size === 1 || process.env.RNN_THREADS !== undefined) return undefined;
  return Math.max(1, Math.floor(availableParallelism() / comm.localSize));
}
