import { describe, expect, it } from 'vitest';
import { preprocessShader, ShaderSyntaxError } from '../../src/gpu/shader-preprocessor.ts';
import { PRECISIONS, rowStride, type Precision } from '../../src/gpu/precision.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { readBytes } from './read-buffer.ts';
import { makeRng, freshSeed } from '../harness/kernel-harness.ts';
import { roundToHalf } from '../../src/gpu/half.ts';
import probe from './fixtures/probe_tensors.wgsl?raw';

const gpu = await testGpu();
const lines = (src: string, p: Precision = 'f32', defines = {}) =>
  preprocessShader(src, p, defines, 'probe.wgsl').split('\n').filter((l) => l.trim() && !l.includes('linear_wg') && !l.startsWith('alias') && !l.startsWith('const ACT_MAX') && !l.startsWith('enable'));

describe('shader preprocessor: conditionals', () => {
  const src = ['a', '//#if X', 'x', '//#if !Y', 'x-not-y', '//#else', 'x-and-y', '//#endif', '//#else', 'not-x', '//#endif', 'b'].join('\n');
  it('keeps the branch each define selects, nested', () => {
    expect(lines(src, 'f32', { X: true })).toEqual(['a', 'x', 'x-not-y', 'b']);
    expect(lines(src, 'f32', { X: true, Y: true })).toEqual(['a', 'x', 'x-and-y', 'b']);
    expect(lines(src, 'f32', {})).toEqual(['a', 'not-x', 'b']);
  });
  it('defines the precision mode names', () => {
    const mode = ['//#if F32', 'f32', '//#endif', '//#if F16_STORAGE', 'f16-storage', '//#endif', '//#if F16', 'f16', '//#endif'].join('\n');
    for (const p of PRECISIONS) expect(lines(mode, p)).toEqual([p]);
  });
  it('enables f16 and makes act f16 only in the native f16 variant', () => {
    expect(preprocessShader('', 'f16')).toMatch(/^enable f16;\nalias act = f16;/);
    for (const p of ['f32', 'f16-storage'] as const) {
      const out = preprocessShader('', p);
      expect(out).not.toContain('enable f16');
      expect(out).toContain('alias act = f32;');
    }
  });
  it('moves global directives of the kept branches before every declaration, each once', () => {
    const src = ['const a = 1;', 'enable f16;', '//#if X', 'enable subgroups;', 'diagnostic(off, derivative_uniformity);', '//#endif', 'enable subgroups;', 'fn f() {}'].join('\n');
    const kept = preprocessShader(src, 'f16', { X: true }).split('\n');
    expect(kept.slice(0, 3)).toEqual(['enable subgroups;', 'diagnostic(off, derivative_uniformity);', 'enable f16;']);
    expect(kept.filter((l) => l.startsWith('enable')).length).toBe(2); // the prelude's own enable f16 is not repeated
    expect(kept.indexOf('const a = 1;')).toBeGreaterThan(kept.indexOf('alias act = f16;'));
    const dropped = preprocessShader(src, 'f32', {}).split('\n');
    expect(dropped.slice(0, 2)).toEqual(['enable f16;', 'enable subgroups;']);
    expect(dropped).not.toContain('diagnostic(off, derivative_uniformity);');
  });
  it('names the file and line of every malformed directive', () => {
    const bad: [string, RegExp][] = [
      ['ok\n//#frobnicate', /probe\.wgsl:2: unknown directive \/\/#frobnicate/],
      ['//#else', /probe\.wgsl:1: \/\/#else without a matching \/\/#if/],
      ['//#if A\n//#else\n//#else\n//#endif', /probe\.wgsl:3: \/\/#else without/],
      ['x\n//#endif', /probe\.wgsl:2: \/\/#endif without a matching \/\/#if/],
      ['x\n//#if A\ny', /probe\.wgsl:2: \/\/#if without \/\/#endif/],
      ['//#if A B', /probe\.wgsl:1: \/\/#if takes one define name, got "A B"/],
      ['//#tensor 1 x write', /probe\.wgsl:1: \/\/#tensor wants "BINDING NAME read\|read_write \[f32\|u32\|i32\]", got "1 x write"/],
    ];
    for (const [src, msg] of bad) {
      expect(() => preprocessShader(src, 'f32', {}, 'probe.wgsl')).toThrow(ShaderSyntaxError);
      expect(() => preprocessShader(src, 'f32', {}, 'probe.wgsl')).toThrow(msg);
    }
  });
});

describe('shader preprocessor: tensor accessors', () => {
  it('declares packed words in f16-storage, halves in f16, floats in f32, fixed types as given', () => {
    const src = '//#tensor 1 x read\n//#tensor 2 y read_write\n//#tensor 3 s read_write f32';
    const storage = preprocessShader(src, 'f16-storage');
    expect(storage).toContain('var<storage, read> x: array<u32>;');
    expect(storage).toContain('unpack2x16float(x[i >> 1u])[i & 1u]');
    expect(storage).toContain('pack2x16float(vec2<f32>(v0, select(0.0, v1, second)))');
    expect(preprocessShader(src, 'f16')).toContain('var<storage, read_write> y: array<f16>;');
    expect(preprocessShader(src, 'f32')).toContain('var<storage, read_write> y: array<f32>;');
    for (const p of PRECISIONS) {
      const out = preprocessShader(src, p);
      expect(out).toContain('var<storage, read_write> s: array<f32>;');
      expect(out).toContain('fn s_st(i: u32, v: f32)');
      expect(out).not.toContain('fn x_st2'); // read-only tensors get no store
    }
  });
  it('skips tensor declarations inside a dropped branch', () => {
    expect(preprocessShader('//#if A\n//#tensor 1 x read\n//#endif', 'f32')).not.toContain('x_ld');
  });

  describe.each(PRECISIONS)('on the GPU (%s)', (precision) => {
    it.skipIf(!gpu.precisions.includes(precision))('compiles, and pairs of odd-length rows load and store whole words', async () => {
      const s = gpu.session!;
      const rows = 5, cols = 7;
      const rng = makeRng(freshSeed());
      const xs = Array.from({ length: rows * cols }, () => (precision === 'f32' ? Math.fround(rng() * 4 - 2) : roundToHalf(rng() * 4 - 2)));
      const x = await s.arena.upload(xs, [rows, cols], precision, 'x');
      const y = await s.arena.tensor([rows, cols], precision, 'y');
      const count = await s.arena.tensor([rows], 'f32', 'count');
      s.arena.fill(y);
      try {
        await s.dispatch({
          shader: { name: 'probe_tensors.wgsl', source: probe }, entry: 'double_rows', precision,
          params: new Uint32Array([rows, cols, rowStride(cols, precision)]), tensors: [x, y, count], workgroups: rows, label: 'probe',
        });
        await s.flush();
        expect([...await s.read(y)]).toEqual(xs.map((v) => 2 * v));
        expect([...await s.read(count)]).toEqual(new Array(rows).fill(Math.ceil(cols / 2)));
        if (precision === 'f16-storage') {
          // The pad half after each odd row is written (as 0), not left poisoned: the word belongs to the row.
          const raw = new Uint16Array(await readBytes(s.device, y.buffer, y.bytes));
          for (let r = 0; r < rows; r++) expect(raw[r * rowStride(cols, precision) + cols]).toBe(0);
        }
      } finally {
        for (const t of [x, y, count]) s.arena.release(t);
      }
    });
  });
});
