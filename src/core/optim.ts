import { referenceKernels, type Kernels } from "./kernels.js";
import { alloc, type DType, type Float } from "./tensor.js";

type AdamConfig = { readonly lr: number; readonly beta1: number; readonly beta2: number; readonly eps: number; readonly weightDecay: number };
export type OptimizerConfig =
  | { readonly name: "sgd"; readonly lr: number; readonly momentum: number; readonly weightDecay: number }
  | ({ readonly name: "adam" } & AdamConfig)
  | ({ readonly name: "adamw" } & AdamConfig);

/**
 * A `torch.optim` optimizer over the flat parameter buffer. `state` holds its per-parameter
 * buffers under torch's names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`), each laid out
 * like the parameters, so a checkpoint stores them as `optim.<state>.<param name>`.
 */
export interface Optimizer {
  readonly config: OptimizerConfig;
  readonly state: Readonly<Record<string, Float>>;
  /** The learning rate of the next step (a schedule changes it between epochs). */
  lr: number;
  /** Updates taken so far (torch's `step`; Adam's bias correction uses it). */
  steps: number;
  step(params: Float, grads: Float): void;
}

/**
 * `torch.optim.SGD(lr, momentum, dampening=0, nesterov=False, weight_decay)`. Weight decay is
 * torch's coupled L2: `g + wd·p` replaces the gradient (the clipped one) inside the step.
 */
class SGD implements Optimizer {
  readonly state: Record<string, Float>;
  steps = 0;
  lr: number;
  constructor(readonly config: Extract<OptimizerConfig, { name: "sgd" }>, size: number, dtype: DType,
    private readonly k: Pick<Kernels, "sgdStep">) {
    this.state = config.momentum !== 0 ? { momentum_buffer: alloc(dtype, size) } : {};
    this.lr = config.lr;
  }
  step(p: Float, g: Float): void {
    const { momentum, weightDecay: wd } = this.config;
    const lr = this.lr;
    const buf = this.state.momentum_buffer;
    if (!buf && wd === 0) { // plain SGD, the same operations without the per-element tests
      this.k.sgdStep(p, g, lr);
    } else {
      for (let i = 0; i < p.length; i++) {
        const d = wd !== 0 ? g[i] + wd * p[i] : g[i];
        // torch starts the buffer as a copy of the first gradient: μ·0 + d is the same value.
        if (buf) { buf[i] = buf[i] * momentum + d; p[i] -= lr * buf[i]; } else p[i] -= lr * d;
      }
    }
    this.steps++;
  }
}

/**
 * `torch.optim.Adam(lr, betas=(β1, β2), eps, weight_decay)` and `torch.optim.AdamW`, torch
 * 1.13's single-tensor forms. Adam's weight decay is coupled (`g + wd·p`); AdamW's is
 * decoupled (`p ← p·(1 − lr·wd)` before the Adam step).
 */
class Adam implements Optimizer {
  readonly state: Record<string, Float>;
  steps = 0;
  lr: number;
  constructor(readonly config: Extract<OptimizerConfig, { name: "adam" | "adamw" }>, size: number, dtype: DType) {
    this.state = { exp_avg: alloc(dtype, size), exp_avg_sq: alloc(dtype, size) };
    this.lr = config.lr;
  }
  step(p: Float, g: Float): void {
    const { beta1, beta2, eps, weightDecay: wd, name } = this.config;
    const lr = this.lr;
    const m = this.state.exp_avg, v = this.state.exp_avg_sq;
    this.steps++;
    const bc1 = 1 - beta1 ** this.steps;
    const bc2sqrt = Math.sqrt(1 - beta2 ** this.steps);
    const stepSize = lr / bc1;
    const coupled = name === "adam" ? wd : 0;
    const decay = name === "adamw" ? 1 - lr * wd : 1;
    for (let i = 0; i < p.length; i++) {
      if (decay !== 1) p[i] *= decay;
      const gi = coupled !== 0 ? g[i] + coupled * p[i] : g[i];
      m[i] = m[i] * beta1 + gi * (1 - beta1);
      v[i] = v[i] * beta2 + gi * gi * (1 - beta2);
      const denom = Math.sqrt(v[i]) / bc2sqrt + eps;
      p[i] += -stepSize * (m[i] / denom);
    }
  }
}

/** `kernels`: where plain SGD's step runs (the native one splits it over the threads; by default the reference loop). */
export function createOptimizer(config: OptimizerConfig, size: number, dtype: DType, kernels: Pick<Kernels, "sgdStep"> = referenceKernels): Optimizer {
  return config.name === "sgd" ? new SGD(config, size, dtype, kernels) : new Adam(config, size, dtype);
}
