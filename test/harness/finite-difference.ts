// Checks a float64 backward reference against central finite differences of its forward (CPU only).
import { expect } from 'vitest';

/**
 * For every element i of `v` (not skipped): perturbs v[i] by +-1e-6 in place (restoring it), and expects the
 * central difference of `loss()` to equal grad[i] within 1e-6 max(1, |fd|).
 */
export function expectFiniteDifferences(name: string, v: Float64Array, grad: ArrayLike<number>, loss: () => number, skip: (i: number) => boolean = () => false): void {
  const eps = 1e-6;
  for (let i = 0; i < v.length; i++) {
    if (skip(i)) continue;
    const keep = v[i]!;
    v[i] = keep + eps;
    const up = loss();
    v[i] = keep - eps;
    const down = loss();
    v[i] = keep;
    const fd = (up - down) / (2 * eps);
    expect(Math.abs(fd - grad[i]!), `d${name}[${i}]: finite difference ${fd}, reference ${grad[i]}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
  }
}
