// The browser suite's real parts: a Vite dev server started in-process on a free port, and Debian's Chromium
// driven by puppeteer (no browser download). Without /usr/bin/chromium the suite is skipped with a loud reason
// locally and fails under CI=true.
import { existsSync, appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { initWeights } from '../../src/graph/init.ts';
import { serializeIr } from '../../src/graph/serialize.ts';
import { encodeWeights } from '../../src/graph/weights.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';

/** Flags that give headless Chromium a WebGPU adapter here (SwiftShader), without reaching for the network. */
const QUIET_FLAGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

/** Why the browser suite cannot run here, or undefined. Under CI=true a missing browser is an error. */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `NO BROWSER: ${CHROMIUM} is missing (apt-get install chromium, or sudo bash scripts/setup-system.sh)`;
  if (inCI) throw new Error(`CI=true requires the browser suite. ${why}`);
  console.warn(`\n${'!'.repeat(78)}\n!! BROWSER TESTS SKIPPED. ${why}\n${'!'.repeat(78)}\n`);
  return why;
}

export interface LabServer {
  url: string;
  close(): Promise<void>;
}

/** The project's Vite dev server (vite.config.ts), on a free port of 127.0.0.1. */
export async function startLabServer(): Promise<LabServer> {
  const server = await createServer({
    root: ROOT,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false },
    // Pre-bundled up front: a dependency found late makes Vite reload the page in the middle of a test.
    optimizeDeps: { include: ['comlink', 'd3', 'zustand/vanilla'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('the Vite dev server did not report its port');
  return { url: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

export interface Chromium {
  browser: Browser;
  version: string;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile; `webgpu: false` starts it without the WebGPU flags. */
export async function launchChromium(options: { webgpu: boolean }): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'ictal-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // Long waits (a whole kernel suite in SwiftShader) are bounded by each test's own timeout, not by CDP's.
    protocolTimeout: 600_000,
    args: ['--headless=new', '--no-sandbox', ...(options.webgpu ? WEBGPU_FLAGS : []), ...QUIET_FLAGS, `--user-data-dir=${profile}`],
  });
  return {
    browser,
    version: await browser.version(),
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface TinyModel {
  dir: string;
  /** tiny.json and tiny.safetensors in `dir`. */
  graph: string;
  weights: string;
  remove(): void;
}

/**
 * v3-tiny cut to 1 s windows (samples=256) with seeded weights, as files in a fresh folder: SwiftShader takes ~25
 * CPU-s per full v3-tiny window, so the tabs' tests profile, probe and train this one in seconds.
 */
export function writeTinyModel(prefix: string, seed: number): TinyModel {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const ir = buildV3('v3-tiny', applyOverrides(preset('v3-tiny'), ['samples=256']));
  const graph = join(dir, 'tiny.json'), weights = join(dir, 'tiny.safetensors');
  writeFileSync(graph, serializeIr(ir));
  writeFileSync(weights, encodeWeights(ir, initWeights(ir, seed), seed));
  return { dir, graph, weights, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface LabPage {
  chromium: Chromium;
  page: Page;
  /** The page's console errors and uncaught exceptions so far (collectErrors). */
  errors: string[];
}

/** The lab served at `url`, opened on tab `hash` in a fresh Chromium with WebGPU, once the adapter shows. */
export async function openLab(url: string, hash: string): Promise<LabPage> {
  const chromium = await launchChromium({ webgpu: true });
  try {
    const page = await chromium.browser.newPage();
    const errors = collectErrors(page);
    await page.goto(`${url}/#${hash}`);
    await page.waitForSelector('[data-testid=adapter-name]', { timeout: 60_000 });
    return { chromium, page, errors };
  } catch (e) {
    await chromium.close(); // the caller's afterAll never saw it
    throw e;
  }
}

/** Every console error and uncaught exception of the page and of its workers, as text, from now on. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  page.on('workercreated', (w) => {
    w.on('console', (m) => {
      if (m.type() === 'error') errors.push(`worker console: ${m.text()}`);
    });
  });
  return errors;
}

export interface BrowserRun {
  suite: string;
  browser: string;
  cases: number;
  precisions: string[];
  adapter: string;
}

/** One JSON line per suite run in $ICTAL_BROWSER_LOG (scripts/test-summary.mjs prints them). */
export function logBrowserRun(run: BrowserRun): void {
  const file = process.env.ICTAL_BROWSER_LOG;
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, JSON.stringify(run) + '\n');
}

/** The tab's screenshot for the README (docs/screenshots/NAME.png), the whole page at a fixed width. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  const dir = join(ROOT, 'docs/screenshots');
  mkdirSync(dir, { recursive: true });
  // The start-here path shows on a fresh profile's first visit; the tab is what the picture is for.
  await page.evaluate(() => (document.querySelector('[data-testid=close-start-here]') as HTMLButtonElement | null)?.click());
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky tab bar stays at the top of the picture
  await page.setViewport({ width: 1200, height: 900 });
  await page.screenshot({ path: join(dir, `${name}.png`) as `${string}.png`, fullPage: true });
}

/** Shows a tab of the lab by its button, as a user would, and waits until its panel is visible. */
export async function openTab(page: Page, name: string): Promise<void> {
  const buttons = await page.$$('[role=tab]');
  for (const b of buttons) {
    if ((await b.evaluate((el) => el.textContent)) === name) {
      await b.click();
      const panel = await b.evaluate((el) => el.getAttribute('aria-controls'));
      await page.waitForFunction((id: string) => !document.getElementById(id)?.hidden, { timeout: 5_000 }, panel!);
      return;
    }
  }
  throw new Error(`the lab has no tab named "${name}"`);
}

/**
 * Clicks the element `selector` finds, found and clicked in one step inside the page. For buttons in a panel that
 * re-renders on every progress event (a running task's Cancel): page.click finds the element, then scrolls and
 * clicks over several round trips, by which time the re-render may have detached it ("Node is detached").
 */
export async function clickNow(page: Page, selector: string): Promise<void> {
  await page.$eval(selector, (el) => (el as HTMLElement).click());
}

/** Replaces an input's value as typing would (select all, type), firing its input events. */
export async function typeInto(page: Page, selector: string, value: string): Promise<void> {
  await page.click(selector, { count: 3 });
  await page.keyboard.press('Backspace');
  if (value) await page.keyboard.type(value);
}

/** Waits until `selector` exists and its text satisfies `pattern` (a stale element from an earlier step does not count). */
export async function waitForText(page: Page, selector: string, pattern: RegExp | string, timeout: number): Promise<string> {
  const source = typeof pattern === 'string' ? pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : pattern.source;
  await page.waitForFunction((sel: string, re: string) => new RegExp(re).test(document.querySelector(sel)?.textContent ?? ''), { timeout, polling: 100 }, selector, source);
  return page.$eval(selector, (el) => el.textContent ?? '');
}

/** Picks files with the file input of this test id. */
export async function pickFiles(page: Page, testid: string, ...paths: string[]): Promise<void> {
  const input = await page.$(`[data-testid=${testid}]`);
  if (!input) throw new Error(`the page has no ${testid} file input`);
  await (input as ElementHandle<HTMLInputElement>).uploadFile(...paths);
}
