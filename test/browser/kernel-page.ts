// The kernel test page: runs the shared kernel cases in a dedicated Web Worker and shows the results, which the
// browser suite reads from `window.kernelRun`. Query string: ?perFamily=N for a representative subset.
import type { KernelRunMessage, KernelRunRequest, KernelRunState } from './kernel-protocol.ts';

const state: KernelRunState = { finished: false, results: [] };
Object.assign(window, { kernelRun: state });
const log = document.getElementById('log')!;
const status = document.getElementById('status')!;

const perFamily = new URLSearchParams(location.search).get('perFamily');
const request: KernelRunRequest = perFamily ? { perFamily: Number(perFamily) } : {};
const worker = new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module', name: 'kernel-cases' });
worker.addEventListener('error', (e) => finish(`the kernel worker failed: ${e.message || 'it could not be loaded'}`));
worker.addEventListener('message', (e: MessageEvent<KernelRunMessage>) => {
  const m = e.data;
  if (m.type === 'case') {
    state.results.push({ ...m.result, family: m.family, line: m.line });
    log.append(`${m.line}\n`);
  } else if (m.type === 'done') {
    state.adapter = m.adapter;
    state.precisions = m.precisions;
    finish();
  } else {
    finish(m.message);
  }
});
worker.postMessage(request);

function finish(error?: string): void {
  state.error = error;
  state.finished = true;
  const failed = state.results.filter((r) => !r.pass).length;
  status.textContent = error ?? `${state.results.length} cases on ${state.adapter} (${state.precisions?.join(', ')}): ${failed} failed`;
}
