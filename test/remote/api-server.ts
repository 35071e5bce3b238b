// A real run API server for Node tests: `python -m ictal_backend serve` in the backend's venv on a free
// port with a fresh home. Without the venv the caller skips loudly; under CI=true that is a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';

export function backendPython(): string | undefined {
  const python = process.env.ICTAL_PYTHON ?? join(ROOT, 'backend/.venv/bin/python');
  if (existsSync(python)) return python;
  const why = `no backend Python at ${python} (run bash scripts/setup-python.sh)`;
  if (inCI) throw new Error(`CI=true requires the backend environment: ${why}`);
  console.warn(`\n!! RUN API TESTS SKIPPED: ${why}\n`);
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

export interface ApiServer {
  url: string;
  token: string;
  home: string;
  stop(): Promise<void>;
}

/** `corsOrigins`: browser origins allowed to call (the lab's test server runs on a free port, not the default). */
export async function startApiServer(python: string, options: { corsOrigins?: string[] } = {}): Promise<ApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ictal-api-'));
  const home = join(dir, 'home');
  const log = join(dir, 'server.log');
  const port = await freePort();
  const token = `t-${Math.random().toString(36).slice(2)}`;
  // The token goes in the environment: serve refuses --token (a command line is visible in ps).
  const env = { ...process.env, ICTAL_API_TOKEN: token, PYTHONPATH: [process.env.PYTHONPATH, join(ROOT, 'backend')].filter(Boolean).join(delimiter) };
  const out = openSync(log, 'a');
  const child: ChildProcess = spawn(python, ['-m', 'ictal_backend', 'serve', '--host', '127.0.0.1', '--port', String(port),
    '--home', home, '--heartbeat-s', '0.5', ...(options.corsOrigins ?? []).flatMap((o) => ['--cors-origin', o])],
    { cwd: ROOT, env, stdio: ['ignore', out, out] });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/api/health`)).ok) return { url, token, home, stop };
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
  const tail = readFileSync(log, 'utf8').slice(-3000);
  await stop();
  throw new Error(`the run API did not come up on ${url}:\n${tail}`);
}
