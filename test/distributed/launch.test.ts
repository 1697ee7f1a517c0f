import { describe, expect, it } from "vitest";
import { rowShare, soloComm } from "../../src/distributed/comm.js";
import { agree, detectLaunch, joinWorld, srunWithoutPmix } from "../../src/distributed/launch.js";
import type { MpiAddon } from "../../src/distributed/mpi.js";
import { InputError, ReportedElsewhere } from "../../src/errors.js";

describe("rowShare: rank r of N takes rows ⌊rB/N⌋ … ⌊(r+1)B/N⌋−1", () => {
  const cases: [number, number, [number, number][]][] = [
    [7, 2, [[0, 3], [3, 7]]],
    [7, 3, [[0, 2], [2, 4], [4, 7]]],
    [2, 3, [[0, 0], [0, 1], [1, 2]]],
    [1, 2, [[0, 0], [0, 1]]],
    [16, 4, [[0, 4], [4, 8], [8, 12], [12, 16]]],
  ];
  for (const [B, N, want] of cases) {
    it(`B=${B}, N=${N}`, () => {
      const got = Array.from({ length: N }, (_, r) => rowShare(r, N, B));
      expect(got).toEqual(want);
      // Every row exactly once, in order.
      expect(got.reduce((n, [a, b]) => n + b - a, 0)).toBe(B);
    });
  }
});

describe("detectLaunch reads the launchers' variables", () => {
  const table: [string, NodeJS.ProcessEnv, { launcher: string | null; promised: number | null; rank: number }][] = [
    ["nothing", {}, { launcher: null, promised: null, rank: 0 }],
    ["Open MPI", { OMPI_COMM_WORLD_SIZE: "4", OMPI_COMM_WORLD_RANK: "2" }, { launcher: "mpirun (Open MPI)", promised: 4, rank: 2 }],
    ["MPICH Hydra / PMI-2", { PMI_SIZE: "3", PMI_RANK: "1" }, { launcher: "a PMI launcher (mpiexec, srun --mpi=pmi2)", promised: 3, rank: 1 }],
    ["srun", { SLURM_NTASKS: "8", SLURM_PROCID: "5" }, { launcher: "srun (Slurm)", promised: 8, rank: 5 }],
    ["PMIx (no size)", { PMIX_RANK: "1" }, { launcher: "a PMIx launcher", promised: null, rank: 1 }],
    ["Open MPI wins over Slurm", { SLURM_NTASKS: "8", OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_RANK: "0" }, { launcher: "mpirun (Open MPI)", promised: 2, rank: 0 }],
    ["garbage is no launcher", { OMPI_COMM_WORLD_SIZE: "two" }, { launcher: null, promised: null, rank: 0 }],
  ];
  for (const [name, env, want] of table) {
    it(name, () => expect(detectLaunch(env)).toMatchObject(want));
  }
});

describe("joinWorld", () => {
  const noMpi = () => new Error("Cannot find module rnn_mpi.node");
  it("no launcher, or a launcher of one process: a single process, MPI never loaded", () => {
    expect(joinWorld({}, noMpi)).toBe(soloComm);
    expect(joinWorld({ SLURM_NTASKS: "1", SLURM_PROCID: "0" }, noMpi)).toBe(soloComm);
  });
  it("a launcher of N > 1 without MPI support: exit 2 on rank 0 saying how to get it, quiet elsewhere", () => {
    expect(() => joinWorld({ OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_RANK: "0" }, noMpi)).toThrow(InputError);
    expect(() => joinWorld({ OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_RANK: "0" }, noMpi)).toThrow(/apt-get install libopenmpi-dev.*npm rebuild/);
    expect(() => joinWorld({ SLURM_NTASKS: "2", SLURM_PROCID: "1" }, noMpi)).toThrow(ReportedElsewhere);
  });
});

describe("agree, in one process", () => {
  it("passes values and errors through unchanged", async () => {
    expect(await agree(soloComm, () => 42)).toBe(42);
    const e = new InputError("x.yaml: bad");
    await expect(agree(soloComm, () => { throw e; })).rejects.toBe(e);
  });
});

describe("srunWithoutPmix: srun without the PMIx Open MPI needs is refused before MPI_Init", () => {
  const ompi = "Open MPI v4.1.4";
  const table: [string, NodeJS.ProcessEnv, string, RegExp | null][] = [
    ["srun --mpi=none (MpiDefault none)", { SLURM_NTASKS: "2", SLURM_STEP_NUM_TASKS: "2", SLURM_PROCID: "0" }, ompi,
      /^srun started 2 tasks \(SLURM_STEP_NUM_TASKS=2\) with no PMIx \(PMIX_RANK is not set\), which Open MPI v4\.1\.4 needs to start under srun: launch with srun --mpi=pmix, or set MpiDefault=pmix in slurm\.conf$/],
    ["srun --mpi=pmi2", { SLURM_STEP_NUM_TASKS: "3", PMI_SIZE: "3", PMI_RANK: "0", PMI_FD: "5" }, ompi,
      /^srun started 3 tasks \(SLURM_STEP_NUM_TASKS=3\) with no PMIx \(PMIX_RANK is not set, only Slurm's PMI-2 \(PMI_RANK\)\).*srun --mpi=pmix.*MpiDefault=pmix/],
    ["a batch script's own shell (SLURM_NTASKS alone: the allocation, not an srun step)", { SLURM_NTASKS: "4", SLURM_PROCID: "0" }, ompi, null],
    ["srun --mpi=pmix", { SLURM_STEP_NUM_TASKS: "2", SLURM_NTASKS: "2", PMIX_RANK: "0", PMIX_NAMESPACE: "slurm.pmix.1.0" }, ompi, null],
    ["one task", { SLURM_STEP_NUM_TASKS: "1", SLURM_NTASKS: "1" }, ompi, null],
    ["a one-task step in an allocation of 2 (the step's count wins)", { SLURM_STEP_NUM_TASKS: "1", SLURM_NTASKS: "2" }, ompi, null],
    ["mpirun inside an allocation", { SLURM_NTASKS: "2", OMPI_COMM_WORLD_SIZE: "2", OMPI_COMM_WORLD_RANK: "0" }, ompi, null],
    ["MPICH under srun --mpi=pmi2: its own PMI", { SLURM_STEP_NUM_TASKS: "2", PMI_SIZE: "2", PMI_RANK: "0" }, "MPICH Version:      4.0.2", null],
    ["not Slurm", { PMI_SIZE: "2", PMI_RANK: "0" }, ompi, null],
    ["no launcher", {}, ompi, null],
  ];
  for (const [name, env, library, want] of table) {
    it(name, () => {
      const got = srunWithoutPmix(env, library);
      if (want === null) expect(got).toBeNull();
      else expect(got).toMatch(want);
    });
  }

  it("joinWorld: exit 2 on rank 0 (quiet on the others), and MPI_Init is never called", () => {
    let inits = 0;
    const addon = (): MpiAddon => ({
      library: () => "Open MPI v4.1.4",
      init: () => { inits++; throw new Error("MPI_Init must not run"); },
      allreduce: () => undefined, gather: () => undefined, barrier: () => undefined, abort: () => undefined, finalize: () => undefined,
    });
    expect(() => joinWorld({ SLURM_STEP_NUM_TASKS: "2", SLURM_NTASKS: "2", SLURM_PROCID: "0" }, addon)).toThrow(InputError);
    expect(() => joinWorld({ SLURM_STEP_NUM_TASKS: "2", SLURM_NTASKS: "2", SLURM_PROCID: "1" }, addon)).toThrow(ReportedElsewhere);
    expect(() => joinWorld({ SLURM_STEP_NUM_TASKS: "2", PMI_SIZE: "2", PMI_RANK: "0" }, addon)).toThrow(/--mpi=pmix/);
    expect(inits).toBe(0);
  });
});
