// The lab's EEG panels in headless Chromium against the real Vite dev server: the built-in synthetic recording, a
// synthetic EDF + .csv_bi uploaded through the file input, v3-tiny run in the engine worker (probability trace,
// events, metrics), and bad files answered with their parser's message; no console errors throughout.
// SwiftShader runs v3-tiny at about 25 CPU-seconds per 10 s window (measured here), so the model runs over a 10 s
// recording (one window); stitching over many windows is tested in Node (test/engine/recording-bench.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { browserSkipReason, collectErrors, launchChromium, pickFiles, saveScreenshot, startLabServer, typeInto, waitForText, type Chromium, type LabServer } from './browser-harness.ts';
import { edfWithout, syntheticFiles, truncated } from '../engine/recording-fixtures.ts';
import { freshSeed } from '../harness/kernel-harness.ts';
import { bytesSource } from '../../src/data/byte-source.ts';
import { EdfReader } from '../../src/data/edf.ts';
import { synthesizeEeg } from '../../src/data/synthetic-eeg.ts';
import { planWindows, strideFor } from '../../src/data/window-stitch.ts';
import { DEFAULT_SYNTHETIC } from '../../src/ui/recording-store.ts';
import { DEFAULT_POSTPROCESS } from '../../src/data/postprocess.ts';
import { syntheticCsvBi } from '../../src/data/synthetic-files.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { initWeights } from '../../src/graph/init.ts';
import { serializeIr } from '../../src/graph/serialize.ts';
import { encodeWeights } from '../../src/graph/weights.ts';

const skip = browserSkipReason();
const seed = freshSeed();
const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
const count = (page: Page, selector: string) => page.$$eval(selector, (els) => els.length);

const upload = (page: Page, ...paths: string[]) => pickFiles(page, 'recording-files', ...paths);
const pick = pickFiles;
const disabled = (page: Page, selector: string) => page.$eval(selector, (b) => (b as HTMLButtonElement).disabled);

describe.skipIf(skip)(`EEG recording in the lab page (seed ${seed})`, () => {
  let server: LabServer;
  let chromium: Chromium;
  let page: Page;
  let errors: string[];
  let dir: string;
  const files = syntheticFiles(1, seed);
  const short = syntheticFiles(10 / 60, seed + 1);
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ictal-recording-'));
    writeFileSync(path(`${files.name}.edf`), files.edf);
    writeFileSync(path(`${files.name}.csv_bi`), files.csvBi);
    writeFileSync(path(`${short.name}.edf`), short.edf);
    writeFileSync(path(`${short.name}.csv_bi`), short.csvBi);
    // The short recording with one labelled seizure (3-7 s), whatever the seed gave it: a flat output must not
    // "detect" it by covering the whole recording.
    writeFileSync(path('flat.edf'), short.edf);
    writeFileSync(path('flat.csv_bi'), syntheticCsvBi({ ...short.rec, seizures: [{ ...(short.rec.seizures[0] ?? files.rec.seizures[0]!), start: 3, stop: 7 }] }, 'flat'));
    writeFileSync(path('cut.edf'), truncated(files.edf));
    writeFileSync(path('partial.edf'), edfWithout(files.rec, ['Cz', 'O2']));
    const narrow = buildV3('v3-tiny', applyOverrides(preset('v3-tiny'), ['samples=1280']));
    writeFileSync(path('narrow.json'), serializeIr(narrow));
    writeFileSync(path('narrow.safetensors'), encodeWeights(narrow, initWeights(narrow, seed), seed));
    server = await startLabServer();
    chromium = await launchChromium({ webgpu: true });
    page = await chromium.browser.newPage();
    errors = collectErrors(page);
    await page.goto(`${server.url}/#recordings`);
    await page.waitForSelector('[data-testid=adapter-name]', { timeout: 60_000 });
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads the built-in synthetic recording: 19 channels, the labels and the window grid of the default model', async () => {
    await page.click('[data-testid=load-synthetic]');
    await page.waitForSelector('[data-testid=recording-result], [data-testid=recording-error]', { timeout: 60_000 });
    expect(await page.$('[data-testid=recording-error]')).toBeNull();
    const { minutes, seed: syntheticSeed } = DEFAULT_SYNTHETIC;
    const rec = synthesizeEeg({ minutes, seed: syntheticSeed });
    expect(await text(page, '[data-testid=recording-duration]')).toBe(`${minutes * 60} s (${minutes * 60} records of 1 s)`);
    expect(await count(page, 'svg.eeg path.channel')).toBe(19);
    expect(await page.$$eval('svg.eeg path.channel', (ps) => ps.every((p) => (p.getAttribute('d') ?? '').length > 100))).toBe(true);
    expect(await count(page, 'svg.eeg rect.seizure-label')).toBe(rec.seizures.length);
    expect(await text(page, '[data-testid=recording-labels]')).toMatch(new RegExp(`^${rec.seizures.length} seizures? in synth`));
    const plan = planWindows(rec.sampleCount, 2560, strideFor(2560));
    expect(await text(page, '[data-testid=window-count]')).toBe(`${plan.starts.length} windows of 2560 samples (10 s), stride 426 samples (1/6 of the window)`);
    expect(await count(page, 'svg.eeg rect.window')).toBe(plan.starts.length);
    expect(errors).toEqual([]);
  });

  it('reads an EDF and its .csv_bi picked with the file input', async () => {
    await upload(page, path(`${files.name}.edf`), path(`${files.name}.csv_bi`));
    await waitForText(page, '[data-testid=recording-name]', `${files.name}.edf`, 60_000);
    expect(await text(page, '[data-testid=recording-duration]')).toBe('60 s (60 records of 1 s)');
    const n = files.rec.seizures.length;
    // Both loaded files are named on the page; the input is emptied (what it would show is not what is open).
    expect(await text(page, '[data-testid=recording-labels]')).toMatch(new RegExp(`^${n} seizures? in ${files.name}\\.csv_bi`));
    expect(await page.$eval('[data-testid=recording-files]', (el) => (el as HTMLInputElement).files?.length)).toBe(0);
    expect(await count(page, 'svg.eeg rect.seizure-label')).toBe(n);
    expect(await count(page, 'svg.eeg path.channel')).toBe(19);
    // The amplitude scale: the bar's label follows the choice, and the traces are redrawn taller at ±1 SD a row.
    expect(await text(page, '[data-testid=amplitude-scale] text')).toBe('4 SD');
    // Each trace is a min/max band (top edge left to right, bottom edge back): its mean height in pixels.
    const spread = () => page.$$eval('svg.eeg path.channel', (ps) => ps.map((p) => {
      const y = (p.getAttribute('d') ?? '').match(/-?\d+(\.\d+)?(e-?\d+)?/g)!.map(Number).filter((_, i) => i % 2 === 1);
      const n = Math.floor(y.length / 2);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += y[y.length - 1 - i]! - y[i]!;
      return sum / n;
    }));
    const at4 = await spread();
    await page.select('[data-testid=eeg-amplitude]', '1');
    expect(await text(page, '[data-testid=amplitude-scale] text')).toBe('1 SD');
    const at1 = await spread();
    // Four times taller where the band stays within ±1 SD; less where it reaches the row's edge and is clipped.
    at1.forEach((h, c) => expect(h, `channel ${c}`).toBeGreaterThan(at4[c]! * 1.5));
    await page.select('[data-testid=eeg-amplitude]', '4');
    expect(await spread()).toEqual(at4);
    // A stride of half the model's window: the grid follows.
    await page.select('[data-testid=overlap]', '2');
    const plan = planWindows(60 * 256, 2560, 1280);
    expect(await text(page, '[data-testid=window-count]')).toBe(`${plan.starts.length} windows of 2560 samples (10 s), stride 1280 samples (1/2 of the window)`);
    expect(await count(page, 'svg.eeg rect.window')).toBe(plan.starts.length);
    expect(errors).toEqual([]);
  });

  it('loads v3-tiny and runs it over a recording: probability trace, events, metrics against the labels', async () => {
    await upload(page, path(`${short.name}.edf`), path(`${short.name}.csv_bi`));
    await waitForText(page, '[data-testid=recording-name]', `${short.name}.edf`, 60_000);
    // No model yet: Run waits for one (no silent load of the seeded model).
    expect(await disabled(page, '[data-testid=run-model]')).toBe(true);
    expect(await text(page, '[data-testid=run-why]')).toBe('Load a model first (above).');
    await page.click('[data-testid=load-preset]');
    expect(await waitForText(page, '[data-testid=model-info]', /^v3-tiny/, 60_000)).toMatch(/windows of 2560 samples \(10 s\)$/);
    expect(await text(page, '[data-testid=untrained-banner]')).toMatch(/^Untrained weights: chance-level output\./);
    expect(await text(page, '[data-testid=window-count]')).toBe('1 window of 2560 samples (10 s), stride 1280 samples (1/2 of the window)');
    const started = Date.now();
    await page.click('[data-testid=run-model]');
    await page.waitForSelector('.progress progress', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=prediction-result], [data-testid=prediction-error]', { timeout: 240_000 });
    console.log(`v3-tiny over one 10 s window in Chromium (SwiftShader): ${((Date.now() - started) / 1000).toFixed(1)} s from the click`);
    expect(await page.$('[data-testid=prediction-error]')).toBeNull();
    expect(await text(page, '[data-testid=prediction-summary]')).toMatch(/^v3-tiny over 1 window of 2560 samples, stride 1280, batch 4, f32: \d+\.\d s in the worker\.$/);
    // The trace says what it plots: the probability axis and its title, the thresholds by name, the time axis.
    expect(await page.$$eval('svg.probability text.axis-title', (ts) => ts.map((t) => t.textContent))).toEqual(['P(seizure)', 'time']);
    const { onThreshold, offThreshold } = DEFAULT_POSTPROCESS;
    expect(await page.$$eval('svg.probability text.threshold-label', (ts) => ts.map((t) => t.textContent))).toEqual([`on ${onThreshold}`, `off ${offThreshold}`]);
    const ticks = await page.$$eval('svg.probability g.axis .tick text', (ts) => ts.map((t) => t.textContent));
    expect(ticks).toEqual(expect.arrayContaining(['0.0', '0.2', '1.0', '0:00', '0:05', '0:10']));
    expect((await page.$eval('svg.probability path.probability', (p) => p.getAttribute('d') ?? '')).length).toBeGreaterThan(100);
    expect(await page.$('[data-testid=events]')).not.toBeNull();
    expect(await count(page, 'svg.probability rect.event')).toBe(await count(page, 'table.events tbody tr'));
    expect(await count(page, 'svg.probability rect.seizure-label')).toBe(short.rec.seizures.length);
    expect(await text(page, '[data-testid=auroc]')).toMatch(short.rec.seizures.length ? /^(0|1)\.\d{4}$/ : /^undefined \(one class only\)$/);
    expect(await count(page, '[data-testid=metrics] table.operating-points tbody tr')).toBe(4);
    expect(await page.$('.progress')).toBeNull();
    await saveScreenshot(page, 'recordings');
    expect(errors).toEqual([]);
  });

  it("runs at the batch and precision chosen, and flags the seeded model's flat output instead of reporting 100 % sensitivity", async () => {
    await upload(page, path('flat.edf'), path('flat.csv_bi'));
    await waitForText(page, '[data-testid=recording-labels]', 'flat.csv_bi', 60_000);
    await typeInto(page, '[data-testid=detection-batch]', '2');
    await page.select('[data-testid=detection-precision]', 'f16-storage');
    await page.click('[data-testid=run-model]');
    const summary = await waitForText(page, '[data-testid=prediction-summary]', 'f16-storage', 240_000);
    expect(summary).toMatch(/^v3-tiny over 1 window of 2560 samples, stride 1280, batch 2, f16-storage: /);
    expect(await page.$('[data-testid=prediction-error]')).toBeNull();
    // Untrained, v3-tiny gives ~0.5 everywhere: at every target the lowest threshold is one event over the whole
    // recording, which "finds" the labelled seizure with no false alarm. Each such point is flagged, with why.
    const rows = await page.$$eval('[data-testid=metrics] table.operating-points tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r[2]).toMatch(/^(100\.0% degenerate|-)$/);
    expect(rows.filter((r) => r[2] !== '-').length).toBeGreaterThan(0);
    expect(await text(page, '[data-testid=degenerate-notice]')).toMatch(/^Degenerate operating points: at \d+(\.\d+)? FA\/24 h, 1 event covers 100 % of the recording/);
    expect(errors).toEqual([]);
  });

  it('takes files dropped onto the drop zone, and names a file that is neither .edf nor .csv_bi', async () => {
    const drop = (items: { name: string; base64: string }[]) => page.$eval('[data-testid=drop-zone]', (zone, list) => {
      const data = new DataTransfer();
      for (const f of list) data.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, items);
    await drop([{ name: 'dropped.edf', base64: Buffer.from(short.edf).toString('base64') }]);
    await waitForText(page, '[data-testid=recording-name]', 'dropped.edf', 30_000);
    expect(await text(page, '[data-testid=recording-labels]')).toMatch(/^none/);
    await drop([{ name: 'dropped.edf', base64: '' }, { name: 'notes.txt', base64: '' }]);
    expect(await waitForText(page, '[data-testid=recording-error]', 'notes.txt', 30_000)).toBe('"notes.txt": not an .edf recording or a .csv_bi / .csv label file');
    // The refused drop replaced nothing.
    expect(await text(page, '[data-testid=recording-name]')).toBe('dropped.edf');
    expect(await text(page, '[data-testid=recording-kept]')).toBe('Still showing dropped.edf.');
    expect(errors).toEqual([]);
  });

  it("loads a user's graph .json + weights .safetensors, and says what is missing from a lone .json", async () => {
    await pick(page, 'model-files', path('narrow.json'), path('narrow.safetensors'));
    expect(await waitForText(page, '[data-testid=model-info]', /narrow\.json \+ narrow\.safetensors/, 30_000))
      .toMatch(/^v3-tiny \(narrow\.json \+ narrow\.safetensors\): [\d,]+ parameters, windows of 1280 samples \(5 s\)$/);
    await pick(page, 'model-files', path('narrow.json'));
    expect(await waitForText(page, '[data-testid=model-error]', 'a model is two files', 30_000))
      .toBe('a model is two files, a graph .json and its weights .safetensors; got "narrow.json"');
    // The refused pick replaced nothing: the loaded model's files are still the ones named, the input emptied.
    expect(await text(page, '[data-testid=model-info]')).toMatch(/^v3-tiny \(narrow\.json \+ narrow\.safetensors\)/);
    expect(await page.$eval('[data-testid=model-files]', (el) => (el as HTMLInputElement).files?.length)).toBe(0);
    expect(errors).toEqual([]);
  });

  it("answers a truncated EDF with the reader's message and its file, keeps the recording, and offers the whole records", async () => {
    const cut = truncated(files.edf);
    const why = await EdfReader.open(bytesSource(cut)).then(() => 'opened', (e: Error) => e.message);
    const before = await text(page, '[data-testid=recording-name]');
    await upload(page, path('cut.edf'));
    expect(await waitForText(page, '[data-testid=recording-error]', why, 30_000)).toBe(`cut.edf: ${why}`);
    expect(await text(page, '[data-testid=recording-name]')).toBe(before);
    await page.click('[data-testid=open-whole-records]');
    await waitForText(page, '[data-testid=recording-name]', 'cut.edf', 30_000);
    expect(await text(page, '[data-testid=recording-duration]')).toBe('59 s (59 records of 1 s)');
    await upload(page, path('partial.edf'));
    const missing = await waitForText(page, '[data-testid=recording-error]', /^partial\.edf: missing 2/, 30_000);
    expect(missing).toMatch(/^partial\.edf: missing 2 of the 19 montage channels: Cz, O2 \(signals present: "EEG FP1-REF"/);
    expect(missing).not.toMatch(/\bat \S+:\d+|Error:/); // no stack trace, no error class
    expect(await text(page, '[data-testid=recording-name]')).toBe('cut.edf');
    expect(errors).toEqual([]);
  });

  it('refuses a bad minutes value with a message and keeps what was typed', async () => {
    await page.click('[data-testid=synthetic-minutes]', { count: 3 });
    await page.keyboard.type('0');
    expect(await text(page, '[data-testid=minutes-error]')).toBe('minutes of synthetic EEG: "0" is not a whole number from 1 to 120');
    expect(await disabled(page, '[data-testid=load-synthetic]')).toBe(true);
    await page.keyboard.press('Backspace');
    await page.keyboard.type('3');
    expect(await text(page, '[data-testid=minutes-error]')).toBe('');
    expect(await disabled(page, '[data-testid=load-synthetic]')).toBe(false);
    expect(await page.$eval('[data-testid=synthetic-minutes]', (el) => (el as HTMLInputElement).value)).toBe('3');
    expect(errors).toEqual([]);
  });

  it('reads a recording without WebGPU, and says why the model cannot run', async () => {
    const plain = await launchChromium({ webgpu: false });
    try {
      const other = await plain.browser.newPage();
      const otherErrors = collectErrors(other);
      await other.goto(`${server.url}/#recordings`);
      await other.waitForSelector('[data-testid=no-webgpu]', { timeout: 60_000 });
      await other.$eval('[data-testid=synthetic-minutes]', (el) => { (el as HTMLInputElement).value = '1'; });
      await other.click('[data-testid=load-synthetic]');
      await waitForText(other, '[data-testid=recording-duration]', '60 s (60 records of 1 s)', 60_000);
      expect(await count(other, 'svg.eeg path.channel')).toBe(19);
      expect(await other.$eval('[data-testid=run-model]', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
      expect(await text(other, '#detection')).toContain('The model runs on WebGPU in the engine worker: no adapter yet');
      expect(otherErrors).toEqual([]);
    } finally {
      await plain.close();
    }
  });
});
