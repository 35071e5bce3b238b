// The scan form per shape: the rule (chunked for few sequences, sequential for many, at SCAN_CHUNKED_BELOW
// sequential-form invocations), and scanForward, which the Mamba2 lowering calls, running the form the rule
// picks (or the sequential one where the chunked form cannot run) against the float64 recurrence. CPU adapters
// (CI's) always run the sequential form, so the cases run twice: as the adapter is, and as a GPU adapter (the
// same session with `cpuAdapter` off), which takes the chunked branch here too.
import { describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { describeResult, runKernelCase, type KernelCase } from '../harness/kernel-harness.ts';
import { PRECISIONS, type Precision } from '../../src/gpu/precision.ts';
import { asGpuAdapter } from './gpu-adapter-view.ts';
import {
  SCAN_CHUNKED_BELOW, chunkedScanRuns, chunkedWorkgroupBytes, scanFormFor, scanForward, scanReference, sequentialInvocations, statesShape,
  type ScanDims, type ScanForm,
} from '../../src/kernels/mamba-scan.ts';

const gpu = await testGpu();

/** The v3 streams (KERNELS.md): B*19 node sequences (16 heads of P 8), B*171 edge sequences (8 heads of P 4). */
const node = (batch: number): ScanDims => ({ seqs: 19 * batch, T: 960, heads: 16, headDim: 8, dState: 16 });
const edge = (batch: number): ScanDims => ({ seqs: 171 * batch, T: 960, heads: 8, headDim: 4, dState: 8 });

describe('scan form rule', () => {
  it('takes the chunked form while the sequential one would leave a large GPU idle, and the sequential one after', () => {
    expect(scanFormFor(node(1))).toBe('chunked');
    expect(scanFormFor(edge(1))).toBe('chunked');
    // The crossover sits at the constant, whatever the stream: one sequence fewer is chunked.
    for (const base of [node(1), edge(1)]) {
      const pairs = sequentialInvocations({ ...base, seqs: 1 });
      const seqs = Math.ceil(SCAN_CHUNKED_BELOW / pairs);
      expect(scanFormFor({ ...base, seqs })).toBe('sequential');
      expect(scanFormFor({ ...base, seqs: seqs - 1 })).toBe('chunked');
    }
    // The measured v3 choices on an H100: both streams chunked at batch 1 and 4, sequential at batch 16.
    for (const b of [1, 4]) expect([scanFormFor(node(b)), scanFormFor(edge(b))]).toEqual(['chunked', 'chunked']);
    expect([scanFormFor(node(16)), scanFormFor(edge(16))]).toEqual(['sequential', 'sequential']);
  });

  it('falls back to the sequential form where the chunked one cannot run', () => {
    const oddP: ScanDims = { seqs: 3, T: 7, heads: 2, headDim: 3, dState: 6 };
    expect(chunkedScanRuns(oddP, 'f16-storage', 16384)).toBe(false);
    expect(chunkedScanRuns(oddP, 'f32', 16384)).toBe(true);
    expect(chunkedScanRuns(node(1), 'f32', chunkedWorkgroupBytes(node(1), 16) - 1, 16)).toBe(false);
  });
});

interface FormCase {
  d: ScanDims;
  want: (p: Precision) => ScanForm;
}

const FORM_CASES: FormCase[] = [
  // Few sequences, T not a multiple of the chunk (32 at N 6): chunked. (Heads and N as below: the chunked
  // pipelines, specialised on them, compile once; lavapipe takes seconds per pipeline.)
  { d: { seqs: 5, T: 37, heads: 2, headDim: 4, dState: 6 }, want: () => 'chunked' },
  // Odd P: chunked except in f16-storage, where the chunked form would split packed pairs.
  { d: { seqs: 3, T: 9, heads: 2, headDim: 3, dState: 6 }, want: (p) => (p === 'f16-storage' ? 'sequential' : 'chunked') },
  // Exactly SCAN_CHUNKED_BELOW sequential invocations (12,288 sequences of one channel pair): sequential.
  { d: { seqs: SCAN_CHUNKED_BELOW, T: 3, heads: 1, headDim: 2, dState: 2 }, want: () => 'sequential' },
];

function formCase(c: FormCase, ran: { form?: ScanForm }, gpuView: boolean): KernelCase {
  const { d } = c;
  const CH = d.heads * d.headDim;
  const W = CH + 2 * d.dState;
  const slice = (v: Float64Array, off: number, width: number) => {
    const out = new Float64Array((v.length / W) * width);
    for (let r = 0; r < v.length / W; r++) out.set(v.subarray(r * W + off, r * W + off + width), r * width);
    return out;
  };
  return {
    name: `scanForward seqs ${d.seqs} T ${d.T} H ${d.heads} P ${d.headDim} N ${d.dState}`,
    inputs: [
      { name: 'xbc', shape: [d.seqs, d.T, W], range: [-1, 1] },
      { name: 'dt', shape: [d.seqs, d.T, d.heads], range: [0.01, 0.4] },
      { name: 'A', shape: [d.heads], range: [-3, -0.5] },
      { name: 'D', shape: [d.heads], range: [0.5, 1.5] },
    ],
    outputs: [{ name: 'y', shape: [d.seqs, d.T, CH] }],
    run: async (session, t) => {
      const s = gpuView ? asGpuAdapter(session) : session;
      const states = await s.scratch(statesShape(d), 'f32', 'states');
      ran.form = await scanForward(s, d, {
        x: { tensor: t.xbc! }, B: { tensor: t.xbc!, offset: CH }, C: { tensor: t.xbc!, offset: CH + d.dState }, dt: { tensor: t.dt! }, A: t.A!, D: t.D!,
      }, { tensor: t.y! }, { states });
    },
    reference: (i) => ({
      y: scanReference(d, { x: slice(i.xbc!, 0, CH), B: slice(i.xbc!, CH, d.dState), C: slice(i.xbc!, CH + d.dState, d.dState), dt: i.dt!, A: i.A!, D: i.D! }).y,
    }),
  };
}

describe.each(PRECISIONS)('scanForward runs the form the rule picks (%s)', (precision) => {
  const cpu = Boolean(gpu.session?.gpu.info.cpuAdapter);
  for (const gpuView of cpu ? [false, true] : [false]) {
    for (const c of FORM_CASES) {
      const ran: { form?: ScanForm } = {};
      const kc = formCase(c, ran, gpuView);
      const want = cpu && !gpuView ? 'sequential' : c.want(precision);
      it.skipIf(!gpu.precisions.includes(precision))(`${kc.name}${gpuView ? ' (seen as a GPU adapter)' : ''}: ${want}`, async () => {
        const r = await runKernelCase(gpu.session!, kc, precision);
        expect(r.pass, describeResult(r)).toBe(true);
        expect(ran.form).toBe(want);
      });
    }
  }

  it.skipIf(!gpu.precisions.includes(precision))('refuses to take the chunked form without its states workspace', async () => {
    const s = gpu.session!;
    const d: ScanDims = { seqs: 2, T: 4, heads: 1, headDim: 2, dState: 2 };
    const xbc = await s.arena.tensor([2, 4, 6], precision, 'xbc');
    const dt = await s.arena.tensor([2, 4, 1], precision, 'dt');
    const h = await s.arena.tensor([1], precision, 'h');
    try {
      await expect(scanForward(s, d, { x: { tensor: xbc }, B: { tensor: xbc, offset: 2 }, C: { tensor: xbc, offset: 4 }, dt: { tensor: dt }, A: h, D: h }, { tensor: xbc })).rejects.toThrow(/states workspace/);
    } finally {
      await s.discard();
      for (const t of [xbc, dt, h]) s.arena.release(t);
    }
  });
});
