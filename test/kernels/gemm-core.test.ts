// Which GEMM core matmul and conv1d run on here, and the subgroup-matrix core checked as far as this adapter allows:
// - the choice follows the device's facts, and a test prints LOUDLY when the tensor-core path was not exercised;
// - the real core's WGSL parses (Dawn refuses its `enable` without the feature, so it is checked with the enable
//   left out: then its only complaints may be about the subgroup-matrix names it no longer knows);
// - the emulated core (the same kernel with plain-WGSL stand-ins for the four builtins) runs every matmul and conv1d
//   case against the float64 references in the f16 modes, for NVIDIA's geometry and two others.
// On a device with the feature, the kernel cases themselves run on the real core (test/kernels/run-cases.ts prints
// the core per case). The f16 modes' tolerance covers the core: their values are halves already, summed in f32.
import { afterEach, describe, expect, it } from 'vitest';
import { testGpu } from '../harness/node-gpu-session.ts';
import { describeResult, runKernelCase } from '../harness/kernel-harness.ts';
import type { Precision } from '../../src/gpu/precision.ts';
import { preprocessShader } from '../../src/gpu/shader-preprocessor.ts';
import { matmul } from '../../src/kernels/matmul.ts';
import {
  type GemmCore, type SubgroupMatrixConfig, SUBGROUP_MATRIX_FEATURE, describeGemmCore, gemmCore, gemmDefines, gemmShader,
  gemmSwizzleFromEnv, gemmTileFromEnv, overrideGemmCore, overrideGemmTile, pickSubgroupMatrixCore, sgmLargeTile, subgroupMatrixFacts, takeGemmCoresUsed,
} from '../../src/kernels/gemm-subgroup-matrix.ts';
import { type GemmTile, LARGE_TILE_MIN_WORKGROUPS, pickGemmTile, splitPlan } from '../../src/kernels/gemm-split.ts';
import { matmulCases } from './cases/matmul.cases.ts';
import { conv1dCases } from './cases/conv1d.cases.ts';
import matmulSource from '../../shaders/matmul.wgsl?raw';
import convSource from '../../shaders/conv1d.wgsl?raw';
import activationSource from '../../shaders/activation.wgsl?raw';

const gpu = await testGpu();
const session = gpu.session;
const f16Modes = gpu.precisions.filter((p): p is Precision => p !== 'f32');

const ALL = [SUBGROUP_MATRIX_FEATURE, 'shader-f16', 'subgroups'];
const cfg = (componentType: string, resultComponentType: string, M: number, N: number, K: number): SubgroupMatrixConfig => ({ componentType, resultComponentType, M, N, K });

describe('choosing the subgroup-matrix config', () => {
  it('takes the largest f16 -> f32 config that splits the 32 x 32 x 16 block evenly over the subgroups', () => {
    // As NVIDIA's Vulkan driver lists them (f16 results first, larger shapes that do not fit the block too).
    const nvidia = [cfg('f16', 'f16', 16, 16, 16), cfg('f16', 'f32', 16, 8, 16), cfg('f16', 'f32', 16, 16, 16), cfg('f16', 'f32', 16, 8, 8), cfg('f16', 'f32', 64, 64, 16)];
    expect(pickSubgroupMatrixCore({ features: ALL, configs: nvidia, subgroupMinSize: 32, subgroupMaxSize: 32 }))
      .toMatchObject({ kind: 'subgroup-matrix', M: 16, N: 16, K: 16, subgroupSize: 32, emulated: false });
    // 8 x 8 x 8 over 8 subgroups of 8: 16 tiles, 2 each.
    expect(pickSubgroupMatrixCore({ features: ALL, configs: [cfg('f32', 'f32', 8, 8, 8), cfg('f16', 'f32', 8, 8, 8)], subgroupMinSize: 8, subgroupMaxSize: 8 }))
      .toMatchObject({ kind: 'subgroup-matrix', M: 8, N: 8, K: 8, subgroupSize: 8 });
  });
  it('says why it keeps the tiled core', () => {
    const ok = [cfg('f16', 'f32', 16, 16, 16)];
    const why = (facts: Parameters<typeof pickSubgroupMatrixCore>[0]) => {
      const r = pickSubgroupMatrixCore(facts);
      expect(r.kind).toBe('tiled');
      return r.kind === 'tiled' ? r.why : '';
    };
    expect(why({ features: ['shader-f16', 'subgroups'], configs: ok, subgroupMinSize: 32, subgroupMaxSize: 32 })).toMatch(/lacks chromium-experimental-subgroup-matrix/);
    expect(why({ features: [SUBGROUP_MATRIX_FEATURE, 'subgroups'], configs: ok, subgroupMinSize: 32, subgroupMaxSize: 32 })).toMatch(/lacks shader-f16/);
    expect(why({ features: ALL, configs: ok, subgroupMinSize: 8, subgroupMaxSize: 32 })).toMatch(/subgroup size varies \(8 - 32\)/);
    expect(why({ features: ALL, configs: ok, subgroupMinSize: 128, subgroupMaxSize: 128 })).toMatch(/does not divide the workgroup of 64/);
    // f16 results only; and a 16 x 16 tile cannot be shared by 8 subgroups of 8 (4 tiles).
    expect(why({ features: ALL, configs: [cfg('f16', 'f16', 16, 16, 16)], subgroupMinSize: 32, subgroupMaxSize: 32 })).toMatch(/offered: f16->f16 16x16x16/);
    expect(why({ features: ALL, configs: ok, subgroupMinSize: 8, subgroupMaxSize: 8 })).toMatch(/over 8 subgroups/);
    expect(why({ features: ALL, configs: [], subgroupMinSize: 32, subgroupMaxSize: 32 })).toMatch(/offered: none/);
  });
});

describe('choosing the GEMM tile', () => {
  const shape = (M: number, N: number, K: number, batches = 1, sumBatches = 1) => ({ M, N, K, batches, sumBatches });
  it('takes the large tile for the v3 TCN convolutions and the small one for narrow or few-tile products', () => {
    // Forward [B, Cout, Lout] = W [Cout, Cin k] X: layers.7 (256 -> 512, k7) at b16 and b1, the 1x1 projection.
    expect(pickGemmTile(shape(512, 15360, 256 * 7, 16))).toBe('large');
    expect(pickGemmTile(shape(512, 15360, 256 * 7, 1))).toBe('large');
    // layers.4 (512 -> 64) at b1 is 240 large tiles, below the 264 of two per SM: small; at b2, large.
    expect(pickGemmTile(shape(64, 15360, 512 * 7, 1))).toBe('small');
    expect(pickGemmTile(shape(64, 15360, 512 * 7, 2))).toBe('large');
    // dw [Cout, Cin k] summed over the batch: layers.7's 512 x 1792 is 224 large tiles, split-K makes them 448.
    expect(pickGemmTile(shape(512, 256 * 7, 15360, 1, 16), true)).toBe('large');
    expect(pickGemmTile(shape(512, 256 * 7, 15360, 1, 16), false)).toBe('small');
    // A Mamba projection with N 40, the head, a dw with N 35, too few tiles, and padding past a quarter (M 96).
    expect(pickGemmTile(shape(15360, 40, 64))).toBe('small');
    expect(pickGemmTile(shape(16, 2, 512))).toBe('small');
    expect(pickGemmTile(shape(64, 5 * 7, 15360, 1, 16), true)).toBe('small');
    // 19 inputs x 7 taps: 3 large tiles (20 % more padding than small), split-K lifts them past the minimum.
    expect(pickGemmTile(shape(64, 19 * 7, 15360, 1, 16), true)).toBe('large');
    expect(pickGemmTile(shape(64, 64 * (LARGE_TILE_MIN_WORKGROUPS - 1), 64))).toBe('small');
    expect(pickGemmTile(shape(64, 64 * LARGE_TILE_MIN_WORKGROUPS, 64))).toBe('large');
    expect(pickGemmTile(shape(96, 64 * LARGE_TILE_MIN_WORKGROUPS, 64))).toBe('small');
  });
  it('plans split-K in the tile\'s own slices and workgroups', () => {
    const g = shape(64, 19 * 7, 18240, 1, 1);
    const small = splitPlan(g, 2 ** 31, true, 'small');
    const large = splitPlan(g, 2 ** 31, true, 'large');
    expect([small.tilesM, small.tilesN, large.tilesM, large.tilesN]).toEqual([2, 5, 1, 3]);
    // Every K slice is covered once: splits x split tiles reach the slices, and one split fewer would not.
    for (const [p, k] of [[small, 16], [large, 32]] as const) {
      const slices = Math.ceil(18240 / k);
      expect(p.splits * p.splitTiles).toBeGreaterThanOrEqual(slices);
      expect((p.splits - 1) * p.splitTiles).toBeLessThan(slices);
      expect(p.workgroups).toBe(p.tilesM * p.tilesN * p.splits);
    }
    expect(large.splits).toBeGreaterThan(1);
  });
  it('reads ICTAL_GEMM_TILE', () => {
    expect(gemmTileFromEnv({})).toBeUndefined();
    expect(gemmTileFromEnv({ ICTAL_GEMM_TILE: 'auto' })).toBeUndefined();
    expect(gemmTileFromEnv({ ICTAL_GEMM_TILE: 'large' })).toBe('large');
    expect(gemmTileFromEnv({ ICTAL_GEMM_TILE: 'small' })).toBe('small');
    expect(() => gemmTileFromEnv({ ICTAL_GEMM_TILE: 'huge' })).toThrow(/ICTAL_GEMM_TILE must be small, large or auto, got "huge"/);
  });
  it('reads ICTAL_GEMM_SWIZZLE', () => {
    expect(gemmSwizzleFromEnv({})).toBe(true);
    expect(gemmSwizzleFromEnv({ ICTAL_GEMM_SWIZZLE: 'on' })).toBe(true);
    expect(gemmSwizzleFromEnv({ ICTAL_GEMM_SWIZZLE: 'off' })).toBe(false);
    expect(() => gemmSwizzleFromEnv({ ICTAL_GEMM_SWIZZLE: 'no' })).toThrow(/ICTAL_GEMM_SWIZZLE must be on or off, got "no"/);
  });
  it('runs the large tile on the subgroup-matrix configs whose 2 x 2 blocks fit it', () => {
    expect(sgmLargeTile({ M: 16, N: 16, K: 16, subgroupSize: 32 })).toEqual({ fits: true, workgroup: 128 });
    expect(sgmLargeTile({ M: 8, N: 8, K: 8, subgroupSize: 8 })).toEqual({ fits: true, workgroup: 128 });
    expect(sgmLargeTile({ M: 16, N: 8, K: 16, subgroupSize: 32 }).fits).toBe(true);
    expect(sgmLargeTile({ M: 8, N: 8, K: 8, subgroupSize: 32 }).fits).toBe(false); // 512 invocations
    expect(sgmLargeTile({ M: 64, N: 64, K: 16, subgroupSize: 32 }).fits).toBe(false);
  });
});

describe.skipIf(!session)('the GEMM core on this adapter', () => {
  afterEach(() => {
    overrideGemmCore(session!, undefined);
    overrideGemmTile(session!, undefined);
  });

  it('follows the device: the subgroup-matrix core where offered, else the tiled core (printed loudly)', async () => {
    const s = session!;
    const facts = subgroupMatrixFacts(s);
    const expected = pickSubgroupMatrixCore(facts);
    const precision = f16Modes[0] ?? 'f16-storage';
    takeGemmCoresUsed(s);
    const a = await s.arena.upload(new Float64Array(6).fill(1), [2, 3], precision, 'a');
    const b = await s.arena.upload(new Float64Array(12).fill(0.5), [3, 4], precision, 'b');
    const c = await s.arena.tensor([2, 4], precision, 'c');
    await matmul(s, a, b, c);
    const got = await s.read(c);
    for (const t of [a, b, c]) s.arena.release(t);
    expect([...got]).toEqual(new Array(8).fill(1.5));
    const used = takeGemmCoresUsed(s);
    expect(used).toHaveLength(1);
    expect(used[0]).toMatch(/; small tile$/);
    const line = `GEMM core on "${s.gpu.info.description || s.gpu.info.device}" (${precision}): ${used[0]}`;
    if (expected.kind === 'tiled') {
      console.warn(`\n${'!'.repeat(78)}\n!! TENSOR-CORE PATH NOT EXERCISED HERE: ${expected.why}.\n!! ${line}\n!! Only its emulation below ran; run test/kernels/run-cases.ts on a GPU that offers\n!! ${SUBGROUP_MATRIX_FEATURE} to test the real one.\n${'!'.repeat(78)}\n`);
      expect(used[0]).toBe(`${describeGemmCore(expected)}; small tile`);
    } else {
      console.log(line);
      // The feature is there: the probe must have compiled the core (its failure reason would be in used[0]).
      expect(used[0]).toMatch(/^subgroup-matrix /);
    }
  });

  it('keeps f32 on the tiled core whatever the device offers', async () => {
    overrideGemmCore(session!, { kind: 'subgroup-matrix', M: 16, N: 16, K: 16, subgroupSize: 32, emulated: true, layoutTemplate: true });
    const core = await gemmCore(session!, 'f32', { name: 'unused', source: '' });
    expect(core.kind).toBe('tiled');
    expect(describeGemmCore(core)).toMatch(/f32 keeps the exact fallback/);
  });

  // Every operand file and variant the kernels compile with the core, in the f16 modes, both call forms, both tiles.
  type Variant = [string, string, Record<string, boolean>];
  const variants: Variant[] = ([
    ['matmul.wgsl', `${matmulSource}\n${activationSource}`, { BIAS: true }],
    ['matmul.wgsl', `${matmulSource}\n${activationSource}`, { SPLIT_K: true }],
    ...['FWD', 'DX', 'DX_PATCH', 'DW'].map((v): Variant => ['conv1d.wgsl', `${convSource}\n${activationSource}`, { [v]: true, BIAS: v === 'FWD' }]),
  ] as Variant[]).flatMap(([n, src, d]): Variant[] => [[n, src, d], [n, src, { ...d, GEMM_LARGE: true }]]);
  it.each(f16Modes)('the real core\'s WGSL parses (%s); its only complaints are the subgroup-matrix names', async (precision) => {
    const s = session!;
    const real = s.device.features.has(SUBGROUP_MATRIX_FEATURE);
    for (const [name, source, defines] of variants) {
      for (const layoutTemplate of [true, false]) {
        const core: GemmCore = { kind: 'subgroup-matrix', M: 16, N: 16, K: 16, subgroupSize: 32, emulated: false, layoutTemplate };
        const shader = gemmShader({ name, source }, core);
        let code = preprocessShader(shader.source, precision, { ...defines, ...gemmDefines(core) }, shader.name);
        expect(code).toMatch(/^enable [^\n]*\n/);
        if (!real) code = code.replace(/^enable chromium_experimental_subgroup_matrix;\n/m, '');
        s.device.pushErrorScope('validation');
        const info = await s.device.createShaderModule({ code, label: `${shader.name} parse check` }).getCompilationInfo();
        await s.device.popErrorScope();
        const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
        const where = `${name} ${JSON.stringify(defines)} ${layoutTemplate ? 'template' : 'bool'} form (${precision})`;
        if (real) {
          // With the feature only one call form need compile: the probe picks it.
          continue;
        }
        expect(errors.length, `${where}: no complaint at all, so the check proves nothing`).toBeGreaterThan(0);
        for (const e of errors) expect(e, `${where}: ${errors.join('\n')}`).toMatch(/subgroup_?matrix/i);
      }
    }
  });

  // Lavapipe compiles each emulated pipeline in 5 - 30 s (the stand-ins unroll whole matrices per invocation), so
  // NVIDIA's geometry runs every case in one f16 mode and a spread of them in the other; 8 x 8 x 8 (8 subgroups of
  // 8, two K steps per slice) a few.
  const all = [...matmulCases(), ...conv1dCases()];
  const every = (n: number) => all.filter((_, i) => i % n === 0 || i === all.length - 1);
  // The large tile (forced: these shapes would pick the small one) over every case in one f16 mode: whole and
  // ragged 64 x 64 tiles, K off the 32-slice, split-K ranges in slices of 32.
  const runs: { M: number; N: number; K: number; subgroupSize: number; precision: Precision; tile: GemmTile; cases: typeof all }[] = [
    { M: 16, N: 16, K: 16, subgroupSize: 32, precision: 'f16-storage', tile: 'small', cases: all },
    { M: 16, N: 16, K: 16, subgroupSize: 32, precision: 'f16', tile: 'small', cases: every(4) },
    { M: 8, N: 8, K: 8, subgroupSize: 8, precision: 'f16-storage', tile: 'small', cases: every(9) },
    { M: 16, N: 16, K: 16, subgroupSize: 32, precision: 'f16-storage', tile: 'large', cases: all },
    { M: 16, N: 16, K: 16, subgroupSize: 32, precision: 'f16', tile: 'large', cases: every(5) },
    { M: 8, N: 8, K: 8, subgroupSize: 8, precision: 'f16-storage', tile: 'large', cases: every(9) },
  ];
  for (const run of runs) {
    const { precision, cases, tile, ...geo } = run;
    describe.skipIf(!f16Modes.includes(precision))(`the emulated core ${geo.M}x${geo.N}x${geo.K}, subgroups of ${geo.subgroupSize}, ${tile} tile (${precision})`, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const s = session!;
          const core: GemmCore = { kind: 'subgroup-matrix', ...geo, emulated: true, layoutTemplate: true };
          overrideGemmCore(s, core);
          overrideGemmTile(s, tile);
          takeGemmCoresUsed(s);
          const r = await runKernelCase(s, c, precision);
          expect(takeGemmCoresUsed(s)).toEqual([`${describeGemmCore(core)}; ${tile} tile`]);
          expect(r.pass, describeResult(r)).toBe(true);
        }, 300_000); // a backward case compiles up to three emulated pipelines: over 120 s on a busy lavapipe
      }
    });
  }

  // The large tile on this device's own core (the tiled one on CI's lavapipe, the real subgroup-matrix core in
  // the f16 modes where offered) over every case in every precision.
  for (const precision of gpu.precisions) {
    describe(`the large tile on this device's core (${precision})`, () => {
      for (const c of all) {
        it(c.name, async () => {
          const s = session!;
          overrideGemmTile(s, 'large');
          takeGemmCoresUsed(s);
          const r = await runKernelCase(s, c, precision);
          const used = takeGemmCoresUsed(s);
          expect(used.length).toBeGreaterThan(0);
          for (const u of used) expect(u).toMatch(/; large tile$/);
          expect(r.pass, describeResult(r)).toBe(true);
        });
      }
    });
  }

  // The unpermuted staging (ICTAL_GEMM_SWIZZLE=off, kept for an A/B) on both tiles, in f32.
  describe('the tiled core with ICTAL_GEMM_SWIZZLE=off (f32)', () => {
    for (const c of all.filter((_, i) => i % 3 === 0)) {
      for (const tile of ['small', 'large'] as GemmTile[]) {
        it(`${c.name} (${tile})`, async () => {
          const s = session!;
          const saved = process.env.ICTAL_GEMM_SWIZZLE;
          process.env.ICTAL_GEMM_SWIZZLE = 'off';
          overrideGemmCore(s, { kind: 'tiled', why: 'forced for the unpermuted staging' });
          overrideGemmTile(s, tile);
          try {
            const r = await runKernelCase(s, c, 'f32');
            expect(r.pass, describeResult(r)).toBe(true);
          } finally {
            if (saved === undefined) delete process.env.ICTAL_GEMM_SWIZZLE;
            else process.env.ICTAL_GEMM_SWIZZLE = saved;
            overrideGemmCore(s, undefined);
          }
        });
      }
    }
  });
});
