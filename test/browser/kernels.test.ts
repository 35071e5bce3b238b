// The shared kernel cases in headless Chromium: a dedicated Web Worker runs them with the same harness as the
// Node suites, in f32 and f16-storage (SwiftShader has no shader-f16); every case must pass.
// SwiftShader on two cores is slow, so by default a representative subset runs: DEFAULT_PER_FAMILY cases of every
// family, spread over its list (smallest, awkward and largest shapes included). The Node suites run them all.
// ICTAL_BROWSER_CASES_PER_FAMILY=N changes the number; =all runs every case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, collectErrors, launchChromium, logBrowserRun, startLabServer, type Chromium, type LabServer } from './browser-harness.ts';
import type { KernelRunState } from './kernel-protocol.ts';
import { selectCases } from '../kernels/cases/index.ts';

const DEFAULT_PER_FAMILY = 6;
const skip = browserSkipReason();
const perFamilyEnv = process.env.ICTAL_BROWSER_CASES_PER_FAMILY;
const perFamily = perFamilyEnv === 'all' ? undefined : perFamilyEnv ? Number(perFamilyEnv) : DEFAULT_PER_FAMILY;
if (perFamily !== undefined && !(Number.isInteger(perFamily) && perFamily >= 1)) {
  throw new Error(`ICTAL_BROWSER_CASES_PER_FAMILY must be "all" or a whole number >= 1, got "${perFamilyEnv}"`);
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
    await page.waitForFunction(() => (window as unknown as { kernelRun?: KernelRunState }).kernelRun?.finished, { timeout: 280_000, polling: 1000 });
    const run = await page.evaluate(() => (window as unknown as { kernelRun: KernelRunState }).kernelRun);
    // What ran is logged whatever the outcome; the assertions below say whether it passed.
    if (run.precisions) logBrowserRun({ suite: 'kernel cases', browser: chromium.version, cases: run.results.length, precisions: run.precisions, adapter: run.adapter! });
    expect(run.error).toBeUndefined();
    expect(run.precisions).toEqual(expect.arrayContaining(['f32', 'f16-storage']));
    expect(run.results).toHaveLength(selectCases(perFamily).length * run.precisions!.length);
    expect(run.results.filter((r) => !r.pass).map((r) => r.line)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
