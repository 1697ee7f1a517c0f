import { Network } from "../core/network.js";
import { targetShapeOf, type TargetShape } from "../data/batches.js";
import { loadBackend } from "../kernels/backends.js";
import { copyParams, loadCheckpoint, type Checkpoint } from "./checkpoint.js";

/** A checkpoint loaded into a ready network, for inference (the CLI's commands and the library). */
export interface LoadedModel {
  readonly ck: Checkpoint;
  readonly net: Network;
  readonly ts: TargetShape;
}

/** `threads`: the native kernels' threads (default RNN_THREADS, else every core). */
export function loadModel(file: string, threads?: number): LoadedModel {
  const ck = loadCheckpoint(file);
  const net = new Network(ck.shape, ck.dtype, { kernels: loadBackend(undefined, threads).kernels });
  copyParams(ck, net.layout, net.params);
  net.freeze(); // inference from here on: W_hh is packed once
  const ts = targetShapeOf(ck.config, ck.shape.outputSize);
  return { ck, net, ts };
}
