// Kernel profile: every kernel family at every precision, timed per dispatch; the table, the profiler's own
// overhead, and the report and Chrome trace to download.
import type { KernelRow } from '../../engine/engine.ts';
import type { LabState, LabStore } from '../store.ts';
import { h, show, taskError, taskLine } from '../dom.ts';
import type { GpuQueue } from '../gpu-queue.ts';

export function mountProfilePanel(host: HTMLElement, store: LabStore, queue: GpuQueue): void {
  let urls: string[] = [];
  const render = (s: LabState) => {
    const p = s.profile;
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    const download = (name: string, data: unknown) => {
      const url = URL.createObjectURL(new Blob([JSON.stringify(data)], { type: 'application/json' }));
      urls.push(url);
      return h('a', { href: url, download: name }, name);
    };
    const button = h('button', { type: 'button', 'data-testid': 'profile', disabled: s.adapter.status !== 'ready' || p.running }, p.running ? 'Profiling…' : 'Profile kernels');
    button.addEventListener('click', () => void s.profileKernels());
    const r = p.result?.report;
    const o = r?.overhead;
    show(host,
      h('h2', { id: 'profile-title' }, 'Kernels'),
      h('p', { class: 'muted' }, 'Every kernel family in every precision this device runs, each dispatch timed with timestamp queries. Calibrate first to see each kernel against the roofline.'),
      button,
      taskLine(p, queue, () => void s.cancel()),
      taskError(p, 'profile-error'),
      p.result && p.result.failures.length > 0 && h('div', { class: 'notice error', role: 'alert', 'data-testid': 'profile-failures' },
        h('strong', {}, 'Some kernel families did not run on this adapter:'),
        h('ul', {}, p.result.failures.map((f) => h('li', {}, `${f.family} (${f.precision}): ${f.message}`)))),
      r && h('div', { 'data-testid': 'profile-result' },
        table(r.kernels),
        h('p', { class: 'muted' }, `GPU time ${(r.gpuNs / 1e6).toFixed(2)} ms in ${r.dispatches} dispatches; timer quantum ${r.quantumNs} ns.`),
        o && h('p', { class: 'muted' }, `Profiler overhead: ${o.overheadMs.toFixed(3)} ms on a batch of ${o.dispatches} dispatches (${(100 * o.fraction).toFixed(1)}%), median of ${o.repeats} runs with and without timestamps.`),
        h('p', {}, download('ictal-profile.json', r), ' · ', download('ictal-trace.json', p.result!.trace), ' (chrome://tracing or Perfetto)')),
    );
  };
  render(store.getState());
  queue.subscribe(() => render(store.getState()));
  store.subscribe((s, prev) => (s.profile !== prev.profile || s.adapter !== prev.adapter) && render(s));
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

/** Share of the roofline; above 100% no kernel can be, so the kernel's byte or FLOP count overstates its work. */
function roofCell(k: KernelRow): HTMLTableCellElement {
  const over = (k.rooflineShare ?? 0) > 1;
  return h('td', { class: over ? 'num over' : 'num', title: over ? 'above the roofline: this kernel\'s byte or FLOP count overstates its work' : undefined },
    `${pct(k.rooflineShare)} ${k.bound}${over ? ' !' : ''}`);
}

function table(rows: KernelRow[]): HTMLTableElement {
  const head = ['kernel', 'precision', 'shapes', 'calls', 'mean µs', 'GB/s', 'GFLOP/s', 'share', 'of roofline'];
  return h('table', { class: 'kernels' },
    h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((k) => h('tr', {},
      h('td', {}, k.label), h('td', {}, k.precision), h('td', {}, k.shapes), h('td', { class: 'num' }, k.calls),
      h('td', { class: 'num' }, `${(k.meanNs / 1000).toFixed(1)}${k.belowQuantum ? '*' : ''}`),
      h('td', { class: 'num' }, k.gbps.toFixed(2)), h('td', { class: 'num' }, k.gflops.toFixed(2)),
      h('td', { class: 'num' }, pct(k.share)), k.bound ? roofCell(k) : h('td', { class: 'num' }, '-')))));
}
