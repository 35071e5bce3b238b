import type { KernelCase, TensorSpec } from '../../harness/kernel-harness.ts';
import type { ComputeSession } from '../../../src/gpu/session.ts';
import type { GpuTensor } from '../../../src/gpu/arena.ts';
import {
  type ScanDims, type ScanForm, type ScanInputs, defaultChunk, scanBackward, scanBackwardReference, scanChunked,
  scanReference, scanSequential, statesShape,
} from '../../../src/kernels/mamba-scan.ts';

/**
 * How the operands sit in memory. 'block': as the Mamba2 block leaves them, x|B|C slices of the conv output
 * [seqs, T, H*P + 2N] and dt a slice of the in_proj output [seqs, T, 2*H*P + 2N + H] (z, x, B, C before it);
 * 'separate': the conv output [x | B | C] and dt in tensors of their own, leading dimensions [2, seqs/2] (they flatten).
 */
type Layout = 'block' | 'separate';

interface ScanCase extends ScanDims {
  layout: Layout;
  fused: boolean;
  reverse: boolean;
  chunk?: number;
  /** No backward case (over its 256 channels). */
  forwardOnly?: boolean;
}

/** Node stream (P 8, N 16, 16 heads), edge stream (P 4, N 8, 8 heads), T 1 / 7 / 64 / 130, odd P, many sequences. */
export const SCAN_SHAPES: ScanCase[] = [
  { seqs: 3, T: 130, heads: 16, headDim: 8, dState: 16, layout: 'block', fused: true, reverse: false },
  { seqs: 2, T: 130, heads: 16, headDim: 8, dState: 16, layout: 'block', fused: true, reverse: true },
  { seqs: 6, T: 64, heads: 8, headDim: 4, dState: 8, layout: 'separate', fused: false, reverse: true },
  { seqs: 4, T: 1, heads: 2, headDim: 2, dState: 4, layout: 'separate', fused: true, reverse: true },
  { seqs: 3, T: 7, heads: 2, headDim: 3, dState: 6, layout: 'block', fused: false, reverse: false, chunk: 3 },
  { seqs: 40, T: 7, heads: 8, headDim: 4, dState: 8, layout: 'block', fused: true, reverse: false, chunk: 4 },
  // The chunked output's paths past the v3 shapes: P 10 = head blocks of 8 and 2; 27 steps x 5 heads x 2 blocks =
  // 270 intra-chunk items, over one round of 256 invocations with a step split between the rounds.
  { seqs: 2, T: 60, heads: 5, headDim: 10, dState: 6, layout: 'separate', fused: true, reverse: false, chunk: 27 },
  // 520 channels: more channel pairs (260) than invocations in the carried-state pass (forward only).
  { seqs: 1, T: 3, heads: 1, headDim: 520, dState: 2, layout: 'block', fused: false, reverse: true, chunk: 2, forwardOnly: true },
];

const CH = (c: ScanDims) => c.heads * c.headDim;
const convWidth = (c: ScanDims) => CH(c) + 2 * c.dState;
const projWidth = (c: ScanDims) => 2 * CH(c) + 2 * c.dState + c.heads;

/** Channels [off, off + width) of a [rows, C] host array. */
function sliceChannels(v: Float64Array, C: number, off: number, width: number): Float64Array {
  const rows = v.length / C;
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(v.subarray(r * C + off, r * C + off + width), r * width);
  return out;
}

/** Rows of several [rows, w_i] arrays side by side: [rows, sum w_i]. */
function concatChannels(parts: [Float64Array, number][]): Float64Array {
  const rows = parts[0]![0].length / parts[0]![1];
  const C = parts.reduce((a, [, w]) => a + w, 0);
  const out = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let o = 0;
    for (const [v, w] of parts) {
      out.set(v.subarray(r * w, r * w + w), r * C + o);
      o += w;
    }
  }
  return out;
}

function lead(c: ScanCase): number[] {
  return c.layout === 'separate' && c.seqs % 2 === 0 ? [2, c.seqs / 2] : [c.seqs];
}

// dt: raw in [-3, 0] before softplus(dt + bias) with bias in [-2, 0]; or positive directly. A in [-3, -0.5].
function inputSpecs(c: ScanCase): TensorSpec[] {
  const L = lead(c);
  const specs: TensorSpec[] = [];
  if (c.layout === 'block') {
    specs.push({ name: 'xbc', shape: [c.seqs, c.T, convWidth(c)], range: [-1, 1] });
    specs.push({ name: 'zxbcdt', shape: [c.seqs, c.T, projWidth(c)], range: c.fused ? [-3, 0] : [0.01, 0.4] });
  } else {
    // x, B and C always share one tensor (the kernels bind it once); here it stands alone, with split leading dims.
    specs.push({ name: 'xbc', shape: [...L, c.T, convWidth(c)], range: [-1, 1] });
    specs.push({ name: 'dt', shape: [...L, c.T, c.heads], range: c.fused ? [-3, 0] : [0.01, 0.4] });
  }
  specs.push({ name: 'A', shape: [c.heads], range: [-3, -0.5] }, { name: 'D', shape: [c.heads], range: [0.5, 1.5] });
  if (c.fused) specs.push({ name: 'dtBias', shape: [c.heads], range: [-2, 0] });
  return specs;
}

function gpuInputs(c: ScanCase, t: Record<string, GpuTensor>): ScanInputs {
  const fusedBias = c.fused ? { dtBias: t.dtBias! } : {};
  if (c.layout === 'block') {
    return {
      x: { tensor: t.xbc! }, B: { tensor: t.xbc!, offset: CH(c) }, C: { tensor: t.xbc!, offset: CH(c) + c.dState },
      dt: { tensor: t.zxbcdt!, offset: 2 * CH(c) + 2 * c.dState }, A: t.A!, D: t.D!, ...fusedBias,
    };
  }
  return {
    x: { tensor: t.xbc! }, B: { tensor: t.xbc!, offset: CH(c) }, C: { tensor: t.xbc!, offset: CH(c) + c.dState },
    dt: { tensor: t.dt! }, A: t.A!, D: t.D!, ...fusedBias,
  };
}

function hostInputs(c: ScanCase, i: Record<string, Float64Array>) {
  const common = { A: i.A!, D: i.D!, dtBias: c.fused ? i.dtBias! : undefined };
  if (c.layout === 'block') {
    const W = convWidth(c);
    return {
      x: sliceChannels(i.xbc!, W, 0, CH(c)), B: sliceChannels(i.xbc!, W, CH(c), c.dState),
      C: sliceChannels(i.xbc!, W, CH(c) + c.dState, c.dState),
      dt: sliceChannels(i.zxbcdt!, projWidth(c), 2 * CH(c) + 2 * c.dState, c.heads), ...common,
    };
  }
  const W = convWidth(c);
  return {
    x: sliceChannels(i.xbc!, W, 0, CH(c)), B: sliceChannels(i.xbc!, W, CH(c), c.dState),
    C: sliceChannels(i.xbc!, W, CH(c) + c.dState, c.dState), dt: i.dt!, ...common,
  };
}

function describe(c: ScanCase): string {
  return `seqs ${c.seqs} T ${c.T} H ${c.heads} P ${c.headDim} N ${c.dState} ${c.layout}${c.fused ? ' softplus(dt+bias)' : ''}${c.reverse ? ' reverse' : ''} chunk ${c.chunk ?? defaultChunk(c.dState)}`;
}

async function forward(s: ComputeSession, c: ScanCase, form: ScanForm, inp: ScanInputs, y: GpuTensor): Promise<GpuTensor> {
  const chunk = c.chunk ?? defaultChunk(c.dState);
  const states = await s.scratch(statesShape(c, chunk), 'f32', 'states');
  const opts = { reverse: c.reverse, chunk };
  if (form === 'sequential') await scanSequential(s, c, inp, { tensor: y }, { ...opts, states });
  else await scanChunked(s, c, inp, { tensor: y }, states, opts);
  return states;
}

export function mambaScanCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const c of SCAN_SHAPES) {
    // The chunked form writes channel pairs within a head: an odd P goes to the sequential form only.
    const forms: ScanForm[] = c.headDim % 2 ? ['sequential'] : ['sequential', 'chunked'];
    for (const form of forms) {
      cases.push({
        name: `mamba scan ${form} ${describe(c)}`,
        inputs: inputSpecs(c),
        outputs: [{ name: 'y', shape: [...lead(c), c.T, CH(c)] }],
        run: async (s, t) => { await forward(s, c, form, gpuInputs(c, t), t.y!); },
        reference: (i) => ({ y: scanReference(c, hostInputs(c, i), c.reverse).y }),
      });
    }
    if (c.forwardOnly) continue;
    // Backward from the states each forward form saved (the chunked form's pass leaves the same ones).
    const form: ScanForm = c.layout === 'block' ? 'sequential' : 'chunked';
    cases.push({
      name: `mamba scan.bwd (states from ${form}) ${describe(c)}`,
      inputs: [...inputSpecs(c), { name: 'dy', shape: [c.seqs, c.T, CH(c)], range: [-1, 1] }],
      outputs: [
        { name: 'dxbc', shape: [c.seqs, c.T, convWidth(c)] },
        { name: 'ddt', shape: [c.seqs, c.T, c.heads] },
        { name: 'dA', shape: [c.heads] },
        { name: 'dD', shape: [c.heads] },
        ...(c.fused ? [{ name: 'dDtBias', shape: [c.heads] }] : []),
      ],
      run: async (s, t) => {
        const inp = gpuInputs(c, t);
        const y = await s.scratch([c.seqs, c.T, CH(c)], t.dy!.precision, 'y');
        const states = await forward(s, c, form, inp, y);
        await scanBackward(s, c, inp, { tensor: t.dy! }, states, {
          dxBC: { tensor: t.dxbc!, xOffset: 0, bOffset: CH(c), cOffset: CH(c) + c.dState },
          ddt: { tensor: t.ddt! }, dA: t.dA!, dD: t.dD!, dDtBias: c.fused ? t.dDtBias : undefined,
        }, { reverse: c.reverse, chunk: c.chunk ?? defaultChunk(c.dState) });
      },
      reference: (i) => {
        const g = scanBackwardReference(c, hostInputs(c, i), i.dy!, c.reverse);
        return {
          dxbc: concatChannels([[g.dx, CH(c)], [g.dB, c.dState], [g.dC, c.dState]]),
          ddt: g.ddt, dA: g.dA, dD: g.dD, ...(c.fused ? { dDtBias: g.dDtBias } : {}),
        };
      },
    });
  }
  return cases;
}
