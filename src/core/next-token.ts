import type { Rng } from "./rng.js";
import type { Float } from "./tensor.js";

/**
 * How `rnn sample` picks the next token from the logits (SPEC §12): temperature 0 is the
 * arg-max (lowest index on ties); else softmax(logits / t) over the k largest logits (all
 * without top-k; ties at the k-th broken by lowest index), drawn from the seeded generator.
 */
export interface Picking {
  readonly temperature: number;
  readonly topK: number | null;
}

/**
 * The distribution the next token is drawn from, into p [V] (zero outside the top k), from
 * logits [V] at `off`. `order` [V] is scratch for the top-k selection (allocated once by the caller).
 */
export function nextTokenProbs(logits: Float, off: number, V: number, pick: Picking, p: Float64Array, order: Int32Array): void {
  let best = 0;
  for (let j = 1; j < V; j++) if (logits[off + j] > logits[off + best]) best = j;
  if (pick.temperature === 0) {
    p.fill(0, 0, V);
    p[best] = 1;
    return;
  }
  const m = logits[off + best], t = pick.temperature;
  let z = 0;
  for (let j = 0; j < V; j++) { p[j] = Math.exp((logits[off + j] - m) / t); z += p[j]; }
  if (pick.topK !== null && pick.topK < V) {
    for (let j = 0; j < V; j++) order[j] = j;
    // The k largest logits, ties broken by the lower index: order by (logit desc, index asc).
    order.subarray(0, V).sort((a, b) => logits[off + b] - logits[off + a] || a - b);
    for (let r = pick.topK; r < V; r++) p[order[r]] = 0;
    z = 0;
    for (let r = 0; r < pick.topK; r++) z += p[order[r]];
  }
  for (let j = 0; j < V; j++) p[j] /= z;
}

/**
 * One draw from p [V] with one uniform of `rng`: the first token, in vocabulary order, at
 * which the cumulative probability passes u (tokens of p = 0 are never drawn).
 */
export function drawToken(p: Float64Array, V: number, rng: Rng): number {
  const u = rng.uniform();
  let c = 0, last = -1;
  for (let j = 0; j < V; j++) {
    if (p[j] <= 0) continue;
    c += p[j]; last = j;
    if (u < c) return j;
  }
  return last; // rounding left the sum a hair below u
}

/** The token to feed back: the arg-max at temperature 0 (no uniform drawn), else a draw. */
export function pickToken(p: Float64Array, V: number, pick: Picking, rng: Rng): number {
  if (pick.temperature === 0) return p.indexOf(1);
  return drawToken(p, V, rng);
}
