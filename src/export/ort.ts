import type * as Ort from "onnxruntime-node";
import type { ModelShape } from "../core/network.js";

/** onnxruntime-node's module, as `rnn export --verify` and `rnn bench --predict` use it. */
export type OrtModule = typeof Ort;
export type OrtSession = Ort.InferenceSession;

/** What to install, said where a command needs onnxruntime and does not find it. */
export const ORT_MISSING = "onnxruntime-node is not installed (it is one of rnn's devDependencies: npm install in a clone of rnn, or npm install onnxruntime-node)";

/**
 * Loads onnxruntime-node, or returns null when it is not installed. It is an optional
 * companion (a devDependency, 100+ MB): rnn exports without it; only checking an export and
 * benchmarking against it need it. Any other failure to load it is thrown as it is.
 */
export async function loadOrt(): Promise<OrtModule | null> {
  try {
    const m = await import("onnxruntime-node");
    // A CommonJS module: its exports are the default export (named ones as Node detects them).
    return ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if ((err.code === "ERR_MODULE_NOT_FOUND" || err.code === "MODULE_NOT_FOUND") && /onnxruntime-node/.test(err.message)) return null;
    throw e;
  }
}

/**
 * An inference session on the CPU over a model's bytes: `threads` intra-op threads, ORT's
 * full graph optimisation, and only its errors logged (it warns, by design here, that the
 * h0/c0 initializers are overridable inputs).
 */
export function openSession(ort: OrtModule, model: Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: ["cpu"], intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: "all", logSeverityLevel: 3,
  });
}

type OrtTensor = InstanceType<OrtModule["Tensor"]>;

/** The state inputs that start every sequence of a batch from s_0: zeros [L, 1, H] (the model broadcasts them). */
export function freshState(ort: OrtModule, shape: Pick<ModelShape, "cell" | "layers" | "hiddenSize">): Record<string, OrtTensor> {
  const zeros = (): OrtTensor => new ort.Tensor("float32", new Float32Array(shape.layers * shape.hiddenSize), [shape.layers, 1, shape.hiddenSize]);
  return shape.cell === "lstm" ? { h0: zeros(), c0: zeros() } : { h0: zeros() };
}
