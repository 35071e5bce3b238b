// Detection: a model (the built-in v3-tiny with seeded weights, or a user's graph.json + weights.safetensors) run
// over the recording's windows in the engine worker; the stitched probability, the detected events and, with
// labels, the metrics.
import '../recording.css';
import type { Prediction } from '../../engine/engine.ts';
import { DEFAULT_POSTPROCESS as PP } from '../../data/postprocess.ts';
import type { LabStore } from '../store.ts';
import { DEFAULT_MODEL, type RecordingLabState, type RecordingLabStore } from '../recording-store.ts';
import { probabilityChart } from '../charts/probability-chart.ts';
import { h, progressLine, show } from '../dom.ts';

const OVERLAPS: [number, string][] = [[6, '1/6 window (each sample seen by 6 windows)'], [2, '1/2 window'], [1, 'whole window (no overlap, fastest)']];

export function mountDetectionPanel(host: HTMLElement, store: RecordingLabStore, lab: LabStore): void {
  const render = () => {
    const s = store.getState();
    const l = lab.getState();
    const gpuReady = l.adapter.status === 'ready';
    // One GPU session in the engine: a model run waits while a calibration or a kernel profile uses it.
    const gpuBusy = l.calibration.running || l.profile.running;
    const busy = s.recording.running || s.model.running || s.prediction.running;
    const m = s.model, p = s.prediction;
    const preset = h('button', { type: 'button', 'data-testid': 'load-preset', disabled: busy }, `Load ${DEFAULT_MODEL.preset} (seeded weights)`);
    preset.addEventListener('click', () => void s.loadModel());
    const files = h('input', { type: 'file', multiple: true, accept: '.json,.safetensors', 'data-testid': 'model-files', disabled: busy });
    files.addEventListener('change', () => files.files && files.files.length > 0 && void s.loadModelFiles([...files.files]));
    const overlap = h('select', { 'data-testid': 'overlap', disabled: busy },
      OVERLAPS.map(([n, label]) => h('option', { value: String(n), selected: n === s.overlap }, `stride ${label}`)));
    overlap.addEventListener('change', () => s.setOverlap(Number(overlap.value)));
    const run = h('button', { type: 'button', 'data-testid': 'run-model', disabled: busy || !gpuReady || gpuBusy || !s.recording.result }, p.running ? 'Running…' : 'Run model');
    run.addEventListener('click', () => void s.predict());
    const why = !gpuReady ? 'The model runs on WebGPU in the engine worker: no adapter yet (see Adapter above).'
      : gpuBusy ? 'The GPU is busy with a calibration or a kernel profile.'
      : !s.recording.result ? 'Open a recording first.' : undefined;
    show(host,
      h('h2', { id: 'detection-title' }, 'Detection'),
      h('p', { class: 'muted' },
        `The model runs over windows of its own input length with the chosen stride, in batches in the engine worker. Each sample's probability is the mean, `,
        `over the windows covering it, of sigmoid(logit). Events: on after ${PP.minOnsetSamples} samples at p ≥ ${PP.onThreshold}, off after ${PP.minOffsetSamples} below ${PP.offThreshold}, `,
        `opening (${PP.openingSamples} samples) and closing (${PP.closingSamples}), kept from ${PP.minDurationS} s, merged across gaps of up to ${PP.mergeGapS} s.`),
      h('div', { class: 'model-row' },
        preset, h('label', {}, ' or a graph .json + weights .safetensors: ', files)),
      m.running && h('p', { class: 'muted', role: 'status' }, 'Loading the model…'),
      m.error && h('div', { class: 'notice error', role: 'alert', 'data-testid': 'model-error' }, m.error),
      m.result && h('p', { 'data-testid': 'model-info' },
        h('strong', {}, m.result.name), ` (${m.result.source}): ${m.result.parameters.toLocaleString('en')} parameters, windows of ${m.result.window} samples (${m.result.windowSeconds} s)`),
      h('div', { class: 'model-row' }, overlap, ' ', run, why && h('span', { class: 'muted' }, ` ${why}`)),
      p.running && progressLine(p.progress),
      p.error && h('div', { class: 'notice error', role: 'alert', 'data-testid': 'prediction-error' }, p.error),
      p.result && result(p.result, s),
    );
  };
  render();
  store.subscribe(render);
  lab.subscribe((now, prev) => (now.adapter !== prev.adapter || now.calibration.running !== prev.calibration.running || now.profile.running !== prev.profile.running) && render());
}

function result(p: Prediction, s: RecordingLabState): HTMLElement {
  const seizures = s.recording.result?.labels?.seizures ?? null;
  const overlapsLabel = (e: readonly [number, number]) => seizures?.some(([a, b]) => e[0] < b && a < e[1]);
  const ev = p.evaluation;
  return h('div', { 'data-testid': 'prediction-result' },
    h('p', { 'data-testid': 'prediction-summary' },
      `${p.model} over ${p.windows} window${p.windows === 1 ? '' : 's'} of ${p.window} samples, stride ${p.stride}, ${p.precision}: ${p.seconds.toFixed(1)} s in the worker.`),
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
          h('td', { class: 'num' }, o.sensitivity === null ? '-' : `${(100 * o.sensitivity).toFixed(1)}%`),
          h('td', { class: 'num' }, o.falseAlarmsPer24h?.toFixed(1) ?? '-'))))),
      h('p', { class: 'muted' }, 'Sensitivity at each false-alarm rate: the lowest threshold of a bisection search that meets it, over the same post-processing (docs/data.md); "-" where none does.')),
  );
}
