// The lab page in headless Chromium, served by the real Vite dev server: the tabs and the start-here path, the
// adapter through the engine worker, calibration (queued actions, cancel) and kernel profiling end to end, no
// console errors; and without WebGPU, the plain message and how to enable it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { browserSkipReason, collectErrors, launchChromium, logBrowserRun, openTab, saveScreenshot, startLabServer, waitForText, type Chromium, type LabServer, clickNow } from './browser-harness.ts';

const skip = browserSkipReason();

/** Counts main-thread WebGPU calls: the UI must leave WebGPU to the engine worker. */
async function spyOnMainThreadGpu(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const calls: string[] = [];
    Object.assign(window, { mainThreadGpuCalls: calls });
    const gpu = navigator.gpu;
    if (gpu) {
      const request = gpu.requestAdapter.bind(gpu);
      gpu.requestAdapter = (o?: GPURequestAdapterOptions) => (calls.push('requestAdapter'), request(o));
    }
  });
}

const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

describe.skipIf(skip)('lab page', () => {
  let server: LabServer;
  beforeAll(async () => {
    server = await startLabServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('with WebGPU (SwiftShader)', () => {
    let chromium: Chromium;
    let page: Page;
    let errors: string[];
    beforeAll(async () => {
      chromium = await launchChromium({ webgpu: true });
      page = await chromium.browser.newPage();
      errors = collectErrors(page);
      await spyOnMainThreadGpu(page);
      // Small measurements of two families: the suite checks that the profiler runs and shows, not how fast this
      // machine is (every family's correctness in Chromium is kernels.test.ts's job).
      await page.goto(`${server.url}/?copy-mib=16&elements=65536&families=elementwise,reduce`);
    });
    afterAll(async () => {
      await chromium?.close();
    });

    it('shows the adapter through the engine worker, with no console errors', async () => {
      await page.waitForSelector('[data-testid=adapter-name]', { timeout: 60_000 });
      expect((await text(page, '[data-testid=adapter-name]')).trim()).not.toBe('');
      expect(await text(page, '[data-testid=adapter-host]')).toBe('Web Worker');
      const features = await page.$$eval('[data-testid=features] li', (els) => els.map((e) => e.textContent));
      expect(features).toContain('timestamp-query');
      expect(await page.$$eval('[data-testid=limits] tr', (rows) => rows.length)).toBeGreaterThan(10);
      expect(page.workers().some((w) => w.url().includes('src/engine/worker.ts'))).toBe(true);
      expect(await page.evaluate(() => (window as unknown as { mainThreadGpuCalls: string[] }).mainThreadGpuCalls)).toEqual([]);
      expect(errors).toEqual([]);
    });

    it('navigates by job: tabs named for them, the URL hash keeps the tab, a start-here path on the first visit', async () => {
      const tabs = await page.$$eval('[role=tab]', (els) => els.map((e) => e.textContent));
      expect(tabs).toEqual(['Device', 'Model profile', 'Headroom', 'Train', 'Remote runs', 'Recordings', 'Kernels']);
      expect(await page.$eval('[role=tab][aria-selected=true]', (e) => e.textContent)).toBe('Device');
      expect(await page.$$eval('[data-testid=start-here] li a', (as) => as.map((a) => a.textContent))).toEqual(['Device', 'Recordings', 'Model profile', 'Headroom', 'Train', 'Remote runs']);
      await openTab(page, 'Headroom');
      expect(await page.evaluate(() => location.hash)).toBe('#headroom');
      expect(await page.$eval('#tab-device', (e) => (e as HTMLElement).hidden)).toBe(true);
      await page.reload();
      await page.waitForSelector('[data-testid=adapter-name]', { timeout: 60_000 });
      expect(await page.$eval('[role=tab][aria-selected=true]', (e) => e.textContent)).toBe('Headroom');
      expect(await page.$eval('#tab-headroom', (e) => (e as HTMLElement).hidden)).toBe(false);
      // Dismissed, the path stays away on the next visit, and comes back on asking.
      await page.click('[data-testid=close-start-here]');
      await page.reload();
      await page.waitForSelector('[data-testid=adapter-name]', { timeout: 60_000 });
      expect(await page.$('[data-testid=start-here]')).toBeNull();
      await page.click('[data-testid=open-start-here]');
      expect(await page.$('[data-testid=start-here]')).not.toBeNull();
      await page.click('[data-testid=close-start-here]');
      await openTab(page, 'Device');
      expect(errors).toEqual([]);
    });

    it('says what a queued action waits behind, and cancels a running one', async () => {
      await page.click('[data-testid=calibrate]');
      await openTab(page, 'Kernels');
      await page.click('[data-testid=profile]');
      expect(await waitForText(page, '#profile [data-testid=queued]', 'behind', 10_000)).toBe('Queued: waiting for the GPU behind Calibrate.');
      await openTab(page, 'Device');
      await clickNow(page, '#calibration [data-testid=cancel]');
      expect(await waitForText(page, '[data-testid=calibration-error-cancelled]', 'Cancelled', 60_000)).toBe('Cancelled: calibration cancelled.');
      await openTab(page, 'Kernels');
      // The profile ran once the GPU was free; its result is checked by the profiling test below, after a calibration.
      await page.waitForSelector('[data-testid=profile-result], [data-testid=profile-error]', { timeout: 180_000 });
      expect(await page.$('[data-testid=profile-error]')).toBeNull();
      await openTab(page, 'Device');
      expect(errors).toEqual([]);
    });

    it('calibrates with a progress indicator and draws the roofline', async () => {
      await clickNow(page, '[data-testid=calibrate]');
      await page.waitForSelector('.progress progress', { timeout: 10_000 });
      await page.waitForSelector('[data-testid=calibration-result], [data-testid=calibration-error]', { timeout: 120_000 });
      expect(await page.$('[data-testid=calibration-error]')).toBeNull();
      expect(await text(page, '[data-testid=copy-gbps]')).toMatch(/^\d+\.\d\d GB\/s$/);
      expect(await text(page, '[data-testid=fma-gflops]')).toMatch(/^\d+\.\d\d GFLOP\/s$/);
      expect(await page.$$eval('svg.roofline path.roof', (p) => p.map((e) => e.getAttribute('d') ?? ''))).toHaveLength(1);
      expect(await page.$('#calibration .progress')).toBeNull();
      await saveScreenshot(page, 'device');
      expect(errors).toEqual([]);
    });

    it('profiles the kernels in the worker, onto the roofline and its performance timeline', async () => {
      await openTab(page, 'Kernels');
      await page.click('[data-testid=profile]');
      await page.waitForSelector('#profile .progress', { timeout: 10_000 });
      await page.waitForSelector('#profile .progress', { hidden: true, timeout: 180_000 });
      const failures = await page.$$eval('[data-testid=profile-failures] li, [data-testid=profile-error]', (els) => els.map((e) => e.textContent));
      expect(failures).toEqual([]);
      const rows = await page.$$eval('#profile table.kernels tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['f32', 'f16-storage']));
      expect(rows.every((r) => /%/.test(r[8]!))).toBe(true); // placed against the calibrated roofline
      await openTab(page, 'Device');
      expect(await page.$$eval('svg.roofline circle.kernel', (c) => c.length)).toBeGreaterThan(0);
      await openTab(page, 'Kernels');
      await saveScreenshot(page, 'kernels');
      const measures = await page.evaluate(() => (window as unknown as { ictal: { engine: { performanceMeasures(): Promise<{ name: string }[]> } } }).ictal.engine.performanceMeasures());
      const labels = new Set(rows.map((r) => `ictal ${r[0]}`));
      expect(measures.filter((m) => labels.has(m.name)).length).toBeGreaterThanOrEqual(rows.length);
      expect(errors).toEqual([]);
      const adapter = (await text(page, '[data-testid=adapter-name]')).trim();
      logBrowserRun({ suite: 'lab page', browser: chromium.version, cases: rows.length, precisions: [...new Set(rows.map((r) => r[1]!))], adapter });
    });

    it('names a bad URL parameter instead of starting', async () => {
      const other = await chromium.browser.newPage();
      await other.goto(`${server.url}/?copy-mib=zero`);
      await other.waitForSelector('[data-testid=engine-error]', { timeout: 30_000 });
      expect(await text(other, '[data-testid=engine-error]')).toBe('URL parameter copy-mib wants a whole number >= 1, got "zero"');
      await other.close();
    });
  });

  describe('without WebGPU', () => {
    let chromium: Chromium;
    beforeAll(async () => {
      chromium = await launchChromium({ webgpu: false });
    });
    afterAll(async () => {
      await chromium?.close();
    });

    it('shows a plain message saying what is missing', async () => {
      const page = await chromium.browser.newPage();
      const errors = collectErrors(page);
      await page.goto(server.url);
      await page.waitForSelector('[data-testid=no-webgpu]', { timeout: 60_000 });
      const message = await text(page, '[data-testid=no-webgpu]');
      expect(message).toMatch(/^No WebGPU here\. navigator\.gpu (is missing|gave no adapter)/);
      expect(await text(page, '[data-testid=enable-webgpu]')).toMatch(/^To enable WebGPU: use Chrome or Edge 113 or later .*--enable-unsafe-webgpu/);
      expect(message).not.toMatch(/\bat \S+:\d+|Error:/); // no stack trace, no error class
      expect(await page.$('[data-testid=adapter-name]')).toBeNull();
      expect(await page.$eval('[data-testid=calibrate]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
      expect(errors).toEqual([]);
    });
  });
});
