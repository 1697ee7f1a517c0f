import { alloc, type DType, type Float } from "./tensor.js";

export type OptimizerConfig =
  | { readonly name: "sgd"; readonly lr: number; readonly momentum: number }
  | { readonly name: "adam"; readonly lr: number; readonly beta1: number; readonly beta2: number; readonly eps: number };

/**
 * A `torch.optim` optimizer over the flat parameter buffer. `state` holds its per-parameter
 * buffers under torch's names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`), each laid out
 * like the parameters, so a checkpoint stores them as `optim.<state>.<param name>`.
 */
export interface Optimizer {
  readonly config: OptimizerConfig;
  readonly state: Readonly<Record<string, Float>>;
  /** Updates taken so far (torch's `step`; Adam's bias correction uses it). */
  steps: number;
  step(params: Float, grads: Float): void;
}

/** `torch.optim.SGD(lr, momentum, dampening=0, nesterov=False, weight_decay=0)`. */
class SGD implements Optimizer {
  readonly state: Record<string, Float>;
  steps = 0;
  constructor(readonly config: Extract<OptimizerConfig, { name: "sgd" }>, size: number, dtype: DType) {
    this.state = config.momentum !== 0 ? { momentum_buffer: alloc(dtype, size) } : {};
  }
  step(p: Float, g: Float): void {
    const { lr, momentum } = this.config;
    const buf = this.state.momentum_buffer;
    if (buf) {
      // torch starts the buffer as a copy of the first gradient: μ·0 + g is the same value.
      for (let i = 0; i < p.length; i++) { buf[i] = buf[i] * momentum + g[i]; p[i] -= lr * buf[i]; }
    } else {
      for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
    }
    this.steps++;
  }
}

/** `torch.optim.Adam(lr, betas=(β1, β2), eps)`, torch 1.13's single-tensor form. */
class Adam implements Optimizer {
  readonly state: Record<string, Float>;
  steps = 0;
  constructor(readonly config: Extract<OptimizerConfig, { name: "adam" }>, size: number, dtype: DType) {
    this.state = { exp_avg: alloc(dtype, size), exp_avg_sq: alloc(dtype, size) };
  }
  step(p: Float, g: Float): void {
    const { lr, beta1, beta2, eps } = this.config;
    const m = this.state.exp_avg, v = this.state.exp_avg_sq;
    this.steps++;
    const bc1 = 1 - beta1 ** this.steps;
    const bc2sqrt = Math.sqrt(1 - beta2 ** this.steps);
    const stepSize = lr / bc1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      m[i] = m[i] * beta1 + gi * (1 - beta1);
      v[i] = v[i] * beta2 + gi * gi * (1 - beta2);
      const denom = Math.sqrt(v[i]) / bc2sqrt + eps;
      p[i] += -stepSize * (m[i] / denom);
    }
  }
}

export function createOptimizer(config: OptimizerConfig, size: number, dtype: DType): Optimizer {
  return config.name === "sgd" ? new SGD(config, size, dtype) : new Adam(config, size, dtype);
}
