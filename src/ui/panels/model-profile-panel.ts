// Model profile: one forward pass of the loaded model at a chosen batch and precision, timed per dispatch
// (Engine.profileModel, the same method as `ictal profile`): a sortable table by node or by kernel, the
// dispatch timeline, the kernels on the roofline, and the report and Chrome trace to download.
import type { KernelRow, ModelProfile } from '../../engine/engine.ts';
import { PRECISIONS, type Precision } from '../../gpu/precision.ts';
import type { LabStore } from '../store.ts';
import type { RecordingLabStore } from '../recording-store.ts';
import type { GpuQueue } from '../gpu-queue.ts';
import { h, show, taskError, taskLine } from '../dom.ts';
import { timelineChart } from '../charts/timeline-chart.ts';
import { rooflineChart } from '../charts/roofline-chart.ts';

type SortKey = 'label' | 'calls' | 'ms' | 'share' | 'roofline';
const COLUMNS: [SortKey, string][] = [['label', 'node / kernel'], ['calls', 'calls'], ['ms', 'ms'], ['share', 'share'], ['roofline', 'of roofline']];

export function mountModelProfilePanel(host: HTMLElement, lab: LabStore, models: RecordingLabStore, queue: GpuQueue): void {
  const batch = h('input', { type: 'number', min: '1', step: '1', value: '1', id: 'profile-batch', 'data-testid': 'profile-batch' });
  const precision = h('select', { id: 'profile-precision', 'data-testid': 'profile-precision' }, PRECISIONS.map((p) => h('option', { value: p }, p)));
  const by = h('select', { id: 'profile-by', 'data-testid': 'profile-by' }, h('option', { value: 'node' }, 'by node'), h('option', { value: 'kernel' }, 'by kernel'));
  const run = h('button', { type: 'button', 'data-testid': 'profile-model' }, 'Profile model');
  const fieldError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'profile-batch-error' });
  const status = h('div', {});
  let sort: { key: SortKey; descending: boolean } = { key: 'ms', descending: true };
  let urls: string[] = [];

  const readBatch = (): number | undefined => {
    const n = Number(batch.value);
    const ok = batch.value.trim() !== '' && Number.isInteger(n) && n >= 1;
    fieldError.textContent = ok ? '' : `Batch: "${batch.value}" is not a whole number >= 1`;
    return ok ? n : undefined;
  };
  batch.addEventListener('input', () => render());
  run.addEventListener('click', () => {
    const b = readBatch();
    if (b !== undefined) void lab.getState().profileModel({ batch: b, precision: precision.value as Precision });
  });
  by.addEventListener('change', () => render());

  show(host,
    h('h2', { id: 'model-profile-title' }, 'Model profile'),
    h('p', { class: 'muted' }, 'One forward pass of the loaded model on seeded input, every dispatch timed with timestamp queries: where the time goes, by node (module path) or by kernel, ',
      'against the roofline when the Device tab has calibrated. `npx ictal profile` runs the same engine method.'),
    h('div', { class: 'model-row' },
      h('label', { for: 'profile-batch' }, 'Batch'), batch,
      h('label', { for: 'profile-precision' }, 'Precision'), precision,
      run, fieldError),
    status);

  function render() {
    const s = lab.getState();
    const m = models.getState().model;
    const t = s.modelProfile;
    const info = s.adapter.status === 'ready' ? s.adapter.info : undefined;
    for (const o of precision.options) o.disabled = o.value === 'f16' && !info?.features.includes('shader-f16');
    const validBatch = readBatch() !== undefined;
    const why = !info ? 'No WebGPU adapter (see the Device tab).' : !m.result ? 'Load a model first (above).' : !validBatch ? 'Fix the batch first.' : '';
    run.disabled = t.running || why !== '';
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    const download = (name: string, data: unknown, testid: string) => {
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' }));
      urls.push(url);
      return h('a', { href: url, download: name, 'data-testid': testid }, name);
    };
    const r = t.result;
    show(status,
      why && h('p', { class: 'muted' }, why),
      taskLine(t, queue, () => void s.cancel()),
      taskError(t, 'model-profile-error'),
      r && h('div', { 'data-testid': 'model-profile-result' },
        h('p', { 'data-testid': 'model-profile-summary' },
          `${r.model} (${r.source}), batch ${r.batch}, ${r.precision}: ${(r.byNode.gpuNs / 1e6).toFixed(2)} ms of GPU time in ${r.byNode.dispatches} dispatches; `,
          `activations ${(r.activationBytes / 2 ** 20).toFixed(1)} MiB, arena peak ${(r.arenaPeakBytes / 2 ** 20).toFixed(1)} MiB.`),
        h('div', { class: 'model-row' }, h('label', { for: 'profile-by' }, 'Rows'), by),
        table(by.value === 'kernel' ? r.byKernel.kernels : r.byNode.kernels, sort, (key) => {
          sort = { key, descending: sort.key === key ? !sort.descending : key !== 'label' };
          render();
        }),
        h('h3', {}, 'Timeline'),
        timelineChart(r.trace),
        h('h3', {}, 'On the roofline'),
        s.calibration.result
          ? rooflineChart(s.calibration.result, points(r))
          : h('p', { class: 'muted', 'data-testid': 'profile-no-roofline' }, 'Calibrate on the Device tab, then profile again, to see these kernels against the roofline.'),
        h('p', {}, 'Download: ', download(`ictal-${r.model}-profile.json`, { model: r.model, batch: r.batch, precision: r.precision, byNode: r.byNode, byKernel: r.byKernel }, 'profile-json'),
          ' · ', download(`ictal-${r.model}-trace.json`, r.trace, 'profile-trace'), ' (chrome://tracing or Perfetto)')),
    );
  }
  render();
  lab.subscribe((now, prev) => (now.modelProfile !== prev.modelProfile || now.adapter !== prev.adapter || now.calibration.result !== prev.calibration.result) && render());
  models.subscribe((now, prev) => now.model !== prev.model && render());
  queue.subscribe(render);
}

function points(r: ModelProfile) {
  return r.byKernel.kernels.filter((k) => k.bytes > 0 && k.timeNs > 0)
    .map((k) => ({ label: k.label, precision: k.precision, intensity: k.flops / k.bytes, gflops: k.gflops }));
}

const value = (k: KernelRow, key: SortKey): number | string =>
  key === 'label' ? k.label : key === 'calls' ? k.calls : key === 'ms' ? k.timeNs : key === 'share' ? k.share : k.rooflineShare ?? -1;

function table(rows: KernelRow[], sort: { key: SortKey; descending: boolean }, onSort: (key: SortKey) => void): HTMLTableElement {
  const sorted = [...rows].sort((a, b) => {
    const va = value(a, sort.key), vb = value(b, sort.key);
    const c = typeof va === 'string' ? va.localeCompare(vb as string) : va - (vb as number);
    return sort.descending ? -c : c;
  });
  return h('table', { class: 'kernels', 'data-testid': 'model-profile-table' },
    h('thead', {}, h('tr', {}, COLUMNS.map(([key, name]) => {
      const b = h('button', { type: 'button', class: 'sort', 'data-sort': key }, name, sort.key === key ? (sort.descending ? ' ▼' : ' ▲') : '');
      b.addEventListener('click', () => onSort(key));
      return h('th', { 'aria-sort': sort.key === key ? (sort.descending ? 'descending' : 'ascending') : 'none' }, b);
    }))),
    h('tbody', {}, sorted.map((k) => h('tr', {},
      h('td', { title: k.shapes || k.kernel }, k.label),
      h('td', { class: 'num' }, k.calls),
      h('td', { class: 'num' }, `${(k.timeNs / 1e6).toFixed(3)}${k.belowQuantum ? '*' : ''}`),
      h('td', { class: 'num' }, `${(100 * k.share).toFixed(1)}%`),
      h('td', { class: 'num' }, k.rooflineShare === undefined ? '-' : `${(100 * k.rooflineShare).toFixed(1)}% ${k.bound}`)))));
}
