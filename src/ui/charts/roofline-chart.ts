// The roofline drawn with d3: attainable GFLOP/s = min(FMA rate, intensity x copy bandwidth), on log axes, with
// kernels placed by their arithmetic intensity (FLOP/byte) and achieved GFLOP/s.
import * as d3 from 'd3';

export interface RooflinePoint {
  label: string;
  precision: string;
  intensity: number;
  gflops: number;
}

const WIDTH = 640;
const HEIGHT = 340;
const MARGIN = { top: 16, right: 24, bottom: 44, left: 64 };
const PRECISION_COLORS: Record<string, string> = { f32: '#1d3557', 'f16-storage': '#e76f51', f16: '#2a9d8f' };

export function rooflineChart(roof: { copyGBps: number; fmaGflops: number }, points: RooflinePoint[] = []): SVGSVGElement {
  const ridge = roof.fmaGflops / roof.copyGBps;
  const shown = points.filter((p) => p.intensity > 0 && p.gflops > 0);
  const xs = [ridge / 64, ridge * 16, ...shown.map((p) => p.intensity)];
  const x = d3.scaleLog().domain([d3.min(xs)! / 1.5, d3.max(xs)! * 1.5]).range([MARGIN.left, WIDTH - MARGIN.right]);
  const [x0, x1] = x.domain() as [number, number];
  const ys = [x0 * roof.copyGBps, roof.fmaGflops, ...shown.map((p) => p.gflops)];
  const y = d3.scaleLog().domain([d3.min(ys)! / 1.5, d3.max(ys)! * 2]).range([HEIGHT - MARGIN.bottom, MARGIN.top]);

  const svg = d3.create('svg').attr('viewBox', `0 0 ${WIDTH} ${HEIGHT}`).attr('class', 'roofline').attr('role', 'img')
    .attr('aria-label', `Roofline: ${roof.copyGBps.toFixed(2)} GB/s copy, ${roof.fmaGflops.toFixed(2)} GFLOP/s FMA`);
  svg.append('g').attr('transform', `translate(0,${HEIGHT - MARGIN.bottom})`).call(d3.axisBottom(x).ticks(6, '~g'));
  svg.append('g').attr('transform', `translate(${MARGIN.left},0)`).call(d3.axisLeft(y).ticks(6, '~g'));
  svg.append('text').attr('x', (MARGIN.left + WIDTH - MARGIN.right) / 2).attr('y', HEIGHT - 8).attr('text-anchor', 'middle')
    .attr('class', 'axis-label').text('arithmetic intensity (FLOP/byte)');
  svg.append('text').attr('transform', `translate(16,${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)`).attr('text-anchor', 'middle')
    .attr('class', 'axis-label').text('GFLOP/s');

  const roofLine: [number, number][] = [[x0, x0 * roof.copyGBps], [ridge, roof.fmaGflops], [x1, roof.fmaGflops]];
  svg.append('path').attr('class', 'roof').attr('fill', 'none').attr('stroke', '#264653').attr('stroke-width', 2.5)
    .attr('d', d3.line<[number, number]>().x((d) => x(d[0])).y((d) => y(d[1]))(roofLine));
  svg.append('circle').attr('cx', x(ridge)).attr('cy', y(roof.fmaGflops)).attr('r', 4).attr('fill', '#264653');
  svg.append('text').attr('x', x(ridge) + 6).attr('y', y(roof.fmaGflops) - 8).attr('class', 'note')
    .text(`ridge ${ridge.toFixed(2)} FLOP/byte`);

  svg.append('g').selectAll('circle').data(shown).join('circle')
    .attr('class', 'kernel').attr('cx', (p) => x(p.intensity)).attr('cy', (p) => y(p.gflops)).attr('r', 4)
    .attr('fill', (p) => PRECISION_COLORS[p.precision] ?? '#888').attr('fill-opacity', 0.8)
    .append('title').text((p) => `${p.label} (${p.precision}): ${p.gflops.toFixed(2)} GFLOP/s at ${p.intensity.toFixed(3)} FLOP/byte`);
  const precisions = [...new Set(shown.map((p) => p.precision))];
  const legend = svg.append('g').attr('class', 'legend').attr('transform', `translate(${MARGIN.left + 12},${MARGIN.top + 8})`);
  precisions.forEach((name, i) => {
    const row = legend.append('g').attr('transform', `translate(0,${i * 16})`);
    row.append('circle').attr('r', 4).attr('fill', PRECISION_COLORS[name] ?? '#888');
    row.append('text').attr('x', 10).attr('y', 4).attr('class', 'note').text(name);
  });
  return svg.node()!;
}
