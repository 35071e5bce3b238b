/**
 * Dynamic loss scaling with torch.amp.GradScaler's semantics (the backend's trainer uses its defaults): the loss
 * gradient is multiplied by `scale`; a step whose unscaled gradients hold an inf or NaN is skipped and the scale
 * multiplied by the backoff factor (the growth count restarts); after growthInterval good steps in a row the scale
 * is multiplied by the growth factor (if that stays finite in f32). Disabled (f32 training, as the backend's
 * scaler is outside f16), the scale stays 1.
 *
 * The scale lives on the host and in a f32 [1] GPU tensor the loss kernel reads; the host learns whether a step
 * overflowed from the one flag the trainer reads back per step, updates here, and writes the new scale with
 * queue.writeBuffer (no sync).
 */
export interface LossScaleOptions {
  enabled: boolean;
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

/** torch.amp.GradScaler's defaults. */
export const GRAD_SCALER_DEFAULTS = { initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000 } as const;

/** GradScaler.state_dict()'s fields, under its names. */
export interface LossScaleState {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

export class LossScaler {
  readonly enabled: boolean;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  private current: number;
  private tracker = 0;

  constructor(o: LossScaleOptions) {
    const d = GRAD_SCALER_DEFAULTS;
    this.enabled = o.enabled;
    this.growthFactor = o.growthFactor ?? d.growthFactor;
    this.backoffFactor = o.backoffFactor ?? d.backoffFactor;
    this.growthInterval = o.growthInterval ?? d.growthInterval;
    const init = o.initScale ?? d.initScale;
    if (!(init > 0 && Number.isFinite(init))) throw new Error(`loss scale: initScale must be a finite number > 0, got ${init}`);
    if (!(this.growthFactor > 1)) throw new Error(`loss scale: growthFactor must be > 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new Error(`loss scale: backoffFactor must be in (0, 1), got ${this.backoffFactor}`);
    if (!(Number.isInteger(this.growthInterval) && this.growthInterval >= 1)) throw new Error(`loss scale: growthInterval must be an integer >= 1, got ${this.growthInterval}`);
    this.current = this.enabled ? Math.fround(init) : 1;
  }

  /** The scale the next step's loss gradient is multiplied by. */
  get scale(): number {
    return this.current;
  }

  /** After a step: `foundInf` says whether its unscaled gradients held an inf or NaN (then the step was skipped). */
  update(foundInf: boolean): void {
    if (!this.enabled) return;
    if (foundInf) {
      this.current = Math.fround(this.current * this.backoffFactor);
      this.tracker = 0;
      return;
    }
    this.tracker += 1;
    if (this.tracker === this.growthInterval) {
      const grown = Math.fround(this.current * this.growthFactor);
      if (Number.isFinite(grown)) this.current = grown;
      this.tracker = 0;
    }
  }

  state(): LossScaleState {
    return { scale: this.current, growth_factor: this.growthFactor, backoff_factor: this.backoffFactor, growth_interval: this.growthInterval, _growth_tracker: this.tracker };
  }
}
