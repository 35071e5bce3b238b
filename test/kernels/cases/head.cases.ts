import type { KernelCase } from '../../harness/kernel-harness.ts';
import type { ComputeSession } from '../../../src/gpu/session.ts';
import type { GpuTensor } from '../../../src/gpu/arena.ts';
import { encodeTensor } from '../../../src/gpu/tensor-codec.ts';
import {
  clamp, clampBackward, clampBackwardReference, clampReference, sanitize, sanitizeReference, upsampleBackwardReference,
  upsampleNearest, upsampleNearestBackward, upsampleReference,
} from '../../../src/kernels/head.ts';

/** [rows..., L] and factor: one element, odd lengths, the v3 head's x16 at 19 channels, another factor. */
export const UPSAMPLE_SHAPES: [number[], number][] = [[[1], 16], [[2, 3, 7], 16], [[19, 60], 16], [[5, 9], 3], [[4, 1], 1]];
export const CLAMP_SHAPES: number[][] = [[1], [7], [3, 1000], [2, 19, 33]];

/** The raw EEG may hold NaN and infinities: every 5th value becomes NaN, others +-inf, on both sides. */
function withSpecials(v: ArrayLike<number>): Float64Array {
  return Float64Array.from(v, (x, i) => (i % 5 === 1 ? NaN : i % 7 === 3 ? Infinity : i % 7 === 4 ? -Infinity : x));
}

async function injectSpecials(s: ComputeSession, t: GpuTensor): Promise<void> {
  await s.flush();
  const values = withSpecials(await s.read(t));
  s.device.queue.writeBuffer(t.buffer, 0, encodeTensor(values, t.shape, t.precision));
}

export function headCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [shape, factor] of UPSAMPLE_SHAPES) {
    const cols = shape[shape.length - 1]!;
    const big = [...shape.slice(0, -1), cols * factor];
    cases.push({
      name: `upsample x${factor} [${shape}]`,
      inputs: [{ name: 'x', shape }],
      outputs: [{ name: 'y', shape: big }],
      run: (s, t) => upsampleNearest(s, t.x!, t.y!, factor),
      reference: (i) => ({ y: upsampleReference(i.x!, cols, factor) }),
    });
    cases.push({
      name: `upsample.bwd x${factor} [${shape}]`,
      inputs: [{ name: 'dy', shape: big }],
      outputs: [{ name: 'dx', shape }],
      run: (s, t) => upsampleNearestBackward(s, t.dy!, t.dx!, factor),
      reference: (i) => ({ dx: upsampleBackwardReference(i.dy!, cols, factor) }),
    });
  }
  for (const shape of CLAMP_SHAPES) {
    cases.push({
      name: `clamp [-50, 50] [${shape}]`,
      inputs: [{ name: 'x', shape, range: [-60, 60] }],
      outputs: [{ name: 'y', shape }],
      run: (s, t) => clamp(s, t.x!, t.y!, -50, 50),
      reference: (i) => ({ y: clampReference(i.x!, -50, 50) }),
    });
    cases.push({
      name: `clamp.bwd [-50, 50] [${shape}]`,
      inputs: [{ name: 'x', shape, range: [-60, 60] }, { name: 'dy', shape }],
      outputs: [{ name: 'dx', shape }],
      run: (s, t) => clampBackward(s, t.x!, t.dy!, t.dx!, -50, 50),
      reference: (i) => ({ dx: clampBackwardReference(i.x!, i.dy!, -50, 50) }),
    });
    cases.push({
      name: `sanitize with NaN and infinities [${shape}]`,
      inputs: [{ name: 'x', shape, range: [-15, 15] }],
      outputs: [{ name: 'y', shape }],
      run: async (s, t) => {
        await injectSpecials(s, t.x!);
        await sanitize(s, t.x!, t.y!);
      },
      reference: (i) => ({ y: sanitizeReference(withSpecials(i.x!)) }),
    });
  }
  return cases;
}
