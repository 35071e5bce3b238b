// One way to get an adapter and a device, in a window, a Web Worker or Node (Dawn).
import { NoWebGpuError } from './errors.ts';

export type GpuHost = 'window' | 'worker' | 'node';

/** Optional features the lab uses when the adapter has them. */
export const WANTED_FEATURES = [
  'shader-f16',
  'timestamp-query',
  'subgroups',
  'chromium-experimental-subgroup-matrix',
] as const;

export interface GpuInfo {
  host: GpuHost;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The Vulkan ICD manifest in Node; empty in a browser. */
  driver: string;
  /** Dawn toggles set in Node, each with why; empty in a browser (the browser's own switches decide). */
  toggles: DawnToggle[];
  isFallbackAdapter: boolean;
  /**
   * A CPU implementation (lavapipe, SwiftShader): workgroup barriers cost it far more than a GPU, so some kernels
   * pick a barrier-free variant there (measured: docs/PERFORMANCE.md).
   */
  cpuAdapter: boolean;
  /** Every feature the adapter offers. */
  adapterFeatures: string[];
  /** The features the device was created with (the wanted ones the adapter has). */
  features: string[];
  limits: Record<string, number>;
  /**
   * The adapter's subgroup-matrix (tensor-core) tile shapes, where the device has chromium-experimental-subgroup-matrix
   * (kernels/gemm-subgroup-matrix.ts picks one); absent elsewhere.
   */
  subgroupMatrixConfigs?: { componentType: string; resultComponentType: string; M: number; N: number; K: number }[];
}

export interface DawnToggle {
  name: string;
  state: 'enabled' | 'disabled';
  why: string;
}

/**
 * Why this adapter has no native f16, and how to get it, or undefined where it has it. NVIDIA's Vulkan driver
 * offers f16 only behind a Dawn toggle (Ictal sets it in Node; Chromium takes it as a switch); CPU adapters
 * like SwiftShader have none, and the f16-storage mode is the FP16 there.
 */
export function f16Hint(info: Pick<GpuInfo, 'host' | 'vendor' | 'adapterFeatures' | 'cpuAdapter'>): string | undefined {
  if (info.adapterFeatures.includes('shader-f16')) return undefined;
  const storage = 'f16-storage (packed halves, f32 arithmetic) still runs here.';
  if (/nvidia/i.test(info.vendor)) {
    return info.host === 'node'
      ? `Dawn did not offer shader-f16 on this NVIDIA adapter although Ictal sets vulkan_enable_f16_on_nvidia; the driver may be too old. ${storage}`
      : `Native f16 on NVIDIA needs a Dawn switch: start Chrome/Chromium with --enable-dawn-features=vulkan_enable_f16_on_nvidia (or enable chrome://flags/#enable-unsafe-webgpu) and reload. ${storage}`;
  }
  if (info.cpuAdapter) return `This is a CPU adapter without shader-f16 (SwiftShader has none; Mesa lavapipe 25 has it). ${storage}`;
  return `This adapter does not offer shader-f16. ${storage}`;
}

export interface GpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  info: GpuInfo;
  has(feature: (typeof WANTED_FEATURES)[number]): boolean;
}

export interface AcquireOptions {
  /** Extra Dawn toggles in Node, e.g. 'enable-dawn-features=allow_unsafe_apis'. */
  dawnFlags?: string[];
  /** Leave features out on purpose (tests of the f16-storage path on an f16 adapter). */
  withoutFeatures?: string[];
  /** Called when the device is lost; `acquireGpu` is not re-run automatically: see DeviceKeeper. */
  onLost?: (info: GPUDeviceLostInfo) => void;
}

type NodeGpuProvider = (dawnFlags: string[]) => Promise<{ adapter: GPUAdapter; driver: string; toggles: DawnToggle[] }>;
let nodeProvider: NodeGpuProvider | undefined;

/**
 * Node entry points (CLI, tests) hand in the Dawn provider from node-gpu.ts; this module stays free of Node
 * imports so that browser bundles never pull in fs or the `webgpu` package.
 */
export function useNodeGpu(provider: NodeGpuProvider): void {
  nodeProvider = provider;
}

export function currentHost(): GpuHost {
  if (typeof window !== 'undefined' && typeof document !== 'undefined') return 'window';
  if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') return 'worker';
  return 'node';
}

export async function acquireGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  const host = currentHost();
  let adapter: GPUAdapter | null;
  let driver = '';
  let toggles: DawnToggle[] = [];
  if (host === 'node') {
    if (!nodeProvider) {
      throw new NoWebGpuError('no WebGPU provider in Node: call useNodeGpu(nodeGpu) from src/gpu/node-gpu.ts first');
    }
    const found = await nodeProvider(options.dawnFlags ?? []);
    adapter = found.adapter;
    driver = found.driver;
    toggles = found.toggles;
  } else {
    if (!('gpu' in navigator) || !navigator.gpu) {
      throw new NoWebGpuError(
        'this browser exposes no WebGPU (navigator.gpu is missing): use a recent Chrome or Edge, or start Chromium with --enable-unsafe-webgpu',
      );
    }
    adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      throw new NoWebGpuError('navigator.gpu gave no adapter: WebGPU is disabled or no GPU driver is usable in this browser');
    }
  }
  const skip = new Set(options.withoutFeatures ?? []);
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f) && !skip.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const key of limitNames(adapter.limits)) {
    const v = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof v === 'number') requiredLimits[key] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits, label: 'ictal' });
  if (options.onLost) void device.lost.then(options.onLost);
  const ai = adapter.info;
  const info: GpuInfo = {
    host,
    vendor: ai?.vendor ?? '',
    architecture: ai?.architecture ?? '',
    device: ai?.device ?? '',
    description: ai?.description ?? '',
    driver,
    toggles,
    isFallbackAdapter: Boolean((ai as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter),
    cpuAdapter: isCpuAdapter(ai),
    adapterFeatures: [...adapter.features].map(String).sort(),
    features: features.map(String),
    limits: requiredLimits,
  };
  const configs = (ai as { subgroupMatrixConfigs?: GpuInfo['subgroupMatrixConfigs'] } | undefined)?.subgroupMatrixConfigs;
  if (device.features.has('chromium-experimental-subgroup-matrix') && configs) {
    info.subgroupMatrixConfigs = [...configs].map((c) => ({ componentType: String(c.componentType), resultComponentType: String(c.resultComponentType), M: c.M, N: c.N, K: c.K }));
  }
  return { adapter, device, info, has: (f) => device.features.has(f) };
}

function isCpuAdapter(ai: GPUAdapterInfo | undefined): boolean {
  if ((ai as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter) return true;
  const text = [ai?.architecture, ai?.device, ai?.description, ai?.vendor].join(' ').toLowerCase();
  return ai?.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/.test(text);
}

/** Limit names of a GPUSupportedLimits object (its properties live on the prototype). */
function limitNames(limits: GPUSupportedLimits): string[] {
  const names = new Set<string>();
  for (let o: object | null = limits; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor') names.add(k);
  }
  for (const k in limits) names.add(k);
  return [...names].filter((k) => typeof (limits as unknown as Record<string, unknown>)[k] === 'number').sort();
}

/**
 * Holds a live device and replaces it when lost: the next `get()` acquires a new one, and `onReplaced` tells the
 * owner what was lost (every buffer and pipeline of the old device) so it can rebuild. Any loss counts (the
 * driver's, or a device.destroy() elsewhere) except the keeper's own destroy().
 */
export class DeviceKeeper {
  private current: Promise<GpuContext> | undefined;
  private readonly released = new WeakSet<Promise<GpuContext>>();
  lastLoss: { reason: string; message: string } | undefined;

  constructor(
    private readonly options: AcquireOptions = {},
    private readonly onReplaced: (loss: { reason: string; message: string }) => void = () => {},
  ) {}

  get(): Promise<GpuContext> {
    if (this.current) return this.current;
    const acquired: Promise<GpuContext> = acquireGpu({
      ...this.options,
      onLost: (info) => {
        if (this.current === acquired) this.current = undefined;
        if (!this.released.has(acquired)) {
          this.lastLoss = { reason: info.reason, message: info.message };
          this.onReplaced(this.lastLoss);
        }
        this.options.onLost?.(info);
      },
    });
    // A failed acquisition is not kept: the next get() tries again.
    acquired.catch(() => {
      if (this.current === acquired) this.current = undefined;
    });
    this.current = acquired;
    return acquired;
  }

  async destroy(): Promise<void> {
    const acquired = this.current;
    this.current = undefined;
    if (!acquired) return;
    this.released.add(acquired);
    const ctx = await acquired.catch(() => undefined);
    ctx?.device.destroy();
  }
}
