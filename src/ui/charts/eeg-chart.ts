// The recording drawn with d3: the 19 preprocessed channels stacked (min/max per pixel column), the labelled
// seizures shaded behind them, and under them the grid of model windows, staggered so that overlapping windows
// sit on different rows.
import * as d3 from 'd3';
import type { RecordingView } from '../../engine/engine.ts';
import type { WindowPlan } from '../../data/window-stitch.ts';
import { WIDTH, drawTimeAxis, envelopeArea, timeScale } from './time-axis.ts';

const TOP = 8;
const ROW = 22;
/** By default a row spans z-scores -4..4 (the signal is clipped to +-10; bigger excursions run into the neighbours). */
export const DEFAULT_ROW_Z = 4;
/** The amplitude scales the view offers: standard deviations from a row's middle to its edge. */
export const ROW_Z_CHOICES: readonly number[] = [1, 2, 4, 8];
const WINDOW_ROW = 5;

/** `rowZ`: the standard deviations from a row's middle to its edge (smaller: a taller trace). */
export function eegChart(view: RecordingView, plan: WindowPlan | null, rowZ = DEFAULT_ROW_Z): SVGSVGElement {
  const seconds = view.samples / view.sampleRate;
  const x = timeScale(seconds);
  const channelsBottom = TOP + ROW * view.channels.length;
  // Windows k and k + rows never overlap, the extra window ending at the last sample included.
  const rows = plan ? Math.ceil(plan.window / plan.stride) + 1 : 0;
  const gridTop = channelsBottom + 10;
  const axisY = gridTop + rows * WINDOW_ROW + 6;
  const height = axisY + 28;
  const svg = d3.create('svg').attr('viewBox', `0 0 ${WIDTH} ${height}`).attr('class', 'eeg').attr('role', 'img')
    .attr('aria-label', `${view.channels.length} channels over ${seconds.toFixed(0)} s`);

  svg.append('g').selectAll('rect').data(view.labels?.seizures ?? []).join('rect')
    .attr('class', 'seizure-label').attr('x', (s) => x(s[0])).attr('width', (s) => Math.max(1, x(s[1]) - x(s[0])))
    .attr('y', TOP).attr('height', channelsBottom - TOP)
    .append('title').text((s) => `seizure (label) ${s[0].toFixed(1)}-${s[1].toFixed(1)} s`);

  const channels = svg.append('g').attr('class', 'channels');
  view.envelopes.forEach((e, c) => {
    const mid = TOP + ROW * (c + 0.5);
    const y = (v: number) => mid - (Math.max(-rowZ, Math.min(rowZ, v)) / rowZ) * (ROW / 2);
    channels.append('text').attr('class', 'channel-name').attr('x', x.range()[0]! - 8).attr('y', mid).attr('dy', '0.35em')
      .attr('text-anchor', 'end').text(view.channels[c]!);
    channels.append('path').attr('class', 'channel').attr('d', envelopeArea(e, x, y));
  });

  // The amplitude scale: a bar of rowZ standard deviations (channels are z-scored), the half-height of a row.
  const barX = x.range()[1]! - 3, barBottom = TOP + ROW * (view.channels.length - 0.5);
  const scale = svg.append('g').attr('class', 'amplitude-scale').attr('data-testid', 'amplitude-scale');
  scale.append('line').attr('x1', barX).attr('x2', barX).attr('y1', barBottom - ROW / 2).attr('y2', barBottom);
  scale.append('text').attr('class', 'note').attr('x', barX - 4).attr('y', barBottom - ROW / 4).attr('dy', '0.35em').attr('text-anchor', 'end')
    .text(`${rowZ} SD`);
  scale.append('title').text(`amplitude scale: ${rowZ} standard deviations of the z-scored channel; each row shows ±${rowZ}, clipped beyond`);

  if (plan) {
    const t = (sample: number) => x(sample / view.sampleRate);
    svg.append('g').attr('class', 'window-grid').selectAll('rect').data(plan.starts).join('rect')
      .attr('class', 'window').attr('x', (s) => t(s)).attr('width', Math.max(1, t(plan.window) - t(0) - 1))
      .attr('y', (_, k) => gridTop + (k % rows) * WINDOW_ROW).attr('height', WINDOW_ROW - 1)
      .append('title').text((s, k) => `window ${k + 1}: ${(s / view.sampleRate).toFixed(1)}-${((s + plan.window) / view.sampleRate).toFixed(1)} s`);
    // Closer to the plot than the channel names: the word is nearly as wide as the margin.
    svg.append('text').attr('class', 'note').attr('x', x.range()[0]! - 3).attr('y', gridTop + (rows * WINDOW_ROW) / 2).attr('dy', '0.35em')
      .attr('text-anchor', 'end').text('windows');
  }
  drawTimeAxis(svg, x, axisY);
  return svg.node()!;
}
