// WebGPU in Node: Dawn from the npm `webgpu` package on a Vulkan driver this module finds itself.
// Node-only (fs, process); the browser never imports it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NoWebGpuError } from './errors.ts';
import type { DawnToggle } from './device.ts';

const ICD_DIRS = [
  '/usr/share/vulkan/icd.d',
  '/etc/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/usr/local/nvidia/share/vulkan/icd.d',
];

/**
 * Which drivers can drive something here: NVIDIA's when an NVIDIA device node exists, Mesa's hardware
 * drivers when a DRM render node exists, then lavapipe (the CPU driver known to satisfy Dawn), then
 * SwiftShader. Mesa installs manifests for every GPU family, so a manifest alone proves nothing.
 */
function driverRank(file: string): number {
  const name = file.toLowerCase();
  if (name.includes('lvp')) return 2;
  if (name.includes('swiftshader')) return 3;
  if (name.includes('nvidia')) return existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl') ? 0 : -1;
  const renderNode = existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  return renderNode ? 1 : -1;
}

/** ICD manifests on this machine, GPU drivers first, then lavapipe, then SwiftShader. */
export function findVulkanDrivers(): string[] {
  const found: string[] = [];
  for (const dir of ICD_DIRS) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.json')) continue;
      const path = join(dir, f);
      if (!libraryExists(path)) continue;
      found.push(path);
    }
  }
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (existsSync(swiftshader)) found.push(swiftshader);
  return [...new Set(found)].filter((f) => driverRank(f) >= 0).sort((a, b) => driverRank(a) - driverRank(b));
}

/** A manifest whose library is an absolute path that does not exist names a driver not installed (Mesa ships many). */
function libraryExists(manifest: string): boolean {
  try {
    const lib: string | undefined = JSON.parse(readFileSync(manifest, 'utf8'))?.ICD?.library_path;
    if (!lib) return false;
    return !lib.startsWith('/') || existsSync(lib);
  } catch {
    return false;
  }
}

const INSTALL_HINT =
  'Install Mesa lavapipe from Debian bookworm-backports (mesa-vulkan-drivers >= 25) and libvulkan1, ' +
  'or a GPU Vulkan driver: `sudo bash scripts/setup-system.sh` does it.';

let dawn: typeof import('webgpu') | undefined;

/**
 * navigator.gpu for Node on one Vulkan driver: the one named in VK_DRIVER_FILES when set, else the best found.
 * Dawn is created once per process (several instances in one process crash at exit), so the choice is made
 * before, from what the machine has. Dawn flags (e.g. 'enable-dawn-features=allow_unsafe_apis') pass through.
 */
export async function nodeGpu(dawnFlags: string[] = []): Promise<{ gpu: GPU; adapter: GPUAdapter; driver: string; toggles: DawnToggle[] }> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  try {
    dawn ??= await import('webgpu');
  } catch (e) {
    throw new NoWebGpuError(`the npm package "webgpu" (Dawn for Node) could not be loaded: ${(e as Error).message}. Run npm install.`);
  }
  Object.assign(globalThis, dawn.globals);
  const preset = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  const candidates = preset ? [preset] : findVulkanDrivers();
  if (candidates.length === 0) {
    throw new NoWebGpuError(`no Vulkan driver found in ${ICD_DIRS.join(', ')}. ${INSTALL_HINT}`);
  }
  const driver = candidates[0]!;
  if (preset && !existsSync(driver)) {
    throw new NoWebGpuError(`VK_DRIVER_FILES names ${driver}, which does not exist. Unset it to let Ictal find a driver, or ${INSTALL_HINT[0]!.toLowerCase()}${INSTALL_HINT.slice(1)}`);
  }
  process.env.VK_DRIVER_FILES = driver;
  process.env.VK_ICD_FILENAMES = driver;
  if (!instance) {
    const flags = withIctalToggles(dawnFlags, ictalToggles());
    instance = dawn.create(flags) as GPU;
    instanceToggles = describeToggles(flags);
  }
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) return { gpu: instance, adapter, driver, toggles: instanceToggles };
  throw new NoWebGpuError(`Dawn found no usable adapter on the Vulkan driver ${driver}. ${INSTALL_HINT}`);
}

let instance: GPU | undefined;
let instanceToggles: DawnToggle[] = [];

/**
 * The Dawn toggles Ictal sets in Node, each with why. They are process-wide (Dawn is created once), so they are
 * chosen here, merged with any `enable-`/`disable-dawn-features=` list the caller passes.
 */
export const DAWN_TOGGLES: DawnToggle[] = [
  {
    name: 'vulkan_enable_f16_on_nvidia',
    state: 'enabled',
    why: 'Dawn keeps shader-f16 off on NVIDIA\'s Vulkan driver by default; on it offers native f16 arithmetic there (an f16 kernel checked exact on an H200). No effect on other drivers.',
  },
  {
    name: 'allow_unsafe_apis',
    state: 'enabled',
    why: 'Dawn hides its experimental features without it, among them chromium-experimental-subgroup-matrix (tensor-core tiles from WGSL, offered on NVIDIA): matmul and conv1d use it in the f16 modes. Set only with ICTAL_TENSOR_CORES=on: on an H100 that core ran the v3 forward 1.33x slower than the tiled one (docs/PERFORMANCE.md). Ictal requests only the features device.ts names, so nothing else changes.',
  },
  {
    name: 'timestamp_quantization',
    state: 'disabled',
    why: 'Dawn rounds timestamp queries down to 65,536 ns, a guard against timing attacks that matters in a browser, not in a Node process profiling its own kernels.',
  },
];

/**
 * The toggles set: DAWN_TOGGLES less allow_unsafe_apis unless ICTAL_TENSOR_CORES=on. Without it Dawn offers no
 * subgroup matrices and matmul and conv1d run the tiled core. Opt-in because it is the faster choice where
 * measured: on an H100 (2026-12-06) the subgroup-matrix core ran the v3 forward at batch 16 in f16 in 297 ms
 * against the tiled core's 223 ms. `on` runs it (to test or time it on another GPU); any other value is refused.
 */
export function ictalToggles(env: Record<string, string | undefined> = process.env): DawnToggle[] {
  const v = env.ICTAL_TENSOR_CORES;
  if (v !== undefined && v !== 'on' && v !== 'off') throw new Error(`ICTAL_TENSOR_CORES must be "on" or "off" (default off), got "${v}"`);
  return v === 'on' ? DAWN_TOGGLES : DAWN_TOGGLES.filter((t) => t.name !== 'allow_unsafe_apis');
}

/** The Dawn command-line flags for `toggles` merged with the caller's own flags (the caller's toggles are kept). */
export function withIctalToggles(flags: string[], toggles: DawnToggle[] = DAWN_TOGGLES): string[] {
  const merged: string[] = [];
  for (const state of ['enabled', 'disabled'] as const) {
    const key = `${state === 'enabled' ? 'enable' : 'disable'}-dawn-features=`;
    const given = flags.find((f) => f.startsWith(key));
    const names = new Set([...toggles.filter((t) => t.state === state).map((t) => t.name), ...(given ? given.slice(key.length).split(',').filter(Boolean) : [])]);
    if (names.size) merged.push(`${key}${[...names].join(',')}`);
  }
  return [...flags.filter((f) => !f.includes('-dawn-features=')), ...merged];
}

/** Every toggle named in `flags`: Ictal's own with their reasons, the caller's as "asked for by the caller". */
function describeToggles(flags: string[]): DawnToggle[] {
  const out: DawnToggle[] = [];
  for (const f of flags) {
    const m = /^(enable|disable)-dawn-features=(.*)$/.exec(f);
    if (!m) continue;
    for (const name of m[2]!.split(',').filter(Boolean)) {
      const own = DAWN_TOGGLES.find((t) => t.name === name);
      out.push(own ?? { name, state: m[1] === 'enable' ? 'enabled' : 'disabled', why: 'asked for by the caller' });
    }
  }
  return out;
}
