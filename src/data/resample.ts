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
 * The DFT of a real signal of length n, bins 0 .. floor(n / 2), and its inverse. An even length packs the even
 * and odd samples into one complex signal of length n / 2 (half the work of a complex transform of length n).
 */
export class RealDft {
  readonly n: number;
  private readonly dft: Dft;

  constructor(n: number) {
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`RealDft: length ${n} is not a positive integer`);
    this.n = n;
    this.dft = new Dft(n % 2 === 0 ? n / 2 : n);
  }

  /** Bins 0 .. floor(n / 2) of X[k] = sum_j x[j] exp(-2 pi i j k / n). */
  forward(x: ArrayLike<number>): { re: Float64Array; im: Float64Array } {
    const { n } = this, bins = Math.floor(n / 2) + 1;
    if (x.length !== n) throw new Error(`RealDft: made for length ${n}, got ${x.length}`);
    if (n % 2 === 1) {
      const re = Float64Array.from(x), im = new Float64Array(n);
      this.dft.forward(re, im);
      return { re: re.slice(0, bins), im: im.slice(0, bins) };
    }
    // z[j] = x[2j] + i x[2j+1]; with Z = DFT(z), E = DFT(even) = (Z[k] + conj Z[h-k]) / 2,
    // O = DFT(odd) = (Z[k] - conj Z[h-k]) / 2i, and X[k] = E[k] + exp(-2 pi i k / n) O[k].
    const h = n / 2, zr = new Float64Array(h), zi = new Float64Array(h);
    for (let j = 0; j < h; j++) { zr[j] = x[2 * j]!; zi[j] = x[2 * j + 1]!; }
    this.dft.forward(zr, zi);
    const re = new Float64Array(bins), im = new Float64Array(bins);
    for (let k = 0; k <= h; k++) {
      const a = k % h, b = (h - k) % h;
      const er = (zr[a]! + zr[b]!) / 2, ei = (zi[a]! - zi[b]!) / 2;
      const or = (zi[a]! + zi[b]!) / 2, oi = -(zr[a]! - zr[b]!) / 2;
      const angle = (-2 * Math.PI * k) / n, c = Math.cos(angle), s = Math.sin(angle);
      re[k] = er + or * c - oi * s;
      im[k] = ei + or * s + oi * c;
    }
    return { re, im };
  }

  /**
   * The real signal whose spectrum has bins 0 .. floor(n / 2) = (re, im) (the rest by Hermitian symmetry): the
   * inverse real DFT, x[j] = (1/n) sum_k X[k] exp(2 pi i j k / n). The imaginary parts of bin 0 and (n even)
   * bin n / 2 are ignored, as numpy's and scipy's irfft ignore them.
   */
  inverse(re: Float64Array, im: Float64Array): Float64Array {
    const { n } = this, bins = Math.floor(n / 2) + 1;
    if (re.length !== bins || im.length !== bins) throw new Error(`RealDft: the inverse of length ${n} takes ${bins} bins, got ${re.length} and ${im.length}`);
    const yr = Float64Array.from(re), yi = Float64Array.from(im);
    yi[0] = 0;
    if (n % 2 === 1) {
      const fr = new Float64Array(n), fi = new Float64Array(n);
      fr.set(yr); fi.set(yi);
      for (let k = 1; k < bins; k++) { fr[n - k] = yr[k]!; fi[n - k] = -yi[k]!; }
      this.dft.inverse(fr, fi);
      return fr;
    }
    // Even and odd output samples: y[2j] + i y[2j+1] = IDFT_h(Ae + i Ao), Ae[k] = (Y[k] + conj Y[h-k]) / 2,
    // Ao[k] = (Y[k] - conj Y[h-k]) exp(2 pi i k / n) / 2 (Y[k + h] = conj Y[h - k]).
    const h = n / 2;
    yi[h] = 0;
    const zr = new Float64Array(h), zi = new Float64Array(h);
    for (let k = 0; k < h; k++) {
      const ar = (yr[k]! + yr[h - k]!) / 2, ai = (yi[k]! - yi[h - k]!) / 2;
      const dr = (yr[k]! - yr[h - k]!) / 2, di = (yi[k]! + yi[h - k]!) / 2;
      const angle = (2 * Math.PI * k) / n, c = Math.cos(angle), s = Math.sin(angle);
      const or = dr * c - di * s, oi = dr * s + di * c;
      zr[k] = ar - oi; zi[k] = ai + or;
    }
    this.dft.inverse(zr, zi);
    const y = new Float64Array(n);
    for (let j = 0; j < h; j++) { y[2 * j] = zr[j]!; y[2 * j + 1] = zi[j]!; }
    return y;
  }
}

/**
 * Resamples one channel to `num` samples as scipy.signal.resample(x, num) does for real input: X = rfft(x); keep
 * the bins below min(n, num) / 2 (+ 1); where that count m is even and num != n, the bin m/2 is doubled when
 * downsampling (it stands for the pair +-m/2) or halved when upsampling (split between +-m/2); divide by n / num
 * and take irfft(., num), whose DC bin and (num even) Nyquist bin count by their real parts only.
 * `forward` / `backward` may be passed in to reuse their tables across channels.
 */
export function resampleFourier(x: ArrayLike<number>, num: number, forward?: RealDft, backward?: RealDft): Float64Array {
  const n = x.length;
  if (n < 1) throw new Error('resample: the signal has no samples');
  if (!(Number.isInteger(num) && num >= 1)) throw new Error(`resample: output length ${num} is not a positive integer`);
  forward ??= new RealDft(n);
  backward ??= new RealDft(num);
  if (forward.n !== n || backward.n !== num) throw new Error(`resample: transforms made for ${forward.n} -> ${backward.n}, not ${n} -> ${num}`);
  const X = forward.forward(x);
  const m = Math.min(n, num);
  const bins = Math.floor(m / 2) + 1;
  const scale = n / num;
  const yr = new Float64Array(Math.floor(num / 2) + 1), yi = new Float64Array(yr.length);
  for (let k = 0; k < bins; k++) { yr[k] = X.re[k]! / scale; yi[k] = X.im[k]! / scale; }
  if (m % 2 === 0 && num !== n) {
    const f = num < n ? 2 : 0.5;
    yr[m / 2] = yr[m / 2]! * f; yi[m / 2] = yi[m / 2]! * f;
  }
  return backward.inverse(yr, yi);
}
