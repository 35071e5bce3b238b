import { describe, expect, it } from 'vitest';
import { kernelSuite } from '../harness/kernel-suite.ts';
import { testGpu } from '../harness/node-gpu-session.ts';
import { relativeError, TOLERANCE } from '../harness/kernel-harness.ts';
import { fromHalfBits, toHalfBits } from '../../src/gpu/half.ts';
import { keepRowsVectorised, reduce, reduceReference, sumKeep, sumKeepReference } from '../../src/kernels/reduce.ts';
import { reduceCases } from './cases/reduce.cases.ts';

await kernelSuite('reduce', reduceCases);

const gpu = await testGpu();

// Kernels that read 16-byte chunks of padded f16-storage rows read the pad half too; it must not count. The
// kernel cases upload zero pads (as every kernel writes them), so here the pads hold 65504, the largest half (a
// NaN would do for sums, but max may drop a NaN operand).
describe.skipIf(!gpu.session)('f16-storage row pads holding 65504', () => {
  const shape = [3, 4, 47];
  const rows = 12, len = 47, stride = 48;
  it.each([
    ['sumKeep keep 1 (rows in chunks)', (s: Parameters<typeof sumKeep>[0], x: never, y: never) => sumKeep(s, x, y, 1), [4], (v: Float64Array) => sumKeepReference(v, shape, 1)],
    ['reduce sum axis 0 (columns in pairs)', (s: Parameters<typeof sumKeep>[0], x: never, y: never) => reduce(s, 'sum', x, y, 0), [4, 47], (v: Float64Array) => reduceReference('sum', v, shape, 0)],
    ['reduce max axis 2 (rows in chunks)', (s: Parameters<typeof sumKeep>[0], x: never, y: never) => reduce(s, 'max', x, y, 2), [3, 4], (v: Float64Array) => reduceReference('max', v, shape, 2)],
  ] as const)('%s ignores them', async (_, run, outShape, ref) => {
    expect(keepRowsVectorised({ shape, precision: 'f16-storage' }, 1)).toBe(true);
    const s = gpu.session!;
    const bits = new Uint16Array(rows * stride).fill(0x7bff); // 65504 everywhere, pads included
    const values = new Float64Array(rows * len);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < len; c++) {
        const h = toHalfBits(Math.sin(r * 31 + c) * 2);
        bits[r * stride + c] = h;
        values[r * len + c] = fromHalfBits(h);
      }
    }
    const x = await s.arena.tensor(shape, 'f16-storage', 'x');
    const y = await s.arena.tensor(outShape, 'f16-storage', 'y');
    try {
      s.device.queue.writeBuffer(x.buffer, 0, bits);
      await run(s, x as never, y as never);
      expect(relativeError(await s.read(y), ref(values))).toBeLessThanOrEqual(TOLERANCE['f16-storage']);
    } finally {
      s.arena.release(x);
      s.arena.release(y);
    }
  });
});
