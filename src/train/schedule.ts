/**
 * The learning-rate schedule of the backend's trainer (`lr_factor` in backend/ictal_backend/trainer.py, used
 * through LambdaLR; the original's, ORIGINAL_PIPELINE.md): warm-up steps max(1, floor(warmupFraction x total)) at
 * (step + 1) / warmup, then cosine decay to 0 at the last step. Step k (0-based, counting skipped overflow steps as
 * the backend's scheduler does) runs at lr * lrFactor(k).
 */
export interface Schedule {
  totalSteps: number;
  warmupFraction: number;
}

/** Warm-up steps: max(1, floor(fraction * total)) (Python's int() of a positive number), at least 1 even at 0. */
export function warmupSteps(totalSteps: number, warmupFraction: number): number {
  if (!(Number.isInteger(totalSteps) && totalSteps >= 1)) throw new Error(`schedule: totalSteps must be an integer >= 1, got ${totalSteps}`);
  if (!(warmupFraction >= 0 && warmupFraction <= 1)) throw new Error(`schedule: warmupFraction must be in [0, 1], got ${warmupFraction}`);
  return Math.max(1, Math.floor(warmupFraction * totalSteps));
}

export function lrFactor(step: number, s: Schedule): number {
  const warmup = warmupSteps(s.totalSteps, s.warmupFraction);
  if (step < warmup) return (step + 1) / warmup;
  const progress = (step - warmup) / Math.max(1, s.totalSteps - warmup);
  return 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
}

