// The time axis the recording's charts share: the same width, margins and seconds-to-pixels scale, so the channel
// plot and the probability trace line up column for column. The engine reduces each series to one min/max pair per
// pixel column of this plot (PLOT_COLUMNS).
import * as d3 from 'd3';
import type { Envelope } from '../../data/envelope.ts';

export const WIDTH = 960;
export const MARGIN = { left: 52, right: 16 };
export const PLOT_COLUMNS = WIDTH - MARGIN.left - MARGIN.right;

export type TimeScale = d3.ScaleLinear<number, number>;

export function timeScale(seconds: number): TimeScale {
  return d3.scaleLinear().domain([0, seconds]).range([MARGIN.left, WIDTH - MARGIN.right]);
}

/** Seconds as m:ss (or h:mm:ss) ticks. */
function clock(seconds: number): string {
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

export function drawTimeAxis(svg: d3.Selection<SVGSVGElement, undefined, null, undefined>, x: TimeScale, y: number): void {
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${y})`)
    .call(d3.axisBottom(x).ticks(10).tickFormat((d) => clock(Number(d))));
  // The axis's title in the left margin, on the line of its tick labels (the charts leave no room below them), clear
  // of the first tick's label (centred on the margin's edge); the ticks say m:ss themselves.
  svg.append('text').attr('class', 'axis-title time-title').attr('x', x.range()[0]! - 16).attr('y', y + 9).attr('dy', '0.71em')
    .attr('text-anchor', 'end').text('time');
}

/** A min/max band of an envelope: column c drawn at the middle of its span of the time axis. */
export function envelopeArea(e: Envelope, x: TimeScale, y: (v: number) => number): string {
  const seconds = x.domain()[1]!;
  const at = (c: number) => x(((c + 0.5) / e.columns) * seconds);
  // Columns with no value yet (a run in progress: min Infinity, max -Infinity) leave a gap.
  return d3.area<number>().defined((c) => e.min[c]! <= e.max[c]!).x((c) => at(c)).y0((c) => y(e.min[c]!)).y1((c) => y(e.max[c]!))(d3.range(e.columns)) ?? '';
}
