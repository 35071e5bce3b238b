// A compute session: device + arena + pipeline cache + optional profiler, and the one way kernels dispatch.
import type { GpuContext } from './device.ts';
import { BufferArena, type GpuTensor } from './arena.ts';
import { PipelineCache, type ShaderFile } from './pipeline-cache.ts';
import { MAX_TIMED_PASSES, TimestampProfiler, type ProfileResult } from './profiler.ts';
import type { Defines } from './shader-preprocessor.ts';
import { type Precision, tensorBytes } from './precision.ts';
import { GpuOperationError } from './errors.ts';
import { decodeTensor } from './tensor-codec.ts';

export interface DispatchSpec {
  shader: ShaderFile;
  entry: string;
  precision: Precision;
  defines?: Defines;
  constants?: Record<string, number>;
  /** Binding 0: the kernel's parameter struct (a uniform), written as 32-bit words. */
  params: ArrayBuffer | ArrayBufferView;
  /** Bindings 1..n in order. */
  tensors: (GpuTensor | GPUBuffer)[];
  /** Total workgroups; spread over a 2-D grid when above maxComputeWorkgroupsPerDimension. */
  workgroups: number;
  /** Profiler label, e.g. `node.3.fwd.scan`. */
  label: string;
  flops?: number;
  bytes?: number;
  shapes?: string;
}

/** A 1- or 2-D grid holding at least `count` workgroups within the per-dimension limit. */
export function gridFor(count: number, maxPerDim: number): [number, number, number] {
  if (count <= maxPerDim) return [Math.max(1, count), 1, 1];
  const y = Math.ceil(count / maxPerDim);
  if (y > maxPerDim) throw new Error(`${count} workgroups exceed a ${maxPerDim} x ${maxPerDim} grid`);
  return [Math.ceil(count / y), y, 1];
}

/**
 * Dispatches recorded before the batch so far is submitted without waiting: the GPU runs them while the host
 * records the rest. A v3 training step is ~1,600 dispatches whose recording (uniform write, bind group, pass
 * each) took ~140 ms of host time on Dawn (H100, 2026-12-06: 950 ms a step for 813 ms of GPU time) that a
 * single submit at the end left the GPU idle through.
 */
export const SUBMIT_EVERY = 64;

export class ComputeSession {
  readonly device: GPUDevice;
  readonly arena: BufferArena;
  readonly pipelines: PipelineCache;
  profiler: TimestampProfiler | undefined;
  private encoder: GPUCommandEncoder | undefined;
  /** Dispatches in `encoder`; and the validation scopes of this batch's earlier submits, checked at the flush. */
  private recorded = 0;
  private submittedScopes: Promise<GPUError | null>[] = [];
  /** Parameter uniforms of the batch being recorded; back to `uniformPool` once the GPU is done with them. */
  private transient: GPUBuffer[] = [];
  /** Read-back buffers by byte size, reused: reading a pass's output again creates no buffer. */
  private readonly stagingPool = new Map<number, GPUBuffer[]>();
  /** Uniform buffers by byte size, reused by later batches: no buffer creation per dispatch after the first pass. */
  private readonly uniformPool = new Map<number, GPUBuffer[]>();
  private scratchTensors: GpuTensor[] = [];
  /** Workspace buffers of earlier flushes, by byte size, kept for reuse: no buffer creation per pass. */
  private readonly scratchPool = new Map<number, GpuTensor[]>();
  /**
   * Planned kernel scratch (an executor's own buffers, src/train/training-executor.ts): the j-th request since the
   * last `scratchScope()` is a view of slot j. Or a sizing pass: requests are recorded per scope, and served
   * from buffers that are dropped with the never-submitted commands.
   */
  private planned: { slots: GpuTensor[]; position: number } | undefined;
  private sizing: { scopes: number[][]; stand: GpuTensor } | undefined;

  constructor(readonly gpu: GpuContext) {
    this.device = gpu.device;
    this.arena = new BufferArena(this.device);
    this.pipelines = new PipelineCache(this.device);
  }

  /** Times every later dispatch (needs timestamp-query). */
  enableProfiling(capacity = MAX_TIMED_PASSES): void {
    this.profiler ??= new TimestampProfiler(this.device, capacity);
  }

  async dispatch(spec: DispatchSpec): Promise<void> {
    const pipeline = await this.pipelines.get(spec);
    const bytes = spec.params instanceof ArrayBuffer ? new Uint8Array(spec.params) : new Uint8Array(spec.params.buffer, spec.params.byteOffset, spec.params.byteLength);
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    const params = this.uniformPool.get(size)?.pop() ?? this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `params ${size} B` });
    // Written on the queue before this batch's submit; the buffer is not reused until the batch has finished.
    const padded = new Uint8Array(size); // zero past the given fields, as a fresh buffer would be
    padded.set(bytes);
    this.device.queue.writeBuffer(params, 0, padded);
    this.transient.push(params);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: params } }];
    spec.tensors.forEach((t, i) => entries.push({ binding: i + 1, resource: { buffer: 'buffer' in t ? t.buffer : t } }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: spec.label });
    const [x, y, z] = gridFor(spec.workgroups, this.device.limits.maxComputeWorkgroupsPerDimension);
    if (!this.encoder) {
      // One validation scope per recorded batch: a bad bind group or dispatch fails the flush with its label.
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder({ label: 'ictal' });
    }
    const timestampWrites = this.profiler?.begin({
      label: spec.label,
      kernel: `${spec.shader.name}:${spec.entry}`,
      precision: spec.precision,
      shapes: spec.shapes ?? '',
      flops: spec.flops ?? 0,
      bytes: spec.bytes ?? 0,
      workgroups: spec.workgroups,
    });
    const pass = this.encoder.beginComputePass({ label: spec.label, timestampWrites });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    // Never inside a sizing pass: its commands must be dropped, not run.
    if (++this.recorded >= SUBMIT_EVERY && !this.sizing) this.submitRecorded();
  }

  /** Submits what is recorded so far, without waiting; the workspace it uses stays held until the flush. */
  private submitRecorded(): void {
    if (!this.encoder) return;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.recorded = 0;
    this.submittedScopes.push(this.device.popErrorScope());
  }

  /**
   * Workspace of a multi-pass kernel (e.g. partial sums): an arena tensor released at the next flush, once the
   * GPU is done with it (destroying it earlier would invalidate the commands already recorded), and pooled by
   * size for later flushes. With planned slots (`usePlannedScratch`) a view of the scope's next slot instead.
   */
  async scratch(shape: readonly number[], precision: Precision, label: string): Promise<GpuTensor> {
    const bytes = tensorBytes(shape, precision);
    if (this.planned) {
      const j = this.planned.position++;
      const slot = this.planned.slots[j];
      if (!slot || slot.bytes < bytes) {
        throw new Error(`kernel scratch: ${label} asks for ${bytes} bytes as request ${j} of its node; the plan sized ${slot ? `${slot.bytes} bytes` : `${this.planned.slots.length} requests`} (it was sized by recording a step of these shapes on this adapter: did the kernels change between?)`);
      }
      return { buffer: slot.buffer, shape: [...shape], precision, bytes, label };
    }
    if (this.sizing) {
      const scope = this.sizing.scopes.at(-1) ?? (this.sizing.scopes[0] = []);
      scope.push(bytes);
      // never submitted: one small stand-in serves every request (a binding it is too small for only raises a
      // validation error in the recorded batch's scope, which `discard` drops with the commands)
      return { buffer: this.sizing.stand.buffer, shape: [...shape], precision, bytes, label };
    }
    const pooled = this.scratchPool.get(bytes)?.pop();
    const t = pooled ? { ...pooled, shape: [...shape], precision, label } : await this.arena.tensor(shape, precision, label);
    this.scratchTensors.push(t);
    return t;
  }


  /** Submits what was recorded and waits for the GPU to finish it. */
  async flush(): Promise<void> {
    if (this.profiler && !this.encoder && this.submittedScopes.length > 0) {
      // the timestamps of passes submitted earlier still need their resolve
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder({ label: 'ictal' });
    }
    if (this.encoder) {
      this.profiler?.resolve(this.encoder);
      this.submitRecorded();
    }
    if (this.submittedScopes.length > 0) {
      const errors = await Promise.all(this.submittedScopes);
      this.submittedScopes = [];
      const error = errors.find((e) => e !== null);
      if (error) {
        await this.device.queue.onSubmittedWorkDone();
        this.releaseWorkspace();
        throw new GpuOperationError('dispatch', 'validation', error.message);
      }
    }
    await this.device.queue.onSubmittedWorkDone();
    this.releaseWorkspace();
  }

  /**
   * Drops what was recorded but not submitted, after a kernel call threw halfway: the next flush then starts
   * clean instead of submitting commands that name buffers since released.
   */
  async discard(): Promise<void> {
    if (this.encoder) {
      this.encoder.finish(); // never submitted
      this.encoder = undefined;
      await this.device.popErrorScope();
      this.profiler?.dropUnresolved();
    }
    this.recorded = 0;
    // The batch's parts already submitted ran; the error being handled is the one to report.
    await Promise.all(this.submittedScopes);
    this.submittedScopes = [];
    await this.device.queue.onSubmittedWorkDone();
    this.releaseWorkspace();
  }

  private releaseWorkspace(): void {
    for (const b of this.transient) {
      const list = this.uniformPool.get(b.size) ?? [];
      list.push(b);
      this.uniformPool.set(b.size, list);
    }
    this.transient = [];
    for (const t of this.scratchTensors) {
      const list = this.scratchPool.get(t.bytes) ?? [];
      list.push(t);
      this.scratchPool.set(t.bytes, list);
    }
    this.scratchTensors = [];
  }

  /** Flushes what was recorded, then reads a tensor back as logical float64 values through a pooled staging buffer. */
  async read(t: GpuTensor): Promise<Float64Array> {
    await this.flush();
    const staging = this.stagingPool.get(t.bytes)?.pop() ?? this.device.createBuffer({ size: t.bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `read-back ${t.bytes} B` });
    const enc = this.device.createCommandEncoder({ label: `read ${t.label}` });
    enc.copyBufferToBuffer(t.buffer, 0, staging, 0, t.bytes);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const values = decodeTensor(staging.getMappedRange().slice(0), t.shape, t.precision);
    staging.unmap();
    this.stagingPool.set(t.bytes, [...(this.stagingPool.get(t.bytes) ?? []), staging]);
    return values;
  }

  /**
   * A new scope of planned (or sized) scratch: the kernels recorded before it are done with their scratch once
   * the GPU reaches what follows (passes run in order), so positions restart. An executor calls it per node.
   */
  scratchScope(): void {
    if (this.planned) this.planned.position = 0;
    this.sizing?.scopes.push([]);
  }

  /** Serves scratch requests from these slots by position within a scope (undefined: back to the pool). */
  usePlannedScratch(slots: GpuTensor[] | undefined): void {
    if (slots && this.sizing) throw new Error('kernel scratch: planned slots while a sizing pass records');
    this.planned = slots ? { slots, position: 0 } : undefined;
  }

  /**
   * Starts a sizing pass: what is recorded until `endScratchSizing` must be dropped (`discard`), never submitted.
   * Serves requests from throw-away buffers and notes their sizes per scope.
   */
  async beginScratchSizing(): Promise<void> {
    if (this.planned || this.sizing) throw new Error('kernel scratch: a sizing pass cannot start inside another or with planned slots');
    this.sizing = { scopes: [], stand: await this.arena.tensor([64], 'f32', 'scratch sizing stand-in') };
  }

  /** Ends a sizing pass (after `discard`): the bytes slot j must hold, the largest j-th request of any scope. */
  endScratchSizing(): number[] {
    const sizing = this.sizing;
    if (!sizing) throw new Error('kernel scratch: no sizing pass to end');
    this.sizing = undefined;
    this.arena.release(sizing.stand);
    const slots: number[] = [];
    for (const scope of sizing.scopes) scope.forEach((bytes, j) => { slots[j] = Math.max(slots[j] ?? 0, bytes); });
    return slots;
  }

  /** Frees the pooled workspace (call between workloads of different shapes). */
  releaseScratchPool(): void {
    for (const list of this.scratchPool.values()) for (const t of list) this.arena.release(t);
    this.scratchPool.clear();
  }

  /** Flushes and returns the timings of everything dispatched since the last call. */
  async collectProfile(): Promise<ProfileResult> {
    if (!this.profiler) throw new Error('profiling is off: call enableProfiling() first');
    await this.flush();
    return this.profiler.collect();
  }

  destroy(): void {
    for (const pool of [this.uniformPool, this.stagingPool]) {
      for (const list of pool.values()) for (const b of list) b.destroy();
      pool.clear();
    }
    this.scratchPool.clear();
    this.arena.releaseAll();
    this.profiler?.destroy();
  }
}
