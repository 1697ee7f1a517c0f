import { createRequire } from "node:module";
import type { Float } from "../core/tensor.js";
import type { Communicator, ReduceOp } from "./comm.js";

/** The MPI binding (native/mpi/mpi.cc), built at install where an MPI is found. */
export interface MpiAddon {
  init(): { rank: number; size: number; localSize: number; library: string };
  /** MPI_Get_library_version's first line, before init ("Open MPI v4.1.4"). */
  library(): string;
  allreduce(buf: Float, op: number): void;
  gather(send: Float, recv: Float | null, counts: readonly number[]): void;
  barrier(): void;
  abort(code: number): void;
  finalize(): void;
}

const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };

/** Loads the MPI binding, or returns why it cannot be used. */
export function loadMpi(): MpiAddon | Error {
  try {
    return createRequire(import.meta.url)("../../native/mpi/build/Release/rnn_mpi.node") as MpiAddon;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Joins MPI_COMM_WORLD (MPI_Init_thread, FUNNELED) and returns it as a Communicator. */
export function mpiComm(addon: MpiAddon): Communicator {
  const w = addon.init();
  let finalized = false;
  return {
    rank: w.rank,
    size: w.size,
    localSize: w.localSize,
    library: w.library,
    allreduce: (buf, op = "sum") => addon.allreduce(buf, OPS[op]),
    gather: (send, recv, counts) => addon.gather(send, recv, counts),
    abort: (code) => {
      addon.abort(code);
      process.exit(code); // MPI_Abort does not return; this is for the type checker
    },
    finalize: () => {
      // The barrier first: whatever a rank printed before it is out before any rank leaves
      // (MPI_Finalize need not synchronise), so the launcher cannot end the job under it.
      if (!finalized) { addon.barrier(); addon.finalize(); }
      finalized = true;
    },
  };
}
