// The dispatch timeline of a profiled pass (d3): one lane per kernel, one bar per dispatch at its GPU start and
// duration, so that gaps, long kernels and the order of the pass show at a glance.
import * as d3 from 'd3';
import type { ChromeTrace } from '../../engine/engine.ts';

const WIDTH = 960;
const LANE = 14;
const MARGIN = { top: 8, right: 16, bottom: 36, left: 250 };

export function timelineChart(trace: ChromeTrace): SVGSVGElement {
  const events = trace.traceEvents.filter((e) => e.ph === 'X');
  const kernel = (e: (typeof events)[number]) => String(e.args.kernel ?? e.name);
  const lanes = [...new Set(events.map(kernel))];
  const t0 = d3.min(events, (e) => e.ts) ?? 0;
  const t1 = d3.max(events, (e) => e.ts + (e.dur ?? 0)) ?? 1;
  const height = MARGIN.top + lanes.length * LANE + MARGIN.bottom;
  const x = d3.scaleLinear().domain([0, Math.max(t1 - t0, 1e-3) / 1000]).range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleBand<string>().domain(lanes).range([MARGIN.top, MARGIN.top + lanes.length * LANE]).padding(0.15);
  const color = d3.scaleOrdinal<string, string>(d3.schemeTableau10).domain(lanes);
  const svg = d3.create('svg').attr('viewBox', `0 0 ${WIDTH} ${height}`).attr('class', 'timeline').attr('role', 'img')
    .attr('aria-label', `dispatch timeline: ${events.length} dispatches of ${lanes.length} kernels over ${((t1 - t0) / 1000).toFixed(2)} ms`);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${MARGIN.top + lanes.length * LANE})`).call(d3.axisBottom(x).ticks(8));
  svg.append('text').attr('class', 'axis-label').attr('x', (MARGIN.left + WIDTH - MARGIN.right) / 2).attr('y', height - 4).attr('text-anchor', 'middle')
    .text('GPU time from the first dispatch (ms)');
  svg.append('g').attr('class', 'axis lanes').attr('transform', `translate(${MARGIN.left},0)`).call(d3.axisLeft(y).tickSize(0));
  svg.append('g').selectAll('rect').data(events).join('rect').attr('class', 'dispatch')
    .attr('x', (e) => x((e.ts - t0) / 1000)).attr('width', (e) => Math.max(1, x((e.ts - t0 + (e.dur ?? 0)) / 1000) - x((e.ts - t0) / 1000)))
    .attr('y', (e) => y(kernel(e))!).attr('height', y.bandwidth()).attr('fill', (e) => color(kernel(e)))
    .append('title').text((e) => `${e.name}: ${((e.dur ?? 0)).toFixed(1)} µs at ${((e.ts - t0) / 1000).toFixed(3)} ms`);
  return svg.node()!;
}
