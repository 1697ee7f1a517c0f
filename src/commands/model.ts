import path from "node:path";
import { Network } from "../core/network.js";
import type { Config } from "../config/schema.js";
import type { TargetShape } from "../data/batches.js";
import { loadBackend } from "../kernels/backends.js";
import { copyParams, loadCheckpoint, type Checkpoint } from "../io/checkpoint.js";

/** A checkpoint loaded into a ready network (eval, predict, grad-flow). */
export interface LoadedModel {
  readonly ck: Checkpoint;
  readonly net: Network;
  readonly ts: TargetShape;
}

export function loadModel(file: string): LoadedModel {
  const ck = loadCheckpoint(file);
  const net = new Network(ck.shape, ck.dtype, { kernels: loadBackend().kernels });
  copyParams(ck, net.layout, net.params);
  const ts: TargetShape = ck.config.task === "regression"
    ? { task: "regression", outputs: ck.shape.outputSize } : { task: "classification", classes: ck.shape.outputSize };
  return { ck, net, ts };
}

/** A data path from a checkpoint's config: absolute as we write them, else relative to the checkpoint. */
export function checkpointPath(ckFile: string, p: string): string {
  return path.resolve(path.dirname(path.resolve(ckFile)), p);
}

/** The checkpoint's config with its data paths made absolute. */
export function withAbsoluteData(ckFile: string, c: Config): Config {
  return {
    ...c,
    data: { ...c.data, train: checkpointPath(ckFile, c.data.train),
      validation: c.data.validation === null ? null : checkpointPath(ckFile, c.data.validation) },
  };
}
