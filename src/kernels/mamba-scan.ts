// Mamba2 selective scan (ngroups 1), forward in two forms (sequential in registers; chunked SSD) and backward.
// Maths and layouts: shaders/mamba_scan.wgsl and KERNELS.md.
import source from '../../shaders/mamba_scan.wgsl?raw';
import workgroupSumSource from '../../shaders/workgroup_sum.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { elementBytes, rowStride, type Precision } from '../gpu/precision.ts';
import { expectBindable, expectF32, expectPositiveInt, expectShape, numel, packParams, samePrecision } from './layout.ts';

export const MAMBA_SCAN_SHADER = { name: 'mamba_scan.wgsl', source: `${source}\n${workgroupSumSource}` };

/** One scan: `seqs` sequences of `T` steps, `heads` heads of `headDim` (P) channels, state size `dState` (N). */
export interface ScanDims {
  seqs: number;
  T: number;
  heads: number;
  headDim: number;
  dState: number;
}

/**
 * Channels [offset, offset + width) of a channels-last tensor [..., T, C] (leading dimensions flatten to the
 * sequences): the in_proj or conv output read in place. Widths: x H*P, B and C N, dt H.
 */
export interface ChannelSlice {
  tensor: GpuTensor;
  offset?: number;
}

export interface ScanInputs {
  x: ChannelSlice;
  B: ChannelSlice;
  C: ChannelSlice;
  /** dt after softplus (> 0), or the raw in_proj output when `dtBias` is given. */
  dt: ChannelSlice;
  /** [H], negative (A = -exp(A_log)). */
  A: GpuTensor;
  /** [H], the skip D x. */
  D: GpuTensor;
  /** [H]: when given, the kernel uses dt = softplus(dt + dtBias) (fused). */
  dtBias?: GpuTensor;
}

export interface ScanOptions {
  /** Walk time backwards (index T-1-k) and write in place: the reversed direction of Bi-Mamba2. */
  reverse?: boolean;
  /** Steps per chunk of the saved states (and of the chunked form); default `defaultChunk(N)`. */
  chunk?: number;
  label?: string;
}

/** Gradients. dx, dB, dC are slices of one tensor (the gradient of the conv output [x | B | C]). */
export interface ScanGrads {
  dxBC: { tensor: GpuTensor; xOffset: number; bOffset: number; cOffset: number };
  /** Gradient of dt, or of the raw dt input when fused (through softplus). Width H. */
  ddt: ChannelSlice;
  dA: GpuTensor;
  dD: GpuTensor;
  /** Required when the inputs have dtBias. */
  dDtBias?: GpuTensor;
}

export type ScanForm = 'sequential' | 'chunked';

/** Register capacities of the kernels (NMAX, HIST in the shader). */
export const SCAN_MAX_STATE = 16;
export const SCAN_HIST = 256;
const WG = 64;

/**
 * The largest chunk whose recomputed states fit the backward's registers (chunk * N <= 256), at most 32 (the
 * chunked form's workgroup memory grows with chunk^2: 32 keeps it within 16 KiB at 16 heads).
 */
export function defaultChunk(dState: number): number {
  return Math.min(32, Math.floor(SCAN_HIST / dState));
}

export function chunkCount(T: number, chunk: number): number {
  return Math.ceil(T / chunk);
}

/** Saved chunk-start states (f32): [seqs, chunks, N, H*P] (channel fastest: the passes read and write them coalesced). */
export function statesShape(d: ScanDims, chunk = defaultChunk(d.dState)): number[] {
  return [d.seqs, chunkCount(d.T, chunk), d.dState, d.heads * d.headDim];
}

/**
 * Scan form per shape. The sequential form gives one invocation to each (sequence, channel pair) for all T steps:
 * with few sequences most of a large GPU idles (the v3 forward at batch 1 on an H200: 19 x 64 and 171 x 16
 * invocations, 16 scans taking half the forward). The chunked form spreads a scan over sequences x T/chunk
 * workgroups for the price of three dispatches and more arithmetic. So: chunked while the sequential form would
 * have fewer than SCAN_CHUNKED_BELOW invocations, sequential from there on. Measured on an H100 (2026-12-06,
 * `ictal bench --families mamba-scan`, docs/PERFORMANCE.md): the sequential form takes ~1.8 ms (node stream) and
 * ~1.1 ms (edge) flat up to thousands of sequences, the chunked one grows ~9.4 us (node) and ~1.7 us (edge) a
 * sequence: chunked wins by 5x at 2,752 invocations, sequential by 1.5 - 1.8x at 19,456; the crossovers land at
 * ~10K (edge) and ~13K (node) invocations. Shapes only, so the plans can tell whether the forward needs the chunk
 * states (see `chunkedScanRuns`).
 */
export const SCAN_CHUNKED_BELOW = 12288;

/** Invocations of the sequential form: one per (sequence, channel pair). */
export function sequentialInvocations(d: ScanDims): number {
  return d.seqs * Math.ceil((d.heads * d.headDim) / 2);
}

export function scanFormFor(d: ScanDims): ScanForm {
  return sequentialInvocations(d) < SCAN_CHUNKED_BELOW ? 'chunked' : 'sequential';
}

/**
 * Whether the chunked form can run here (f16-storage needs an even P; its workgroup memory must fit the
 * adapter); where it cannot, the sequential form runs instead and writes the same states.
 */
export function chunkedScanRuns(d: ScanDims, precision: Precision, maxWorkgroupBytes: number, chunk = defaultChunk(d.dState)): boolean {
  return !(precision === 'f16-storage' && d.headDim % 2 !== 0) && chunkedWorkgroupBytes(d, chunk) <= maxWorkgroupBytes;
}

function checkDims(op: string, d: ScanDims): void {
  expectPositiveInt(op, 'seqs', d.seqs);
  expectPositiveInt(op, 'T', d.T);
  expectPositiveInt(op, 'heads', d.heads);
  expectPositiveInt(op, 'headDim (P)', d.headDim);
  expectPositiveInt(op, 'dState (N)', d.dState);
  if (d.dState > SCAN_MAX_STATE) throw new Error(`${op}: dState (N) is ${d.dState}; the scan kernels hold at most ${SCAN_MAX_STATE} state values per channel in registers`);
}

function checkChunk(op: string, chunk: number): void {
  expectPositiveInt(op, 'chunk', chunk);
}

interface Slice {
  off: number;
  row: number;
  seq: number;
}

/** Offset and strides of a channel slice; `output` adds the f16-storage rule that a slice owns whole words. */
function resolveSlice(op: string, name: string, sl: ChannelSlice, seqs: number, T: number, width: number, output: boolean): Slice {
  const t = sl.tensor;
  const off = sl.offset ?? 0;
  const r = t.shape.length;
  if (r < 2) throw new Error(`${op}: ${name} (${t.label}) must be channels-last [..., T, C], got shape [${t.shape}]`);
  const C = t.shape[r - 1]!;
  if (t.shape[r - 2] !== T) throw new Error(`${op}: ${name} (${t.label}) dimension ${r - 2} (T) is ${t.shape[r - 2]}, expected ${T}; shape [${t.shape}]`);
  const lead = numel(t.shape.slice(0, r - 2));
  if (lead !== seqs) throw new Error(`${op}: ${name} (${t.label}) holds ${lead} sequences (dimensions before T of [${t.shape}]), expected seqs = ${seqs}`);
  if (!Number.isInteger(off) || off < 0 || off + width > C) {
    throw new Error(`${op}: ${name} (${t.label}) channels [${off}, ${off + width}) do not fit its ${C} channels`);
  }
  if (output && t.precision === 'f16-storage' && (off % 2 !== 0 || (width % 2 !== 0 && off + width !== C))) {
    throw new Error(`${op}: ${name} (${t.label}) channels [${off}, ${off + width}) split a packed pair of halves: in f16-storage an output slice must start at an even channel and have even width or end the row`);
  }
  const row = rowStride(C, t.precision);
  return { off, row, seq: T * row };
}

function checkVector(op: string, name: string, t: GpuTensor, H: number): void {
  expectShape(op, t, [H], `${name}: one value per head`);
}

// Placeholders bound where an optional tensor is absent (auto layouts need every declared binding bound).
const placeholders = new WeakMap<GPUDevice, Map<string, GPUBuffer>>();
function placeholder(s: ComputeSession, role: string): GPUBuffer {
  let m = placeholders.get(s.device);
  if (!m) placeholders.set(s.device, (m = new Map()));
  let b = m.get(role);
  if (!b) {
    b = s.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: `mamba-scan placeholder ${role}` });
    m.set(role, b);
  }
  return b;
}

interface Resolved {
  precision: Precision;
  x: Slice;
  b: Slice;
  c: Slice;
  dt: Slice;
  fused: boolean;
}

function resolveInputs(op: string, s: ComputeSession, d: ScanDims, inp: ScanInputs): Resolved {
  checkDims(op, d);
  const CH = d.heads * d.headDim;
  const tensors = [inp.x.tensor, inp.B.tensor, inp.C.tensor, inp.dt.tensor, inp.A, inp.D, ...(inp.dtBias ? [inp.dtBias] : [])];
  const precision = samePrecision(op, ...tensors);
  expectBindable(op, s, ...tensors);
  checkVector(op, 'A', inp.A, d.heads);
  checkVector(op, 'D', inp.D, d.heads);
  if (inp.dtBias) checkVector(op, 'dtBias', inp.dtBias, d.heads);
  const slices = {
    x: resolveSlice(op, 'x', inp.x, d.seqs, d.T, CH, false),
    b: resolveSlice(op, 'B', inp.B, d.seqs, d.T, d.dState, false),
    c: resolveSlice(op, 'C', inp.C, d.seqs, d.T, d.dState, false),
  };
  if (inp.B.tensor.buffer !== inp.x.tensor.buffer || inp.C.tensor.buffer !== inp.x.tensor.buffer) {
    throw new Error(`${op}: x, B and C must be channel slices of one tensor (the conv output [x | B | C]); got ${inp.x.tensor.label}, ${inp.B.tensor.label}, ${inp.C.tensor.label}`);
  }
  return {
    precision,
    ...slices,
    dt: resolveSlice(op, 'dt', inp.dt, d.seqs, d.T, d.heads, false),
    fused: Boolean(inp.dtBias),
  };
}

function checkStates(op: string, s: ComputeSession, d: ScanDims, states: GpuTensor, chunk: number): void {
  expectF32(op, states);
  expectShape(op, states, statesShape(d, chunk), `saved states [seqs, ceil(T / chunk), N, H*P] for chunk ${chunk}`);
  expectBindable(op, s, states);
}

function params(d: ScanDims, r: Resolved, chunk: number, reverse: boolean, saveStates: boolean, items: number, y: Slice, extra: number[] = []): Uint32Array {
  const CH = d.heads * d.headDim;
  const fields = [
    d.seqs, d.T, d.heads, d.headDim,
    d.dState, CH, chunk, chunkCount(d.T, chunk),
    reverse ? 1 : 0, r.fused ? 1 : 0, saveStates ? 1 : 0, items,
    r.x.off, r.x.row, r.x.seq,
    r.b.off, r.b.row, r.b.seq,
    r.c.off, r.c.row, r.c.seq,
    r.dt.off, r.dt.row, r.dt.seq,
    y.off, y.row, y.seq,
    ...extra,
  ];
  while (fields.length < 36) fields.push(0);
  return packParams(fields);
}

function shapesOf(d: ScanDims): string {
  return `seqs ${d.seqs} T ${d.T} H ${d.heads} P ${d.headDim} N ${d.dState}`;
}

// ---- cost model (FLOPs as implemented; bytes of the operands each dispatch touches) ----

export interface KernelCost {
  flops: number;
  bytes: number;
}

/** Bytes read and written by one forward scan (inputs once, y once, saved states once). */
function ioBytes(d: ScanDims, p: Precision, saveStates: boolean, chunk: number): number {
  const CH = d.heads * d.headDim;
  const rows = d.seqs * d.T;
  const act = elementBytes(p) * rows * (2 * CH + 2 * d.dState + d.heads);
  return act + (saveStates ? 4 * numel(statesShape(d, chunk)) : 0);
}

/** Forward cost of either form. Sequential: 5 flops per state element per step. Chunked: its three passes. */
export function scanCost(d: ScanDims, form: ScanForm, p: Precision, chunk = defaultChunk(d.dState)): KernelCost {
  const CH = d.heads * d.headDim;
  const N = d.dState;
  const rows = d.seqs * d.T;
  if (form === 'sequential') return { flops: rows * (CH * (5 * N + 4) + 2 * d.heads), bytes: ioBytes(d, p, true, chunk) };
  const Q = chunk;
  const chunks = d.seqs * chunkCount(d.T, Q);
  const statePass = chunks * CH * (N * 3 + 1);
  const chunkState = chunks * Q * CH * (2 * N + 4);
  const quad = (Q * (Q + 1)) / 2;
  const chunkOut = chunks * (quad * 2 * N + d.heads * quad * 4 + quad * CH * 2 + Q * CH * (2 * N + 4));
  return { flops: statePass + chunkState + chunkOut, bytes: ioBytes(d, p, true, Q) + 8 * numel(statesShape(d, Q)) };
}

/** Backward: recompute (3 flops per state element), then about 12 per element, per step. */
export function scanBackwardCost(d: ScanDims, p: Precision, chunk = defaultChunk(d.dState)): KernelCost {
  const CH = d.heads * d.headDim;
  const rows = d.seqs * d.T;
  const flops = rows * CH * (15 * d.dState + 12);
  const bytes = ioBytes(d, p, true, chunk) + elementBytes(p) * rows * (2 * CH + 2 * d.dState + d.heads);
  return { flops, bytes };
}

// ---- dispatch ----

/**
 * Sequential form: one invocation per (sequence, channel pair) walks t with N states per channel in registers.
 * With `states` (f32, statesShape) it also saves the chunk-start states the backward needs.
 */
export async function scanSequential(s: ComputeSession, d: ScanDims, inp: ScanInputs, y: ChannelSlice, opts: ScanOptions & { states?: GpuTensor } = {}): Promise<void> {
  const op = 'mamba scan (sequential)';
  const r = resolveInputs(op, s, d, inp);
  const chunk = opts.chunk ?? defaultChunk(d.dState);
  checkChunk(op, chunk);
  const CH = d.heads * d.headDim;
  samePrecision(op, inp.x.tensor, y.tensor);
  expectBindable(op, s, y.tensor);
  const ys = resolveSlice(op, 'y', y, d.seqs, d.T, CH, true);
  if (opts.states) checkStates(op, s, d, opts.states, chunk);
  const items = d.seqs * Math.ceil(CH / 2);
  const cost = scanCost(d, 'sequential', r.precision, chunk);
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'scan_sequential', precision: r.precision, defines: { FWD_SEQ: true },
    constants: { N_STATE: d.dState },
    params: params(d, r, chunk, Boolean(opts.reverse), Boolean(opts.states), items, ys),
    tensors: [inp.x.tensor, inp.dt.tensor, inp.A, inp.D, inp.dtBias ?? placeholder(s, 'dt_bias'), y.tensor, opts.states ?? placeholder(s, 'states')],
    workgroups: Math.ceil(items / WG), label: opts.label ?? 'mamba.scan', shapes: shapesOf(d), ...cost,
  });
}

/** The chunked form's session scratch (f32): per-chunk decay sums [seqs, chunks, H]; the plans can size it from here. */
export function chunkSumsShape(d: ScanDims, chunk = defaultChunk(d.dState)): number[] {
  return [d.seqs, chunkCount(d.T, chunk), d.heads];
}

/**
 * Workgroup bytes of the chunked output pass (the largest of the three): x (rows skewed by a word per head), B, C,
 * dt, dt A sums, C.B of one chunk.
 */
export function chunkedWorkgroupBytes(d: ScanDims, chunk: number): number {
  return 4 * (chunk * (d.heads * d.headDim + d.heads) + 2 * chunk * d.dState + 2 * d.heads * chunk + chunk * chunk);
}

/** Channels of one head per invocation in the chunked output's intra-chunk sum (HEAD_BLOCK, at most PBMAX = 8). */
function headBlock(P: number): number {
  return Math.min(P, 8);
}

/**
 * Chunked (SSD) form: per-chunk states, a sequential pass over chunks, then the intra-chunk quadratic form plus
 * the carried state. `states` (f32, statesShape) is its workspace and ends holding the chunk-start states, the
 * same ones the backward reads.
 */
export async function scanChunked(s: ComputeSession, d: ScanDims, inp: ScanInputs, y: ChannelSlice, states: GpuTensor, opts: ScanOptions = {}): Promise<void> {
  const op = 'mamba scan (chunked)';
  const r = resolveInputs(op, s, d, inp);
  const chunk = opts.chunk ?? defaultChunk(d.dState);
  checkChunk(op, chunk);
  const CH = d.heads * d.headDim;
  samePrecision(op, inp.x.tensor, y.tensor);
  expectBindable(op, s, y.tensor);
  const ys = resolveSlice(op, 'y', y, d.seqs, d.T, CH, true);
  if (r.precision === 'f16-storage' && d.headDim % 2 !== 0) {
    throw new Error(`${op}: headDim (P) is ${d.headDim}; the chunked form writes channel pairs within a head, so f16-storage needs an even P (use scanSequential)`);
  }
  const wgBytes = chunkedWorkgroupBytes(d, chunk);
  const limit = s.device.limits.maxComputeWorkgroupStorageSize;
  if (wgBytes > limit) throw new Error(`${op}: chunk ${chunk} needs ${wgBytes} bytes of workgroup memory, over this adapter's ${limit}: use a smaller chunk`);
  checkStates(op, s, d, states, chunk);
  const label = opts.label ?? 'mamba.scan';
  const reverse = Boolean(opts.reverse);
  const nChunks = d.seqs * chunkCount(d.T, chunk);
  const constants = { N_STATE: d.dState, CHUNK: chunk, HEADS: d.heads, CHANNELS: CH, HEAD_BLOCK: headBlock(d.headDim) };
  const none: Slice = { off: 0, row: 0, seq: 0 };
  const Q = chunk;
  const quad = (Q * (Q + 1)) / 2;
  const eb = elementBytes(r.precision);
  const stateBytes = 4 * numel(statesShape(d, chunk));
  const sums = await s.scratch(chunkSumsShape(d, chunk), 'f32', `${label}.chunk_sums`);
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'ssd_chunk_state', precision: r.precision, defines: { SSD_STATE: true, SSD_CHUNK: true }, constants,
    params: params(d, r, chunk, reverse, true, nChunks, none),
    tensors: [inp.x.tensor, inp.dt.tensor, inp.A, inp.dtBias ?? placeholder(s, 'dt_bias'), states, sums],
    workgroups: nChunks, label: `${label}.chunk_state`, shapes: shapesOf(d) + ` chunk ${chunk}`,
    flops: nChunks * Q * CH * (2 * d.dState + 4), bytes: eb * d.seqs * d.T * (CH + d.dState + d.heads) + stateBytes,
  });
  const items = d.seqs * CH * d.dState;
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'ssd_state_pass', precision: r.precision, defines: { SSD_PASS: true }, constants: { N_STATE: d.dState },
    params: params(d, r, chunk, reverse, true, items, none),
    tensors: [sums, states],
    workgroups: Math.ceil(items / WG), label: `${label}.state_pass`, shapes: shapesOf(d) + ` chunk ${chunk}`,
    flops: nChunks * CH * (d.dState * 3 + 1), bytes: 4 * nChunks * d.heads + 2 * stateBytes,
  });
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'ssd_chunk_output', precision: r.precision, defines: { SSD_OUT: true, SSD_CHUNK: true }, constants,
    params: params(d, r, chunk, reverse, true, nChunks, ys),
    tensors: [inp.x.tensor, inp.dt.tensor, inp.A, inp.D, inp.dtBias ?? placeholder(s, 'dt_bias'), y.tensor, states],
    workgroups: nChunks, label: `${label}.chunk_output`, shapes: shapesOf(d) + ` chunk ${chunk}`,
    flops: nChunks * (quad * 2 * d.dState + d.heads * quad * 4 + quad * CH * 2 + Q * CH * (2 * d.dState + 4)),
    bytes: eb * d.seqs * d.T * (2 * CH + 2 * d.dState + d.heads) + stateBytes,
  });
}

/**
 * The forward in the form `scanFormFor` picks for this shape; returns the form that ran. The sequential form runs
 * instead where the chunked one cannot (chunkedScanRuns), and on CPU adapters, which have no idle lanes to fill:
 * on lavapipe the chunked form took 7 - 13x the sequential one's time at 1 - 3 sequences (`ictal bench --families
 * mamba-scan --elements 100000`, 2026-12-05). `states` is required when the rule says chunked (the chunked form's
 * workspace, left holding the chunk-start states; the plans reserve it from the shape alone), optional otherwise
 * (saved for the backward when given).
 */
export async function scanForward(s: ComputeSession, d: ScanDims, inp: ScanInputs, y: ChannelSlice, opts: ScanOptions & { states?: GpuTensor } = {}): Promise<ScanForm> {
  if (scanFormFor(d) === 'chunked') {
    if (!opts.states) throw new Error(`mamba scan: ${d.seqs} sequences take the chunked form, whose states workspace (statesShape) was not given`);
    if (!s.gpu.info.cpuAdapter && chunkedScanRuns(d, inp.x.tensor.precision, s.device.limits.maxComputeWorkgroupStorageSize, opts.chunk)) {
      await scanChunked(s, d, inp, y, opts.states, opts);
      return 'chunked';
    }
  }
  await scanSequential(s, d, inp, y, opts);
  return 'sequential';
}

/** Workgroup bytes of the backward: per-step reduction rows, their segment sums, the dt_bias sums, one staged chunk. */
export function backwardWorkgroupBytes(d: ScanDims, chunk = defaultChunk(d.dState)): number {
  const CH = d.heads * d.headDim;
  return 4 * (CH * (2 * d.dState + 2) + 2 * d.dState + CH + d.heads + 2 * chunk * (d.dState + d.heads));
}

/**
 * Backward of either form, in parallel over chunks: one workgroup per (sequence, chunk), one invocation per channel
 * (H*P <= 256), after two dispatches that hand each chunk the dH of the steps after it. Needs the chunk-start
 * states saved by the forward with the same chunk (chunk * N <= 256). Writes every gradient once (no accumulation
 * into existing values).
 */
export async function scanBackward(s: ComputeSession, d: ScanDims, inp: ScanInputs, dy: ChannelSlice, states: GpuTensor, g: ScanGrads, opts: ScanOptions = {}): Promise<void> {
  const op = 'mamba scan backward';
  const r = resolveInputs(op, s, d, inp);
  const chunk = opts.chunk ?? defaultChunk(d.dState);
  checkChunk(op, chunk);
  if (chunk * d.dState > SCAN_HIST) throw new Error(`${op}: chunk ${chunk} x dState ${d.dState} exceeds the ${SCAN_HIST} recomputed states a channel holds: use chunk <= ${Math.floor(SCAN_HIST / d.dState)}`);
  const CH = d.heads * d.headDim;
  const maxWg = Math.min(256, s.device.limits.maxComputeInvocationsPerWorkgroup);
  if (CH > maxWg) throw new Error(`${op}: heads x headDim = ${CH} channels, over the ${maxWg} invocations of one workgroup`);
  const wgBytes = backwardWorkgroupBytes(d, chunk);
  const limit = s.device.limits.maxComputeWorkgroupStorageSize;
  if (wgBytes > limit) throw new Error(`${op}: needs ${wgBytes} bytes of workgroup memory (H*P*(2N+3)+2N+H+2*chunk*(N+H) floats), over this adapter's ${limit}`);
  checkStates(op, s, d, states, chunk);
  if (r.fused !== Boolean(g.dDtBias)) {
    throw new Error(`${op}: ${r.fused ? 'the inputs have dtBias, so grads.dDtBias is required' : 'grads.dDtBias given but the inputs have no dtBias'}`);
  }
  const outs = [g.dxBC.tensor, g.ddt.tensor, g.dA, g.dD, ...(g.dDtBias ? [g.dDtBias] : [])];
  samePrecision(op, inp.x.tensor, dy.tensor, ...outs);
  expectBindable(op, s, dy.tensor, ...outs);
  const dys = resolveSlice(op, 'dy', dy, d.seqs, d.T, CH, false);
  const dx = resolveSlice(op, 'dx', { tensor: g.dxBC.tensor, offset: g.dxBC.xOffset }, d.seqs, d.T, CH, true);
  const dB = resolveSlice(op, 'dB', { tensor: g.dxBC.tensor, offset: g.dxBC.bOffset }, d.seqs, d.T, d.dState, true);
  const dC = resolveSlice(op, 'dC', { tensor: g.dxBC.tensor, offset: g.dxBC.cOffset }, d.seqs, d.T, d.dState, true);
  const spans: [string, number, number][] = [['dx', dx.off, CH], ['dB', dB.off, d.dState], ['dC', dC.off, d.dState]];
  for (let i = 0; i < 3; i++) {
    for (let j = i + 1; j < 3; j++) {
      const [na, a, wa] = spans[i]!, [nb, b, wb] = spans[j]!;
      if (a < b + wb && b < a + wa) throw new Error(`${op}: ${na} channels [${a}, ${a + wa}) overlap ${nb} channels [${b}, ${b + wb}) in ${g.dxBC.tensor.label}`);
    }
  }
  const ddt = resolveSlice(op, 'ddt', g.ddt, d.seqs, d.T, d.heads, true);
  checkVector(op, 'dA', g.dA, d.heads);
  checkVector(op, 'dD', g.dD, d.heads);
  if (g.dDtBias) checkVector(op, 'dDtBias', g.dDtBias, d.heads);
  if (g.ddt.tensor.buffer === g.dxBC.tensor.buffer) throw new Error(`${op}: ddt and dxBC must be different tensors (two writable bindings of one buffer are not allowed)`);

  const label = opts.label ?? 'mamba.scan';
  // Per (sequence, chunk): the parameter partials [3][H], the decays [2][H] and the dH handed in [N][H*P] (f32).
  const nChunks = d.seqs * chunkCount(d.T, chunk);
  const scratch = await s.scratch([nChunks * (5 * d.heads + d.dState * CH)], 'f32', `${label}.bwd_scratch`);
  const cost = scanBackwardCost(d, r.precision, chunk);
  const extra = [dx.off, dB.off, dC.off, dx.row, dx.seq, ddt.off, ddt.row, ddt.seq];
  const reverse = Boolean(opts.reverse);
  const eb = elementBytes(r.precision);
  const dhBytes = 4 * nChunks * d.dState * CH;
  // The chunks walk in parallel: each one's dH from itself alone, then the pass over chunks that hands each the dH
  // of everything after it, then the walks.
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'bwd_chunk_dh', precision: r.precision, defines: { BWD_DH: true },
    constants: { N_STATE: d.dState, BWD_WG: CH },
    params: params(d, r, chunk, reverse, true, nChunks, dys, extra),
    tensors: [inp.x.tensor, inp.dt.tensor, inp.A, inp.dtBias ?? placeholder(s, 'dt_bias'), dy.tensor, scratch],
    workgroups: nChunks, label: `${label}.bwd.chunk_dh`, shapes: shapesOf(d) + ` chunk ${chunk}`,
    flops: d.seqs * d.T * CH * (2 * d.dState + 2), bytes: eb * d.seqs * d.T * (CH + d.dState + d.heads) + dhBytes,
  });
  const passItems = d.seqs * d.dState * CH;
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'bwd_dh_pass', precision: r.precision, defines: { BWD_PASS: true },
    params: params(d, r, chunk, reverse, true, passItems, { off: 0, row: 0, seq: 0 }),
    tensors: [scratch],
    workgroups: Math.ceil(passItems / WG), label: `${label}.bwd.dh_pass`, shapes: shapesOf(d) + ` chunk ${chunk}`,
    flops: nChunks * d.dState * CH * 3, bytes: 2 * dhBytes + 8 * nChunks * d.heads,
  });
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'scan_backward', precision: r.precision, defines: { BWD: true },
    constants: { N_STATE: d.dState, HEADS: d.heads, BWD_WG: CH, CHUNK: chunk },
    params: params(d, r, chunk, reverse, true, nChunks, dys, extra),
    tensors: [inp.x.tensor, inp.dt.tensor, inp.A, inp.D, inp.dtBias ?? placeholder(s, 'dt_bias'), dy.tensor, states, g.dxBC.tensor, g.ddt.tensor, scratch],
    workgroups: nChunks, label: `${label}.bwd`, shapes: shapesOf(d), ...cost,
  });
  const items = 3 * Math.ceil(d.heads / 2);
  await s.dispatch({
    shader: MAMBA_SCAN_SHADER, entry: 'scan_param_grads', precision: r.precision, defines: { GRADS: true },
    params: params(d, r, chunk, false, false, items, { off: 0, row: 0, seq: 0 }),
    tensors: [scratch, g.dA, g.dD, g.dDtBias ?? placeholder(s, 'ddt_bias_out')],
    workgroups: items, label: `${label}.bwd.param_grads`, shapes: `seqs ${d.seqs} H ${d.heads}`,
    flops: 3 * d.seqs * d.heads, bytes: 12 * d.seqs * d.heads + 3 * elementBytes(r.precision) * d.heads,
  });
}

// ---- float64 CPU references: the plain sequential recurrence ----

/** Logical operands: x [seqs, T, H*P], B and C [seqs, T, N], dt [seqs, T, H] (raw when dtBias), A, D, dtBias [H]. */
export interface ScanHostInputs {
  x: ArrayLike<number>;
  B: ArrayLike<number>;
  C: ArrayLike<number>;
  dt: ArrayLike<number>;
  A: ArrayLike<number>;
  D: ArrayLike<number>;
  dtBias?: ArrayLike<number>;
}

const softplus = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function stepDt(inp: ScanHostInputs, i: number, h: number): number {
  return inp.dtBias ? softplus(inp.dt[i]! + inp.dtBias[h]!) : inp.dt[i]!;
}

/** y [seqs, T, H*P] and every state h_t (after step t, in walk order): [seqs, T, H*P, N]. */
export function scanReference(d: ScanDims, inp: ScanHostInputs, reverse = false): { y: Float64Array; states: Float64Array } {
  const { seqs, T, heads: H, headDim: P, dState: N } = d;
  const CH = H * P;
  const y = new Float64Array(seqs * T * CH);
  const all = new Float64Array(seqs * T * CH * N);
  for (let s = 0; s < seqs; s++) {
    for (let ch = 0; ch < CH; ch++) {
      const h = Math.floor(ch / P);
      const st = new Float64Array(N);
      for (let k = 0; k < T; k++) {
        const t = reverse ? T - 1 - k : k;
        const row = s * T + t;
        const dt = stepDt(inp, row * H + h, h);
        const e = Math.exp(dt * inp.A[h]!);
        const xv = inp.x[row * CH + ch]!;
        let acc = 0;
        for (let n = 0; n < N; n++) {
          st[n] = e * st[n]! + dt * xv * inp.B[row * N + n]!;
          acc += st[n]! * inp.C[row * N + n]!;
          all[((s * T + k) * CH + ch) * N + n] = st[n]!;
        }
        y[row * CH + ch] = acc + inp.D[h]! * xv;
      }
    }
  }
  return { y, states: all };
}

export interface ScanHostGrads {
  dx: Float64Array;
  dB: Float64Array;
  dC: Float64Array;
  /** Gradient of the dt input (of the raw input when fused). */
  ddt: Float64Array;
  dA: Float64Array;
  dD: Float64Array;
  dDtBias: Float64Array;
}

/** KERNELS.md's backward walk over stored states; dy [seqs, T, H*P]. */
export function scanBackwardReference(d: ScanDims, inp: ScanHostInputs, dy: ArrayLike<number>, reverse = false): ScanHostGrads {
  const { seqs, T, heads: H, headDim: P, dState: N } = d;
  const CH = H * P;
  const { states } = scanReference(d, inp, reverse);
  const g: ScanHostGrads = {
    dx: new Float64Array(seqs * T * CH), dB: new Float64Array(seqs * T * N), dC: new Float64Array(seqs * T * N),
    ddt: new Float64Array(seqs * T * H), dA: new Float64Array(H), dD: new Float64Array(H), dDtBias: new Float64Array(H),
  };
  for (let s = 0; s < seqs; s++) {
    for (let ch = 0; ch < CH; ch++) {
      const h = Math.floor(ch / P);
      const A = inp.A[h]!;
      const dH = new Float64Array(N);
      let decayNext = 0;
      for (let k = T - 1; k >= 0; k--) {
        const t = reverse ? T - 1 - k : k;
        const row = s * T + t;
        const dt = stepDt(inp, row * H + h, h);
        const e = Math.exp(dt * A);
        const xv = inp.x[row * CH + ch]!;
        const gy = dy[row * CH + ch]!;
        let sumB = 0, sumH = 0;
        for (let n = 0; n < N; n++) {
          dH[n] = gy * inp.C[row * N + n]! + decayNext * dH[n]!;
          const prev = k > 0 ? states[((s * T + k - 1) * CH + ch) * N + n]! : 0;
          sumB += dH[n]! * inp.B[row * N + n]!;
          sumH += dH[n]! * prev;
          g.dB[row * N + n] += dt * dH[n]! * xv;
          g.dC[row * N + n] += states[((s * T + k) * CH + ch) * N + n]! * gy;
        }
        g.dx[row * CH + ch] = dt * sumB + inp.D[h]! * gy;
        const gdt = xv * sumB + A * e * sumH;
        const graw = inp.dtBias ? gdt * sigmoid(inp.dt[row * H + h]! + inp.dtBias[h]!) : gdt;
        g.ddt[row * H + h] += graw;
        if (inp.dtBias) g.dDtBias[h] += graw;
        g.dA[h] += dt * e * sumH;
        g.dD[h] += gy * xv;
        decayNext = e;
      }
    }
  }
  return g;
}
