// The model every tab works on: the built-in v3-tiny with seeded weights, or a user's graph .json + weights
// .safetensors; what is loaded, and a banner when its weights are untrained. The controls are built once (a
// re-render would empty the file input); only the status below them is redrawn.
import type { LabStore } from '../store.ts';
import { DEFAULT_MODEL, type RecordingLabStore } from '../recording-store.ts';
import type { GpuQueue } from '../gpu-queue.ts';
import { h, show, taskError, taskLine } from '../dom.ts';

export function mountModelBar(host: HTMLElement, store: RecordingLabStore, lab: LabStore, queue: GpuQueue): void {
  const preset = h('button', { type: 'button', 'data-testid': 'load-preset' }, `Load ${DEFAULT_MODEL.preset} (seeded weights)`);
  preset.addEventListener('click', () => void store.getState().loadModel());
  const files = h('input', { type: 'file', multiple: true, accept: '.json,.safetensors', 'data-testid': 'model-files', id: 'model-files' });
  // Emptied once read: the loaded model's files are named below (a refused pick is not what is loaded), and the
  // same files picked again (fixed on disk) fire a change again.
  files.addEventListener('change', () => {
    const picked = [...(files.files ?? [])];
    files.value = '';
    if (picked.length > 0) void store.getState().loadModelFiles(picked);
  });
  const status = h('div', { class: 'model-status' });
  show(host,
    h('div', { class: 'model-row' },
      h('strong', {}, 'Model'), preset,
      h('label', { for: 'model-files' }, 'or a graph .json + weights .safetensors:'), files),
    status);

  const render = () => {
    const s = store.getState();
    const m = s.model;
    const busy = s.recording.running || m.running || s.prediction.running;
    preset.disabled = busy;
    files.disabled = busy;
    const info = m.result;
    show(status,
      // A load waits for the GPU behind any running task (the model may be in use): queued, it can be cancelled.
      taskLine(m, queue),
      taskError(m, 'model-error'),
      info
        ? h('p', { 'data-testid': 'model-info' },
          h('strong', {}, info.name), ` (${info.source}): ${info.parameters.toLocaleString('en')} parameters, windows of ${info.window} samples (${info.windowSeconds} s)`)
        : !m.running && h('p', { class: 'muted', 'data-testid': 'no-model' }, 'No model loaded: the Model profile, Headroom, Train, Remote runs and Recordings tabs need one.'),
      info?.seeded && h('div', { class: 'notice', role: 'note', 'data-testid': 'untrained-banner' },
        h('strong', {}, 'Untrained weights: chance-level output. '),
        'These are seeded initial weights; its probabilities and metrics say nothing about seizures. Train it (Train, Remote runs) or load trained weights.'),
    );
  };
  render();
  store.subscribe(render);
  queue.subscribe(render);
  lab.subscribe((now, prev) => now.adapter !== prev.adapter && render());
}
