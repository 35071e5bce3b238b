// The Remote runs tab's fold of a followed run's events: a resume's `rewind` withdraws the killed attempt's
// last steps, so the chart does not draw them twice.
import { describe, expect, it } from 'vitest';
import { foldRunEvent } from '../../src/ui/remote-store.ts';
import type { RunEvent } from '../../src/remote/types.ts';

const metrics = (id: number, step: number, loss: number): RunEvent => ({ kind: 'metrics', id, time: id, split: 'train', step, loss });

describe('foldRunEvent', () => {
  it('keeps metric points in order and withdraws those a rewind drops', () => {
    let seen = { events: [] as RunEvent[], metrics: [] as ReturnType<typeof foldRunEvent>['metrics'] };
    for (const e of [metrics(0, 1, 0.9), metrics(1, 2, 0.8), metrics(2, 3, 0.7), { kind: 'heartbeat', id: 3, time: 3 } as RunEvent]) {
      seen = foldRunEvent(seen, e);
    }
    expect(seen.metrics.map((m) => m.step)).toEqual([1, 2, 3]);
    const rewind: RunEvent = { kind: 'rewind', id: 4, time: 4, first_dropped_id: 2, to_step: 2, dropped: 2, message: 'cut' };
    seen = foldRunEvent(seen, rewind);
    expect(seen.metrics.map((m) => m.step)).toEqual([1, 2]);
    expect(seen.events.map((e) => e.kind)).toEqual(['metrics', 'metrics', 'rewind']);
    seen = foldRunEvent(seen, metrics(5, 3, 0.65));
    expect(seen.metrics.map((m) => [m.step, m.loss])).toEqual([[1, 0.9], [2, 0.8], [3, 0.65]]);
  });

  it('keeps status and end events (they carry no id) through a rewind', () => {
    let seen = foldRunEvent({ events: [], metrics: [] }, { kind: 'status', status: 'running', error: null });
    seen = foldRunEvent(seen, { kind: 'rewind', id: 9, time: 0, first_dropped_id: 0, to_step: 0, dropped: 3, message: 'cut' });
    expect(seen.events.map((e) => e.kind)).toEqual(['status', 'rewind']);
  });
});
