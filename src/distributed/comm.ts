import type { Float } from "../core/tensor.js";

/** How `allreduce` combines the ranks' values. */
export type ReduceOp = "sum" | "max" | "min";

/**
 * The processes of one training job and the collectives they join (MPI_COMM_WORLD). The
 * training loop is handed one and never asks which it has: a single process is a world of one
 * whose collectives change nothing.
 */
export interface Communicator {
  /** This process's rank, 0 … size−1; rank 0 writes the files and prints. */
  readonly rank: number;
  readonly size: number;
  /** Ranks on this machine (they share its cores). */
  readonly localSize: number;
  /** What carries the collectives ("single process", "Open MPI v4.1.4", …). */
  readonly library: string;
  /** buf ← op over every rank's buf, element by element, on every rank (MPI_Allreduce in place). */
  allreduce(buf: Float, op?: ReduceOp): void;
  /**
   * Rank 0's `recv` receives every rank's `send` in rank order, counts[r] elements from rank r
   * (MPI_Gatherv); `recv` is ignored elsewhere.
   */
  gather(send: Float, recv: Float | null, counts: readonly number[]): void;
  /** Ends the job on every rank at once with this exit code (MPI_Abort); does not return. */
  abort(code: number): never;
  /** Leaves the world; every rank calls it once, at the end. */
  finalize(): void;
}

/** One process: nothing to sum with, nobody to wait for. */
export const soloComm: Communicator = {
  rank: 0,
  size: 1,
  localSize: 1,
  library: "single process",
  allreduce: () => {},
  gather: (send, recv, counts) => { recv?.set(send.subarray(0, counts[0])); },
  abort: (code) => process.exit(code),
  finalize: () => {},
};

/**
 * The rows of a batch of B that rank r of N computes: ⌊rB/N⌋ … ⌊(r+1)B/N⌋−1 (SPEC §9), as
 * [start, end). A rank can get none (B < N); it still joins every collective.
 */
export function rowShare(rank: number, size: number, B: number): readonly [number, number] {
  return [Math.floor((rank * B) / size), Math.floor(((rank + 1) * B) / size)];
}
