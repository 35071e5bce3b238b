// Detection: a model (the built-in v3-tiny with seeded weights, or a user's graph.json + weights.safetensors) run
// over the recording's windows in the engine worker; the stitched probability, the detected events and, with
// labels, the metrics.
import '../recording.css';
import type { Prediction } from '../../engine/engine.ts';
import { DEFAULT_POSTPROCESS as PP } from '../../data/postprocess.ts';
import type { LabStore } from '../store.ts';
import type { RecordingLabState, RecordingLabStore } from '../recording-store.ts';
import type { GpuQueue } from '../gpu-queue.ts';
import { PRECISIONS, type Precision } from '../../gpu/precision.ts';
import { probabilityChart } from '../charts/probability-chart.ts';
import { h, show, taskError, taskLine } from '../dom.ts';

const OVERLAPS: [number, string][] = [[6, '1/6 window (each sample seen by 6 windows)'], [2, '1/2 window'], [1, 'whole window (no overlap, fastest)']];

export function mountDetectionPanel(host: HTMLElement, store: RecordingLabStore, lab: LabStore, queue: GpuQueue): void {
  // Controls built once (a redraw would drop a choice being made); what they show is set in render().
  const overlap = h('select', { 'data-testid': 'overlap', id: 'detection-overlap' },
    OVERLAPS.map(([n, label]) => h('option', { value: String(n) }, `stride ${label}`)));
  overlap.addEventListener('change', () => store.getState().setOverlap(Number(overlap.value)));
  const batch = h('input', { type: 'number', min: '1', max: '64', step: '1', id: 'detection-batch', 'data-testid': 'detection-batch' });
  const batchError = h('span', { class: 'field-error', role: 'alert' });
  batch.addEventListener('input', () => {
    const n = Number(batch.value);
    const ok = batch.value.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= 64;
    batchError.textContent = ok ? '' : `Batch: "${batch.value}" is not a whole number from 1 to 64`;
    if (ok) store.getState().setRun({ batch: n });
    render();
  });
  const precision = h('select', { id: 'detection-precision', 'data-testid': 'detection-precision' }, PRECISIONS.map((p) => h('option', { value: p }, p)));
  precision.addEventListener('change', () => store.getState().setRun({ precision: precision.value as Precision }));
  const run = h('button', { type: 'button', 'data-testid': 'run-model' }, 'Run model');
  run.addEventListener('click', () => void store.getState().predict());
  const why = h('span', { class: 'muted', 'data-testid': 'run-why' });
  const status = h('div', {});
  show(host,
    h('h2', { id: 'detection-title' }, 'Detection'),
    h('p', { class: 'muted' },
      `The model runs over windows of its own input length with the chosen stride, in batches in the engine worker. Each sample's probability is the mean, `,
      `over the windows covering it, of sigmoid(logit). Events: on after ${PP.minOnsetSamples} samples at p ≥ ${PP.onThreshold}, off after ${PP.minOffsetSamples} below ${PP.offThreshold}, `,
      `opening (${PP.openingSamples} samples) and closing (${PP.closingSamples}), kept from ${PP.minDurationS} s, merged across gaps of up to ${PP.mergeGapS} s.`),
    h('div', { class: 'model-row' },
      h('label', { for: 'detection-overlap' }, 'Stride'), overlap,
      h('label', { for: 'detection-batch' }, 'Batch'), batch,
      h('label', { for: 'detection-precision' }, 'Precision'), precision,
      run, batchError),
    h('p', {}, why),
    status);

  function render() {
    const s = store.getState();
    const l = lab.getState();
    const gpuReady = l.adapter.status === 'ready';
    const busy = s.recording.running || s.model.running || s.prediction.running;
    const p = s.prediction;
    const info = l.adapter.status === 'ready' ? l.adapter.info : undefined;
    for (const el of [overlap, batch, precision]) el.disabled = busy;
    overlap.value = String(s.overlap);
    if (document.activeElement !== batch && !batchError.textContent) batch.value = String(s.batch);
    precision.value = s.precision;
    for (const o of precision.options) o.disabled = o.value === 'f16' && !info?.features.includes('shader-f16');
    const reason = !gpuReady ? 'The model runs on WebGPU in the engine worker: no adapter yet (see the Device tab).'
      : !s.model.result ? 'Load a model first (above).'
      : !s.recording.result ? 'Open a recording first.'
      : batchError.textContent ? 'Fix the batch first.' : '';
    run.disabled = busy || reason !== '';
    run.textContent = p.running ? 'Running…' : 'Run model';
    why.textContent = reason;
    const seizures = s.recording.result?.labels?.seizures ?? null;
    const partial = p.running && p.progress?.probability && s.recording.result;
    show(status,
      taskLine(p, queue, () => void s.cancel()),
      partial && probabilityChart({ probability: p.progress!.probability!, samples: s.recording.result!.samples, postprocess: { ...PP }, events: [] }, seizures),
      taskError(p, 'prediction-error'),
      !p.running && p.result && result(p.result, s),
    );
  }
  render();
  store.subscribe(render);
  queue.subscribe(render);
  lab.subscribe((now, prev) => now.adapter !== prev.adapter && render());
}

function result(p: Prediction, s: RecordingLabState): HTMLElement {
  const seizures = s.recording.result?.labels?.seizures ?? null;
  const overlapsLabel = (e: readonly [number, number]) => seizures?.some(([a, b]) => e[0] < b && a < e[1]);
  const ev = p.evaluation;
  return h('div', { 'data-testid': 'prediction-result' },
    h('p', { 'data-testid': 'prediction-summary' },
      `${p.model} over ${p.windows} window${p.windows === 1 ? '' : 's'} of ${p.window} samples, stride ${p.stride}, batch ${p.batch}, ${p.precision}: ${p.seconds.toFixed(1)} s in the worker.`),
    probabilityChart(p, seizures),
    h('h3', {}, 'Events'),
    p.events.length === 0
      ? h('p', { class: 'muted', 'data-testid': 'events' }, `No events: the probability never stayed at or above ${p.postprocess.onThreshold} long enough.`)
      : h('table', { class: 'events', 'data-testid': 'events' },
        h('thead', {}, h('tr', {}, ['#', 'start s', 'end s', 'duration s', seizures ? 'overlaps a label' : ''].filter(Boolean).map((c) => h('th', {}, c)))),
        h('tbody', {}, p.events.map((e, i) => h('tr', {},
          h('td', { class: 'num' }, i + 1), h('td', { class: 'num' }, e[0].toFixed(2)), h('td', { class: 'num' }, e[1].toFixed(2)),
          h('td', { class: 'num' }, (e[1] - e[0]).toFixed(2)), seizures && h('td', {}, overlapsLabel(e) ? 'yes' : 'no (false alarm)'))))),
    ev && h('div', { 'data-testid': 'metrics' },
      h('h3', {}, 'Against the labels'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'AUROC (samples)'), h('dd', { 'data-testid': 'auroc' }, ev.auroc === null ? 'undefined (one class only)' : ev.auroc.toFixed(4)),
        h('dt', {}, 'labelled seizures'), h('dd', {}, String(ev.referenceEvents)),
        h('dt', {}, 'hours'), h('dd', {}, ev.hours.toFixed(3))),
      h('table', { class: 'operating-points' },
        h('thead', {}, h('tr', {}, ['FA / 24 h target', 'threshold', 'sensitivity', 'FA / 24 h'].map((c) => h('th', {}, c)))),
        h('tbody', {}, ev.operatingPoints.map((o) => h('tr', {},
          h('td', { class: 'num' }, o.targetPer24h), h('td', { class: 'num' }, o.threshold?.toFixed(3) ?? '-'),
          o.degenerate
            ? h('td', { class: 'num degenerate', 'data-testid': 'degenerate', title: o.degenerate }, `${o.sensitivity === null ? '-' : `${(100 * o.sensitivity).toFixed(1)}%`} degenerate`)
            : h('td', { class: 'num' }, o.sensitivity === null ? '-' : `${(100 * o.sensitivity).toFixed(1)}%`),
          h('td', { class: 'num' }, o.falseAlarmsPer24h?.toFixed(1) ?? '-'))))),
      ev.operatingPoints.some((o) => o.degenerate) && h('div', { class: 'notice', role: 'note', 'data-testid': 'degenerate-notice' },
        h('strong', {}, 'Degenerate operating points: '),
        ev.operatingPoints.filter((o) => o.degenerate).map((o) => `at ${o.targetPer24h} FA/24 h, ${o.degenerate}`).join('; '), '.'),
      h('p', { class: 'muted' }, 'Sensitivity at each false-alarm rate: the lowest threshold of a bisection search that meets it, over the same post-processing (docs/data.md); "-" where none does.')),
  );
}
