// The TS client and `ictal submit` against a real uvicorn run API (backend venv): a v3-tiny run built from
// the preset, submitted, followed to `succeeded`, its checkpoint read back; refusals surface as errors.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunApiError, RunClient } from '../../src/remote/client.ts';
import { preset } from '../../src/graph/config.ts';
import { buildV3 } from '../../src/graph/v3.ts';
import { readSafetensors } from '../../src/graph/safetensors.ts';
import type { RunEvent } from '../../src/remote/types.ts';
import { ROOT, backendPython, freePort, startApiServer, type ApiServer } from './api-server.ts';

const python = backendPython();
// A training run on a shared 2-core CPU: seconds per step, minutes under load.
const RUN_TIMEOUT_MS = 300_000;
// One optimizer step of v3-tiny at batch 1 on the CPU; one synthetic training window, so the step is an epoch
// and ends with a checkpoint.
const TINY_TRAIN = { steps: 1, batch_size: 1, precision: 'f32' as const, seed: 5, log_every: 1 };
const TINY_DATA = { kind: 'synthetic' as const, seed: 2, windows: 1, val_windows: 1 };

function runCli(args: string[], token?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    // Without ICTAL_API_TOKEN from the caller's environment: the token is whatever the test passes.
    const env = { ...process.env, ICTAL_API_TOKEN: token };
    const child = spawn(process.execPath, [join(ROOT, 'bin/ictal.js'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

describe.skipIf(!python)('run API client and ictal submit (real uvicorn)', () => {
  let server: ApiServer;
  let client: RunClient;
  const dir = mkdtempSync(join(tmpdir(), 'ictal-submit-'));

  beforeAll(async () => {
    server = await startApiServer(python!);
    client = new RunClient({ server: server.url, token: server.token });
  });
  afterAll(async () => server?.stop());

  it('answers health, refuses a wrong token and a bad graph with the reason', async () => {
    expect((await client.health()).status).toBe('ok');
    const wrong = new RunClient({ server: server.url, token: 'nope' });
    await expect(wrong.list()).rejects.toMatchObject({ name: 'RunApiError', status: 401 });
    const graph = buildV3('v3-tiny', preset('v3-tiny'));
    graph.nodes[2]!.op = 'conv2d';
    const refused = await client.submit({ graph, train: TINY_TRAIN, data: { kind: 'synthetic', seed: 1 } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RunApiError);
    expect((refused as RunApiError).status).toBe(422);
    expect((refused as RunApiError).detail).toContain('conv2d');
    expect(() => new RunClient({ server: 'localhost:8000', token: 't' })).toThrow(/not a URL|only http/);
    const nobody = new RunClient({ server: `http://127.0.0.1:${await freePort()}`, token: 't' });
    await expect(nobody.health()).rejects.toThrow(/cannot reach the run API at .*ECONNREFUSED/);
  });

  it('ictal submit follows a v3-tiny run to succeeded, exit 0; its checkpoint loads', async () => {
    const config = join(dir, 'run.json');
    writeFileSync(config, JSON.stringify({ train: TINY_TRAIN, data: TINY_DATA }));
    // The token from the environment, as the README says: no warning.
    const r = await runCli(['submit', '--server', server.url, '--preset', 'v3-tiny', '--config', config], server.token);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    const id = /^run (r[0-9a-f]{12}) queued/m.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    expect(r.stdout).toMatch(new RegExp(`^run ${id} succeeded$`, 'm'));
    expect(r.stdout).toMatch(/^\[train\] .*step 1 .*loss /m);
    expect(r.stdout).toMatch(/^\[val\] .*loss /m);
    expect(r.stdout).toMatch(/^checkpoint /m);

    const info = await client.get(id!);
    expect(info.status).toBe('succeeded');
    const weights = readSafetensors(await client.artifact(id!, info.artifacts.at(-1)!));
    const graph = buildV3('v3-tiny', preset('v3-tiny'));
    for (const [name, p] of Object.entries(graph.params)) expect(weights.tensors.get(name)?.shape, name).toEqual(p.shape);

    // The client's own stream of the finished run: replayed from the start, closed by `end`.
    const kinds: RunEvent['kind'][] = [];
    for await (const e of client.follow(id!)) kinds.push(e.kind);
    expect(kinds).toContain('metrics');
    expect(kinds.at(-1)).toBe('end');
  }, RUN_TIMEOUT_MS);

  it('ictal submit exits non-zero when the run does not succeed', async () => {
    // A data file the trainer cannot read: accepted (it exists, inside the server's data folder), then the
    // run fails when its worker opens it, and submit says so.
    mkdirSync(join(server.home, 'data'), { recursive: true });
    const broken = join(server.home, 'data', 'broken.npz');
    writeFileSync(broken, 'this is not a zip archive');
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ train: TINY_TRAIN, data: { kind: 'npz', path: broken } }));
    const r = await runCli(['submit', '--server', server.url, '--token', server.token, '--preset', 'v3-tiny', '--config', config]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout, r.stderr).toMatch(/^run r[0-9a-f]{12} failed: worker exited with status 1: .+/m);
    expect(r.stderr).toMatch(/warning: --token is visible in the process list/);
    const noToken = await runCli(['submit', '--server', server.url, '--preset', 'v3-tiny', '--config', config]);
    expect(noToken.code, noToken.stdout + noToken.stderr).toBe(1);
    expect(noToken.stderr, noToken.stdout).toMatch(/--token is required/);
  }, RUN_TIMEOUT_MS);
});
