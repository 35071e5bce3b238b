// WebGPU in Node: Dawn from the npm `webgpu` package on a Vulkan driver this module finds itself.
// Node-only (fs, process); the browser never imports it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NoWebGpuError } from './errors.ts';

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
export async function nodeGpu(dawnFlags: string[] = []): Promise<{ gpu: GPU; adapter: GPUAdapter; driver: string }> {
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
  instance ??= dawn.create(withFullTimerResolution(dawnFlags)) as GPU;
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) return { gpu: instance, adapter, driver };
  throw new NoWebGpuError(`Dawn found no usable adapter on the Vulkan driver ${driver}. ${INSTALL_HINT}`);
}

let instance: GPU | undefined;

/**
 * Dawn rounds timestamp queries down to 65,536 ns unless its `timestamp_quantization` toggle is off (a guard
 * against timing attacks that matters in a browser, not in a Node process profiling its own kernels): it is off
 * here, merged into any `disable-dawn-features=` list the caller passes.
 */
export function withFullTimerResolution(flags: string[]): string[] {
  const key = 'disable-dawn-features=';
  const given = flags.find((f) => f.startsWith(key));
  const disabled = new Set(['timestamp_quantization', ...(given ? given.slice(key.length).split(',').filter(Boolean) : [])]);
  return [...flags.filter((f) => !f.startsWith(key)), `${key}${[...disabled].join(',')}`];
}
