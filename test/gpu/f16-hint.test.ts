// What the adapter panel and `ictal gpu-info` say about native f16, per kind of adapter.
import { describe, expect, it } from 'vitest';
import { f16Hint } from '../../src/gpu/device.ts';

const base = { host: 'worker' as const, vendor: '', adapterFeatures: [] as string[], cpuAdapter: false };

describe('f16Hint', () => {
  it('says nothing where the adapter offers shader-f16', () => {
    expect(f16Hint({ ...base, adapterFeatures: ['shader-f16', 'subgroups'] })).toBeUndefined();
  });
  it('names the Chromium switch on NVIDIA in a browser, and the toggle Ictal already sets in Node', () => {
    expect(f16Hint({ ...base, vendor: 'nvidia' })).toMatch(/--enable-dawn-features=vulkan_enable_f16_on_nvidia/);
    expect(f16Hint({ ...base, vendor: 'nvidia', host: 'node' })).toMatch(/Ictal sets vulkan_enable_f16_on_nvidia/);
  });
  it('points CPU adapters and others at f16-storage', () => {
    expect(f16Hint({ ...base, vendor: 'google', cpuAdapter: true })).toMatch(/SwiftShader has none.*f16-storage/);
    expect(f16Hint({ ...base, vendor: 'amd' })).toMatch(/does not offer shader-f16.*f16-storage/);
  });
});
