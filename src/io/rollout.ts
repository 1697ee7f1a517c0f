import type { Config } from "../config/schema.js";
import { InputError } from "../errors.js";

/**
 * How a model's inputs are fed while it rolls forward (SPEC §7): input i is the forecast of
 * target `fromTarget[i]`, or (−1) a covariate, whose future values the caller must give.
 * Shared by `rnn forecast` (rows of a CSV) and the library's `Model.forecast` (arrays).
 */
export interface Feed {
  readonly fromTarget: readonly number[];
  readonly covariates: readonly string[];
}

/**
 * The feed of a model that can roll forward; refuses (InputError naming `source`) one that
 * cannot: not regression, or not trained with shift 1. Inputs that are not targets are covariates.
 */
export function rolloutFeed(source: string, cfg: Config): Feed {
  const inputs = cfg.data.inputs.map((c) => JSON.stringify(c)).join(", ");
  if (cfg.task !== "regression") {
    throw new InputError(`${source}: forecast needs a regression model; this one is a classifier, so its input column(s) ${inputs} cannot be forecast`);
  }
  if (cfg.data.shift !== 1) {
    throw new InputError(`${source}: forecast needs a model trained to predict the next row (data.shift 1); this one has data.shift ${cfg.data.shift}, so its input column(s) ${inputs} cannot be forecast`);
  }
  const fromTarget = cfg.data.inputs.map((c) => cfg.data.targets.indexOf(c));
  return { fromTarget, covariates: cfg.data.inputs.filter((_, i) => fromTarget[i] < 0) };
}

/** Future rows a roll-out of `horizon` steps needs for its covariates: none without any. */
export function futureRowsNeeded(feed: Feed, horizon: number): number {
  return feed.covariates.length === 0 ? 0 : Math.max(1, horizon - 1);
}

/** The next step's raw inputs: the forecasts `y` (original units) fed back; covariates NaN, for the caller. */
export function feedBack(feed: Feed, y: ArrayLike<number>, raw: Float64Array): void {
  feed.fromTarget.forEach((t, i) => { raw[i] = t >= 0 ? y[t] : NaN; });
}
