// Without a usable Vulkan driver, Node gets a plain message saying what is missing (a real process each time).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

function gpuInfo(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(root, 'bin/ictal.js'), 'gpu-info'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr.split('\n').filter((l) => l.startsWith('ictal')).join('\n') };
}

describe('no WebGPU in Node', () => {
  it('names a VK_DRIVER_FILES that does not exist and says how to get a driver', () => {
    const r = gpuInfo({ VK_DRIVER_FILES: '/nonexistent/icd.json' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/VK_DRIVER_FILES names \/nonexistent\/icd\.json, which does not exist/);
    expect(r.stderr).toMatch(/lavapipe/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('says Dawn found no adapter when the driver manifest points at no library', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ictal-icd-'));
    const manifest = join(dir, 'broken_icd.json');
    writeFileSync(manifest, JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: join(dir, 'libmissing.so'), api_version: '1.3.0' } }));
    const r = gpuInfo({ VK_DRIVER_FILES: manifest });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Dawn found no usable adapter on the Vulkan driver .*broken_icd\.json/);
    expect(r.stderr).toMatch(/mesa-vulkan-drivers/);
  });
});
