// The adapter the engine worker found: name, features (in use and offered), limits; or why there is none.
import type { GpuInfo } from '../../engine/engine.ts';
import type { AdapterState, LabStore } from '../store.ts';
import { h, show } from '../dom.ts';
import { f16Hint } from '../../gpu/device.ts';

export function mountAdapterPanel(host: HTMLElement, store: LabStore): void {
  const render = (a: AdapterState) => show(host, h('h2', { id: 'adapter-title' }, 'Adapter'), body(a));
  render(store.getState().adapter);
  store.subscribe((s, prev) => s.adapter !== prev.adapter && render(s.adapter));
}

function body(a: AdapterState): HTMLElement {
  switch (a.status) {
    case 'connecting':
      return h('p', { class: 'muted', role: 'status' }, 'Asking the engine worker for a WebGPU adapter…');
    case 'unavailable':
      return h('div', { class: 'notice', role: 'alert', 'data-testid': 'no-webgpu' },
        h('strong', {}, 'No WebGPU here. '), a.message,
        h('p', { 'data-testid': 'enable-webgpu' }, 'To enable WebGPU: use Chrome or Edge 113 or later (on Linux, start Chromium with ',
          h('code', {}, '--enable-unsafe-webgpu --enable-features=Vulkan'), ', or turn on "Unsafe WebGPU Support" in ', h('code', {}, 'chrome://flags'),
          '), Firefox 141 or later on Windows, or Safari 26 or later; serve the lab from localhost or https (WebGPU needs a secure context), and check that ',
          h('code', {}, 'chrome://gpu'), ' does not list WebGPU as disabled (a blocklisted driver). Recordings still open without it.'));
    case 'failed':
      return h('div', { class: 'notice error', role: 'alert', 'data-testid': 'engine-error' }, a.message);
    case 'ready':
      return details(a.info);
  }
}

function details(i: GpuInfo): HTMLElement {
  const name = i.description || [i.vendor, i.architecture, i.device].filter(Boolean).join(' ') || 'unnamed adapter';
  const inUse = new Set(i.features);
  const hint = f16Hint(i);
  return h('div', {},
    h('p', { class: 'adapter-name', 'data-testid': 'adapter-name' }, name),
    h('dl', { class: 'facts' },
      h('dt', {}, 'vendor'), h('dd', {}, i.vendor || '-'),
      h('dt', {}, 'architecture'), h('dd', {}, i.architecture || '-'),
      h('dt', {}, 'runs in'), h('dd', { 'data-testid': 'adapter-host' }, i.host === 'worker' ? 'Web Worker' : i.host),
      h('dt', {}, 'fallback'), h('dd', {}, i.isFallbackAdapter ? 'yes (software)' : 'no')),
    h('h3', {}, 'Features'),
    h('ul', { class: 'chips', 'data-testid': 'features' },
      i.adapterFeatures.map((f) => h('li', { class: inUse.has(f) ? 'chip used' : 'chip', title: inUse.has(f) ? 'enabled on the engine device' : 'offered, not requested' }, f))),
    hint ? h('p', { class: 'notice', 'data-testid': 'f16-hint' }, h('strong', {}, 'No native f16. '), hint) : h('p', { class: 'muted', 'data-testid': 'f16-hint' }, 'Native f16 (shader-f16) is available: all three precisions run here.'),
    h('details', {},
      h('summary', {}, `Limits (${Object.keys(i.limits).length})`),
      h('table', { class: 'limits', 'data-testid': 'limits' },
        h('tbody', {}, Object.entries(i.limits).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v.toLocaleString('en')))))),
    ),
  );
}
