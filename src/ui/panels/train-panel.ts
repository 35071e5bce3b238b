// Train: the loaded model trained here on WebGPU (Engine.train, the backend's recipe) on synthetic EEG: a config
// form, live loss / grad-norm / loss-scale charts and step time, stop and resume, the weights (.safetensors) and
// the graph to download, and the trained weights made the lab's model for the Recordings tab.
import { PRECISIONS, type Precision } from '../../gpu/precision.ts';
import type { LabStore } from '../store.ts';
import type { RecordingLabStore } from '../recording-store.ts';
import type { TrainStore } from '../train-store.ts';
import type { GpuQueue } from '../gpu-queue.ts';
import type { EngineHandle } from '../engine-client.ts';
import { h, show, taskError, taskLine } from '../dom.ts';
import { lineChart } from '../charts/line-chart.ts';

export function mountTrainPanel(host: HTMLElement, store: TrainStore, lab: LabStore, models: RecordingLabStore, queue: GpuQueue, engine: EngineHandle): void {
  const field = (id: string, value: string, attrs: Record<string, string> = {}) =>
    h('input', { type: 'number', id, value, 'data-testid': id, ...attrs });
  const steps = field('train-steps', '20', { min: '1', step: '1' });
  const batch = field('train-batch', '4', { min: '1', step: '1' });
  const precision = h('select', { id: 'train-precision', 'data-testid': 'train-precision' }, PRECISIONS.map((p) => h('option', { value: p }, p)));
  const lr = field('train-lr', '0.00005', { min: '0', step: 'any' });
  const seed = field('train-seed', '42', { min: '0', step: '1' });
  const minutes = field('train-minutes', '10', { min: '1', max: '120', step: '1' });
  const data = h('select', { id: 'train-data', 'data-testid': 'train-data' },
    h('option', { value: 'synthetic' }, 'synthetic EEG'), h('option', { value: 'recording' }, 'the open recording (Recordings tab)'));
  const formError = h('span', { class: 'field-error', role: 'alert', 'data-testid': 'train-form-error' });
  const start = h('button', { type: 'button', 'data-testid': 'train-start' }, 'Train');
  const resume = h('button', { type: 'button', class: 'secondary', 'data-testid': 'train-resume' }, 'Resume');
  const use = h('button', { type: 'button', class: 'secondary', 'data-testid': 'train-use' }, 'Use these weights in the lab');
  const status = h('div', {});
  let urls: string[] = [];

  const form = () => {
    const whole = (el: HTMLInputElement, name: string, min: number, max = Infinity) => {
      const n = Number(el.value);
      if (el.value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: "${el.value}" is not a whole number from ${min}${max < Infinity ? ` to ${max}` : ' up'}`);
      return n;
    };
    const rate = Number(lr.value);
    if (lr.value.trim() === '' || !(rate > 0 && rate <= 10)) throw new Error(`Learning rate: "${lr.value}" is not a number in (0, 10]`);
    return { steps: whole(steps, 'Steps', 1), batch: whole(batch, 'Batch', 1), precision: precision.value as Precision, lr: rate, seed: whole(seed, 'Seed', 0), minutes: whole(minutes, 'Minutes', 1, 120), data: data.value as 'synthetic' | 'recording' };
  };
  start.addEventListener('click', () => {
    try {
      const f = form();
      formError.textContent = '';
      void store.getState().train(f);
    } catch (e) {
      formError.textContent = (e as Error).message;
    }
  });
  resume.addEventListener('click', () => void store.getState().resume());
  use.addEventListener('click', () => void store.getState().useWeights());

  show(host,
    h('h2', { id: 'train-title' }, 'Train'),
    h('p', { class: 'muted' }, 'The loaded model trained here on WebGPU with the backend\'s recipe (AdamW, warm-up and cosine, focal loss, loss scaling in the half modes) ',
      'on synthetic EEG or the recording open in the Recordings tab (an EDF with its .csv_bi labels), cut into its windows. Stop keeps what was learnt; Resume runs the remaining steps from there (the learning-rate schedule starts again over them). ',
      '`npx ictal train` runs the same trainer.'),
    h('div', { class: 'model-row' },
      h('label', { for: 'train-steps' }, 'Steps'), steps,
      h('label', { for: 'train-batch' }, 'Batch'), batch,
      h('label', { for: 'train-precision' }, 'Precision'), precision,
      h('label', { for: 'train-lr' }, 'Learning rate'), lr,
      h('label', { for: 'train-seed' }, 'Seed'), seed,
      h('label', { for: 'train-data' }, 'Data'), data,
      h('label', { for: 'train-minutes' }, 'Minutes of synthetic EEG'), minutes),
    h('div', { class: 'model-row' }, start, resume, use, formError),
    status);

  const render = () => {
    const s = store.getState();
    const l = lab.getState();
    const info = l.adapter.status === 'ready' ? l.adapter.info : undefined;
    for (const o of precision.options) o.disabled = o.value === 'f16' && !info?.features.includes('shader-f16');
    const why = !info ? 'No WebGPU adapter (see the Device tab).' : !models.getState().model.result ? 'Load a model first (above).'
      : data.value === 'recording' && !models.getState().recording.result ? 'Open a recording in the Recordings tab first, or train on synthetic EEG.' : '';
    minutes.disabled = data.value === 'recording';
    const r = s.run.result;
    start.disabled = s.run.running || why !== '';
    resume.disabled = s.run.running || !r?.stopped || !s.form || r.history.length >= s.form.steps;
    use.disabled = s.run.running || !r || s.handoff.running;
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    const link = (blob: Blob, name: string, testid: string) => {
      const url = URL.createObjectURL(blob);
      urls.push(url);
      return h('a', { href: url, download: name, 'data-testid': testid }, name);
    };
    const hist = s.history;
    const last = hist.at(-1);
    const graphLink = h('span', {});
    if (r && !s.run.running) void engine.exportModel().then((m) => show(graphLink, link(new Blob([m.graph], { type: 'application/json' }), `${m.name}.json`, 'train-graph'))).catch(() => undefined);
    show(status,
      why && h('p', { class: 'muted' }, why),
      taskLine(s.run, queue, () => void s.stop()),
      taskError(s.run, 'train-error'),
      last && h('p', { 'data-testid': 'train-summary' },
        `step ${last.step}: loss ${last.loss.toFixed(4)}, grad norm ${last.gradNorm.toFixed(3)}, loss scale ${last.scale}, lr ${last.lr.toExponential(2)}, `,
        `${last.stepMs.toFixed(0)} ms a step, ${(last.memoryBytes / 2 ** 20).toFixed(1)} MiB on the GPU, ${last.skippedTotal} skipped`),
      hist.length > 0 && lineChart([{ name: 'loss', color: '#1d3557', points: hist.map((p) => ({ x: p.step, y: p.loss })) }], { x: 'step', y: 'training loss', testid: 'train-loss-chart' }),
      hist.length > 0 && lineChart([{ name: 'grad norm', color: '#2a9d8f', points: hist.map((p) => ({ x: p.step, y: p.gradNorm })) }], { x: 'step', y: 'gradient norm (before clipping)', testid: 'train-grad-chart' }),
      hist.length > 0 && lineChart([{ name: 'loss scale', color: '#e76f51', points: hist.map((p) => ({ x: p.step, y: p.scale })) }], { x: 'step', y: 'loss scale', testid: 'train-scale-chart', logY: true }),
      r && !s.run.running && h('p', { 'data-testid': 'train-result' },
        `${r.stopped ? 'Stopped' : 'Finished'} after ${r.history.length} step${r.history.length === 1 ? '' : 's'} on ${r.trainingWindows} windows (pos_weight ${r.posWeight.toFixed(3)}). Download: `,
        link(new Blob([r.weights as BlobPart], { type: 'application/octet-stream' }), 'trained.safetensors', 'train-weights'), ' · ', graphLink),
      taskError(s.handoff, 'train-handoff-error'),
      s.handoff.result && !s.handoff.running && h('p', { class: 'muted', 'data-testid': 'train-handoff' }, s.handoff.result),
    );
  };
  render();
  store.subscribe(render);
  queue.subscribe(render);
  lab.subscribe((now, prev) => now.adapter !== prev.adapter && render());
  models.subscribe((now, prev) => (now.model !== prev.model || now.recording !== prev.recording) && render());
  data.addEventListener('change', render);
}
