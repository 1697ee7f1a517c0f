/**
 * Learning-rate schedules stepped once per epoch (SPEC §6), exactly as torch 1.13's
 * `torch.optim.lr_scheduler` classes stepped without an epoch argument: StepLR and
 * CosineAnnealingLR in their recursive ("chainable") form, each rate computed from the one
 * before it, and ReduceLROnPlateau (mode min, threshold_mode rel).
 */
export type ScheduleConfig =
  | { readonly name: "step"; readonly stepSize: number; readonly gamma: number }
  | { readonly name: "cosine"; readonly tMax: number; readonly etaMin: number }
  | { readonly name: "plateau"; readonly factor: number; readonly patience: number; readonly threshold: number; readonly cooldown: number; readonly minLr: number };

/** What a resumed run needs to follow the same rates (the checkpoint's `__metadata__.schedule`). */
export interface ScheduleState {
  /** The rate the next epoch uses. */
  readonly lr: number;
  /** Epochs stepped so far (torch's `last_epoch`). */
  readonly epochs: number;
  /** ReduceLROnPlateau's `best`, `num_bad_epochs` and `cooldown_counter` (null: +∞ best). */
  readonly best: number | null;
  readonly badEpochs: number;
  readonly cooldown: number;
}

/** torch's ReduceLROnPlateau ignores reductions smaller than this. */
const PLATEAU_EPS = 1e-8;

/** Python's `%`: the result takes the divisor's sign. */
const pyMod = (a: number, m: number): number => ((a % m) + m) % m;

/**
 * A schedule over one base rate. `lr` is the rate of the epoch about to run; `step(metric)`
 * moves it on after an epoch (the metric: the epoch's val_loss, or train_loss without
 * validation data; only plateau reads it).
 */
export class LrSchedule {
  lr: number;
  private epochs = 0;
  private best = Infinity;
  private badEpochs = 0;
  private cooldown = 0;

  constructor(readonly config: ScheduleConfig, readonly baseLr: number) {
    this.lr = baseLr;
  }

  step(metric: number): void {
    const c = this.config;
    this.epochs++;
    const e = this.epochs;
    if (c.name === "step") {
      if (e % c.stepSize === 0) this.lr = this.lr * c.gamma;
    } else if (c.name === "cosine") {
      const T = c.tMax;
      if (pyMod(e - 1 - T, 2 * T) === 0) {
        this.lr = this.lr + (this.baseLr - c.etaMin) * (1 - Math.cos(Math.PI / T)) / 2;
      } else {
        this.lr = (1 + Math.cos(Math.PI * e / T)) / (1 + Math.cos(Math.PI * (e - 1) / T)) * (this.lr - c.etaMin) + c.etaMin;
      }
    } else {
      if (metric < this.best * (1 - c.threshold)) { this.best = metric; this.badEpochs = 0; } else this.badEpochs++;
      if (this.cooldown > 0) { this.cooldown--; this.badEpochs = 0; }
      if (this.badEpochs > c.patience) {
        const reduced = Math.max(this.lr * c.factor, c.minLr);
        if (this.lr - reduced > PLATEAU_EPS) this.lr = reduced;
        this.cooldown = c.cooldown;
        this.badEpochs = 0;
      }
    }
  }

  state(): ScheduleState {
    return { lr: this.lr, epochs: this.epochs, best: Number.isFinite(this.best) ? this.best : null, badEpochs: this.badEpochs, cooldown: this.cooldown };
  }

  restore(s: ScheduleState): void {
    this.lr = s.lr; this.epochs = s.epochs; this.best = s.best ?? Infinity; this.badEpochs = s.badEpochs; this.cooldown = s.cooldown;
  }
}

/**
 * Keras' `EarlyStopping` on val_loss: an epoch improves when val_loss < best − minDelta, `best`
 * being the val_loss of the last improving epoch; after `patience` epochs in a row without
 * improvement the run stops.
 */
export class EarlyStopping {
  best = Infinity;
  /** The epoch whose val_loss is `best` (0: none yet). */
  bestEpoch = 0;
  /** Epochs in a row without improvement. */
  wait = 0;
  constructor(readonly patience: number, readonly minDelta: number) {}

  /** Takes an epoch's val_loss; true when training should stop now. */
  update(valLoss: number, epoch: number): boolean {
    if (valLoss < this.best - this.minDelta) { this.best = valLoss; this.bestEpoch = epoch; this.wait = 0; } else this.wait++;
    return this.stopped();
  }

  /** True once `patience` epochs in a row did not improve (patience 0 acts as 1: Keras stops at the first). */
  stopped(): boolean {
    return this.wait > 0 && this.wait >= this.patience;
  }

  state(): EarlyStoppingState {
    return { best: Number.isFinite(this.best) ? this.best : null, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  restore(s: EarlyStoppingState): void {
    this.best = s.best ?? Infinity; this.bestEpoch = s.bestEpoch; this.wait = s.wait;
  }
}

/** Early stopping's progress, for the checkpoint's `__metadata__.early_stopping`. */
export interface EarlyStoppingState { readonly best: number | null; readonly bestEpoch: number; readonly wait: number }
