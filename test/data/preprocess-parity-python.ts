// Runs the Python side of a TypeScript/Python parity test for real: writes the inputs as .npy and a request
// JSON into a fresh temp dir, runs test/data/preprocess_parity_driver.py with the backend's venv, reads the
// answer back. Without the venv the tests skip loudly; under CI=true that is a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeNpy, dtypeOf, encodeNpy, type NpyArray, type NpyData } from '../../src/data/npy.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DRIVER = join(ROOT, 'test/data/preprocess_parity_driver.py');
const inCI = Boolean(process.env.CI) && process.env.CI !== 'false';

/** backend/.venv's python (ICTAL_PARITY_PYTHON overrides it), or undefined with a loud warning; throws under CI. */
export function parityPython(): string | undefined {
  const python = process.env.ICTAL_PARITY_PYTHON ?? join(ROOT, 'backend/.venv/bin/python');
  if (existsSync(python)) return python;
  const why = `no Python environment at ${python} (run scripts/setup-python.sh)`;
  if (inCI) throw new Error(`CI=true requires the TypeScript/Python parity tests to run: ${why}`);
  console.warn(`\n${'!'.repeat(78)}\n!! TS/PYTHON PARITY TESTS SKIPPED: ${why}\n${'!'.repeat(78)}\n`);
  return undefined;
}

export class ParityDir {
  readonly path = mkdtempSync(join(tmpdir(), 'ictal-parity-'));

  writeArray(name: string, data: NpyData, shape: number[]): string {
    writeFileSync(join(this.path, name), encodeNpy({ dtype: dtypeOf(data), shape, data }));
    return name;
  }

  readArray(name: string): NpyArray {
    return decodeNpy(new Uint8Array(readFileSync(join(this.path, name))), name);
  }

  /** Runs the driver on `request`; returns its JSON answer. */
  run(python: string, request: unknown): unknown {
    writeFileSync(join(this.path, 'request.json'), JSON.stringify(request));
    const r = spawnSync(python, [DRIVER, this.path], { encoding: 'utf8', timeout: 300_000 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`python parity driver failed (exit ${r.status}):\n${r.stderr}`);
    return JSON.parse(readFileSync(join(this.path, 'answer.json'), 'utf8'));
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
