import { gaussian } from "./gaussian.js";
import type { RegressionHead } from "./head.js";
import { likelihoodHead, type Likelihood } from "./likelihood.js";
import { negativeBinomial } from "./negative-binomial.js";
import { pointHead } from "./point.js";
import { quantileHead } from "./quantile.js";
import { studentT } from "./student-t.js";

export type { LossSum, ParamForm, RegressionHead, Scale, Scorer } from "./head.js";
export type { Likelihood } from "./likelihood.js";

export type LikelihoodName = Likelihood["name"];

const likelihoods: Readonly<Record<LikelihoodName, Likelihood>> = { gaussian, studentT, negativeBinomial };
const heads = new Map<LikelihoodName, RegressionHead>();

/** The likelihood of a name (model.likelihood). */
export function likelihoodOf(name: LikelihoodName): Likelihood {
  return likelihoods[name];
}

/** What a regression head's outputs mean, from `model.likelihood` / `model.quantiles` (SPEC §10). */
export function regressionHead(m: { readonly likelihood: LikelihoodName | null; readonly quantiles: readonly number[] | null }): RegressionHead {
  if (m.quantiles !== null) return quantileHead(m.quantiles);
  if (m.likelihood === null) return pointHead;
  let h = heads.get(m.likelihood);
  if (!h) { h = likelihoodHead(likelihoods[m.likelihood]); heads.set(m.likelihood, h); }
  return h;
}
