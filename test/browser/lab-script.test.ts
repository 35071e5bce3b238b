// `npm run lab` as a user runs it: scripts/lab.sh as a real process on a free port, fetched over HTTP and opened
// in Chromium, where the page shows the adapter through the engine worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, browserSkipReason, collectErrors, launchChromium, type Chromium } from './browser-harness.ts';

const skip = browserSkipReason();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts scripts/lab.sh in its own process group; resolves with the URL it prints. */
function startLab(args: string[]): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn('bash', ['scripts/lab.sh', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(output.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`scripts/lab.sh exited (${code}) before printing its URL:\n${output}`)));
  });
  return { child, url, output: () => output };
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGTERM');
}

describe.skipIf(skip)('npm run lab', () => {
  let chromium: Chromium;
  let lab: ReturnType<typeof startLab> | undefined;
  beforeAll(async () => {
    chromium = await launchChromium({ webgpu: true });
  });
  afterAll(async () => {
    if (lab) stop(lab.child);
    await chromium?.close();
  });

  it('serves the lab on the port asked for, and the page shows the adapter', async () => {
    const port = await freePort();
    lab = startLab(['--port', String(port)]);
    const url = await lab.url;
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<title>Ictal lab</title>');

    const page = await chromium.browser.newPage();
    const errors = collectErrors(page);
    await page.goto(url);
    await page.waitForSelector('[data-testid=adapter-name]', { timeout: 60_000 });
    expect(await page.$eval('[data-testid=adapter-host]', (e) => e.textContent)).toBe('Web Worker');
    expect(errors).toEqual([]);
  });

  it('refuses a port that is not a number, saying so', async () => {
    const bad = startLab(['--port', 'eighty']);
    const code = await new Promise<number | null>((resolve) => bad.child.on('exit', resolve));
    expect(code).toBe(2);
    expect(bad.output()).toContain("lab: --port wants a number, got 'eighty'");
    await bad.url.catch(() => {});
  });
});
