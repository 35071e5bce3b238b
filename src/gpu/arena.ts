// The buffer arena: every tensor buffer comes from here, so live and peak bytes are known exactly.
import { GpuOperationError, withErrorScopes } from './errors.ts';
import { type Precision, tensorBytes } from './precision.ts';
import { encodeTensor } from './tensor-codec.ts';

export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly precision: Precision;
  readonly bytes: number;
  readonly label: string;
}

export class BufferArena {
  liveBytes = 0;
  peakBytes = 0;
  private readonly live = new Set<GPUBuffer>();

  constructor(readonly device: GPUDevice) {}

  /** A new tensor buffer; allocation runs inside error scopes so an out-of-memory names the tensor. */
  async tensor(shape: readonly number[], precision: Precision, label = 'tensor'): Promise<GpuTensor> {
    const bytes = tensorBytes(shape, precision);
    const maxBuffer = this.device.limits.maxBufferSize;
    const operation = `allocate ${label} [${shape.join('x')}] ${precision}`;
    // Checked up front so that the message says which limit was hit and how much was asked for.
    if (bytes > maxBuffer) {
      throw new GpuOperationError(operation, 'validation', `${bytes} bytes exceeds this adapter's maxBufferSize (${maxBuffer})`);
    }
    const buffer = await withErrorScopes(this.device, operation, () =>
      this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label }),
    );
    this.live.add(buffer);
    this.liveBytes += bytes;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return { buffer, shape: [...shape], precision, bytes, label };
  }

  /** A tensor holding `data` (logical row-major values). */
  async upload(data: ArrayLike<number>, shape: readonly number[], precision: Precision, label = 'tensor'): Promise<GpuTensor> {
    const t = await this.tensor(shape, precision, label);
    this.device.queue.writeBuffer(t.buffer, 0, encodeTensor(data, shape, precision));
    return t;
  }

  /** Fills a tensor's bytes with a pattern (poisoning outputs before a test run; 0x7fc07fc0 is NaN read as f32 and as two halves). */
  fill(t: GpuTensor, word = 0x7fc07fc0): void {
    const words = new Uint32Array(t.bytes / 4).fill(word);
    this.device.queue.writeBuffer(t.buffer, 0, words);
  }

  release(t: GpuTensor): void {
    if (!this.live.delete(t.buffer)) return;
    this.liveBytes -= t.bytes;
    t.buffer.destroy();
  }

  releaseAll(): void {
    for (const b of this.live) b.destroy();
    this.live.clear();
    this.liveBytes = 0;
  }
}
