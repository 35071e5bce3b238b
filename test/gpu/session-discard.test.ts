// A kernel call that throws halfway must not spoil the next flush (its recorded commands name released buffers).
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { runKernelCase, type KernelCase } from '../harness/kernel-harness.ts';
import { unary, unaryReference } from '../../src/kernels/elementwise.ts';

const gpu = await testGpu();

describe.skipIf(!gpu.session)('ComputeSession.discard', () => {
  it('a case that throws after recording a dispatch leaves the next case working', async () => {
    const throwing: KernelCase = {
      name: 'records, then throws',
      inputs: [{ name: 'x', shape: [64] }],
      outputs: [{ name: 'y', shape: [64] }],
      run: async (s, t) => {
        await unary(s, 'relu', t.x!, t.y!);
        throw new Error('deliberate failure after recording');
      },
      reference: (i) => ({ y: unaryReference('relu', i.x!) }),
    };
    await expect(runKernelCase(gpu.session!, throwing, 'f32')).rejects.toThrow('deliberate failure');
    const ok: KernelCase = { ...throwing, name: 'relu', run: (s, t) => unary(s, 'relu', t.x!, t.y!) };
    const r = await runKernelCase(gpu.session!, ok, 'f32');
    expect(r.pass).toBe(true);
  });
});
