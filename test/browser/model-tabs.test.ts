// The Model profile and Headroom tabs in headless Chromium (SwiftShader) against the real Vite dev server, on a
// v3-tiny graph cut to 1 s windows (samples=256) loaded as files: SwiftShader takes ~25 CPU-s per full v3-tiny
// window, so the profile, the predicted curves and a two-batch training probe stay within a few minutes; then the
// whole v3-tiny, for a profile long enough to cancel while it runs and a model load queued behind it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { browserSkipReason, openLab, openTab, pickFiles, saveScreenshot, startLabServer, typeInto, waitForText, writeTinyModel, type Chromium, type LabServer, type TinyModel, clickNow } from './browser-harness.ts';

const skip = browserSkipReason();
const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
const count = (page: Page, selector: string) => page.$$eval(selector, (els) => els.length);
const disabled = (page: Page, selector: string) => page.$eval(selector, (b) => (b as HTMLButtonElement).disabled);

describe.skipIf(skip)('Model profile and Headroom tabs', () => {
  let server: LabServer;
  let chromium: Chromium;
  let page: Page;
  let errors: string[];
  let tiny: TinyModel;

  beforeAll(async () => {
    tiny = writeTinyModel('ictal-model-tabs-', 7);
    server = await startLabServer();
    ({ chromium, page, errors } = await openLab(server.url, 'model-profile'));
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    tiny?.remove();
  });

  it('waits for a model, then profiles its forward pass: a sortable table, the dispatch timeline, downloads', async () => {
    expect(await disabled(page, '[data-testid=profile-model]')).toBe(true);
    await pickFiles(page, 'model-files', tiny.graph, tiny.weights);
    await waitForText(page, '[data-testid=model-info]', 'tiny.json + tiny.safetensors', 30_000);
    expect(await page.$('[data-testid=untrained-banner]')).toBeNull(); // weights from a file: not flagged as seeded
    await typeInto(page, '[data-testid=profile-batch]', '0');
    expect(await text(page, '[data-testid=profile-batch-error]')).toBe('Batch: "0" is not a whole number >= 1');
    expect(await disabled(page, '[data-testid=profile-model]')).toBe(true);
    await typeInto(page, '[data-testid=profile-batch]', '2');
    await page.select('[data-testid=profile-precision]', 'f32');
    await page.click('[data-testid=profile-model]');
    await page.waitForSelector('[data-testid=model-profile-result], [data-testid=model-profile-error]', { timeout: 240_000 });
    expect(await page.$('[data-testid=model-profile-error]')).toBeNull();
    const summary = await text(page, '[data-testid=model-profile-summary]');
    expect(summary).toMatch(/^v3-tiny \(tiny\.json \+ tiny\.safetensors\), batch 2, f32: \d+\.\d\d ms of GPU time in \d+ dispatches; /);
    const dispatches = Number(/in (\d+) dispatches/.exec(summary)![1]);
    expect(await count(page, 'svg.timeline rect.dispatch')).toBe(dispatches);
    // Sorted by time, longest first; a click on the header reverses it.
    const ms = () => page.$$eval('[data-testid=model-profile-table] tbody tr', (trs) => trs.map((tr) => parseFloat(tr.children[2]!.textContent ?? '')));
    const desc = await ms();
    expect(desc.length).toBeGreaterThan(5);
    expect(desc).toEqual([...desc].sort((a, b) => b - a));
    await page.click('[data-testid=model-profile-table] button[data-sort=ms]');
    expect(await ms()).toEqual([...desc].sort((a, b) => a - b));
    const calls = await page.$$eval('[data-testid=model-profile-table] tbody tr', (trs) => trs.reduce((a, tr) => a + Number(tr.children[1]!.textContent), 0));
    expect(calls).toBe(dispatches);
    await page.select('[data-testid=profile-by]', 'kernel');
    const kernels = await page.$$eval('[data-testid=model-profile-table] tbody tr td:first-child', (tds) => tds.map((t) => t.textContent ?? ''));
    expect(kernels.every((k) => /\.wgsl:/.test(k))).toBe(true);
    expect(await page.$eval('[data-testid=profile-trace]', (a) => a.getAttribute('download'))).toBe('ictal-v3-tiny-trace.json');
    const trace = await page.$eval('[data-testid=profile-trace]', async (a) => (await fetch((a as HTMLAnchorElement).href)).json());
    expect((trace as { traceEvents: { ph: string }[] }).traceEvents.filter((e) => e.ph === 'X')).toHaveLength(dispatches);
    await saveScreenshot(page, 'model-profile');
    expect(errors).toEqual([]);
  });

  it('predicts memory against batch size, finds the largest fit under a budget, and probes training steps', async () => {
    await openTab(page, 'Headroom');
    await typeInto(page, '[data-testid=headroom-budget]', '-5');
    expect(await text(page, '[data-testid=headroom-field-error]')).toBe('Budget: "-5" is not a number of MiB > 0');
    expect(await disabled(page, '[data-testid=headroom-predict]')).toBe(true);
    await typeInto(page, '[data-testid=headroom-budget]', '');
    await typeInto(page, '[data-testid=headroom-max-batch]', '64');
    await page.click('[data-testid=headroom-predict]');
    await page.waitForSelector('[data-testid=headroom-result]', { timeout: 60_000 });
    expect(await count(page, 'svg.headroom path.predicted-inference')).toBe(1);
    expect(await count(page, 'svg.headroom path.predicted-training')).toBe(1);
    expect(await count(page, 'svg.headroom line.limit-maxStorageBufferBindingSize')).toBeLessThanOrEqual(1);
    const unlimited = await text(page, '[data-testid=headroom-largest-training]');
    // A budget between the batch-1 and batch-64 training totals moves the largest fit below 64, and says why.
    await typeInto(page, '[data-testid=headroom-budget]', '40');
    await page.click('[data-testid=headroom-predict]');
    const budgeted = await waitForText(page, '[data-testid=headroom-largest-training]', 'budget', 30_000);
    expect(budgeted).not.toBe(unlimited);
    expect(budgeted).toMatch(/^\d+ \(batch \d+: its total \(\d+ bytes\) exceeds the budget \(41943040\)\)$/);
    expect(await count(page, 'svg.headroom line.limit-budget')).toBe(1);

    await typeInto(page, '[data-testid=headroom-budget]', '');
    await typeInto(page, '[data-testid=headroom-max-batch]', '2');
    await page.click('[data-testid=headroom-predict]');
    await page.select('[data-testid=headroom-mode]', 'training');
    await page.click('[data-testid=headroom-probe]');
    await page.waitForSelector('#headroom .progress', { timeout: 10_000 });
    await page.waitForSelector('#headroom .progress', { hidden: true, timeout: 400_000 });
    expect(await page.$('[data-testid=probe-error]')).toBeNull();
    const rows = await page.$$eval('[data-testid=probe-table] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    expect(rows.map((r) => r[0])).toEqual(['1', '2']);
    for (const r of rows) {
      expect(r[2]).toMatch(/^\d+\.\d MiB$/);
      // The training plan's prediction against the arena the probe really held (the aim: within 10 %).
      expect(Math.abs(parseFloat(r[3]!))).toBeLessThan(10);
    }
    expect(await count(page, 'svg.headroom circle.measured')).toBe(2);
    await saveScreenshot(page, 'headroom');
    expect(errors).toEqual([]);
  });

  it('cancels a running model profile and a model load queued behind one, and the page works on after both', async () => {
    await openTab(page, 'Model profile');
    // The whole v3-tiny (10 s windows, ~6 s a forward pass here): a profile long enough to be caught running.
    await page.click('[data-testid=load-preset]');
    await waitForText(page, '[data-testid=model-info]', 'preset v3-tiny', 60_000);
    await typeInto(page, '[data-testid=profile-batch]', '2');
    const profileLine = '#model-profile .progress:not(.queued)';
    await page.click('[data-testid=profile-model]');
    // Its steps are reported as they start (weights, warm-up, timed pass): cancelled during the warm-up.
    await waitForText(page, profileLine, /warm-up pass.*\(v3-tiny, batch 2, f32\)/, 60_000);
    expect(await disabled(page, '[data-testid=profile-model]')).toBe(true);
    await clickNow(page, `${profileLine} [data-testid=cancel]`);
    expect(await waitForText(page, '[data-testid=model-profile-error-cancelled]', 'Cancelled', 120_000)).toBe('Cancelled: model profile cancelled.');
    expect(await page.$(profileLine)).toBeNull();
    expect(await page.$('[data-testid=model-profile-result]')).not.toBeNull(); // the last finished profile stays
    expect(await text(page, '[data-testid=model-profile-summary]')).toMatch(/^v3-tiny \(tiny\.json \+ tiny\.safetensors\), batch 2/);
    expect(await disabled(page, '[data-testid=profile-model]')).toBe(false);

    // A model load waits behind the GPU task using the model, says so, and is taken out of the queue by its Cancel.
    await page.click('[data-testid=profile-model]');
    await waitForText(page, profileLine, 'warm-up pass', 60_000);
    await pickFiles(page, 'model-files', tiny.graph, tiny.weights);
    expect(await waitForText(page, '#model-bar [data-testid=queued]', 'behind', 10_000)).toBe('Queued: waiting for the GPU behind Model profile.');
    await clickNow(page, '#model-bar [data-testid=cancel]');
    expect(await waitForText(page, '[data-testid=model-error-cancelled]', 'Cancelled', 10_000)).toBe('Cancelled: load model cancelled while queued.');
    expect(await text(page, '[data-testid=model-info]')).toMatch(/^v3-tiny \(preset v3-tiny, seeded initial weights/); // still the model in use
    expect(await page.$('#model-bar .progress')).toBeNull();
    await clickNow(page, `${profileLine} [data-testid=cancel]`);
    await waitForText(page, '[data-testid=model-profile-error-cancelled]', 'Cancelled', 120_000);

    // Both cancels left nothing behind: a load with progress, then a profile, run to the end.
    await pickFiles(page, 'model-files', tiny.graph, tiny.weights);
    await waitForText(page, '[data-testid=model-info]', 'tiny.json + tiny.safetensors', 30_000);
    await typeInto(page, '[data-testid=profile-batch]', '1');
    await page.click('[data-testid=profile-model]');
    expect(await waitForText(page, '[data-testid=model-profile-summary]', 'batch 1', 240_000)).toMatch(/^v3-tiny \(tiny\.json \+ tiny\.safetensors\), batch 1, f32: /);
    expect(await page.$('[data-testid=model-profile-error-cancelled]')).toBeNull();
    expect(errors).toEqual([]);
  });
});
