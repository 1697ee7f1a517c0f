import { referenceKernels, type Kernels } from "../../src/core/kernels.js";
import { loadAddon, nativeKernels } from "../../src/kernels/native.js";

/**
 * The kernel backends to test: the TypeScript reference, and the native addon. The addon
 * must load unless RNN_NO_NATIVE says the machine has none, so CI cannot skip it silently.
 */
export function backends(): [string, Kernels][] {
  const out: [string, Kernels][] = [["js", referenceKernels]];
  const addon = loadAddon();
  if (addon instanceof Error) {
    if (!process.env.RNN_NO_NATIVE) throw new Error(`native kernels failed to load (set RNN_NO_NATIVE=1 to test without them): ${addon.message}`);
  } else {
    out.push(["native", nativeKernels(addon)]);
  }
  return out;
}
