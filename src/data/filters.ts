// IIR filter design and causal filtering, float64: the maths of scipy.signal's butter / iirnotch (designs) and
// lfilter (the recursion), which the original and backend/ictal_backend/dsp/preprocess.py call; see docs/data.md,
// "Preprocessing, post-processing and metrics".

/** One second-order section [b0, b1, b2, a0, a1, a2] with a0 = 1, as scipy's `sos` rows. */
export type Section = readonly [number, number, number, number, number, number];
export type SecondOrderSections = readonly Section[];

// ---- a minimal complex arithmetic for pole placement ----
interface Complex { re: number; im: number }
const c = (re: number, im = 0): Complex => ({ re, im });
const add = (a: Complex, b: Complex): Complex => c(a.re + b.re, a.im + b.im);
const sub = (a: Complex, b: Complex): Complex => c(a.re - b.re, a.im - b.im);
const mul = (a: Complex, b: Complex): Complex => c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
function div(a: Complex, b: Complex): Complex {
  const d = b.re * b.re + b.im * b.im;
  return c((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
}
/** Principal square root (branch cut on the negative real axis), as numpy's. */
function sqrt(a: Complex): Complex {
  const r = Math.hypot(a.re, a.im);
  if (r === 0) return c(0, 0);
  const re = Math.sqrt((r + Math.abs(a.re)) / 2);
  if (a.re >= 0) return c(re, a.im / (2 * re));
  return c(Math.abs(a.im) / (2 * re), a.im < 0 || Object.is(a.im, -0) ? -re : re);
}

function checkBand(what: string, lowHz: number, highHz: number, fs: number): void {
  if (!(Number.isFinite(fs) && fs > 0)) throw new Error(`${what}: sampling rate ${fs} Hz is not a positive finite number`);
  if (!(Number.isFinite(lowHz) && Number.isFinite(highHz) && lowHz > 0 && lowHz < highHz && highHz < fs / 2)) {
    throw new Error(`${what}: band ${lowHz}-${highHz} Hz must satisfy 0 < low < high < fs/2 = ${fs / 2} Hz`);
  }
}

/**
 * Digital Butterworth band-pass of the given order (2*order poles) by the bilinear transform with
 * pre-warped band edges: the analog prototype's poles -exp(i*pi*m/(2N)), m = -N+1, -N+3, ..., N-1, go through
 * the low-pass -> band-pass map s -> (s^2 + wo^2) / (s*bw), then z = (2fs + s) / (2fs - s); the N zeros at s = 0
 * land on z = 1 and the N at infinity on z = -1. Each section holds one conjugate pole pair (or two real poles)
 * and the zeros {1, -1}, numerator [1, 0, -1]; the overall gain (scipy's k) sits in the first section.
 */
export function butterworthBandpass(order: number, lowHz: number, highHz: number, fs: number): SecondOrderSections {
  if (!Number.isInteger(order) || order < 1) throw new Error(`butterworthBandpass: order ${order} is not a positive integer`);
  checkBand('butterworthBandpass', lowHz, highHz, fs);
  // scipy normalises to fs = 2 before warping; doing the same keeps the rounding close to it.
  const fs2 = 4; // 2 * fs with fs = 2
  const w1 = fs2 * Math.tan((Math.PI * (2 * lowHz / fs)) / 2);
  const w2 = fs2 * Math.tan((Math.PI * (2 * highHz / fs)) / 2);
  const bw = w2 - w1;
  const wo2 = c(w1 * w2);
  const analogPoles: Complex[] = [];
  const plus: Complex[] = [], minus: Complex[] = [];
  for (let m = -order + 1; m < order; m += 2) {
    const angle = (Math.PI * m) / (2 * order);
    const p = c(-Math.cos(angle), -Math.sin(angle));
    const pl = mul(p, c(bw / 2));
    const root = sqrt(sub(mul(pl, pl), wo2));
    plus.push(add(pl, root));
    minus.push(sub(pl, root));
  }
  analogPoles.push(...plus, ...minus);
  // Gain: k_bp = bw^N; bilinear k_z = k_bp * prod(fs2 - zeros) / prod(fs2 - poles), zeros = N at s = 0.
  let num = c(Math.pow(bw, order) * Math.pow(fs2, order));
  let den = c(1);
  const poles: Complex[] = [];
  for (const p of analogPoles) {
    den = mul(den, sub(c(fs2), p));
    poles.push(div(add(c(fs2), p), sub(c(fs2), p)));
  }
  num = div(num, den);
  const gain = num.re;
  return pairPoles(poles).map((a, i) => {
    const g = i === 0 ? gain : 1;
    return [g, 0, -g, 1, a[0], a[1]] as const;
  });
}

/**
 * Denominators [a1, a2] from 2N poles: each pole with positive imaginary part with its conjugate, then the real
 * poles two by two in ascending order; sections ordered by the largest pole radius, smallest first.
 */
function pairPoles(poles: Complex[]): [number, number][] {
  const tol = 1e-12;
  const upper = poles.filter((p) => p.im > tol);
  const real = poles.filter((p) => Math.abs(p.im) <= tol).map((p) => p.re).sort((a, b) => a - b);
  if (real.length % 2 !== 0 || upper.length * 2 + real.length !== poles.length) {
    throw new Error(`butterworthBandpass: poles do not pair into sections (${upper.length} complex, ${real.length} real)`);
  }
  const sections: { a: [number, number]; radius: number }[] = upper.map((p) => ({
    a: [-2 * p.re, p.re * p.re + p.im * p.im], radius: Math.hypot(p.re, p.im),
  }));
  for (let i = 0; i < real.length; i += 2) {
    const r1 = real[i]!, r2 = real[i + 1]!;
    sections.push({ a: [-(r1 + r2), r1 * r2], radius: Math.max(Math.abs(r1), Math.abs(r2)) });
  }
  sections.sort((x, y) => x.radius - y.radius);
  return sections.map((s) => s.a);
}

/** Second-order IIR notch (scipy.signal.iirnotch): zeros on the unit circle at f0, -3 dB width f0/Q. */
export function iirNotch(f0Hz: number, q: number, fs: number): SecondOrderSections {
  if (!(Number.isFinite(fs) && fs > 0)) throw new Error(`iirNotch: sampling rate ${fs} Hz is not a positive finite number`);
  if (!(Number.isFinite(f0Hz) && f0Hz > 0 && f0Hz < fs / 2)) throw new Error(`iirNotch: frequency ${f0Hz} Hz must lie in (0, fs/2 = ${fs / 2} Hz)`);
  if (!(Number.isFinite(q) && q > 0)) throw new Error(`iirNotch: quality factor ${q} is not a positive finite number`);
  const w0 = (2 * f0Hz) / fs;
  const bw = (w0 / q) * Math.PI;
  const beta = Math.tan(bw / 2); // sqrt(1 - gb^2) / gb = 1 for gb = 1/sqrt(2)
  const gain = 1 / (1 + beta);
  const cosw = Math.cos(w0 * Math.PI);
  return [[gain, -2 * cosw * gain, gain, 1, -2 * gain * cosw, 2 * gain - 1]];
}

/** A filter in transfer-function form: b(z^-1) / a(z^-1), a[0] = 1 (scipy's (b, a)). */
export interface TransferFunction {
  b: Float64Array;
  a: Float64Array;
}

/** The cascade's transfer function: the product of its sections' numerator and denominator polynomials. */
export function sosToBa(sos: SecondOrderSections): TransferFunction {
  let b: Float64Array = Float64Array.of(1), a: Float64Array = Float64Array.of(1);
  for (const [b0, b1, b2, a0, a1, a2] of sos) {
    b = polyMultiply(b, [b0, b1, b2]);
    a = polyMultiply(a, [a0, a1, a2]);
  }
  return { b, a };
}

function polyMultiply(p: Float64Array, q: readonly number[]): Float64Array {
  const out = new Float64Array(p.length + q.length - 1);
  for (let i = 0; i < p.length; i++) for (let j = 0; j < q.length; j++) out[i + j] += p[i]! * q[j]!;
  return out;
}

/**
 * Causal filtering from a zero initial state (scipy.signal.lfilter semantics), direct form II transposed as
 * scipy runs it (in its order of operations): y[i] = b0 x[i] + z0; z_k = z_{k+1} + b_{k+1} x[i] - a_{k+1} y[i].
 */
export function lfilter(tf: TransferFunction, x: ArrayLike<number>): Float64Array {
  const { b, a } = tf;
  if (a[0] !== 1) throw new Error(`lfilter: a[0] is ${a[0]}, expected 1`);
  if (b.length !== a.length) throw new Error(`lfilter: b has ${b.length} coefficients and a ${a.length}; give both the same length`);
  const order = a.length - 1;
  const z = new Float64Array(order + 1); // z[order] stays 0
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const yi = xi * b[0]! + z[0]!;
    for (let k = 0; k < order; k++) z[k] = z[k + 1]! + xi * b[k + 1]! - yi * a[k + 1]!;
    y[i] = yi;
  }
  return y;
}

/** |H(e^{i 2 pi f / fs})| of a cascade, for tests and docs. */
export function magnitudeResponse(sos: SecondOrderSections, fHz: number, fs: number): number {
  const w = (2 * Math.PI * fHz) / fs;
  const z1 = c(Math.cos(w), -Math.sin(w)); // z^-1
  const z2 = mul(z1, z1);
  let h = c(1);
  for (const [b0, b1, b2, a0, a1, a2] of sos) {
    const num = add(add(c(b0), mul(c(b1), z1)), mul(c(b2), z2));
    const den = add(add(c(a0), mul(c(a1), z1)), mul(c(a2), z2));
    h = mul(h, div(num, den));
  }
  return Math.hypot(h.re, h.im);
}
