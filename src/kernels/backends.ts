import { availableParallelism } from "node:os";
import { referenceKernels, type Kernels } from "../core/kernels.js";
import { InputError } from "../errors.js";
import { loadAddon, nativeKernels } from "./native.js";

export const backendNames = ["native", "js"] as const;
export type BackendName = (typeof backendNames)[number];

/** The kernels a run computes with, and how many threads they use. */
export interface Backend {
  readonly name: BackendName;
  readonly threads: number;
  readonly kernels: Kernels;
  /** Why the native kernels are not in use, when they are not. */
  readonly note: string | null;
  dispose(): void;
}

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
      return { name: "native", threads: n, kernels: nativeKernels(addon), note: null, dispose: () => { addon.setThreads(1); } };
    }
    if (name === "native") throw new InputError(`the native kernels are not available: ${addon.message.split("\n")[0]}`);
    return { name: "js", threads: 1, kernels: referenceKernels, note: addon.message.split("\n")[0], dispose: () => {} };
  }
  return { name: "js", threads: 1, kernels: referenceKernels, note: null, dispose: () => {} };
}
