// The Remote runs tab in headless Chromium against a real run API server (the backend's uvicorn, started by
// test/remote/api-server.ts with the lab's origin allowed by CORS): a bad token refused, the loaded graph and
// its weights submitted, the run followed live to `succeeded` with its loss chart, its checkpoint loaded back
// into the lab as the model; the token kept in sessionStorage only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { browserSkipReason, openLab, pickFiles, saveScreenshot, startLabServer, typeInto, waitForText, writeTinyModel, type Chromium, type LabServer, type TinyModel } from './browser-harness.ts';
import { backendPython, startApiServer, type ApiServer } from '../remote/api-server.ts';

const skip = browserSkipReason();
const python = skip ? undefined : backendPython();
const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

describe.skipIf(skip || !python)('Remote runs tab against a real run API', () => {
  let lab: LabServer;
  let api: ApiServer;
  let chromium: Chromium;
  let page: Page;
  let errors: string[];
  let tiny: TinyModel;

  beforeAll(async () => {
    tiny = writeTinyModel('ictal-remote-tab-', 3);
    lab = await startLabServer();
    api = await startApiServer(python!, { corsOrigins: [lab.url] });
    ({ chromium, page, errors } = await openLab(lab.url, 'remote-runs'));
  });
  afterAll(async () => {
    await chromium?.close();
    await api?.stop();
    await lab?.close();
    tiny?.remove();
  });

  it('refuses a wrong token with the server\'s answer, and connects with the right one', async () => {
    await typeInto(page, '#remote-server', api.url);
    await typeInto(page, '#remote-token', 'wrong');
    await page.click('[data-testid=remote-connect]');
    expect(await waitForText(page, '[data-testid=remote-error]', 'HTTP 401', 30_000)).toMatch(/^\/api\/runs: HTTP 401: /);
    await typeInto(page, '#remote-token', api.token);
    await page.click('[data-testid=remote-connect]');
    expect(await waitForText(page, '[data-testid=remote-connected]', 'Connected', 30_000)).toMatch(new RegExp(`^Connected to ${api.url} \\(run API .+\\)\\.$`));
    expect(await text(page, '[data-testid=remote-runs]')).toBe('No runs on this server yet.');
    // Not remembered: the token lives in this tab's sessionStorage only.
    expect(await page.evaluate(() => [sessionStorage.getItem('ictal.remote.token'), localStorage.getItem('ictal.remote.token')])).toEqual([api.token, null]);
    expect(errors.filter((e) => !/401/.test(e))).toEqual([]); // the browser itself logs the refused request
  });

  it('submits the loaded graph and weights, follows the run to succeeded, and loads its checkpoint into the lab', async () => {
    expect(await page.$eval('[data-testid=remote-submit]', (b) => (b as HTMLButtonElement).disabled)).toBe(true); // no model yet
    await pickFiles(page, 'model-files', tiny.graph, tiny.weights);
    await waitForText(page, '[data-testid=model-info]', 'tiny.json + tiny.safetensors', 30_000);
    await typeInto(page, '#remote-steps', '2');
    await typeInto(page, '#remote-batch', '1');
    await page.select('#remote-precision', 'f32');
    await typeInto(page, '#remote-windows', '1');
    await page.click('[data-testid=remote-submit]');
    await page.waitForSelector('[data-testid=remote-follow]', { timeout: 60_000 });
    expect(await waitForText(page, '[data-testid=remote-follow-status]', /^(succeeded|failed|cancelled|interrupted)$/, 300_000)).toBe('succeeded');
    expect(await text(page, '[data-testid=remote-follow-state]')).toBe('ended');
    const id = (await text(page, '[data-testid=remote-follow] h3')).replace(/^Run /, '');
    expect(await page.$$eval('[data-testid=remote-loss-chart] path.series', (p) => p.length)).toBe(1);
    expect(await page.$$eval('[data-testid=remote-loss-chart] circle', (c) => c.length)).toBeGreaterThanOrEqual(2);
    await page.waitForSelector('[data-testid=remote-checkpoints] li', { timeout: 30_000 });
    expect(await text(page, `[data-testid=status-${id}]`)).toBe('succeeded');
    const name = await page.$eval('[data-testid=remote-checkpoints] li code', (c) => c.textContent ?? '');
    await page.click(`[data-testid="load-checkpoint-${name}"]`);
    expect(await waitForText(page, '[data-testid=model-info]', `${id}-${name}`, 60_000)).toMatch(new RegExp(`^v3-tiny \\(v3-tiny\\.json \\+ ${id}-${name.replace(/\./g, '\\.')}\\)`));
    expect(await text(page, '[data-testid=remote-action]')).toBe(`loaded ${name} of ${id} as the lab's model`);
    await saveScreenshot(page, 'remote-runs');
    expect(errors.filter((e) => !/401/.test(e))).toEqual([]);
  });
});
