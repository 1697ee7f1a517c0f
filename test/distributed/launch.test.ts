import { describe, expect, it } from "vitest";
import { rowShare, soloComm } from "../../src/distributed/comm.js";
import { agree, detectLaunch, joinWorld } from "../../src/distributed/launch.js";
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
