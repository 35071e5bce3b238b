// The Train tab in headless Chromium (SwiftShader) against the real Vite dev server: a v3-tiny cut to 1 s windows
// (samples=256) loaded as files, trained a few steps on synthetic EEG with the loss chart growing step by step,
// stopped, resumed to its end, and its weights made the lab's model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { browserSkipReason, openLab, pickFiles, saveScreenshot, startLabServer, typeInto, waitForText, writeTinyModel, type Chromium, type LabServer, type TinyModel, clickNow } from './browser-harness.ts';

const skip = browserSkipReason();
const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
const points = (page: Page) => page.$$eval('[data-testid=train-loss-chart] circle', (c) => c.length).catch(() => 0);

describe.skipIf(skip)('Train tab', () => {
  let server: LabServer;
  let chromium: Chromium;
  let page: Page;
  let errors: string[];
  let tiny: TinyModel;

  beforeAll(async () => {
    tiny = writeTinyModel('ictal-train-tab-', 9);
    server = await startLabServer();
    ({ chromium, page, errors } = await openLab(server.url, 'train'));
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    tiny?.remove();
  });

  it('trains step by step with a live loss chart, stops, resumes to the end, and hands the weights to the lab', async () => {
    expect(await page.$eval('[data-testid=train-start]', (b) => (b as HTMLButtonElement).disabled)).toBe(true); // no model yet
    await pickFiles(page, 'model-files', tiny.graph, tiny.weights);
    await waitForText(page, '[data-testid=model-info]', 'tiny.json + tiny.safetensors', 30_000);
    await typeInto(page, '#train-steps', '0');
    await page.click('[data-testid=train-start]');
    expect(await text(page, '[data-testid=train-form-error]')).toBe('Steps: "0" is not a whole number from 1 up');
    await typeInto(page, '#train-steps', '4');
    await typeInto(page, '#train-batch', '1');
    await typeInto(page, '#train-minutes', '1');
    await page.select('#train-precision', 'f32');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=train-loss-chart] circle').length >= 1, { timeout: 240_000, polling: 100 });
    await clickNow(page, '#train [data-testid=cancel]'); // stop after the current step
    const stopped = await waitForText(page, '[data-testid=train-result]', /^(Stopped|Finished) after/, 240_000);
    expect(stopped).toMatch(/^Stopped after [123] steps? on \d+ windows/);
    const done = await points(page);
    expect(done).toBe(Number(/after (\d)/.exec(stopped)![1]));
    await page.click('[data-testid=train-resume]');
    expect(await waitForText(page, '[data-testid=train-result]', /^Finished after/, 300_000)).toMatch(new RegExp(`^Finished after ${4 - done} steps?`));
    expect(await points(page)).toBe(4); // the chart runs on over the resumed steps
    expect(await text(page, '[data-testid=train-summary]')).toMatch(/^step 4: loss \d+\.\d{4}, grad norm \d+\.\d{3}, loss scale 1, /);
    expect(await page.$eval('[data-testid=train-weights]', (a) => a.getAttribute('download'))).toBe('trained.safetensors');
    await page.click('[data-testid=train-use]');
    await waitForText(page, '[data-testid=model-info]', 'v3-tiny-trained.safetensors', 60_000);
    // The hand-off line renders after the model bar updates: wait for it rather than read it at once.
    expect(await waitForText(page, '[data-testid=train-handoff]', "the trained weights are the lab's model", 30_000)).toBe("the trained weights are the lab's model (v3-tiny-trained.safetensors)");
    await saveScreenshot(page, 'train');
    expect(errors).toEqual([]);
  });
});
