// Polyphase rational resampling, float64: the method of scipy.signal.resample_poly with its defaults (Kaiser
// window beta 5, half length 10 * max(up, down), zero padding), as backend/ictal_backend/dsp/resample.py.

/** Window parameters fixed by the design (scipy's defaults). */
const KAISER_BETA = 5;
const HALF_LENGTH_PER_RATE = 10;
/** Largest up or down factor accepted: the FIR has 20 * max + 1 taps. */
export const MAX_RESAMPLE_FACTOR = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The rational factor up/down taking `fromHz` to `toHz`, both read to the millihertz
 * (round(f * 1000), halves rounded up) and reduced by their gcd.
 */
export function resampleFactors(fromHz: number, toHz: number): { up: number; down: number } {
  if (!(Number.isFinite(fromHz) && fromHz > 0)) throw new Error(`resample: input rate ${fromHz} Hz is not a positive finite number`);
  if (!(Number.isFinite(toHz) && toHz > 0)) throw new Error(`resample: output rate ${toHz} Hz is not a positive finite number`);
  const from = Math.floor(fromHz * 1000 + 0.5), to = Math.floor(toHz * 1000 + 0.5);
  if (from < 1) throw new Error(`resample: input rate ${fromHz} Hz is below 1 mHz`);
  const g = gcd(to, from);
  const up = to / g, down = from / g;
  if (Math.max(up, down) > MAX_RESAMPLE_FACTOR) {
    throw new Error(`resample: ${fromHz} Hz -> ${toHz} Hz reduces to ${up}/${down}; factors above ${MAX_RESAMPLE_FACTOR} are not supported`);
  }
  return { up, down };
}

/** Modified Bessel function of the first kind, order 0, by its power series (converges for all x). */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1, sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

/**
 * Low-pass FIR of 2 * half + 1 taps with cutoff 1/maxRate of Nyquist (scipy.signal.firwin with a symmetric
 * Kaiser window, scaled to unit DC gain), times `up`.
 */
export function resampleFilter(up: number, down: number): Float64Array {
  const maxRate = Math.max(up, down);
  const cutoff = 1 / maxRate;
  const half = HALF_LENGTH_PER_RATE * maxRate;
  const taps = 2 * half + 1;
  const alpha = 0.5 * (taps - 1);
  const h = new Float64Array(taps);
  const i0beta = besselI0(KAISER_BETA);
  let sum = 0;
  for (let n = 0; n < taps; n++) {
    const m = n - alpha;
    const arg = cutoff * m;
    const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    const r = (n - alpha) / alpha;
    const w = besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / i0beta;
    h[n] = cutoff * sinc * w;
  }
  for (let n = 0; n < taps; n++) sum += h[n]!;
  for (let n = 0; n < taps; n++) h[n] = (h[n]! / sum) * up;
  return h;
}

/** Output length of scipy's upfirdn for a filter of hLen taps. */
function upfirdnLength(hLen: number, nIn: number, up: number, down: number): number {
  return Math.floor(((nIn - 1) * up + hLen - 1) / down) + 1;
}

/** A resampler for one (up, down) pair and input length, applied channel by channel. */
export interface PolyphasePlan {
  up: number;
  down: number;
  inputLength: number;
  outputLength: number;
  apply(x: ArrayLike<number>): Float64Array;
}

export function polyphasePlan(up: number, down: number, inputLength: number): PolyphasePlan {
  if (!Number.isInteger(inputLength) || inputLength < 1) throw new Error(`resample: input length ${inputLength} is not a positive integer`);
  const g = gcd(up, down);
  up /= g; down /= g;
  const outputLength = Math.floor((inputLength * up) / down) + ((inputLength * up) % down ? 1 : 0);
  if (up === 1 && down === 1) {
    return { up, down, inputLength, outputLength: inputLength, apply: (x) => Float64Array.from(x) };
  }
  const h0 = resampleFilter(up, down);
  const half = (h0.length - 1) / 2;
  // Zero-pad the filter so that output samples sit at its centre, exactly as resample_poly does.
  const prePad = down - (half % down);
  let postPad = 0;
  const preRemove = Math.floor((half + prePad) / down);
  while (upfirdnLength(h0.length + prePad + postPad, inputLength, up, down) < outputLength + preRemove) postPad++;
  const h = new Float64Array(prePad + h0.length + postPad);
  h.set(h0, prePad);
  const hLen = h.length;
  return {
    up, down, inputLength, outputLength,
    apply(x: ArrayLike<number>): Float64Array {
      if (x.length !== inputLength) throw new Error(`resample: plan made for ${inputLength} samples, got ${x.length}`);
      const y = new Float64Array(outputLength);
      for (let i = 0; i < outputLength; i++) {
        // Output k of the full upfirdn is sum_n x[n] * h[k*down - n*up].
        const t = (i + preRemove) * down;
        let n = Math.floor(t / up);
        let j = t - n * up;
        if (n > inputLength - 1) { j += (n - inputLength + 1) * up; n = inputLength - 1; }
        let acc = 0;
        for (; j < hLen && n >= 0; j += up, n--) acc += h[j]! * x[n]!;
        y[i] = acc;
      }
      return y;
    },
  };
}

/** Resamples one channel from fromHz to toHz (see resampleFactors and polyphasePlan). */
export function resample(x: ArrayLike<number>, fromHz: number, toHz: number): Float64Array {
  const { up, down } = resampleFactors(fromHz, toHz);
  return polyphasePlan(up, down, x.length).apply(x);
}
