/**
 * Conv1d for the TCN: x [B, Cin, L] -> y [B, Cout, Lout] with weights w [Cout, Cin, k], optional bias [Cout],
 * dilation d, stride s, symmetric zero padding p (Lout = floor((L + 2p - d (k - 1) - 1) / s) + 1), and an
 * optional activation epilogue. Covers the v3 TCN: "same" dilated k = 7, d = 1..128 (p = 3d), the 1x1
 * projections (k = 1: a plain GEMM through the same kernel), and the k = 16, s = 16 downsampler.
 * Backward: dx (generic, or the patch form for s = k, d = 1, p = 0 that multiplies no zero taps), dw (summed over
 * the batch inside the GEMM, no atomics) and db (sumKeep). Weight normalisation is weight-norm.ts.
 *
 * Geometry: implicit GEMMs on the tiled core (gemm_tile.wgsl, or in the f16 modes the subgroup-matrix core where
 * the device offers it: gemm-subgroup-matrix.ts), a 32 x 32 or (big GEMMs) 64 x 64 tile of C per workgroup per
 * batch (pickGemmTile in gemm-split.ts), grid
 * linearised (ComputeSession splits it over 2-D when above maxComputeWorkgroupsPerDimension); forward and dw
 * run split-K when they have few tiles for their contraction (gemm-split.ts).
 * Sizes: every tensor must fit one storage binding. At the v3 TCN's widest activation, [B, 512, 15360], one batch
 * item is 31.5 MB in f32 (15.7 MB in half): maxStorageBufferBindingSize (128 MiB on lavapipe) is exceeded from
 * B = 5 in f32 and B = 9 in f16; on the H200 (2 GiB - 4) from B = 69 (f32) and B = 137 (f16). Split the batch
 * into several calls beyond that (expectBindable names the tensor). Offsets are u32.
 */
import convSource from '../../shaders/conv1d.wgsl?raw';
import activationSource from '../../shaders/activation.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { GpuTensor } from '../gpu/arena.ts';
import { expectBindable, expectDim, expectPositiveInt, expectRank, expectShape, packParams, physicalRow, samePrecision } from './layout.ts';
import { ACTIVATION_CODE, ACTIVATION_FLOPS, activationReference, type Activation } from './matmul.ts';
import { type GemmShape, GEMM_TILES, combineSplits } from './gemm-split.ts';
import { sumKeep } from './reduce.ts';
import { type GemmParts, TILED_CORE, gemmShader, planGemm } from './gemm-subgroup-matrix.ts';

/** Operand gathers and epilogues of every variant; the GEMM core is appended by gemmShader. */
const CONV1D_PARTS: GemmParts = { name: 'conv1d.wgsl', source: `${convSource}\n${activationSource}`, probe: { FWD: true } };
export const CONV1D_SHADER = gemmShader(CONV1D_PARTS, TILED_CORE);

export interface Conv1dGeometry {
  stride?: number;
  dilation?: number;
  /** Zeros on each side; 'same' = d (k - 1) / 2 (needs d (k - 1) even). */
  padding?: number | 'same';
}

export interface Conv1dOptions extends Conv1dGeometry {
  activation?: Activation;
  label?: string;
}

export interface Conv1dDims {
  batch: number;
  cIn: number;
  cOut: number;
  lenIn: number;
  lenOut: number;
  taps: number;
  stride: number;
  dilation: number;
  padding: number;
}

export function samePadding(taps: number, dilation: number): number {
  const total = dilation * (taps - 1);
  if (total % 2) throw new Error(`conv1d: "same" padding needs dilation x (taps - 1) even, got ${dilation} x ${taps - 1}`);
  return total / 2;
}

export function conv1dOutputLength(lenIn: number, taps: number, g: Conv1dGeometry = {}): number {
  const stride = g.stride ?? 1, dilation = g.dilation ?? 1;
  const padding = g.padding === 'same' ? samePadding(taps, dilation) : g.padding ?? 0;
  return Math.floor((lenIn + 2 * padding - dilation * (taps - 1) - 1) / stride) + 1;
}

/** Checks x [B, Cin, L] and w [Cout, Cin, k] and the geometry; errors name the dimension or option at fault. */
export function conv1dDims(x: GpuTensor, w: GpuTensor, g: Conv1dGeometry = {}): Conv1dDims {
  const op = 'conv1d';
  expectRank(op, x, ['batch', 'in channels', 'length']);
  expectRank(op, w, ['out channels', 'in channels', 'taps']);
  const [batch, cIn, lenIn] = x.shape as [number, number, number];
  const [cOut, , taps] = w.shape as [number, number, number];
  expectDim(op, w, 1, 'in channels', cIn, `${x.label} has ${cIn} channels`);
  const stride = g.stride ?? 1, dilation = g.dilation ?? 1;
  expectPositiveInt(op, 'stride', stride);
  expectPositiveInt(op, 'dilation', dilation);
  expectPositiveInt(op, 'taps (w dimension 2)', taps);
  const padding = g.padding === 'same' ? samePadding(taps, dilation) : g.padding ?? 0;
  expectPositiveInt(op, 'padding', padding, 0);
  const lenOut = conv1dOutputLength(lenIn, taps, { stride, dilation, padding });
  if (lenOut < 1) {
    throw new Error(`${op}: ${x.label} length ${lenIn} is shorter than the receptive field ${dilation * (taps - 1) + 1} (taps ${taps}, dilation ${dilation}) with padding ${padding}`);
  }
  return { batch, cIn, cOut, lenIn, lenOut, taps, stride, dilation, padding };
}

/** 2 FLOPs per multiply-add actually needed (B Cout Lout Cin k of them), plus the epilogue. */
export function conv1dCost(d: Conv1dDims, x: GpuTensor, w: GpuTensor, y: GpuTensor, activation: Activation = 'none'): { flops: number; bytes: number } {
  const outs = d.batch * d.cOut * d.lenOut;
  return { flops: 2 * outs * d.cIn * d.taps + outs * (1 + ACTIVATION_FLOPS[activation]), bytes: x.bytes + w.bytes + y.bytes };
}

interface ConvGemm {
  variant: 'FWD' | 'DX' | 'DX_PATCH' | 'DW';
  gemm: GemmShape;
  /** Operands at bindings 1 and 2, then the output. */
  inputs: [GpuTensor, GpuTensor];
  out: GpuTensor;
  /** x (or dx), y (or dy), w (or dw): their stored row lengths go to the kernel. */
  x: GpuTensor;
  y: GpuTensor;
  w: GpuTensor;
  bias?: GpuTensor;
  activation?: Activation;
  label: string;
  shapes: string;
  flops: number;
  bytes: number;
}

/**
 * One implicit GEMM, split-K where that pays (forward and dw; dx's output is as wide as the input, never short
 * of tiles): the core then writes f32 partials and gemm_splitk.wgsl applies bias (per row: out channel) and
 * activation. Outputs are [batches, M, N] with rows of `outStride` (dw: its taps rows side by side, N wide).
 */
async function runConvGemm(s: ComputeSession, d: Conv1dDims, c: ConvGemm): Promise<void> {
  const { plan, tile, shader, defines } = await planGemm(s, c.out.precision, CONV1D_PARTS, c.gemm, c.variant === 'FWD' || c.variant === 'DW');
  const activation = ACTIVATION_CODE[c.activation ?? 'none'];
  const params = packParams([
    c.gemm.M, c.gemm.N, c.gemm.K, c.gemm.batches, c.gemm.sumBatches, plan.tilesM, plan.tilesN, plan.splits, plan.splitTiles,
    d.cIn, d.cOut, d.lenIn, d.lenOut, d.taps, d.stride, d.dilation, d.padding,
    physicalRow(c.x), physicalRow(c.y), physicalRow(c.w), activation,
  ]);
  const split = plan.splits > 1;
  const partial = split ? await s.scratch([plan.partialElements], 'f32', `${c.label} split-K partials`) : undefined;
  const tensors = [...c.inputs, partial ?? c.out];
  if (c.bias && !split) tensors.push(c.bias);
  await s.dispatch({
    shader, entry: 'gemm', precision: c.out.precision,
    defines: { [c.variant]: true, BIAS: Boolean(c.bias) && !split, SPLIT_K: split, TAP_MAJOR: usesTapMajor(c.variant, d), ...defines }, params, tensors,
    workgroups: plan.workgroups, label: c.label, shapes: `${c.shapes} ${tile}${split ? ` split ${plan.splits}` : ''}`, flops: c.flops, bytes: c.bytes,
  });
  if (partial) {
    const outStride = c.variant === 'DW' ? c.gemm.N : physicalRow(c.out);
    await combineSplits(s, {
      shape: c.gemm, plan, partial, out: c.out, outStride, outBatch: c.gemm.M * outStride,
      bias: c.bias ? { t: c.bias, per: 'row' } : undefined, activation, label: c.label,
    });
  }
}

/**
 * Whether a variant's contraction runs tap-major (TAP_MAJOR in conv1d.wgsl): FWD and DX where the contracted
 * channels (Cin, Cout) are a multiple of every tile's K slice, so each slice has one tap and the loaders skip a
 * division and a remainder by the taps per staged value.
 */
export function usesTapMajor(variant: ConvGemm['variant'], d: Pick<Conv1dDims, 'cIn' | 'cOut'>): boolean {
  const slice = Math.max(GEMM_TILES.small.K, GEMM_TILES.large.K);
  if (variant === 'FWD') return d.cIn % slice === 0;
  if (variant === 'DX') return d.cOut % slice === 0;
  return false;
}

function describe(d: Conv1dDims): string {
  return `[${d.batch},${d.cIn},${d.lenIn}]->[${d.batch},${d.cOut},${d.lenOut}] k${d.taps} d${d.dilation} s${d.stride} p${d.padding}`;
}

export async function conv1d(s: ComputeSession, x: GpuTensor, w: GpuTensor, bias: GpuTensor | undefined, y: GpuTensor, opts: Conv1dOptions = {}): Promise<void> {
  const op = 'conv1d';
  const d = conv1dDims(x, w, opts);
  const activation = opts.activation ?? 'none';
  const tensors = bias ? [x, w, y, bias] : [x, w, y];
  samePrecision(op, ...tensors);
  expectShape(op, y, [d.batch, d.cOut, d.lenOut], 'batch, out channels, output length');
  if (bias) expectShape(op, bias, [d.cOut], 'one bias per out channel');
  expectBindable(op, s, ...tensors);
  await runConvGemm(s, d, {
    variant: 'FWD', gemm: { M: d.cOut, N: d.lenOut, K: d.cIn * d.taps, batches: d.batch, sumBatches: 1 },
    inputs: [x, w], out: y, x, y, w, bias, activation, label: opts.label ?? op, shapes: describe(d), ...conv1dCost(d, x, w, y, activation),
  });
}

export interface Conv1dGrads {
  /** [B, Cin, L] */
  dx?: GpuTensor;
  /** [Cout, Cin, k] */
  dw?: GpuTensor;
  /** [Cout] */
  db?: GpuTensor;
}

/** dx by the patch form: stride = taps, no dilation or padding, patches tiling x exactly (the downsampler). */
export function usesPatchBackward(d: Conv1dDims, precision: GpuTensor['precision']): boolean {
  const patch = d.stride === d.taps && d.dilation === 1 && d.padding === 0 && d.lenIn === d.lenOut * d.taps;
  // Packed halves are stored two taps to a word: a patch of odd length would split words between invocations.
  return patch && (precision !== 'f16-storage' || d.taps % 2 === 0);
}

/** Gradients given dy = dL/dy taken before the activation (run the activation's backward first if it was fused). */
export async function conv1dBackward(s: ComputeSession, x: GpuTensor, w: GpuTensor, dy: GpuTensor, grads: Conv1dGrads, opts: Conv1dGeometry & { label?: string } = {}): Promise<void> {
  const op = 'conv1d backward';
  const label = opts.label ?? 'conv1d';
  const d = conv1dDims(x, w, opts);
  const given = [grads.dx, grads.dw, grads.db].filter((t): t is GpuTensor => Boolean(t));
  samePrecision(op, x, w, dy, ...given);
  expectShape(op, dy, [d.batch, d.cOut, d.lenOut], 'dL/dy has the shape of y');
  if (grads.dx) expectShape(op, grads.dx, x.shape, `dL/dx has the shape of ${x.label}`);
  if (grads.dw) expectShape(op, grads.dw, w.shape, `dL/dw has the shape of ${w.label}`);
  if (grads.db) expectShape(op, grads.db, [d.cOut], 'one bias per out channel');
  expectBindable(op, s, x, w, dy, ...given);
  const macs = d.batch * d.cOut * d.lenOut * d.cIn * d.taps;
  if (grads.dx) {
    const patch = usesPatchBackward(d, x.precision);
    const gemm = patch
      ? { M: d.cIn * d.taps, N: d.lenOut, K: d.cOut, batches: d.batch, sumBatches: 1 }
      : { M: d.cIn, N: d.lenIn, K: d.cOut * d.taps, batches: d.batch, sumBatches: 1 };
    await runConvGemm(s, d, {
      variant: patch ? 'DX_PATCH' : 'DX', gemm, inputs: [dy, w], out: grads.dx, x, y: dy, w, label: `${label}.bwd.dx`,
      shapes: describe(d), flops: 2 * macs, bytes: dy.bytes + w.bytes + grads.dx.bytes,
    });
  }
  if (grads.dw) {
    await runConvGemm(s, d, {
      variant: 'DW', gemm: { M: d.cOut, N: d.cIn * physicalRow(w), K: d.lenOut, batches: 1, sumBatches: d.batch },
      inputs: [dy, x], out: grads.dw, x, y: dy, w, label: `${label}.bwd.dw`,
      shapes: describe(d), flops: 2 * macs, bytes: dy.bytes + x.bytes + grads.dw.bytes,
    });
  }
  if (grads.db) await sumKeep(s, dy, grads.db, 1, `${label}.bwd.db`);
}

// ---- float64 CPU references ----

export interface Conv1dRefDims {
  batch: number;
  cIn: number;
  cOut: number;
  lenIn: number;
  taps: number;
  stride: number;
  dilation: number;
  padding: number;
}

export function refOutputLength(d: Conv1dRefDims): number {
  return Math.floor((d.lenIn + 2 * d.padding - d.dilation * (d.taps - 1) - 1) / d.stride) + 1;
}

export function conv1dReference(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | undefined, d: Conv1dRefDims, activation: Activation = 'none'): Float64Array {
  const lenOut = refOutputLength(d);
  const y = new Float64Array(d.batch * d.cOut * lenOut);
  for (let b = 0; b < d.batch; b++) {
    for (let co = 0; co < d.cOut; co++) {
      for (let l = 0; l < lenOut; l++) {
        let acc = bias ? bias[co]! : 0;
        for (let ci = 0; ci < d.cIn; ci++) {
          for (let j = 0; j < d.taps; j++) {
            const u = l * d.stride - d.padding + j * d.dilation;
            if (u >= 0 && u < d.lenIn) acc += w[(co * d.cIn + ci) * d.taps + j]! * x[(b * d.cIn + ci) * d.lenIn + u]!;
          }
        }
        y[(b * d.cOut + co) * lenOut + l] = activationReference(activation, acc);
      }
    }
  }
  return y;
}

/** By the definition: every (output, tap) product scatters its gradient to the x and w it used. */
export function conv1dBackwardReference(x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, d: Conv1dRefDims): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const lenOut = refOutputLength(d);
  const dx = new Float64Array(d.batch * d.cIn * d.lenIn);
  const dw = new Float64Array(d.cOut * d.cIn * d.taps);
  const db = new Float64Array(d.cOut);
  for (let b = 0; b < d.batch; b++) {
    for (let co = 0; co < d.cOut; co++) {
      for (let l = 0; l < lenOut; l++) {
        const g = dy[(b * d.cOut + co) * lenOut + l]!;
        db[co]! += g;
        for (let ci = 0; ci < d.cIn; ci++) {
          for (let j = 0; j < d.taps; j++) {
            const u = l * d.stride - d.padding + j * d.dilation;
            if (u < 0 || u >= d.lenIn) continue;
            dx[(b * d.cIn + ci) * d.lenIn + u]! += g * w[(co * d.cIn + ci) * d.taps + j]!;
            dw[(co * d.cIn + ci) * d.taps + j]! += g * x[(b * d.cIn + ci) * d.lenIn + u]!;
          }
        }
      }
    }
  }
  return { dx, dw, db };
}
