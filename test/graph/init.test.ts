// Seeded initialisation (V3_MODEL.md rules) and weights files checked against the IR.
import { describe, expect, it } from 'vitest';
import { buildV3 } from '../../src/graph/v3.ts';
import { applyOverrides, preset } from '../../src/graph/config.ts';
import { initWeights } from '../../src/graph/init.ts';
import { encodeWeights, loadWeights } from '../../src/graph/weights.ts';
import { readSafetensors, writeSafetensors } from '../../src/graph/safetensors.ts';

const ir = buildV3('v3-tiny', preset('v3-tiny'));
const w = initWeights(ir, 42);
const data = (k: string) => Array.from(w.get(k)!.data);
const softplus = (x: number) => Math.log1p(Math.exp(x));

describe('seeded init', () => {
  it('covers every parameter and buffer with its declared shape', () => {
    expect([...w.keys()].sort()).toEqual([...Object.keys(ir.params), ...Object.keys(ir.buffers)].sort());
    for (const [k, p] of Object.entries(ir.params)) expect(w.get(k)!.data.length, k).toBe(p.shape.reduce((a, b) => a * b, 1));
  });

  it('is reproducible for a seed and differs between seeds', () => {
    const again = initWeights(ir, 42), other = initWeights(ir, 43);
    for (const k of w.keys()) expect(Array.from(again.get(k)!.data), k).toEqual(data(k));
    expect(Array.from(other.get('tcn.layers.0.conv.weight_v')!.data)).not.toEqual(data('tcn.layers.0.conv.weight_v'));
  });

  it('draws each parameter from its own stream: adding layers leaves the others unchanged', () => {
    const deeper = initWeights(buildV3('v3-tiny', applyOverrides(preset('v3-tiny'), ['node.layers=3'])), 42);
    expect(Array.from(deeper.get('node.layers.0.fwd.in_proj.weight')!.data)).toEqual(data('node.layers.0.fwd.in_proj.weight'));
    expect(Array.from(deeper.get('head.conv1.weight')!.data)).toEqual(data('head.conv1.weight'));
  });

  it('conv and linear weights and biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch default)', () => {
    const check = (k: string, fanIn: number) => {
      const v = data(k), b = 1 / Math.sqrt(fanIn);
      expect(ir.params[k]!.init).toEqual({ dist: 'uniform', bound: b });
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(b);
      // spread: a uniform draw of this size fills most of its range and has variance b^2/3
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.9 * b);
      const variance = v.reduce((s, x) => s + x * x, 0) / v.length;
      // the relative spread of that estimate is sqrt(0.8 / n): allow four of them
      expect(Math.abs(variance / (b * b / 3) - 1)).toBeLessThan(4 * Math.sqrt(0.8 / v.length));
    };
    check('tcn.layers.1.conv.weight_v', 8 * 7);
    check('tcn.down.weight', 32 * 16);
    check('head.conv1.weight', 19 * 16);
    check('node.layers.0.fwd.in_proj.weight', 16);
    check('node.layers.0.fwd.conv1d.weight', 4);
    check('gnn.layers.0.conv.lin.weight', 32);
  });

  it('weight norm: g = |v| per output channel, so w = v at init', () => {
    const v = w.get('tcn.layers.2.conv.weight_v')!, g = data('tcn.layers.2.conv.weight_g');
    const [o, i, k] = v.shape as [number, number, number];
    for (let c = 0; c < o; c++) {
      let s = 0;
      for (let j = 0; j < i * k; j++) s += v.data[c * i * k + j]! ** 2;
      expect(g[c]).toBeCloseTo(Math.sqrt(s), 6);
    }
  });

  it('Mamba2: softplus(dt_bias) in [1e-3, 0.1], exp(A_log) in [1, 16], D = 1, norm weight 1', () => {
    for (const k of ['node.layers.0.fwd', 'node.layers.1.bwd', 'edge.layers.0.fwd']) {
      for (const x of data(`${k}.dt_bias`)) {
        expect(softplus(x)).toBeGreaterThanOrEqual(1e-3 * (1 - 1e-5));
        expect(softplus(x)).toBeLessThanOrEqual(0.1 * (1 + 1e-5));
      }
      for (const x of data(`${k}.A_log`)) {
        expect(Math.exp(x)).toBeGreaterThanOrEqual(1 - 1e-5);
        expect(Math.exp(x)).toBeLessThanOrEqual(16 * (1 + 1e-5));
      }
      expect(new Set(data(`${k}.D`))).toEqual(new Set([1]));
      expect(new Set(data(`${k}.norm.weight`))).toEqual(new Set([1]));
      expect(ir.params[`${k}.dt_bias`]!.weight_decay || ir.params[`${k}.A_log`]!.weight_decay || ir.params[`${k}.D`]!.weight_decay).toBe(false);
    }
  });

  it('LayerNorm weight 1, bias 0; the PE buffer holds the IR values in f32', () => {
    expect(new Set(data('gnn.layers.0.norm.weight'))).toEqual(new Set([1]));
    expect(new Set(data('gnn.layers.0.norm.bias'))).toEqual(new Set([0]));
    expect(data('pe.value')).toEqual(Array.from(Float32Array.from(ir.buffers['pe.value']!.values)));
  });
});

describe('weights files', () => {
  const file = encodeWeights(ir, w, 42);

  it('round-trip through safetensors with the metadata of docs/ir.md', () => {
    expect(readSafetensors(file).metadata).toEqual({ format: 'ictal', ictal_ir: '1', graph: 'v3-tiny', seed: '42' });
    const back = loadWeights(ir, file);
    for (const k of w.keys()) expect(Array.from(back.get(k)!.data), k).toEqual(data(k));
  });

  const altered = (f: (m: Map<string, { dtype?: 'F32' | 'I32'; shape: number[]; data: Float32Array | Uint8Array }>) => void) => {
    const m = new Map<string, { dtype?: 'F32' | 'I32'; shape: number[]; data: Float32Array | Uint8Array }>(w);
    f(m);
    return writeSafetensors(m);
  };
  it('refuses a missing parameter', () => {
    expect(() => loadWeights(ir, altered((m) => m.delete('head.out.bias')))).toThrow('weights: parameter "head.out.bias" [1] is missing from the file');
  });
  it('refuses a wrong shape', () => {
    expect(() => loadWeights(ir, altered((m) => m.set('head.out.bias', { shape: [1, 1], data: new Float32Array(1) })))).toThrow('weights: "head.out.bias" has shape [1, 1] in the file, the graph declares [1]');
  });
  it('refuses a tensor the graph does not declare', () => {
    expect(() => loadWeights(ir, altered((m) => m.set('extra.weight', { shape: [1], data: new Float32Array(1) })))).toThrow('weights: tensor "extra.weight" is not a parameter or buffer of graph "v3-tiny"');
  });
  it('refuses integer parameters', () => {
    expect(() => loadWeights(ir, altered((m) => m.set('head.out.bias', { dtype: 'I32', shape: [1], data: new Uint8Array(4) })))).toThrow('weights: "head.out.bias" is I32; parameters must be floating point');
  });
});
