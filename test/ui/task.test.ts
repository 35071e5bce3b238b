// The lab's task bookkeeping without a browser: the ETA from the rate since the first progress report, the GPU
// queue's "behind what" and its turns (a waiting job can be cancelled before it starts), and a failed task keeping
// its last result.
import { describe, expect, it } from 'vitest';
import { etaSeconds, formatSeconds, runTask, type Task } from '../../src/ui/task.ts';
import { GpuQueue } from '../../src/ui/gpu-queue.ts';

describe('task bookkeeping', () => {
  it('estimates the time left from the rate since the first report', () => {
    const t: Task<unknown> = { running: true, progress: { done: 4, total: 10, message: '' }, since: { ms: 1000, done: 1 } };
    expect(etaSeconds(t, 4000)).toBeCloseTo(6); // 3 s for 3 steps, 6 to go
    expect(etaSeconds({ ...t, progress: { done: 1, total: 10, message: '' } }, 4000)).toBeUndefined(); // no rate yet
    expect(etaSeconds({ running: true }, 4000)).toBeUndefined();
    expect([formatSeconds(4.2), formatSeconds(125), formatSeconds(7300)]).toEqual(['5 s', '2 min 5 s', '2 h 1 min']);
  });

  it('says what a job waits behind, in the order asked, and forgets finished jobs', async () => {
    const q = new GpuQueue();
    const ids: Record<string, number> = {};
    let release!: () => void;
    const first = q.run('Calibrate', () => new Promise<void>((ok) => (release = ok)), (id) => (ids.a = id));
    const second = q.run('Model profile', async () => 'done', (id) => (ids.b = id));
    const third = q.run('Training', async () => 'done', (id) => (ids.c = id));
    expect(q.ahead(ids.a)).toEqual([]);
    expect(q.ahead(ids.c)).toEqual(['Calibrate', 'Model profile']);
    await Promise.resolve(); // the first job's work starts on its turn, a microtask after run()
    release();
    await Promise.all([first, second, third]);
    expect(q.size).toBe(0);
    expect(q.ahead(ids.c)).toEqual([]);
  });

  it('hands a job its work only when the jobs before it are done, and cancels a waiting job before it starts', async () => {
    const q = new GpuQueue();
    const started: string[] = [];
    const ids: Record<string, number> = {};
    let release!: () => void;
    const job = (name: string, body: () => Promise<void> = async () => {}) =>
      q.run(name, async () => { started.push(name); await body(); return name; }, (id) => (ids[name] = id));
    const first = job('Detection run', () => new Promise<void>((ok) => (release = ok)));
    const load = job('Load model');
    const profile = job('Model profile');
    await Promise.resolve();
    expect(started).toEqual(['Detection run']); // the others wait their turn here, not in the engine
    expect(q.cancel(ids['Detection run'])).toBe(false); // running: the engine's cancel() is for that one
    expect(q.cancel(ids['Load model'])).toBe(true);
    await expect(load).rejects.toMatchObject({ name: 'CancelledError', message: 'load model cancelled while queued' });
    expect(q.ahead(ids['Model profile'])).toEqual(['Detection run']);
    release();
    expect(await Promise.all([first, profile])).toEqual(['Detection run', 'Model profile']);
    expect(started).toEqual(['Detection run', 'Model profile']); // the cancelled load never ran
    expect(q.size).toBe(0);
    // A failed job frees the queue for the next one too.
    const failed = q.run('Calibrate', async () => { throw new Error('lost'); });
    const after = q.run('Training', async () => 'ran');
    await expect(failed).rejects.toThrow('lost');
    expect(await after).toBe('ran');
  });

  it('keeps the last result when a task fails, and marks a cancel as one', async () => {
    let t: Task<string> = { running: false, result: 'old' };
    const set = (n: Task<string>) => (t = n);
    expect(await runTask(() => t, set, async () => { throw new Error('bad.edf: not an EDF'); })).toBe(false);
    expect(t).toMatchObject({ running: false, result: 'old', error: 'bad.edf: not an EDF', cancelled: false });
    const cancelled = Object.assign(new Error('model run cancelled'), { name: 'CancelledError' });
    await runTask(() => t, set, async () => { throw cancelled; });
    expect(t).toMatchObject({ result: 'old', cancelled: true });
    expect(await runTask(() => t, set, async () => 'new')).toBe(true);
    expect(t).toEqual({ running: false, result: 'new' });
  });
});
