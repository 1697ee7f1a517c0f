import type { ResolvedConfig } from "../config/load.js";
import { InputError } from "../errors.js";
import { withAbsoluteData, type Checkpoint } from "../io/checkpoint.js";

/**
 * The config keys a resumed run may change: none of them moves the position inside an epoch,
 * the carried state, the normalisation, the classes or the shape of the weights and optimizer
 * state. Everything else (data files and columns, batching, BPTT, shuffling and its seed, the
 * model, dtype, optimizer kind) must be as the checkpoint was trained.
 */
export const RESUMABLE_CHANGES = ["training.epochs", "training.optimizer.lr", "training.clip", "model.init", "output.dir", "output.tensorboard"] as const;

/** A value as the message shows it: JSON, cut short (a checkpoint may list a thousand columns). */
function shown(v: unknown): string {
  const s = JSON.stringify(v ?? null);
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The first dotted key whose value differs between two configs (a whole list or null counts as one value). */
function firstDifference(was: unknown, now: unknown, key: string): { key: string; was: unknown; now: unknown } | null {
  if ((RESUMABLE_CHANGES as readonly string[]).includes(key)) return null;
  if (isRecord(was) && isRecord(now)) {
    for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) {
      const d = firstDifference(was[k], now[k], key ? `${key}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(was ?? null) === JSON.stringify(now ?? null) ? null : { key, was, now };
}

/**
 * Refuses (exit 2) a --resume whose config changes a key the saved run depends on, naming the
 * checkpoint, the key and both values. Data paths in a checkpoint written elsewhere (PyTorch)
 * may be relative: to the checkpoint's folder, as eval reads them.
 */
export function checkResumable(ck: Checkpoint, cfg: ResolvedConfig): void {
  const saved = withAbsoluteData(ck.file, ck.config);
  const { seed, data, task, targetsAt, model, training } = cfg;
  const diff = firstDifference(saved, { seed, data, task, targetsAt, model, training, output: cfg.output }, "");
  if (diff) {
    throw new InputError(`${ck.file}: was trained with ${diff.key} ${shown(diff.was)}, the config says ${shown(diff.now)}; --resume may change only ${RESUMABLE_CHANGES.join(", ")}`);
  }
  // A schedule's rates all follow from the first one: the resumed run keeps the saved rates.
  if (training.schedule !== null && training.optimizer.lr !== saved.training.optimizer.lr) {
    throw new InputError(`${ck.file}: was trained with training.optimizer.lr ${shown(saved.training.optimizer.lr)}, the config says ${shown(training.optimizer.lr)}; with a training.schedule the rate cannot change on --resume`);
  }
}
