import { activationNames } from "./activations.js";
import { tbpttWindows, windowPass, type Batch, type Bptt, type Window } from "./bptt.js";
import { pointHead } from "./heads/point.js";
import { regressionHead, type RegressionHead } from "./heads/index.js";
import { initParams } from "./init.js";
import type { Task, Targets } from "./loss.js";
import { directions, Network, type Dropout, type ModelShape, type NetworkOptions } from "./network.js";
import { Rng } from "./rng.js";

/** The worst gradient component of a check. */
export interface Worst {
  readonly param: string;
  readonly index: number;
  readonly window: number;
  readonly analytic: number;
  readonly numeric: number;
}

export interface GradCheckResult {
  readonly name: string;
  readonly maxRelError: number;
  /** Gradient components compared. */
  readonly checked: number;
  readonly worst: Worst | null;
}

export interface GradCheckOptions {
  /** Step of the central-difference stencil (float64). */
  readonly eps?: number;
  /** Check at most this many components per tensor per window (a seeded sample); all when absent. */
  readonly maxPerTensor?: number;
  readonly seed?: number;
}

/** SPEC's error of one component: |a − n| / max(|a|, |n|, 1e-3). */
export function relError(a: number, n: number): number {
  return Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), 1e-3);
}

/**
 * Compares BPTT gradients with central finite differences on every window of `batch`, in
 * order, the state carried between windows as training carries it (the carried-in state is
 * a constant of each window's loss, as in training, where it is detached). `net` must be
 * float64; its weights are left as they were.
 */
export function gradCheck(name: string, net: Network, batch: Batch, windows: readonly Window[],
  opts: GradCheckOptions = {}, masks: readonly (Dropout | null)[] = []): GradCheckResult {
  if (net.dtype !== "float64") throw new Error("grad-check runs in float64");
  const eps = opts.eps ?? 1e-4;
  const rng = new Rng(opts.seed ?? 0, 7);
  const p = net.params, layout = net.layout;
  const carry = net.zeroState(batch.B);
  const analytic = new Float64Array(layout.size);
  let maxRel = 0, checked = 0;
  let worst: Worst | null = null;
  windows.forEach((w, wi) => {
    // Dropout's masks are fixed per window: the loss is then a smooth function of the weights.
    const dropout = masks[wi] ?? null;
    const meanLoss = (): number => {
      const r = windowPass(net, batch, w, carry, false, dropout);
      return r.sum / r.count;
    };
    const r = windowPass(net, batch, w, carry, true, dropout);
    if (r.count > 0) {
      analytic.set(net.grads);
      for (const s of layout.slots) {
        const n = opts.maxPerTensor === undefined ? s.size : Math.min(s.size, opts.maxPerTensor);
        const picks = n === s.size ? null : rng.permutation(s.size).slice(0, n);
        for (let j = 0; j < n; j++) {
          const i = s.offset + (picks ? picks[j] : j);
          const orig = p[i];
          const at = (d: number): number => { p[i] = orig + d; const l = meanLoss(); p[i] = orig; return l; };
          // Fourth-order central difference: truncation error O(h⁴), so a wide step keeps
          // rounding noise (~1e-16/h) far below the tolerance. A relu kink inside the stencil
          // invalidates it, so a poor match is retried with a step 100× narrower.
          const stencil = (h: number): number => (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
          let num = stencil(eps);
          let e = relError(analytic[i], num);
          if (e > 1e-8) {
            const num2 = stencil(eps / 100), e2 = relError(analytic[i], num2);
            if (e2 < e) { num = num2; e = e2; }
          }
          checked++;
          if (e > maxRel || worst === null) {
            maxRel = Math.max(maxRel, e);
            worst = { param: s.name, index: i - s.offset, window: wi, analytic: analytic[i], numeric: num };
          }
        }
      }
      // Leave the layers holding this window's unperturbed pass before carrying its state on.
      windowPass(net, batch, w, carry, false, dropout);
    }
    const next = windows[wi + 1];
    if (next) net.stateAfter(next.start - w.start, batch.B, carry);
  });
  return { name, maxRelError: maxRel, checked, worst };
}

/** A small random problem for the built-in suite. */
export interface SyntheticSpec {
  readonly name: string;
  readonly model: ModelShape;
  readonly task: Task;
  readonly lengths: readonly number[];
  readonly bptt: Bptt | null;
  readonly seed: number;
  /** Dropout rates (between layers, recurrent), checked with fixed masks. */
  readonly dropout?: { readonly p: number; readonly q: number };
  /** A regression model's head (SPEC §10; default the MSE point model): model.outputSize is P·O. */
  readonly head?: RegressionHead;
}

/**
 * Fixed inverted-dropout masks for each window of a batch (values 0 or 1/(1−rate)): fresh
 * between-layer masks [T,B,H] per window, one recurrent mask [B,H] per layer for the batch.
 */
export function fixedMasks(rng: Rng, m: ModelShape, B: number, windows: readonly Window[], p: number, q: number): Dropout[] {
  const draw = (n: number, rate: number): Float64Array =>
    Float64Array.from({ length: n }, () => (rng.uniform() < rate ? 0 : 1 / (1 - rate)));
  const recurrent = Array.from({ length: m.layers }, () => (q > 0 ? draw(B * m.hiddenSize, q) : null));
  const recurrentReverse = m.bidirectional ? Array.from({ length: m.layers }, () => (q > 0 ? draw(B * m.hiddenSize, q) : null)) : undefined;
  const W = directions(m) * m.hiddenSize;
  return windows.map((w) => ({
    recurrent, recurrentReverse,
    between: Array.from({ length: m.layers }, (_, k) => (p > 0 && k < m.layers - 1 ? draw((w.end - w.start) * B * W, p) : null)),
  }));
}

/** Random float64 weights, inputs and masked targets for a spec; padding past each length. */
export function syntheticProblem(spec: SyntheticSpec, opts: NetworkOptions = {}): { net: Network; batch: Batch } {
  const rng = new Rng(spec.seed, 1);
  const m = spec.model;
  const net = new Network(m, "float64", opts);
  initParams(net.layout, net.params, 1, rng); // U(−1, 1): larger than torch's default, so gradients are not tiny
  const head = spec.head ?? pointHead;
  const B = spec.lengths.length, T = Math.max(...spec.lengths), I = m.inputSize;
  const O = spec.task === "regression" ? m.outputSize / head.perTarget : m.outputSize;
  // Counts for a head that never z-scores its targets (negativeBinomial), else values in (−1, 1).
  const target = (): number => (head.normalisesTargets ? 2 * rng.uniform() - 1 : rng.below(6));
  // With an embedding the inputs are token ids [T,B] (−1 on padding), else values in (−1, 1).
  const V = m.embedding?.vocab ?? 0;
  const x = m.embedding ? new Int32Array(T * B).fill(-1) : new Float64Array(T * B * I);
  // targetsAt last (a bidirectional model's summary row): a target at each sequence's final step only.
  const present = m.targetsAt === "last"
    ? (t: number, b: number): boolean => t === spec.lengths[b] - 1
    : (t: number, b: number): boolean => t < spec.lengths[b] && rng.uniform() > 0.2;
  // SPEC §11: the last C inputs of a row are category indices of the C tables (0 included: unseen).
  const tables = m.categorical ?? [], C = tables.length;
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
    if (t < spec.lengths[b]) {
      for (let i = 0; i < I; i++) {
        x[(t * B + b) * I + i] = V > 0 ? rng.below(V) : i >= I - C ? rng.below(tables[i - I + C].vocab) : 2 * rng.uniform() - 1;
      }
    }
  }
  let targets: Targets;
  if (spec.task === "regression") {
    const values = new Float64Array(T * B * O).fill(NaN);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let o = 0; o < O; o++) {
      if (present(t, b)) values[(t * B + b) * O + o] = target();
    }
    targets = { task: "regression", values, outputs: O, head };
  } else {
    const labels = new Int32Array(T * B).fill(-1);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (present(t, b)) labels[t * B + b] = rng.below(O);
    targets = { task: "classification", labels, classes: O };
  }
  return { net, batch: { T, B, x, targets, lengths: spec.lengths } };
}

/**
 * The built-in suite of `rnn grad-check`: every Elman activation and the LSTM and GRU cells,
 * 1 and 2 layers, both losses, TBPTT with stride < truncate (so passes overlap and start from
 * carried states), padded variable-length batches with element-wise masks; plus bias-free and
 * full-BPTT cases.
 */
export function builtinSuite(): SyntheticSpec[] {
  const specs: SyntheticSpec[] = [];
  let seed = 100;
  for (const activation of activationNames) {
    for (const layers of [1, 2]) {
      for (const task of ["regression", "classification"] as const) {
        specs.push({
          name: `elman-${activation}-L${layers}-${task === "regression" ? "mse" : "ce"}-tbptt(4,2)`,
          model: { cell: "elman", inputSize: 3, hiddenSize: 4, outputSize: task === "regression" ? 2 : 3,
            layers, activation, bias: true },
          task, lengths: [9, 6, 4], bptt: { truncate: 4, stride: 2 }, seed: seed++,
        });
      }
    }
  }
  for (const cell of ["lstm", "gru"] as const) {
    for (const layers of [1, 2]) {
      for (const task of ["regression", "classification"] as const) {
        specs.push({
          name: `${cell}-L${layers}-${task === "regression" ? "mse" : "ce"}-tbptt(4,2)`,
          model: { cell, inputSize: 3, hiddenSize: 4, outputSize: task === "regression" ? 2 : 3, layers, activation: "tanh", bias: true },
          task, lengths: [9, 6, 4], bptt: { truncate: 4, stride: 2 }, seed: seed++,
        });
      }
    }
    specs.push({
      name: `${cell}-L2-mse-nobias-tbptt(5,3)`,
      model: { cell, inputSize: 2, hiddenSize: 3, outputSize: 2, layers: 2, activation: "tanh", bias: false },
      task: "regression", lengths: [11, 7], bptt: { truncate: 5, stride: 3 }, seed: seed++,
    });
  }
  specs.push({
    name: "elman-tanh-L2-mse-nobias-tbptt(5,3)",
    model: { cell: "elman", inputSize: 2, hiddenSize: 3, outputSize: 2, layers: 2, activation: "tanh", bias: false },
    task: "regression", lengths: [11, 7], bptt: { truncate: 5, stride: 3 }, seed: seed++,
  });
  // SPEC §10's heads: each distribution and quantiles, on every cell between them, 2 targets.
  const heads: [string, RegressionHead, "elman" | "lstm" | "gru"][] = [
    ["gaussian", regressionHead({ likelihood: "gaussian", quantiles: null }), "lstm"],
    ["studentT", regressionHead({ likelihood: "studentT", quantiles: null }), "elman"],
    ["negativeBinomial", regressionHead({ likelihood: "negativeBinomial", quantiles: null }), "gru"],
    ["quantiles(0.1,0.5,0.9)", regressionHead({ likelihood: null, quantiles: [0.1, 0.5, 0.9] }), "gru"],
  ];
  for (const [name, head, cell] of heads) {
    specs.push({
      name: `${cell}-L2-${name}-tbptt(4,2)`,
      model: { cell, inputSize: 3, hiddenSize: 4, outputSize: 2 * head.perTarget, layers: 2, activation: "tanh", bias: true },
      task: "regression", lengths: [9, 6, 4], bptt: { truncate: 4, stride: 2 }, seed: seed++, head,
    });
  }
  for (const cell of ["elman", "lstm", "gru"] as const) {
    specs.push({
      name: `${cell}-L2-mse-dropout(0.3)-recurrentDropout(0.25)-tbptt(4,2)`,
      model: { cell, inputSize: 3, hiddenSize: 4, outputSize: 2, layers: 2, activation: "tanh", bias: true },
      task: "regression", lengths: [9, 6, 4], bptt: { truncate: 4, stride: 2 }, seed: seed++, dropout: { p: 0.3, q: 0.25 },
    });
  }
  // SPEC §13: bidirectional layers over unequal lengths (the reverse pass from each sequence's
  // own last step), reading the head at every step or at [h→ last ; h← step 0].
  for (const cell of ["elman", "lstm", "gru"] as const) {
    for (const targetsAt of ["every", "last"] as const) {
      const task = targetsAt === "last" ? "classification" : "regression";
      specs.push({
        name: `${cell}-L2-bidirectional-${task === "regression" ? "mse" : "ce"}-targetsAt-${targetsAt}-full`,
        model: { cell, inputSize: 3, hiddenSize: 4, outputSize: task === "regression" ? 2 : 3, layers: 2, activation: "tanh", bias: true,
          bidirectional: true, targetsAt },
        task, lengths: [7, 4, 1, 5], bptt: null, seed: seed++,
      });
    }
  }
  specs.push({
    name: "gru-L2-bidirectional-mse-dropout(0.3)-recurrentDropout(0.25)-full",
    model: { cell: "gru", inputSize: 3, hiddenSize: 4, outputSize: 2, layers: 2, activation: "tanh", bias: true, bidirectional: true },
    task: "regression", lengths: [6, 3, 5], bptt: null, seed: seed++, dropout: { p: 0.3, q: 0.25 },
  });
  // SPEC §12's language model: encoder = nn.Embedding(V, E) before layer 0, every cell, padded rows.
  for (const [cell, layers] of [["elman", 1], ["lstm", 2], ["gru", 2]] as const) {
    specs.push({
      name: `${cell}-L${layers}-embedding(7,3)-ce-tbptt(4,2)`,
      model: { cell, inputSize: 1, embedding: { vocab: 7, size: 3 }, hiddenSize: 4, outputSize: 7, layers, activation: "tanh", bias: true },
      task: "classification", lengths: [9, 6, 4], bptt: { truncate: 4, stride: 2 }, seed: seed++,
    });
  }
  specs.push({
    name: "elman-relu-L1-ce-nobias-full",
    model: { cell: "elman", inputSize: 2, hiddenSize: 5, outputSize: 4, layers: 1, activation: "relu", bias: false },
    task: "classification", lengths: [8, 3, 6, 5], bptt: null, seed: seed++,
  });
  // SPEC §11: 2 numeric inputs and 2 categorical columns (tables [5, 2] and [3, 3]) before layer 0, every cell;
  // with a Gaussian head, and with dropout.
  const categorical = [{ vocab: 5, size: 2 }, { vocab: 3, size: 3 }];
  for (const cell of ["elman", "lstm", "gru"] as const) {
    specs.push({
      name: `${cell}-L2-categorical(5x2,3x3)-mse-tbptt(4,2)`,
      model: { cell, inputSize: 4, categorical, hiddenSize: 4, outputSize: 2, layers: 2, activation: "tanh", bias: true },
      task: "regression", lengths: [9, 6, 4], bptt: { truncate: 4, stride: 2 }, seed: seed++,
    });
  }
  const gaussian = regressionHead({ likelihood: "gaussian", quantiles: null });
  specs.push({
    name: "gru-L2-categorical(5x2,3x3)-gaussian-dropout(0.3)-tbptt(4,2)",
    model: { cell: "gru", inputSize: 4, categorical, hiddenSize: 4, outputSize: 2 * gaussian.perTarget, layers: 2, activation: "tanh", bias: true },
    task: "regression", lengths: [9, 6, 4], bptt: { truncate: 4, stride: 2 }, seed: seed++, head: gaussian, dropout: { p: 0.3, q: 0.25 },
  });
  specs.push({
    name: "lstm-L1-categorical(5x2,3x3)-ce-full",
    model: { cell: "lstm", inputSize: 4, categorical, hiddenSize: 3, outputSize: 3, layers: 1, activation: "tanh", bias: false },
    task: "classification", lengths: [7, 5, 3], bptt: null, seed: seed++,
  });
  return specs;
}

/** Runs one synthetic spec through `gradCheck`. */
export function checkSynthetic(spec: SyntheticSpec, opts: NetworkOptions = {}): GradCheckResult {
  const { net, batch } = syntheticProblem(spec, opts);
  const windows = tbpttWindows(batch.T, spec.bptt);
  const masks = spec.dropout ? fixedMasks(new Rng(spec.seed, 3), spec.model, batch.B, windows, spec.dropout.p, spec.dropout.q) : [];
  return gradCheck(spec.name, net, batch, windows, {}, masks);
}
