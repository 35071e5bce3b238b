// FFT resampling of a whole channel, float64, with scipy.signal.resample's semantics (the original's resampler;
// backend/ictal_backend/dsp/preprocess.py calls scipy itself). The transforms are fft.js (radix-4, powers of two);
// other lengths go through Bluestein's chirp-z transform on top of it, so any length costs O(n log n).
import FFT from 'fft.js';

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The original's output length at the new rate: round(n * toHz / fromHz), Python's round. */
export function resampledLength(n: number, fromHz: number, toHz: number): number {
  if (!(Number.isFinite(fromHz) && fromHz > 0)) throw new Error(`resample: input rate ${fromHz} Hz is not a positive finite number`);
  if (!(Number.isFinite(toHz) && toHz > 0)) throw new Error(`resample: output rate ${toHz} Hz is not a positive finite number`);
  return roundHalfEven((n * toHz) / fromHz);
}

const isPowerOfTwo = (n: number) => n > 1 && (n & (n - 1)) === 0;

/**
 * A forward DFT of one length, X[k] = sum_j x[j] exp(-2 pi i j k / n), on separate real and imaginary arrays
 * (transformed in place). Powers of two go straight to fft.js; any other length uses Bluestein: with the chirp
 * c[j] = exp(-i pi j^2 / n), X[k] = c[k] * sum_j (x[j] c[j]) conj(c[k - j]), a convolution done with fft.js at a
 * power of two >= 2n - 1.
 */
export class Dft {
  readonly n: number;
  private readonly fft: FFT;
  private readonly work: Float64Array;
  private readonly spectrum: Float64Array;
  /** Bluestein only: the chirp and the transformed conjugate-chirp kernel (interleaved complex). */
  private readonly chirp?: { re: Float64Array; im: Float64Array; kernel: Float64Array };

  constructor(n: number) {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`Dft: length ${n} is not a positive integer`);
    this.n = n;
    const size = isPowerOfTwo(n) ? n : 2 ** Math.ceil(Math.log2(2 * n - 1));
    this.fft = new FFT(Math.max(2, size));
    this.work = new Float64Array(2 * this.fft.size);
    this.spectrum = new Float64Array(2 * this.fft.size);
    if (isPowerOfTwo(n) || n === 1) return;
    const re = new Float64Array(n), im = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      // j^2 mod 2n keeps the angle exact for long signals (j^2 itself is exact below 2^53).
      const angle = (Math.PI * ((j * j) % (2 * n))) / n;
      re[j] = Math.cos(angle); im[j] = -Math.sin(angle);
    }
    const b = this.work;
    b.fill(0);
    for (let j = 0; j < n; j++) {
      b[2 * j] = re[j]!; b[2 * j + 1] = -im[j]!;
      if (j > 0) { b[2 * (this.fft.size - j)] = re[j]!; b[2 * (this.fft.size - j) + 1] = -im[j]!; }
    }
    const kernel = new Float64Array(2 * this.fft.size);
    this.fft.transform(kernel, b);
    this.chirp = { re, im, kernel };
  }

  /** Forward transform in place. */
  forward(re: Float64Array, im: Float64Array): void {
    const { n } = this;
    if (re.length !== n || im.length !== n) throw new Error(`Dft: made for length ${n}, got ${re.length} and ${im.length}`);
    if (n === 1) return;
    const a = this.work, out = this.spectrum;
    if (!this.chirp) {
      for (let j = 0; j < n; j++) { a[2 * j] = re[j]!; a[2 * j + 1] = im[j]!; }
      this.fft.transform(out, a);
      for (let k = 0; k < n; k++) { re[k] = out[2 * k]!; im[k] = out[2 * k + 1]!; }
      return;
    }
    const { re: cr, im: ci, kernel } = this.chirp;
    a.fill(0);
    for (let j = 0; j < n; j++) {
      a[2 * j] = re[j]! * cr[j]! - im[j]! * ci[j]!;
      a[2 * j + 1] = re[j]! * ci[j]! + im[j]! * cr[j]!;
    }
    this.fft.transform(out, a);
    for (let k = 0; k < this.fft.size; k++) {
      const xr = out[2 * k]!, xi = out[2 * k + 1]!, kr = kernel[2 * k]!, ki = kernel[2 * k + 1]!;
      out[2 * k] = xr * kr - xi * ki;
      out[2 * k + 1] = xr * ki + xi * kr;
    }
    this.fft.inverseTransform(a, out);
    for (let k = 0; k < n; k++) {
      const yr = a[2 * k]!, yi = a[2 * k + 1]!;
      re[k] = yr * cr[k]! - yi * ci[k]!;
      im[k] = yr * ci[k]! + yi * cr[k]!;
    }
  }

  /** Inverse transform in place, x[j] = (1/n) sum_k X[k] exp(2 pi i j k / n), as conj(DFT(conj X)) / n. */
  inverse(re: Float64Array, im: Float64Array): void {
    for (let k = 0; k < im.length; k++) im[k] = -im[k]!;
    this.forward(re, im);
    const n = this.n;
    for (let j = 0; j < n; j++) { re[j] = re[j]! / n; im[j] = -im[j]! / n; }
  }
}

/**
 * Resamples one channel to `num` samples as scipy.signal.resample(x, num) does for real input: X = rfft(x); keep
 * the bins below min(n, num) / 2 (+ 1); where that count m is even and num != n, the bin m/2 is doubled when
 * downsampling (it stands for the pair +-m/2) or halved when upsampling (split between +-m/2); divide by n / num
 * and take irfft(., num), whose DC bin and (num even) Nyquist bin count by their real parts only.
 * `forward` / `backward` may be passed in to reuse their tables across channels.
 */
export function resampleFourier(x: ArrayLike<number>, num: number, forward?: Dft, backward?: Dft): Float64Array {
  const n = x.length;
  if (n < 1) throw new Error('resample: the signal has no samples');
  if (!(Number.isInteger(num) && num >= 1)) throw new Error(`resample: output length ${num} is not a positive integer`);
  forward ??= new Dft(n);
  backward ??= new Dft(num);
  if (forward.n !== n || backward.n !== num) throw new Error(`resample: transforms made for ${forward.n} -> ${backward.n}, not ${n} -> ${num}`);
  const xr = Float64Array.from(x), xi = new Float64Array(n);
  forward.forward(xr, xi);
  const m = Math.min(n, num);
  const bins = Math.floor(m / 2) + 1;
  const scale = n / num;
  const yr = new Float64Array(num), yi = new Float64Array(num);
  for (let k = 0; k < bins; k++) { yr[k] = xr[k]! / scale; yi[k] = xi[k]! / scale; }
  if (m % 2 === 0 && num !== n) {
    const f = num < n ? 2 : 0.5;
    yr[m / 2] = yr[m / 2]! * f; yi[m / 2] = yi[m / 2]! * f;
  }
  // irfft: a Hermitian spectrum of length num from bins 0 .. floor(num / 2).
  yi[0] = 0;
  const half = Math.floor(num / 2);
  if (num % 2 === 0) yi[half] = 0;
  for (let k = 1; k < num - k; k++) { yr[num - k] = yr[k]!; yi[num - k] = -yi[k]!; }
  backward.inverse(yr, yi);
  return yr;
}
