/**
 * Which GEMM core matmul and conv1d run on: the subgroup-matrix core (tensor cores from WGSL, f16 operands,
 * f32 accumulation: gemm_subgroup_matrix.wgsl) where the device offers it, else the tiled core
 * (gemm_tile.wgsl). Both take the same operand files, tiles, split-K plans and epilogues; only the inner product
 * differs.
 *
 * Chosen by feature detection, once per device: the features `chromium-experimental-subgroup-matrix`,
 * `shader-f16` and `subgroups`; a fixed subgroup size that divides the workgroup of 64 (Dawn requires the
 * workgroup's x size to be a multiple of subgroupMaxSize); an adapter subgroupMatrixConfig with f16 operands, an
 * f32 result and tiles that divide the 32 x 32 x 16 block evenly among the subgroups; and a probe that compiles
 * the matmul kernel, which also settles the builtins' call form (Dawn moved the layout from a bool argument to a
 * template parameter). Only the f16 modes use it: f32 keeps the exact fallback, as tensor cores take halves.
 * Anything missing gives the tiled core and a reason (`describeGemmCore`).
 *
 * In Node, Dawn offers the feature only with its toggle allow_unsafe_apis (node-gpu.ts sets it); in Chromium
 * the switch --enable-dawn-features=allow_unsafe_apis or chrome://flags/#enable-unsafe-webgpu.
 *
 * Each GEMM also gets a tile (planGemm): small (32 x 32 of C) or large (64 x 64, K slices of 32), by the shape
 * rule pickGemmTile in gemm-split.ts; ICTAL_GEMM_TILE=small|large (Node's environment) or overrideGemmTile
 * forces one, so both can be timed on the same GPU.
 */
import subgroupMatrixSource from '../../shaders/gemm_subgroup_matrix.wgsl?raw';
import tiledSource from '../../shaders/gemm_tile.wgsl?raw';
import splitKStoreSource from '../../shaders/gemm_splitk_store.wgsl?raw';
import type { ComputeSession } from '../gpu/session.ts';
import type { ShaderFile } from '../gpu/pipeline-cache.ts';
import type { Precision } from '../gpu/precision.ts';
import type { Defines } from '../gpu/shader-preprocessor.ts';
import { type GemmShape, type GemmTile, type SplitPlan, GEMM_TILES, pickGemmTile, splitPlan } from './gemm-split.ts';

export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';
/** The small tile's geometry, which every core must fit (gemm-split.ts plans with the same numbers). */
const { M: TILE_M, N: TILE_N, K: TILE_K } = GEMM_TILES.small;
const WORKGROUP = 64;

/** One entry of GPUAdapterInfo.subgroupMatrixConfigs. */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

export type GemmCore =
  | { kind: 'tiled'; why: string }
  | {
    kind: 'subgroup-matrix';
    M: number;
    N: number;
    K: number;
    subgroupSize: number;
    /** Plain-WGSL stand-ins for the builtins (tests on adapters without the feature); never chosen for speed. */
    emulated: boolean;
    /** subgroupMatrixLoad<T, row_major>(p, offset, stride) rather than the earlier (p, offset, col_major, stride). */
    layoutTemplate: boolean;
    /** Why the large tile is not used with this core (its probe failed); absent: where sgmLargeTile allows it. */
    largeWhy?: string;
  };

export type SubgroupMatrixCore = Extract<GemmCore, { kind: 'subgroup-matrix' }>;

export interface SubgroupMatrixFacts {
  /** Features of the device (not merely the adapter). */
  features: Iterable<string>;
  configs: readonly SubgroupMatrixConfig[];
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

/**
 * The largest config (M N K) that fits the core, the driver's order breaking ties, or why none does. Pure: the
 * facts come from the device and its adapter.
 */
export function pickSubgroupMatrixCore(facts: SubgroupMatrixFacts): SubgroupMatrixCore | { kind: 'tiled'; why: string } {
  const features = new Set(facts.features);
  const missing = [SUBGROUP_MATRIX_FEATURE, 'shader-f16', 'subgroups'].filter((f) => !features.has(f));
  if (missing.length) return { kind: 'tiled', why: `the device lacks ${missing.join(', ')}` };
  const sg = facts.subgroupMaxSize;
  if (facts.subgroupMinSize !== sg) {
    return { kind: 'tiled', why: `the subgroup size varies (${facts.subgroupMinSize} - ${sg}); the core assigns tiles to subgroups of one known size` };
  }
  if (!(sg > 0) || WORKGROUP % sg !== 0) return { kind: 'tiled', why: `subgroup size ${sg} does not divide the workgroup of ${WORKGROUP}` };
  const subgroups = WORKGROUP / sg;
  const fits = facts.configs.filter((c) =>
    c.componentType === 'f16' && c.resultComponentType === 'f32' &&
    TILE_M % c.M === 0 && TILE_N % c.N === 0 && TILE_K % c.K === 0 && ((TILE_M / c.M) * (TILE_N / c.N)) % subgroups === 0);
  if (!fits.length) {
    const offered = facts.configs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ') || 'none';
    return { kind: 'tiled', why: `no subgroup-matrix config with f16 operands and an f32 result fits ${TILE_M}x${TILE_N}x${TILE_K} tiles over ${subgroups} subgroups (offered: ${offered})` };
  }
  const best = fits.reduce((a, c) => (c.M * c.N * c.K > a.M * a.N * a.K ? c : a));
  return { kind: 'subgroup-matrix', M: best.M, N: best.N, K: best.K, subgroupSize: sg, emulated: false, layoutTemplate: true };
}

export const TILED_CORE: GemmCore = { kind: 'tiled', why: 'the default core' };

/**
 * Whether a subgroup-matrix config runs the large tile: one subgroup per 2 x 2 block of result tiles, so
 * 2 SGM_M and 2 SGM_N divide 64, SGM_K divides 32, and the workgroup (blocks x subgroup size) is a power of two
 * of at most 256 invocations (the staging loop gives each the same count). NVIDIA's 16 x 16 x 16 at 32: 128.
 */
export function sgmLargeTile(c: { M: number; N: number; K: number; subgroupSize: number }): { fits: boolean; workgroup: number } {
  const L = GEMM_TILES.large;
  const fits0 = L.M % (2 * c.M) === 0 && L.N % (2 * c.N) === 0 && L.K % c.K === 0;
  const workgroup = fits0 ? (L.M / (2 * c.M)) * (L.N / (2 * c.N)) * c.subgroupSize : 0;
  return { fits: fits0 && workgroup <= 256 && (L.M * L.K) % workgroup === 0 && (workgroup & (workgroup - 1)) === 0, workgroup };
}

/** ICTAL_GEMM_TILE in Node's environment (none in a browser): small or large forces that tile, else the rule. */
export function gemmTileFromEnv(env: Record<string, string | undefined> | undefined = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env): GemmTile | undefined {
  const v = env?.ICTAL_GEMM_TILE;
  if (v === undefined || v === '' || v === 'auto') return undefined;
  if (v === 'small' || v === 'large') return v;
  throw new Error(`ICTAL_GEMM_TILE must be small, large or auto, got "${v}"`);
}

/**
 * An includer's sources (operand access and epilogue). `probe`: defines that make it a whole kernel, for the
 * compile probe (conv1d.wgsl declares its operands only under a variant define such as FWD; without one the probe
 * failed to compile and the device fell back to the tiled core whenever a conv1d ran before any matmul).
 */
export type GemmParts = ShaderFile & { probe?: Defines };

/** The includer's sources (operand access and epilogue) joined with a core; the name tells the core apart. */
export function gemmShader(parts: ShaderFile, core: GemmCore): ShaderFile {
  if (core.kind === 'tiled') return { name: parts.name, source: `${parts.source}\n${tiledSource}\n${splitKStoreSource}` };
  const header = [`const SGM_M: u32 = ${core.M}u;`, `const SGM_N: u32 = ${core.N}u;`, `const SGM_K: u32 = ${core.K}u;`, `const SGM_SG: u32 = ${core.subgroupSize}u;`].join('\n');
  return { name: `${parts.name}+sgm${core.M}x${core.N}x${core.K}s${core.subgroupSize}${core.emulated ? '-emulated' : ''}`, source: `${header}\n${parts.source}\n${subgroupMatrixSource}\n${splitKStoreSource}` };
}

export function gemmDefines(core: GemmCore, tile: GemmTile = 'small'): Defines {
  const large = { GEMM_LARGE: tile === 'large' };
  return core.kind === 'tiled' ? { ...large, GEMM_PLAIN_STAGING: !gemmSwizzleFromEnv() } : { ...large, SGM_EMULATE: core.emulated, SGM_LAYOUT_TEMPLATE: core.layoutTemplate };
}

/**
 * ICTAL_GEMM_SWIZZLE in Node's environment: `off` stages the tiled core's operands unpermuted (the layout before
 * 2026-12-06, kept for an A/B on one GPU: shaders/gemm_tile.wgsl `slot`); `on` or unset permutes them.
 */
export function gemmSwizzleFromEnv(env: Record<string, string | undefined> | undefined = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env): boolean {
  const v = env?.ICTAL_GEMM_SWIZZLE;
  if (v === undefined || v === '' || v === 'on') return true;
  if (v === 'off') return false;
  throw new Error(`ICTAL_GEMM_SWIZZLE must be on or off, got "${v}"`);
}

export function describeGemmCore(core: GemmCore): string {
  if (core.kind === 'tiled') return `tiled (${core.why})`;
  return `subgroup-matrix f16 ${core.M}x${core.N}x${core.K} -> f32, subgroup ${core.subgroupSize}${core.emulated ? ', EMULATED in plain WGSL' : ''}${core.largeWhy ? `, no large tile (${core.largeWhy})` : ''}`;
}

interface AdapterFacts {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[];
}

/** The device's facts; Dawn and Chromium put the configs on GPUAdapterInfo (read only with the feature on). */
export function subgroupMatrixFacts(s: ComputeSession): SubgroupMatrixFacts {
  const info = (s.gpu.adapter.info ?? {}) as AdapterFacts;
  const features = [...s.device.features].map(String);
  const configs = features.includes(SUBGROUP_MATRIX_FEATURE) ? [...(info.subgroupMatrixConfigs ?? [])].map((c) => ({
    componentType: String(c.componentType), resultComponentType: String(c.resultComponentType), M: c.M, N: c.N, K: c.K,
  })) : [];
  return { features, configs, subgroupMinSize: info.subgroupMinSize ?? 0, subgroupMaxSize: info.subgroupMaxSize ?? 0 };
}

const perDevice = new WeakMap<GPUDevice, Promise<GemmCore>>();
const overrides = new WeakMap<ComputeSession, GemmCore>();
const tileOverrides = new WeakMap<ComputeSession, GemmTile>();
const used = new WeakMap<ComputeSession, Set<string>>();

/**
 * The core for a GEMM in `precision` on this session's device; `parts` is the caller's shader (compiled once per
 * device as the probe). Records the choice for `takeGemmCoresUsed`.
 */
export async function gemmCore(s: ComputeSession, precision: Precision, parts: GemmParts): Promise<GemmCore> {
  const core = await resolveCore(s, precision, parts);
  record(s, describeGemmCore(core));
  return core;
}

async function resolveCore(s: ComputeSession, precision: Precision, parts: GemmParts): Promise<GemmCore> {
  let core = overrides.get(s);
  if (!core) {
    let found = perDevice.get(s.device);
    if (!found) {
      found = detect(s, parts);
      perDevice.set(s.device, found);
    }
    core = await found;
  }
  if (core.kind !== 'tiled' && precision === 'f32') core = { kind: 'tiled', why: 'f32 keeps the exact fallback: the subgroup-matrix core multiplies halves' };
  return core;
}

function record(s: ComputeSession, line: string): void {
  const seen = used.get(s) ?? new Set<string>();
  seen.add(line);
  used.set(s, seen);
}

/** The tile `core` runs `shape` on: the forced one (overrideGemmTile, then ICTAL_GEMM_TILE), else pickGemmTile. */
export function gemmTileFor(s: ComputeSession, core: GemmCore, shape: GemmShape, allowSplit = true): GemmTile {
  const tile = tileOverrides.get(s) ?? gemmTileFromEnv() ?? pickGemmTile(shape, allowSplit, s.device.limits.maxStorageBufferBindingSize);
  if (tile === 'large' && core.kind === 'subgroup-matrix' && (core.largeWhy || !sgmLargeTile(core).fits)) return 'small';
  return tile;
}

export interface GemmPlan {
  core: GemmCore;
  tile: GemmTile;
  plan: SplitPlan;
  shader: ShaderFile;
  defines: Defines;
}

/**
 * Core, tile, split-K plan, shader and core defines for one GEMM of the caller's shader `parts`; records
 * "core, tile" for takeGemmCoresUsed.
 */
export async function planGemm(s: ComputeSession, precision: Precision, parts: GemmParts, shape: GemmShape, allowSplit = true): Promise<GemmPlan> {
  const core = await resolveCore(s, precision, parts);
  const tile = gemmTileFor(s, core, shape, allowSplit);
  record(s, `${describeGemmCore(core)}; ${tile} tile`);
  const plan = splitPlan(shape, s.device.limits.maxStorageBufferBindingSize, allowSplit, tile);
  return { core, tile, plan, shader: gemmShader({ name: parts.name, source: parts.source }, core), defines: gemmDefines(core, tile) };
}

/** Runs this session's GEMMs on `tile` whatever their shape (tests, the bench's A/B); undefined: the rule again. */
export function overrideGemmTile(s: ComputeSession, tile: GemmTile | undefined): void {
  if (tile) tileOverrides.set(s, tile);
  else tileOverrides.delete(s);
}

async function detect(s: ComputeSession, parts: GemmParts): Promise<GemmCore> {
  const picked = pickSubgroupMatrixCore(subgroupMatrixFacts(s));
  if (picked.kind === 'tiled') return picked;
  const errors: string[] = [];
  for (const layoutTemplate of [true, false]) {
    const core: SubgroupMatrixCore = { ...picked, layoutTemplate };
    if (await compiles(s, parts, core, 'small', errors, `${layoutTemplate ? 'template' : 'bool'} layout form`)) {
      // The large tile in the call form that compiled; the small one alone if it does not.
      const large: string[] = [];
      if (sgmLargeTile(core).fits && !(await compiles(s, parts, core, 'large', large, 'large tile'))) core.largeWhy = large.join('; ');
      return core;
    }
  }
  return { kind: 'tiled', why: `the subgroup-matrix core did not compile on this device: ${errors.join('; ')}` };
}

async function compiles(s: ComputeSession, parts: GemmParts, core: GemmCore, tile: GemmTile, errors: string[], what: string): Promise<boolean> {
  s.device.pushErrorScope('validation');
  try {
    await s.pipelines.get({ shader: gemmShader(parts, core), entry: 'gemm', precision: 'f16-storage', defines: { ...parts.probe, ...gemmDefines(core, tile) } });
    return true;
  } catch (e) {
    errors.push(`${what}: ${(e as Error).message}`);
    return false;
  } finally {
    await s.device.popErrorScope();
  }
}

/**
 * Runs this session's GEMMs on `core` whatever the device offers (tests: the emulated core on CI's adapters);
 * undefined goes back to detection. An emulated core needs only shader-f16.
 */
export function overrideGemmCore(s: ComputeSession, core: GemmCore | undefined): void {
  if (core?.kind === 'subgroup-matrix' && core.emulated && !s.device.features.has('shader-f16')) {
    throw new Error('the emulated subgroup-matrix core stages halves in workgroup memory: it needs shader-f16');
  }
  if (core) overrides.set(s, core);
  else overrides.delete(s);
}

/** The cores this session's GEMMs ran on since the last call, described (run-cases prints them per case). */
export function takeGemmCoresUsed(s: ComputeSession): string[] {
  const seen = [...(used.get(s) ?? [])];
  used.delete(s);
  return seen;
}
