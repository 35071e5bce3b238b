// `ictal synth` and `ictal edf-info` as real processes on real files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesSource } from '../../src/data/byte-source.ts';
import { EdfReader } from '../../src/data/edf.ts';
import { syntheticName } from '../../src/data/synthetic-files.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ictal-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ictal(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/ictal.js'), ...args], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}

describe('ictal synth / edf-info', () => {
  const seed = 4242;
  const name = syntheticName(seed);
  const edfPath = join(dir, 'a', `${name}.edf`);

  it('synth writes the same EDF + csv_bi for the same seed', () => {
    const a = ictal('synth', '--out', join(dir, 'a'), '--minutes', '1', '--seed', String(seed), '--edf-plus', '--json');
    expect(a.status, a.stderr).toBe(0);
    const written = JSON.parse(a.stdout);
    expect(written[0].name).toBe(name);
    const b = ictal('synth', '--out', join(dir, 'b'), '--minutes', '1', '--seed', String(seed), '--edf-plus');
    expect(b.status, b.stderr).toBe(0);
    expect(readFileSync(edfPath).equals(readFileSync(join(dir, 'b', `${name}.edf`)))).toBe(true);
    expect(readFileSync(join(dir, 'a', `${name}.csv_bi`), 'utf8')).toContain('channel,start_time,stop_time,label,confidence');
  });

  it('edf-info --json reports signals, annotations, the montage and the first samples', async () => {
    const r = ictal('edf-info', edfPath, '--json', '--samples', '3');
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.header.variant).toBe('EDF+C');
    expect(info.montage.ok).toBe(true);
    expect(info.montage.channels.T3).toBe('EEG T3-REF');
    expect(info.signals).toHaveLength(25);
    expect(info.annotations.length).toBeGreaterThan(0);
    const edf = await EdfReader.open(bytesSource(readFileSync(edfPath)));
    for (const s of info.signals.filter((x: { annotation: boolean }) => !x.annotation)) {
      expect(s.firstSamples).toEqual(Array.from(await edf.readPhysical(s.index, { count: 3 })));
      expect(s.sampleRate).toBe(256);
      expect(s.durationSeconds).toBe(60);
    }
    const text = ictal('edf-info', edfPath);
    expect(text.stdout).toMatch(/montage +all 19 channels found \(reference REF\)/);
  });

  it('edf-info on a broken file exits 1 naming the problem', () => {
    const broken = join(dir, 'broken.edf');
    writeFileSync(broken, readFileSync(edfPath).subarray(0, 1000));
    const r = ictal('edf-info', broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/EdfError: file is 1000 bytes: shorter than its own 6656-byte header \(25 signals\)/);
    const bad = ictal('synth', '--out', dir, '--minutes', 'ten', '--seed', '1');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--minutes must be a positive number of minutes, got "ten"/);
  });
});
