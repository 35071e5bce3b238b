// Outputs that a kernel writes only in part (a channel slice of a wider tensor): the channels outside the slice
// are set to 0, which the reference expects there too, and the slice keeps its poison.
import type { ComputeSession } from '../../../src/gpu/session.ts';
import type { GpuTensor } from '../../../src/gpu/arena.ts';
import { encodeTensor } from '../../../src/gpu/tensor-codec.ts';

export function zeroOutsideSlice(s: ComputeSession, t: GpuTensor, offset: number, count: number): void {
  const width = t.shape[t.shape.length - 1]!;
  const values = new Float64Array(t.shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) {
    const c = i % width;
    values[i] = c >= offset && c < offset + count ? NaN : 0;
  }
  s.device.queue.writeBuffer(t.buffer, 0, encodeTensor(values, t.shape, t.precision));
}
