import { availableParallelism, cpus } from "node:os";
import { referenceKernels, type Kernels } from "../core/kernels.js";
import { InputError } from "../errors.js";
import { loadAddon, nativeKernels, type CpuReport, type KernelChoices } from "./native.js";

export const backendNames = ["native", "js"] as const;
export type BackendName = (typeof backendNames)[number];

/** The kernels a run computes with, and how many threads they use. */
export interface Backend {
  readonly name: BackendName;
  readonly threads: number;
  readonly kernels: Kernels;
  /** Why the native kernels are not in use, when they are not. */
  readonly note: string | null;
  /** The CPU and the kernel choices made from it (the js backend: the CPU's name only), for bench reports. */
  machine(): MachineReport;
  dispose(): void;
}

/** What a benchmark reports of the machine it ran on. */
export interface MachineReport {
  readonly cpu: Partial<CpuReport> & { readonly name: string };
  readonly kernels: (KernelChoices & { readonly backend: "native" }) | { readonly backend: "js" };
}

const jsMachine = (): MachineReport => ({ cpu: { name: cpus()[0]?.model ?? "unknown" }, kernels: { backend: "js" } });

/**
 * Picks the kernels: `native` (the compiled addon; all cores by default) or `js` (the pure
 * TypeScript reference, one thread). `auto` takes native when it loads, else js.
 * RNN_BACKEND and RNN_THREADS set the defaults.
 */
export function loadBackend(name: BackendName | "auto" = (process.env.RNN_BACKEND as BackendName | undefined) ?? "auto",
  threads?: number): Backend {
  const envThreads = process.env.RNN_THREADS !== undefined ? Number(process.env.RNN_THREADS) : undefined;
  const want = threads ?? envThreads ?? availableParallelism();
  if (!Number.isInteger(want) || want < 1 || want > 256) throw new InputError(`threads must be a whole number from 1 to 256, got ${want}`);
  if (name !== "js") {
    const addon = loadAddon();
    if (!(addon instanceof Error)) {
      const n = addon.setThreads(want);
      const machine = (): MachineReport => { const t = addon.cpuTuning(); return { cpu: t.cpu, kernels: { backend: "native", ...t.kernels } }; };
      return { name: "native", threads: n, kernels: nativeKernels(addon), note: null, machine, dispose: () => { addon.setThreads(1); } };
    }
    if (name === "native") throw new InputError(`the native kernels are not available: ${addon.message.split("\n")[0]}`);
    return { name: "js", threads: 1, kernels: referenceKernels, note: addon.message.split("\n")[0], machine: jsMachine, dispose: () => {} };
  }
  return { name: "js", threads: 1, kernels: referenceKernels, note: null, machine: jsMachine, dispose: () => {} };
}
