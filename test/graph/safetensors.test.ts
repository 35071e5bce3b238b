// safetensors: byte layout checked by hand, round trips through real files, other dtypes, malformed files.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, tensorValues, writeSafetensors } from '../../src/graph/safetensors.ts';
import { toHalfBits } from '../../src/gpu/half.ts';
import { makeRng, freshSeed } from '../harness/kernel-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'ictal-st-'));
const enc = (s: string) => new TextEncoder().encode(s);

/** A file assembled by hand: header length, header JSON, data. */
function handmade(header: string, data: number[] = [], declaredLength?: number): Uint8Array {
  const h = enc(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors write', () => {
  it('lays out length, space-padded header and contiguous data as the format says', () => {
    const bytes = writeSafetensors(new Map([['a', { shape: [2], data: new Float32Array([1, -2]) }]]), { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({ __metadata__: { k: 'v' }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    const data = new DataView(bytes.buffer, 8 + n);
    expect([data.getFloat32(0, true), data.getFloat32(4, true)]).toEqual([1, -2]);
    expect(bytes.length).toBe(8 + n + 8);
  });

  it('round-trips random tensors of awkward shapes through a real file, bit-exact', () => {
    const seed = freshSeed();
    const rand = makeRng(seed);
    const shapes = [[1], [7], [3, 5], [2, 1, 9], [19, 16], [0, 4]];
    const m = new Map(shapes.map((s, i) => [`t.${i}`, { shape: s, data: Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (rand() - 0.5) * 1e3) }]));
    const file = join(dir, 'rt.safetensors');
    writeFileSync(file, writeSafetensors(m, { seed: String(seed) }));
    const { metadata, tensors } = readSafetensors(new Uint8Array(readFileSync(file)));
    expect(metadata.seed).toBe(String(seed));
    expect([...tensors.keys()]).toEqual([...m.keys()]);
    for (const [k, t] of m) {
      const got = tensors.get(k)!;
      expect(got.dtype).toBe('F32');
      expect(got.shape).toEqual(t.shape);
      expect(Array.from(tensorValues(got)), `seed ${seed}`).toEqual(Array.from(t.data));
    }
  });
});

describe('safetensors read: other dtypes', () => {
  it('F16, BF16, F64, I64 and I32 decode to the values they hold', () => {
    const f16 = new Uint8Array(new Uint16Array([toHalfBits(1.5), toHalfBits(-0.333251953125), toHalfBits(65504)]).buffer);
    const bf16 = new Uint8Array(new Uint16Array([0x3fc0, 0xc000]).buffer); // 1.5, -2
    const f64 = new Uint8Array(new Float64Array([Math.PI]).buffer);
    const i64 = new Uint8Array(new BigInt64Array([-5n, 2n ** 40n]).buffer);
    const i32 = new Uint8Array(new Int32Array([-7]).buffer);
    const bytes = writeSafetensors(new Map([
      ['h', { dtype: 'F16' as const, shape: [3], data: f16 }],
      ['b', { dtype: 'BF16' as const, shape: [2], data: bf16 }],
      ['d', { dtype: 'F64' as const, shape: [1], data: f64 }],
      ['l', { dtype: 'I64' as const, shape: [2], data: i64 }],
      ['i', { dtype: 'I32' as const, shape: [1, 1], data: i32 }],
    ]));
    const { tensors } = readSafetensors(bytes);
    expect(Array.from(tensorValues(tensors.get('h')!))).toEqual([1.5, -0.333251953125, 65504]);
    expect(Array.from(tensorValues(tensors.get('b')!))).toEqual([1.5, -2]);
    expect(Array.from(tensorValues(tensors.get('d')!))).toEqual([Math.PI]);
    expect(Array.from(tensorValues(tensors.get('l')!))).toEqual([-5, 2 ** 40]);
    expect(Array.from(tensorValues(tensors.get('i')!))).toEqual([-7]);
  });
});

describe('safetensors read: malformed files are refused', () => {
  const ok = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than the length field', new Uint8Array(5), /file is 5 bytes: too short/],
    ['header length past the end', handmade(ok, [0, 0, 0, 0], 4096), /header length 4096 runs past the end/],
    ['absurd header length', handmade(ok, [0, 0, 0, 0], 2 ** 40), /header length 1099511627776 is absurd/],
    ['header not JSON', handmade('{"a":', [0, 0, 0, 0]), /header is not valid UTF-8 JSON/],
    ['header not an object', handmade('[1,2,3]'), /header is not a JSON object/],
    ['unknown dtype', handmade('{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}', [0]), /tensor "a": unsupported dtype "F8"/],
    ['bad shape', handmade('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor "a": shape \[-1\] is not an array of non-negative integers/],
    ['size not matching the shape', handmade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor "a": 4 bytes but F32 shape \[2\] needs 8/],
    ['offsets past the data', handmade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', [0, 0, 0, 0]), /data_offsets \[4, 8\] run past the 4 data bytes/],
    ['overlapping tensors', handmade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', [0, 0, 0, 0]), /overlap another tensor/],
    ['a hole in the data', handmade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', [0, 0, 0, 0, 0, 0, 0, 0]), /data bytes 0..4 belong to no tensor/],
    ['trailing bytes', handmade(ok, [0, 0, 0, 0, 9]), /data bytes 4..5 belong to no tensor \(trailing bytes\)/],
    ['metadata value not a string', handmade('{"__metadata__":{"n":1}}'), /__metadata__.n is not a string/],
  ];
  it.each(cases)('%s', (_what, bytes, message) => {
    expect(() => readSafetensors(bytes)).toThrow(message);
  });
  it('the well-formed variant of those files loads', () => {
    expect(readSafetensors(handmade(ok, [0, 0, 0x80, 0x3f])).tensors.get('a')!.shape).toEqual([1]);
    expect(Array.from(tensorValues(readSafetensors(handmade(ok, [0, 0, 0x80, 0x3f])).tensors.get('a')!))).toEqual([1]);
  });
});
