// A small line chart (d3) for training curves: one or more series against step, with axis titles and a legend.
import * as d3 from 'd3';

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

const WIDTH = 640;
const HEIGHT = 220;
const MARGIN = { top: 12, right: 16, bottom: 40, left: 64 };

export function lineChart(series: Series[], labels: { x: string; y: string; testid: string; logY?: boolean }): SVGSVGElement {
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && (!labels.logY || p.y > 0));
  const xs = all.map((p) => p.x), ys = all.map((p) => p.y);
  const x = d3.scaleLinear().domain(xs.length ? [Math.min(...xs), Math.max(Math.max(...xs), Math.min(...xs) + 1)] : [0, 1]).range([MARGIN.left, WIDTH - MARGIN.right]);
  const [lo, hi] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const y = labels.logY
    ? d3.scaleLog().domain([lo / 1.5 || 1e-6, hi * 1.5 || 1]).range([HEIGHT - MARGIN.bottom, MARGIN.top])
    : d3.scaleLinear().domain(lo === hi ? [lo - 1, hi + 1] : [lo, hi]).nice().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const svg = d3.create('svg').attr('viewBox', `0 0 ${WIDTH} ${HEIGHT}`).attr('class', 'run-chart').attr('role', 'img')
    .attr('data-testid', labels.testid).attr('aria-label', `${labels.y} against ${labels.x}: ${all.length} points`);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${HEIGHT - MARGIN.bottom})`).call(d3.axisBottom(x).ticks(6, '~g'));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${MARGIN.left},0)`).call(d3.axisLeft(y).ticks(5, '~g'));
  svg.append('text').attr('class', 'axis-label').attr('x', (MARGIN.left + WIDTH - MARGIN.right) / 2).attr('y', HEIGHT - 6).attr('text-anchor', 'middle').text(labels.x);
  svg.append('text').attr('class', 'axis-label').attr('transform', `translate(14,${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)`).attr('text-anchor', 'middle').text(labels.y);
  const line = d3.line<{ x: number; y: number }>().defined((p) => Number.isFinite(p.y) && (!labels.logY || p.y > 0)).x((p) => x(p.x)).y((p) => y(p.y));
  series.forEach((s, i) => {
    svg.append('path').attr('class', `series series-${i}`).attr('fill', 'none').attr('stroke', s.color).attr('stroke-width', 1.8).attr('d', line(s.points) ?? '');
    svg.append('g').selectAll('circle').data(s.points.length <= 40 ? s.points.filter((p) => Number.isFinite(p.y)) : []).join('circle')
      .attr('cx', (p) => x(p.x)).attr('cy', (p) => y(p.y)).attr('r', 2.5).attr('fill', s.color);
    const g = svg.append('g').attr('transform', `translate(${WIDTH - MARGIN.right - 150},${MARGIN.top + 8 + i * 16})`);
    g.append('line').attr('x2', 16).attr('stroke', s.color).attr('stroke-width', 2);
    g.append('text').attr('class', 'note').attr('x', 22).attr('dy', '0.35em').text(s.name);
  });
  return svg.node()!;
}
