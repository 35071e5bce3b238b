// The model's stitched seizure probability over the recording (min/max per pixel column), the hysteresis
// thresholds of the post-processing, and two strips under it: the detected events and, when the recording came
// with labels, the labelled seizures.
import * as d3 from 'd3';
import type { Envelope } from '../../data/envelope.ts';
import type { DetectedEvent, PostprocessParams } from '../../data/postprocess.ts';
import { WIDTH, drawTimeAxis, envelopeArea, timeScale } from './time-axis.ts';

const TOP = 10;
const PLOT = 120;
const STRIP = 12;

/** What the chart draws: a finished prediction, or a run in progress (NaN columns not drawn, no events yet). */
export interface ProbabilityView {
  probability: Envelope;
  samples: number;
  postprocess: PostprocessParams;
  events: readonly DetectedEvent[];
}

export function probabilityChart(p: ProbabilityView, seizures: readonly [number, number][] | null): SVGSVGElement {
  const seconds = p.samples / p.postprocess.fs;
  const x = timeScale(seconds);
  const y = d3.scaleLinear().domain([0, 1]).range([TOP + PLOT, TOP]);
  const eventsY = TOP + PLOT + 8;
  const labelsY = eventsY + STRIP + 4;
  const axisY = (seizures ? labelsY + STRIP : eventsY + STRIP) + 6;
  const svg = d3.create('svg').attr('viewBox', `0 0 ${WIDTH} ${axisY + 28}`).attr('class', 'probability').attr('role', 'img')
    .attr('aria-label', `seizure probability over ${seconds.toFixed(0)} s, ${p.events.length} events`);

  svg.append('g').attr('class', 'axis').attr('transform', `translate(${x.range()[0]},0)`).call(d3.axisLeft(y).ticks(4));
  svg.append('text').attr('class', 'axis-title').attr('transform', `translate(12,${TOP + PLOT / 2}) rotate(-90)`).attr('text-anchor', 'middle').text('P(seizure)');
  for (const [value, name] of [[p.postprocess.onThreshold, 'on'], [p.postprocess.offThreshold, 'off']] as const) {
    svg.append('line').attr('class', 'threshold').attr('x1', x.range()[0]!).attr('x2', x.range()[1]!).attr('y1', y(value)).attr('y2', y(value))
      .append('title').text(`${name} threshold ${value}`);
    // "on" above its line, "off" below its own: the two thresholds are 0.08 apart, too close for both above.
    svg.append('text').attr('class', 'threshold-label').attr('x', x.range()[1]! - 4).attr('y', y(value) + (name === 'on' ? -3 : 10))
      .attr('text-anchor', 'end').text(`${name} ${value}`);
  }
  svg.append('path').attr('class', 'probability').attr('d', envelopeArea(p.probability, x, y));

  const strip = (cls: string, top: number, spans: readonly (readonly [number, number])[], label: string, what: string) => {
    svg.append('text').attr('class', 'note').attr('x', x.range()[0]! - 8).attr('y', top + STRIP / 2).attr('dy', '0.35em').attr('text-anchor', 'end').text(label);
    svg.append('g').selectAll('rect').data(spans).join('rect').attr('class', cls)
      .attr('x', (s) => x(s[0])).attr('width', (s) => Math.max(1, x(s[1]) - x(s[0]))).attr('y', top).attr('height', STRIP)
      .append('title').text((s) => `${what} ${s[0].toFixed(1)}-${s[1].toFixed(1)} s`);
  };
  strip('event', eventsY, p.events, 'events', 'detected event');
  if (seizures) strip('seizure-label', labelsY, seizures, 'labels', 'seizure (label)');
  drawTimeAxis(svg, x, axisY);
  return svg.node()!;
}
