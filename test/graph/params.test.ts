// V3 parameter counts: the per-module breakdown derived by hand from V3_MODEL.md, against the built graph.
import { describe, expect, it } from 'vitest';
import { buildV3 } from '../../src/graph/v3.ts';
import { preset } from '../../src/graph/config.ts';
import { paramsByModule } from '../../src/graph/accounting.ts';
import { numel } from '../../src/graph/ir.ts';

// Conv1d with weight norm: v (out*in*k) + g (out) + bias (out).
const wnConv = (i: number, o: number, k: number) => o * i * k + o + o;
// Plain Conv1d / Linear with bias.
const conv = (i: number, o: number, k = 1) => o * i * k + o;

/** One Mamba2 block (ngroups 1): in_proj, depthwise conv (+bias), dt_bias, A_log, D, norm, out_proj. */
function mamba2(D: number, N: number, expand: number, P: number, dConv = 4): number {
  const dInner = expand * D, H = dInner / P;
  const inProj = D * (2 * dInner + 2 * N + H);
  const convCh = dInner + 2 * N;
  return inProj + convCh * dConv + convCh + 3 * H + dInner + dInner * D;
}
/** Bi-Mamba2 layer: two blocks, Linear 2D -> D (+bias), LayerNorm (weight + bias). */
const biLayer = (D: number, N: number, expand: number, P: number) => 2 * mamba2(D, N, expand, P) + conv(2 * D, D) + 2 * D;

describe('v3 parameter count', () => {
  const ir = buildV3('v3', preset('v3'));
  const modules = paramsByModule(ir);

  it('TCN: 8 weight-normed dilated convs + two 1x1 projections + the stride-16 downsampling = 7,370,304', () => {
    // 19->64: 64*19*7 + 64 + 64 = 8,640      64->128: 57,344 + 256 = 57,600      128->256: 229,376 + 512 = 229,888
    // 256->512: 917,504 + 1,024 = 918,528     512->64: 229,376 + 128 = 229,504    then 57,600, 229,888, 918,528 again
    const layers = 8_640 + 57_600 + 229_888 + 918_528 + 229_504 + 57_600 + 229_888 + 918_528; // 2,650,176
    const proj = 512 * 512 + 512; // 262,656, twice
    const down = 512 * 512 * 16 + 512; // 4,194,816
    expect(layers).toBe(2_650_176);
    const chans = [19, 64, 128, 256, 512, 64, 128, 256, 512];
    expect(chans.slice(1).reduce((s, o, i) => s + wnConv(chans[i]!, o, 7), 0)).toBe(layers);
    expect(modules.tcn).toBe(layers + 2 * proj + down);
    expect(modules.tcn).toBe(7_370_304); // V3_MODEL.md: "~7.37M"
  });

  it('electrode projection 1x1 512 -> 19*64 = 623,808', () => {
    expect(modules.electrodes).toBe(512 * 1216 + 1216);
    expect(modules.electrodes).toBe(623_808);
  });

  it('node stream: 6 Bi-Mamba2 layers at d_model 64 = 393,792', () => {
    // block: in_proj 64*(256+32+16)=19,456; conv 160*4+160=800; dt_bias/A_log/D 3*16=48; norm 128; out_proj 128*64=8,192
    expect(mamba2(64, 16, 2, 8)).toBe(19_456 + 800 + 48 + 128 + 8_192);
    expect(biLayer(64, 16, 2, 8)).toBe(2 * 28_624 + 8_256 + 128);
    expect(modules.node).toBe(6 * 65_632);
  });

  it('edge stream: lift 1->16, 2 Bi-Mamba2 layers at d_model 16, project 16->1 = 10,017', () => {
    // block: in_proj 16*(64+16+8)=1,408; conv 48*4+48=240; 3*8=24; norm 32; out_proj 32*16=512 -> 2,216
    expect(mamba2(16, 8, 2, 4)).toBe(2_216);
    expect(modules.edge).toBe(16 + 2 * (2 * 2_216 + 528 + 32) + 17);
    expect(modules.edge).toBe(10_017);
  });

  it('GNN: SSGConv 80->64 and 64->64 with LayerNorms = 9,600', () => {
    expect(modules.gnn).toBe(80 * 64 + 64 + 128 + 64 * 64 + 64 + 128);
  });

  it('head: 1x1 convs 1216->512->19, then 19->1 = 632,871', () => {
    expect(modules.head).toBe(conv(1216, 512) + conv(512, 19) + conv(19, 1));
    expect(modules.head).toBe(632_871);
  });

  it('total 9,040,392: within 0.2% of the "~9.05M live parameters" V3_MODEL.md states', () => {
    const total = Object.values(ir.params).reduce((s, p) => s + numel(p.shape), 0);
    expect(total).toBe(7_370_304 + 623_808 + 393_792 + 10_017 + 9_600 + 632_871);
    expect(Math.abs(total - 9.05e6) / 9.05e6).toBeLessThan(0.002);
    expect(Object.keys(modules).sort()).toEqual(['edge', 'electrodes', 'gnn', 'head', 'node', 'tcn']);
  });

  it('parameter names are PyTorch-style paths with the shapes torch would give', () => {
    expect(ir.params['tcn.layers.3.conv.weight_v']!.shape).toEqual([512, 256, 7]);
    expect(ir.params['tcn.layers.3.conv.weight_g']!.shape).toEqual([512, 1, 1]);
    expect(ir.params['node.layers.2.fwd.in_proj.weight']!.shape).toEqual([304, 64]);
    expect(ir.params['node.layers.2.bwd.conv1d.weight']!.shape).toEqual([160, 1, 4]);
    expect(ir.params['edge.layers.1.fwd.A_log']!.shape).toEqual([8]);
    expect(ir.params['gnn.layers.0.conv.lin.weight']!.shape).toEqual([64, 80]);
    expect(ir.buffers['pe.value']!.shape).toEqual([19, 16]);
  });
});

describe('v3-tiny', () => {
  it('keeps the topology: same node sequence as v3 apart from the layer counts, 19 electrodes, T = 160', () => {
    const tiny = buildV3('v3-tiny', preset('v3-tiny'));
    const full = buildV3('v3', preset('v3'));
    const strip = (id: string) => id.replace(/\.layers\.\d+\./, '.layers.*.');
    const ops = (ir: typeof tiny) => [...new Set(ir.nodes.map((n) => `${strip(n.id)}:${n.op}`))];
    expect(ops(tiny)).toEqual(ops(full));
    expect(tiny.tensors['eeg']!.shape).toEqual(['B', 19, 2560]);
    expect(tiny.tensors['tcn.down']!.shape).toEqual(['B', 32, 160]);
    expect(tiny.tensors['adjacency']!.shape).toEqual(['B', 160, 19, 19]);
    expect(tiny.tensors['logits']!.shape).toEqual(['B', 2560]);
  });
});
