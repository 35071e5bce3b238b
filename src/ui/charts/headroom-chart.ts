// Memory against batch size (d3, log-log): predicted totals for inference and training, their largest single
// buffers, the adapter's limits and the user's budget as horizontal lines, and the probe's measurements.
import * as d3 from 'd3';
import type { Headroom, HeadroomMode, ProbePoint } from '../../engine/engine.ts';

const WIDTH = 720;
const HEIGHT = 360;
const MARGIN = { top: 16, right: 190, bottom: 44, left: 72 };
const COLORS: Record<HeadroomMode, string> = { inference: '#1d3557', training: '#e76f51' };

const mib = (b: number) => `${(b / 2 ** 20).toFixed(b < 10 * 2 ** 20 ? 1 : 0)} MiB`;

/** Powers of two (bytes) across the domain, at most about six of them. */
function powerTicks([lo, hi]: [number, number]): number[] {
  const a = Math.ceil(Math.log2(lo)), b = Math.floor(Math.log2(hi));
  const step = Math.max(1, Math.ceil((b - a + 1) / 6));
  const out: number[] = [];
  for (let k = a; k <= b; k += step) out.push(2 ** k);
  return out;
}

export function headroomChart(h: Headroom, probe?: { mode: HeadroomMode; points: ProbePoint[] }): SVGSVGElement {
  const curves = [h.inference, h.training];
  const batches = h.inference.points.map((p) => p.batch);
  const limits: [string, number, string][] = [
    ['maxBufferSize', h.limits.maxBufferSize, 'any one buffer'],
    ['maxStorageBufferBindingSize', h.limits.maxStorageBufferBindingSize, 'one buffer bound to a kernel'],
  ];
  if (h.limits.budgetBytes !== undefined) limits.push(['budget', h.limits.budgetBytes, 'your memory budget (totals)']);
  const values = [...curves.flatMap((c) => c.points.flatMap((p) => [p.total, p.largestBinding])), ...limits.map((l) => l[1]),
    ...(probe?.points.filter((p) => p.ok).map((p) => p.measuredBytes) ?? [])].filter((v) => v > 0);
  const x = d3.scaleLog().base(2).domain([1, Math.max(2, d3.max(batches)!)]).range([MARGIN.left, WIDTH - MARGIN.right]);
  const y = d3.scaleLog().domain([d3.min(values)! / 1.5, d3.max(values)! * 1.5]).range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const svg = d3.create('svg').attr('viewBox', `0 0 ${WIDTH} ${HEIGHT}`).attr('class', 'headroom').attr('role', 'img')
    .attr('aria-label', `predicted memory against batch size: inference fits up to batch ${h.inference.largestFitting}, training up to ${h.training.largestFitting}`);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${HEIGHT - MARGIN.bottom})`).call(d3.axisBottom(x).tickValues(batches).tickFormat(d3.format('d')));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${MARGIN.left},0)`).call(d3.axisLeft(y).tickValues(powerTicks(y.domain() as [number, number])).tickFormat((v) => mib(Number(v))));
  svg.append('text').attr('class', 'axis-label').attr('x', (MARGIN.left + WIDTH - MARGIN.right) / 2).attr('y', HEIGHT - 8).attr('text-anchor', 'middle').text('batch size (windows)');
  svg.append('text').attr('class', 'axis-label').attr('transform', `translate(14,${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)`).attr('text-anchor', 'middle').text('bytes');

  let lastLabelY = -Infinity;
  for (const [name, bytes, what] of [...limits].sort((a, b) => b[1] - a[1])) {
    svg.append('line').attr('class', `limit limit-${name}`).attr('x1', MARGIN.left).attr('x2', WIDTH - MARGIN.right).attr('y1', y(bytes)).attr('y2', y(bytes))
      .append('title').text(`${name}: ${mib(bytes)}, ${what}`);
    // Labels of equal or close limits are stacked instead of drawn over each other.
    const labelY = Math.max(y(bytes), lastLabelY + 13);
    lastLabelY = labelY;
    svg.append('text').attr('class', 'note').attr('x', WIDTH - MARGIN.right + 4).attr('y', labelY).attr('dy', '0.35em').text(`${name} ${mib(bytes)}`);
  }
  const line = d3.line<{ batch: number; v: number }>().x((d) => x(d.batch)).y((d) => y(d.v));
  for (const c of curves) {
    svg.append('path').attr('class', `predicted predicted-${c.mode}`).attr('fill', 'none').attr('stroke', COLORS[c.mode]).attr('stroke-width', 2)
      .attr('d', line(c.points.map((p) => ({ batch: p.batch, v: p.total }))));
    svg.append('path').attr('class', `binding binding-${c.mode}`).attr('fill', 'none').attr('stroke', COLORS[c.mode]).attr('stroke-dasharray', '4 3')
      .attr('d', line(c.points.map((p) => ({ batch: p.batch, v: p.largestBinding }))));
  }
  if (probe) {
    const color = COLORS[probe.mode];
    svg.append('g').selectAll('circle').data(probe.points.filter((p) => p.ok)).join('circle').attr('class', 'measured')
      .attr('cx', (p) => x(p.batch)).attr('cy', (p) => y(p.measuredBytes)).attr('r', 5).attr('fill', 'white').attr('stroke', color).attr('stroke-width', 2)
      .append('title').text((p) => `batch ${p.batch}: ${mib(p.measuredBytes)} measured, ${mib(p.predictedBytes)} predicted`);
    svg.append('g').selectAll('text').data(probe.points.filter((p) => !p.ok)).join('text').attr('class', 'failed')
      .attr('x', (p) => x(p.batch)).attr('y', (p) => y(p.predictedBytes)).attr('dy', '0.35em').attr('text-anchor', 'middle').text('✕')
      .append('title').text((p) => `batch ${p.batch} failed: ${p.error}`);
  }
  const legend = svg.append('g').attr('transform', `translate(${MARGIN.left + 10},${MARGIN.top + 6})`);
  const rows: [string, string, string | null][] = [
    ['inference total', COLORS.inference, null], ['training total', COLORS.training, null], ['largest buffer (dashed)', '#666', '4 3'],
  ];
  if (probe) rows.push([`measured (${probe.mode} probe)`, COLORS[probe.mode], 'circle']);
  rows.forEach(([label, color, dash], i) => {
    const g = legend.append('g').attr('transform', `translate(0,${i * 16})`);
    if (dash === 'circle') g.append('circle').attr('cx', 9).attr('r', 4).attr('fill', 'white').attr('stroke', color).attr('stroke-width', 2);
    else g.append('line').attr('x1', 0).attr('x2', 18).attr('stroke', color).attr('stroke-width', 2).attr('stroke-dasharray', dash);
    g.append('text').attr('class', 'note').attr('x', 24).attr('dy', '0.35em').text(label);
  });
  return svg.node()!;
}
