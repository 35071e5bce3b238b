// The recording: drop or pick an EDF (and its .csv_bi), or load the synthetic one; then its header facts, its 19
// channels after preprocessing, the labelled seizures and the grid of model windows.
import '../recording.css';
import type { RecordingView } from '../../engine/engine.ts';
import { planWindows, strideFor, type WindowPlan } from '../../data/window-stitch.ts';
import { DEFAULT_SYNTHETIC, SYNTHETIC_MINUTES, syntheticMinutes, type RecordingLabState, type RecordingLabStore } from '../recording-store.ts';
import { DEFAULT_ROW_Z, ROW_Z_CHOICES, eegChart } from '../charts/eeg-chart.ts';
import { h, show, taskError, taskLine } from '../dom.ts';

export function mountRecordingPanel(host: HTMLElement, store: RecordingLabStore): void {
  // The picker is built once: redrawing it would empty the file input and the minutes typed.
  const pick = picker(store);
  const status = h('div', {});
  // The EEG's amplitude scale, a view setting (the data is the same): built once, the chart redrawn at its value.
  const amplitude = h('select', { id: 'eeg-amplitude', 'data-testid': 'eeg-amplitude' },
    ROW_Z_CHOICES.map((z) => h('option', { value: String(z), selected: z === DEFAULT_ROW_Z }, `±${z} SD per row`)));
  amplitude.addEventListener('change', () => render(store.getState()));
  show(host,
    h('h2', { id: 'recording-title' }, 'Recording'),
    h('p', { class: 'muted' }, 'An EDF recording with TUSZ-style channel labels (EEG FP1-REF, …) and, if you have it, its .csv_bi seizure labels (or TUSZ\'s per-channel .csv). ',
      'The engine worker reads the file piece by piece, maps the 19 montage channels and preprocesses them (256 Hz, band-pass 0.5-120 Hz, notch 60 Hz, z-score, clip ±10); nothing leaves this page.'),
    pick.element, status);
  const render = (s: RecordingLabState) => {
    const r = s.recording;
    pick.setBusy(s.recording.running || s.model.running || s.prediction.running);
    const whole = s.truncated && h('button', { type: 'button', class: 'secondary', 'data-testid': 'open-whole-records' }, `Open ${s.truncated.edf.name} up to its last whole record`);
    whole?.addEventListener('click', () => void s.openWholeRecords());
    show(status,
      taskLine(r, undefined, () => void s.cancel()),
      taskError(r, 'recording-error'),
      whole && h('p', {}, whole, h('span', { class: 'muted' }, ' (the samples after it are missing from the file)')),
      r.error && r.result && !r.cancelled && h('p', { class: 'muted', 'data-testid': 'recording-kept' }, `Still showing ${r.result.facts.name}.`),
      r.result && details(r.result, s, amplitude),
    );
  };
  render(store.getState());
  store.subscribe((s, prev) => (s.recording !== prev.recording || s.window !== prev.window || s.overlap !== prev.overlap || s.truncated !== prev.truncated
    || s.model.running !== prev.model.running || s.prediction.running !== prev.prediction.running) && render(s));
}

function picker(store: RecordingLabStore): { element: HTMLElement; setBusy(busy: boolean): void } {
  let busy = false;
  const input = h('input', { type: 'file', multiple: true, accept: '.edf,.csv_bi,.csv', 'data-testid': 'recording-files', id: 'recording-files' });
  // Emptied once read: the open recording's files are named in its facts (a refused pick is not what is open), and
  // the same files picked again fire a change again.
  input.addEventListener('change', () => {
    const picked = [...(input.files ?? [])];
    input.value = '';
    if (picked.length > 0) void store.getState().openFiles(picked);
  });
  const minutes = h('input', {
    type: 'number', min: String(SYNTHETIC_MINUTES.min), max: String(SYNTHETIC_MINUTES.max), step: '1', value: String(DEFAULT_SYNTHETIC.minutes),
    'data-testid': 'synthetic-minutes', id: 'synthetic-minutes',
  });
  const minutesError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'minutes-error' });
  const synthetic = h('button', { type: 'button', 'data-testid': 'load-synthetic' }, 'Load synthetic recording');
  const checkMinutes = (): number | undefined => {
    try {
      const m = syntheticMinutes(minutes.value);
      minutes.setCustomValidity('');
      minutesError.textContent = '';
      return m;
    } catch (e) {
      minutes.setCustomValidity((e as Error).message);
      minutesError.textContent = (e as Error).message;
      return undefined;
    }
  };
  minutes.addEventListener('input', () => {
    synthetic.disabled = busy || checkMinutes() === undefined;
  });
  synthetic.addEventListener('click', () => {
    const m = checkMinutes();
    if (m !== undefined) void store.getState().openSynthetic({ minutes: m, seed: DEFAULT_SYNTHETIC.seed });
  });
  const zone = h('div', { class: 'drop-zone', 'data-testid': 'drop-zone' },
    h('label', { for: 'recording-files' }, 'Drop an .edf (+ .csv_bi) here, or pick:'), input,
    h('span', { class: 'or' }, 'or'),
    h('span', { class: 'synthetic' }, synthetic, ' ', minutes, h('label', { for: 'synthetic-minutes', class: 'muted' }, ' minutes of synthetic EEG'), ' ', minutesError));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const files = e.dataTransfer?.files;
    if (files && files.length > 0 && !busy) void store.getState().openFiles([...files]);
  });
  return {
    element: zone,
    setBusy(b) {
      busy = b;
      input.disabled = b;
      synthetic.disabled = b || checkMinutes() === undefined;
    },
  };
}

function details(v: RecordingView, s: RecordingLabState, amplitude: HTMLSelectElement): HTMLElement {
  const f = v.facts;
  const seconds = (x: number) => `${+x.toFixed(2)} s`;
  let plan: WindowPlan | null = null;
  let windowNote: string;
  try {
    plan = planWindows(v.samples, s.window, strideFor(s.window, s.overlap));
    windowNote = `${plan.starts.length} window${plan.starts.length === 1 ? '' : 's'} of ${s.window} samples (${seconds(s.window / v.sampleRate)}), stride ${plan.stride} samples (1/${s.overlap} of the window)`;
  } catch (e) {
    windowNote = (e as Error).message;
  }
  return h('div', { 'data-testid': 'recording-result' },
    h('dl', { class: 'facts', 'data-testid': 'recording-facts' },
      h('dt', {}, 'file'), h('dd', { 'data-testid': 'recording-name' }, f.name),
      h('dt', {}, 'format'), h('dd', {}, f.format),
      h('dt', {}, 'start'), h('dd', {}, f.start),
      h('dt', {}, 'duration'), h('dd', { 'data-testid': 'recording-duration' }, `${seconds(f.durationSeconds)} (${f.records} records of ${seconds(f.recordSeconds)})`),
      h('dt', {}, 'signals'), h('dd', {}, `${f.signals}, of which the 19 montage channels at ${f.sampleRate} Hz, reference ${f.references.join(', ') || 'none named'}`),
      h('dt', {}, 'labels'), h('dd', { 'data-testid': 'recording-labels' }, v.labels
        ? `${v.labels.seizures.length} seizure${v.labels.seizures.length === 1 ? '' : 's'} in ${v.labels.source}${v.labels.seizures.length ? `: ${v.labels.seizures.map(([a, b]) => `${a.toFixed(1)}-${b.toFixed(1)} s`).join(', ')}` : ''}`
        : 'none (drop the .csv_bi together with the .edf to see them)'),
      h('dt', {}, 'windows'), h('dd', { 'data-testid': 'window-count' }, windowNote)),
    h('p', { class: 'muted' }, `Windows have the model's own input length (v3: 60 s, v3-tiny: 10 s) and a stride of 1/${s.overlap} of it; one more window ends at the last sample when the stride leaves a remainder.`),
    h('div', { class: 'model-row' }, h('label', { for: 'eeg-amplitude' }, 'Amplitude'), amplitude,
      h('span', { class: 'muted' }, 'channels are z-scored: the bar at the right of the plot is the scale')),
    eegChart(v, plan, Number(amplitude.value)),
    h('details', {},
      h('summary', {}, 'Channel mapping'),
      h('table', { class: 'limits', 'data-testid': 'channel-mapping' },
        h('tbody', {}, v.channels.map((c, i) => h('tr', {}, h('th', {}, c), h('td', {}, f.sourceLabels[i] ?? '')))))),
  );
}
