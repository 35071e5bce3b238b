// Calibration: a button, its progress, and the measured roofline (with the last kernel profile placed on it).
import type { LabState, LabStore } from '../store.ts';
import { h, show, taskError, taskLine } from '../dom.ts';
import type { GpuQueue } from '../gpu-queue.ts';
import { rooflineChart, type RooflinePoint } from '../charts/roofline-chart.ts';

export function mountCalibrationPanel(host: HTMLElement, store: LabStore, queue: GpuQueue): void {
  const render = (s: LabState) => {
    const c = s.calibration;
    const button = h('button', { type: 'button', 'data-testid': 'calibrate', disabled: s.adapter.status !== 'ready' || c.running }, c.running ? 'Calibrating…' : 'Calibrate');
    button.addEventListener('click', () => void s.calibrate());
    show(host,
      h('h2', { id: 'calibration-title' }, 'Roofline'),
      h('p', { class: 'muted' }, 'Copy bandwidth (a large buffer read and written with vec4 loads) and FMA rate (long dependent f32 FMA chains in many invocations), timed on the GPU.'),
      button,
      taskLine(c, queue, () => void s.cancel()),
      taskError(c, 'calibration-error'),
      c.result && h('div', { 'data-testid': 'calibration-result' },
        h('dl', { class: 'facts' },
          h('dt', {}, 'copy'), h('dd', { 'data-testid': 'copy-gbps' }, `${c.result.copyGBps.toFixed(2)} GB/s`),
          h('dt', {}, 'FMA'), h('dd', { 'data-testid': 'fma-gflops' }, `${c.result.fmaGflops.toFixed(2)} GFLOP/s`),
          h('dt', {}, 'ridge'), h('dd', {}, `${c.result.ridge.toFixed(2)} FLOP/byte`),
          h('dt', {}, 'timing'), h('dd', {}, `${c.result.timing}${c.result.timing === 'timestamp-query' ? `, quantum ${c.result.quantumNs} ns` : ''}`)),
        rooflineChart(c.result, kernelPoints(s))),
    );
  };
  render(store.getState());
  queue.subscribe(() => render(store.getState()));
  store.subscribe((s, prev) => (s.calibration !== prev.calibration || s.adapter !== prev.adapter || s.profile.result !== prev.profile.result) && render(s));
}

function kernelPoints(s: LabState): RooflinePoint[] {
  return (s.profile.result?.report.kernels ?? [])
    .filter((k) => k.bytes > 0 && k.timeNs > 0)
    .map((k) => ({ label: k.label, precision: k.precision, intensity: k.flops / k.bytes, gflops: k.gflops }));
}
