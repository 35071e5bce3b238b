// Headroom: for the loaded model and a precision, predicted memory against batch size for inference and for a
// training step, against this adapter's buffer limits and a budget the user sets (browsers do not report device
// memory); the largest batch predicted to fit; and a probe that really allocates and runs until a batch fails.
import { PRECISIONS, type Precision } from '../../gpu/precision.ts';
import type { HeadroomCurve, HeadroomMode } from '../../engine/engine.ts';
import type { LabStore } from '../store.ts';
import type { RecordingLabStore } from '../recording-store.ts';
import type { GpuQueue } from '../gpu-queue.ts';
import { h, show, taskError, taskLine } from '../dom.ts';
import { headroomChart } from '../charts/headroom-chart.ts';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export function mountHeadroomPanel(host: HTMLElement, lab: LabStore, models: RecordingLabStore, queue: GpuQueue): void {
  const precision = h('select', { id: 'headroom-precision', 'data-testid': 'headroom-precision' }, PRECISIONS.map((p) => h('option', { value: p }, p)));
  const maxBatch = h('input', { type: 'number', min: '1', step: '1', value: '256', id: 'headroom-max-batch', 'data-testid': 'headroom-max-batch' });
  const budget = h('input', { type: 'number', min: '1', step: '1', placeholder: 'none', id: 'headroom-budget', 'data-testid': 'headroom-budget' });
  const mode = h('select', { id: 'headroom-mode', 'data-testid': 'headroom-mode' }, h('option', { value: 'training' }, 'training steps'), h('option', { value: 'inference' }, 'forward passes'));
  const predict = h('button', { type: 'button', 'data-testid': 'headroom-predict' }, 'Predict');
  const probe = h('button', { type: 'button', class: 'secondary', 'data-testid': 'headroom-probe' }, 'Probe');
  const fieldError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'headroom-field-error' });
  const status = h('div', {});

  /** The form as a request, or undefined with the reason shown next to it. */
  const request = () => {
    const n = Number(maxBatch.value);
    if (maxBatch.value.trim() === '' || !Number.isInteger(n) || n < 1 || n > 65536) {
      fieldError.textContent = `Largest batch: "${maxBatch.value}" is not a whole number from 1 to 65536`;
      return undefined;
    }
    const b = budget.value.trim() === '' ? undefined : Number(budget.value);
    if (b !== undefined && !(Number.isFinite(b) && b > 0)) {
      fieldError.textContent = `Budget: "${budget.value}" is not a number of MiB > 0`;
      return undefined;
    }
    fieldError.textContent = '';
    return { precision: precision.value as Precision, maxBatch: n, budgetBytes: b === undefined ? undefined : Math.round(b * 2 ** 20) };
  };
  predict.addEventListener('click', () => {
    const r = request();
    if (r) void lab.getState().predictHeadroom(r);
  });
  probe.addEventListener('click', () => {
    const r = request();
    if (r) void lab.getState().probeHeadroom({ ...r, mode: mode.value as HeadroomMode });
  });
  for (const el of [maxBatch, budget]) el.addEventListener('input', () => render());

  show(host,
    h('h2', { id: 'headroom-title' }, 'Headroom'),
    h('p', { class: 'muted' }, 'How large a batch fits: the predicted bytes of one forward pass (weights, activations, workspace) and of one training step (also the ',
      'activations kept for backward, f32 gradients, AdamW state), the whole batch in one pass, against this adapter\'s maxBufferSize and ',
      'maxStorageBufferBindingSize (per buffer) and your budget (totals: WebGPU does not say how much memory the device has). ',
      'The probe really allocates and runs batch 1, 2, 4, … until one fails, and plots what the arena held. `npx ictal headroom` does the same.'),
    h('div', { class: 'model-row' },
      h('label', { for: 'headroom-precision' }, 'Precision'), precision,
      h('label', { for: 'headroom-max-batch' }, 'Largest batch'), maxBatch,
      h('label', { for: 'headroom-budget' }, 'Budget (MiB)'), budget,
      predict),
    h('div', { class: 'model-row' }, h('label', { for: 'headroom-mode' }, 'Probe with'), mode, probe, fieldError),
    status);

  function render() {
    const s = lab.getState();
    const m = models.getState().model;
    const info = s.adapter.status === 'ready' ? s.adapter.info : undefined;
    for (const o of precision.options) o.disabled = o.value === 'f16' && !info?.features.includes('shader-f16');
    const valid = request() !== undefined;
    const why = !info ? 'No WebGPU adapter (see the Device tab).' : !m.result ? 'Load a model first (above).' : '';
    predict.disabled = s.headroom.running || !valid || why !== '';
    probe.disabled = s.probe.running || !valid || why !== '';
    const r = s.headroom.result;
    const measured = s.probe.running ? s.probe.progress : s.probe.result;
    show(status,
      why && h('p', { class: 'muted' }, why),
      taskError(s.headroom, 'headroom-error'),
      taskLine(s.probe, queue, () => void s.cancel()),
      taskError(s.probe, 'probe-error'),
      r && h('div', { 'data-testid': 'headroom-result' },
        h('dl', { class: 'facts' },
          fits('inference', r.inference), fits('training', r.training),
          h('dt', {}, 'limits'), h('dd', {}, `maxBufferSize ${mib(r.limits.maxBufferSize)}, maxStorageBufferBindingSize ${mib(r.limits.maxStorageBufferBindingSize)}, budget ${r.limits.budgetBytes === undefined ? 'none' : mib(r.limits.budgetBytes)}`)),
        headroomChart(r, measured && measured.points.length ? { mode: measured.mode, points: measured.points } : undefined)),
      measured && measured.points.length > 0 && probeTable(measured.mode, measured.points),
    );
  }
  render();
  lab.subscribe((now, prev) => (now.headroom !== prev.headroom || now.probe !== prev.probe || now.adapter !== prev.adapter) && render());
  models.subscribe((now, prev) => now.model !== prev.model && render());
  queue.subscribe(render);
}

function fits(mode: HeadroomMode, c: HeadroomCurve): HTMLElement[] {
  return [h('dt', {}, `${mode}: largest batch`),
    h('dd', { 'data-testid': `headroom-largest-${mode}` }, c.largestFitting === 0 ? `none fits (${c.bindingLimit})` : `${c.largestFitting} (${c.bindingLimit})`)];
}

function probeTable(mode: HeadroomMode, points: { batch: number; ok: boolean; measuredBytes: number; predictedBytes: number; ms: number; error?: string }[]): HTMLElement {
  return h('table', { class: 'probe', 'data-testid': 'probe-table' },
    h('caption', {}, `Probe (${mode}): measured against predicted`),
    h('thead', {}, h('tr', {}, ['batch', 'predicted', 'measured', 'prediction off by', 'time'].map((c) => h('th', {}, c)))),
    h('tbody', {}, points.map((p) => h('tr', {},
      h('td', { class: 'num' }, p.batch),
      h('td', { class: 'num' }, mib(p.predictedBytes)),
      p.ok ? h('td', { class: 'num' }, mib(p.measuredBytes)) : h('td', { class: 'over', title: p.error }, `failed: ${p.error}`),
      h('td', { class: 'num' }, p.ok ? `${((100 * (p.predictedBytes - p.measuredBytes)) / p.measuredBytes).toFixed(1)}%` : '-'),
      h('td', { class: 'num' }, `${(p.ms / 1000).toFixed(1)} s`)))));
}
