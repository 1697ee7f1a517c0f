import type { Likelihood, Scale } from "./heads/index.js";
import type { Network } from "./network.js";
import type { Rng } from "./rng.js";
import { NormalSpare } from "./sample.js";
import { alloc, type Float } from "./tensor.js";

/**
 * Ancestral sampling of a likelihood model (SPEC §10 `forecast --samples`): N paths leave the
 * state reached by the history, and at each step a value is drawn from every path's predicted
 * distribution and fed back as that path's next input. The N paths run as one batch of N rows
 * through the network (one forward call per step), so the cost is that of a batch-N forward.
 * Buffers are allocated once per sampler and reused for every sequence.
 */
export class PathSampler {
  private readonly state: Float[];
  private readonly x: Float;
  private readonly theta: Float64Array;
  private readonly draws: Float64Array;
  private readonly first: Float64Array;

  /** `O` targets per step, `N` paths. */
  constructor(private readonly net: Network, private readonly lik: Likelihood, private readonly O: number, readonly N: number) {
    this.state = net.zeroState(N);
    this.x = alloc(net.dtype, N * net.shape.inputSize);
    this.theta = new Float64Array(lik.P);
    this.draws = new Float64Array(N * O);
    this.first = new Float64Array(lik.P);
  }

  /**
   * Draws the paths into out [N, horizon, O] (path-major, original units). `start` is the state after the
   * history ([1, stateSize] per layer) and `y0` the head's raw outputs after its last row
   * ([P·O]: the distribution of the first step, the same for every path). `inputs(k, draws, x)`
   * writes the model inputs [N, I] of step k ≥ 1 from the draws of step k − 1 ([N, O]).
   * Draws go step by step, path by path, target by target, from `rng` alone: the same
   * generator state gives the same paths.
   */
  sample(start: readonly Float[], y0: ArrayLike<number>, stats: readonly Scale[], horizon: number, rng: Rng,
    inputs: (k: number, draws: Float64Array, x: Float) => void, out: Float64Array): void {
    const { net, lik, O, N, theta, draws, first } = this;
    const S = net.stateSize, spare = new NormalSpare(); // the paths depend on rng alone
    this.state.forEach((s, l) => { for (let p = 0; p < N; p++) s.set(start[l].subarray(0, S), p * S); });
    const PO = lik.P * O;
    for (let k = 0; k < horizon; k++) {
      if (k > 0) {
        inputs(k, draws, this.x);
        net.forward(this.x, 0, this.state, 1, N);
        net.stateAfter(1, N, this.state);
      }
      const y = net.head.y;
      for (let p = 0; p < N; p++) {
        for (let o = 0; o < O; o++) {
          if (k === 0) { for (let j = 0; j < lik.P; j++) first[j] = y0[j * O + o]; lik.params(first, 0, 1, theta); }
          else lik.params(y, p * PO + o, O, theta);
          lik.toOriginal(theta, stats[o]);
          draws[p * O + o] = lik.sample(theta, rng, spare);
        }
      }
      for (let p = 0; p < N; p++) for (let o = 0; o < O; o++) out[(p * horizon + k) * O + o] = draws[p * O + o];
    }
  }
}
