import { describe, expect, it } from 'vitest';
import type { GpuTensor } from '../../src/gpu/arena.ts';
import type { ComputeSession } from '../../src/gpu/session.ts';
import { expectBindable, expectDim, expectRank, expectShape, packParams, viewAs } from '../../src/kernels/layout.ts';

const fake = (shape: number[], label = 't', bytes = 64): GpuTensor => ({ buffer: {} as GPUBuffer, shape, precision: 'f16-storage', bytes, label });

describe('kernel layout helpers', () => {
  it('name the tensor, dimension and expectation in shape errors', () => {
    expect(() => expectRank('op', fake([2, 3], 'x'), ['batch', 'channels', 'length'])).toThrow('op: x must be [batch, channels, length], got shape [2, 3] (rank 2)');
    expect(() => expectDim('op', fake([2, 3, 4], 'w'), 1, 'in channels', 5, 'x has 5 channels')).toThrow('op: w dimension 1 (in channels) is 3, expected 5 (x has 5 channels); shape [2, 3, 4]');
    expect(() => expectShape('op', fake([2, 3], 'y'), [3, 2], 'the product')).toThrow('op: y has shape [2, 3], expected [3, 2] (the product)');
  });
  it('views a buffer with another shape only where the padded layout is the same', () => {
    expect(viewAs(fake([2, 3, 5]), [6, 5]).shape).toEqual([6, 5]);
    expect(() => viewAs(fake([2, 3, 5]), [2, 15])).toThrow('viewAs: t [2, 3, 5] cannot be viewed as [2, 15]');
  });
  it('packs u32 and f32 fields and refuses values that are not u32', () => {
    const p = packParams([7, { f32: 0.5 }, 0xffffffff]);
    expect(p[0]).toBe(7);
    expect(new Float32Array(p.buffer)[1]).toBe(0.5);
    expect(p[2]).toBe(0xffffffff);
    expect(() => packParams([1, -1])).toThrow('packParams: field 1 = -1 is not a u32');
    expect(() => packParams([2.5])).toThrow('packParams: field 0 = 2.5 is not a u32');
  });
  it('names a tensor too large for one storage binding', () => {
    const s = { device: { limits: { maxStorageBufferBindingSize: 1024 } } } as unknown as ComputeSession;
    expect(() => expectBindable('conv1d', s, fake([4], 'small', 16), fake([512, 600], 'x', 614400))).toThrow(
      "conv1d: x [512, 600] f16-storage is 614400 bytes, over this adapter's maxStorageBufferBindingSize (1024): split it into several dispatches",
    );
  });
});
