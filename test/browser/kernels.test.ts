// The shared kernel cases in headless Chromium: a dedicated Web Worker runs them with the same harness as the
// Node suites, in f32 and f16-storage (SwiftShader has no shader-f16); every case must pass.
// ICTAL_BROWSER_CASES_PER_FAMILY=N runs an evenly spread subset of N cases per family instead of all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, collectErrors, launchChromium, logBrowserRun, startLabServer, type Chromium, type LabServer } from './browser-harness.ts';
import type { KernelRunState } from './kernel-protocol.ts';
import { selectCases } from '../kernels/cases/index.ts';

const skip = browserSkipReason();
const perFamilyEnv = process.env.ICTAL_BROWSER_CASES_PER_FAMILY;
const perFamily = perFamilyEnv ? Number(perFamilyEnv) : undefined;
if (perFamily !== undefined && !(Number.isInteger(perFamily) && perFamily >= 1)) {
  throw new Error(`ICTAL_BROWSER_CASES_PER_FAMILY must be a whole number >= 1, got "${perFamilyEnv}"`);
}

describe.skipIf(skip)('kernel cases in Chromium (Web Worker)', () => {
  let server: LabServer;
  let chromium: Chromium;
  beforeAll(async () => {
    server = await startLabServer();
    chromium = await launchChromium({ webgpu: true });
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('every case passes in f32 and f16-storage', async () => {
    const page = await chromium.browser.newPage();
    const errors = collectErrors(page);
    await page.goto(`${server.url}/test/browser/kernel-page.html${perFamily ? `?perFamily=${perFamily}` : ''}`);
    await page.waitForFunction(() => (window as unknown as { kernelRun?: KernelRunState }).kernelRun?.finished, { timeout: 280_000, polling: 500 });
    const run = await page.evaluate(() => (window as unknown as { kernelRun: KernelRunState }).kernelRun);
    expect(run.error).toBeUndefined();
    expect(run.precisions).toEqual(expect.arrayContaining(['f32', 'f16-storage']));
    expect(run.results).toHaveLength(selectCases(perFamily).length * run.precisions!.length);
    expect(run.results.filter((r) => !r.pass).map((r) => r.line)).toEqual([]);
    expect(errors).toEqual([]);
    logBrowserRun({ suite: 'kernel cases', browser: chromium.version, cases: run.results.length, precisions: run.precisions!, adapter: run.adapter! });
  });
});
