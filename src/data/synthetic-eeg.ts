/**
 * Synthetic scalp EEG, the lab's built-in data: deterministic by seed, 19 montage channels (plus the reference,
 * eye and ECG channels a TUSZ recording carries) in microvolts. The model (docs/data.md explains it):
 *  - background: 1/f noise (a sum of unit-variance AR(1) processes with octave-spaced corners), smoothed over
 *    the 10-20 graph so neighbours correlate; 60 Hz mains hum;
 *  - posterior alpha (9-11 Hz) strongest at O1/O2, then P3/P4/Pz, waxing and waning, suppressed when eyes open;
 *  - seizures: a rhythmic discharge whose frequency falls (e.g. 8 -> 3 Hz) and amplitude grows, starting at a
 *    focus electrode and spreading hop by hop over the structural graph, followed by post-ictal attenuation;
 *  - artifacts: eye blinks (frontal, eyes open only), muscle bursts (temporal, one side), electrode pops.
 */
import { MONTAGE_CHANNELS, structuralNeighbours, type MontageChannel } from './montage.ts';
import { Rng } from './rng.ts';

export const SYNTHETIC_SAMPLE_RATE = 256;

export interface SyntheticOptions {
  minutes: number;
  seed: number;
  /** Mean seizure rate (default 8 per hour; any recording of 40 s or more gets at least one). */
  seizuresPerHour?: number;
}

export interface SyntheticSeizure {
  /** Seconds; the labelled event is [start, stop). */
  start: number;
  stop: number;
  focus: MontageChannel;
  /** Discharge frequency at onset and at offset (Hz). */
  fromHz: number;
  toHz: number;
  /** Channels reached, in the order the discharge reaches them. */
  spread: MontageChannel[];
}

export type ArtifactKind = 'blink' | 'muscle' | 'pop';

export interface SyntheticArtifact {
  kind: ArtifactKind;
  /** Seconds, on sample times: the artifact begins exactly at sample start * sampleRate. */
  start: number;
  stop: number;
  channels: string[];
}

export interface SyntheticRecording {
  sampleRate: number;
  sampleCount: number;
  /** The 19 montage channels, in MONTAGE_CHANNELS order (microvolts). */
  eeg: Float32Array[];
  /** Non-montage channels a TUSZ file also has: A1, A2, ROC, LOC, EKG1 (label, microvolts). */
  extra: Array<{ name: 'A1' | 'A2' | 'ROC' | 'LOC' | 'EKG1'; samples: Float32Array }>;
  seizures: SyntheticSeizure[];
  artifacts: SyntheticArtifact[];
  /** [start, stop) seconds of the eyes-closed spells, when posterior alpha is at full strength. */
  eyesClosed: Array<[number, number]>;
}

const CORNERS_HZ = [0.5, 1, 2, 4, 8, 16, 32, 64];
const ALPHA_WEIGHT: Partial<Record<MontageChannel, number>> = { O1: 1, O2: 1, P3: 0.75, P4: 0.75, Pz: 0.7, T5: 0.5, T6: 0.5, C3: 0.3, C4: 0.3, Cz: 0.3 };
const BLINK_WEIGHT: Partial<Record<MontageChannel, number>> = { Fp1: 1, Fp2: 1, F7: 0.35, F8: 0.35, F3: 0.4, F4: 0.4, Fz: 0.4, C3: 0.1, C4: 0.1, Cz: 0.1 };
const MUSCLE_SIDES: MontageChannel[][] = [['F7', 'T3', 'T5', 'Fp1', 'F3'], ['F8', 'T4', 'T6', 'Fp2', 'F4']];

export function synthesizeEeg(options: SyntheticOptions): SyntheticRecording {
  const { minutes, seed } = options;
  if (!(minutes > 0) || !Number.isFinite(minutes)) throw new RangeError(`minutes must be a positive number, got ${minutes}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const fs = SYNTHETIC_SAMPLE_RATE;
  const n = Math.max(1, Math.round(minutes * 60)) * fs; // whole seconds: whole 1-s EDF records
  const seconds = n / fs;
  const root = new Rng(seed);
  // Separate streams per part: changing one part of the model does not reshuffle the others.
  const rngBackground = root.fork(), rngAlpha = root.fork(), rngSeizure = root.fork(), rngArtifact = root.fork(), rngExtra = root.fork();
  const neighbours = structuralNeighbours();
  const C = MONTAGE_CHANNELS.length;

  const eeg = background(rngBackground, C, n, fs, neighbours);
  const eyesOpen = eyeStates(rngAlpha, n, fs);
  addAlpha(rngAlpha, eeg, eyesOpen, fs);
  const seizures = planSeizures(rngSeizure, seconds, options.seizuresPerHour ?? 8);
  for (const s of seizures) addSeizure(rngSeizure, eeg, s, fs, neighbours);
  addMains(rngBackground, eeg, fs);

  const roc = new Float32Array(n), loc = new Float32Array(n);
  const artifacts = [...addBlinks(rngArtifact, eeg, roc, loc, eyesOpen, fs), ...addMuscle(rngArtifact, eeg, fs), ...addPops(rngArtifact, eeg, fs)];
  artifacts.sort((a, b) => a.start - b.start);

  const a1 = background(rngExtra, 1, n, fs, [[]])[0].map((x) => 0.3 * x);
  const a2 = background(rngExtra, 1, n, fs, [[]])[0].map((x) => 0.3 * x);
  const eogNoise = background(rngExtra, 2, n, fs, [[], []]);
  for (let i = 0; i < n; i++) (roc[i] += 0.5 * eogNoise[0][i]), (loc[i] += 0.5 * eogNoise[1][i]);
  return {
    sampleRate: fs,
    sampleCount: n,
    eeg,
    extra: [
      { name: 'A1', samples: a1 },
      { name: 'A2', samples: a2 },
      { name: 'ROC', samples: roc },
      { name: 'LOC', samples: loc },
      { name: 'EKG1', samples: ecg(rngExtra, n, fs) },
    ],
    seizures,
    artifacts,
    eyesClosed: spells(eyesOpen, 0, fs),
  };
}

/** [start, stop) seconds of the runs of `value` in a per-sample state. */
function spells(state: Uint8Array, value: number, fs: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < state.length; ) {
    let j = i;
    while (j < state.length && state[j] === state[i]) j++;
    if (state[i] === value) out.push([i / fs, j / fs]);
    i = j;
  }
  return out;
}

/** 1/f noise per channel, ~15 uV rms, mixed with the graph neighbours' noise. */
function background(rng: Rng, channels: number, n: number, fs: number, neighbours: number[][]): Float32Array[] {
  const sources = Array.from({ length: channels }, () => {
    const out = new Float32Array(n);
    for (const fc of CORNERS_HZ) {
      const a = Math.exp((-2 * Math.PI * fc) / fs);
      const b = Math.sqrt(1 - a * a);
      let y = rng.normal();
      for (let i = 0; i < n; i++) {
        y = a * y + b * rng.normal();
        out[i] += y;
      }
    }
    return out;
  });
  const scale = 15 / Math.sqrt(CORNERS_HZ.length);
  return sources.map((own, c) => {
    const near = neighbours[c];
    const out = new Float32Array(n);
    const w = near.length ? 0.5 / near.length : 0;
    const norm = scale / Math.sqrt(1 + near.length * w * w);
    for (let i = 0; i < n; i++) {
      let x = own[i];
      for (const m of near) x += w * sources[m][i];
      out[i] = norm * x;
    }
    return out;
  });
}

/** Eyes open (1) or closed (0) per sample, in spells of 8-40 s. */
function eyeStates(rng: Rng, n: number, fs: number): Uint8Array {
  const open = new Uint8Array(n);
  let state = rng.next() < 0.5 ? 1 : 0;
  for (let i = 0; i < n; ) {
    const spell = Math.round(rng.uniform(8, 40) * fs);
    open.fill(state, i, Math.min(n, i + spell));
    i += spell;
    state ^= 1;
  }
  return open;
}

function addAlpha(rng: Rng, eeg: Float32Array[], eyesOpen: Uint8Array, fs: number): void {
  const n = eyesOpen.length;
  const f0 = rng.uniform(9, 11);
  const amplitude = rng.uniform(20, 35);
  const offsets = eeg.map(() => rng.uniform(-0.3, 0.3));
  let phase = 0, drift = 0, envelope = 0.7, gate = eyesOpen[0] ? 0.2 : 1;
  const smooth = Math.exp(-1 / (0.5 * fs)); // gate follows the eyes within ~0.5 s
  for (let i = 0; i < n; i++) {
    drift = 0.999 * drift + 0.002 * rng.normal();
    envelope = Math.min(1, Math.max(0.2, envelope + 0.01 * rng.normal()));
    gate = smooth * gate + (1 - smooth) * (eyesOpen[i] ? 0.2 : 1);
    phase += (2 * Math.PI * (f0 + 0.5 * drift)) / fs;
    const a = amplitude * envelope * gate;
    MONTAGE_CHANNELS.forEach((name, c) => {
      const w = ALPHA_WEIGHT[name] ?? 0.1;
      eeg[c][i] += a * w * Math.sin(phase + offsets[c]);
    });
  }
}

function planSeizures(rng: Rng, seconds: number, perHour: number): SyntheticSeizure[] {
  if (seconds < 40) return [];
  const count = Math.max(1, Math.round((seconds / 3600) * perHour));
  const slot = seconds / count;
  const out: SyntheticSeizure[] = [];
  for (let k = 0; k < count; k++) {
    const margin = Math.min(10, slot * 0.1);
    const duration = Math.min(rng.uniform(20, 60), slot - 2 * margin);
    const start = k * slot + margin + rng.next() * (slot - 2 * margin - duration);
    out.push({
      start: round3(start),
      stop: round3(start + duration),
      focus: MONTAGE_CHANNELS[rng.int(MONTAGE_CHANNELS.length)],
      fromHz: round3(rng.uniform(6, 9)),
      toHz: round3(rng.uniform(2.5, 4)),
      spread: [],
    });
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Hop distance of every channel from `from` over the structural graph. */
function hops(from: number, neighbours: number[][]): number[] {
  const dist = neighbours.map(() => Infinity);
  dist[from] = 0;
  const queue = [from];
  while (queue.length) {
    const c = queue.shift()!;
    for (const m of neighbours[c]) if (dist[m] === Infinity) (dist[m] = dist[c] + 1), queue.push(m);
  }
  return dist;
}

function addSeizure(rng: Rng, eeg: Float32Array[], s: SyntheticSeizure, fs: number, neighbours: number[][]): void {
  const n = eeg[0].length;
  const focus = MONTAGE_CHANNELS.indexOf(s.focus);
  const dist = hops(focus, neighbours);
  const maxHops = 2 + rng.int(5); // 2..6: focal to generalised
  const hopDelay = rng.uniform(1.5, 4);
  const duration = s.stop - s.start;
  const i0 = Math.round(s.start * fs), i1 = Math.min(n, Math.round(s.stop * fs));
  const reached = MONTAGE_CHANNELS.map((_, c) => c).filter((c) => dist[c] <= maxHops && dist[c] * hopDelay < 0.7 * duration);
  reached.sort((a, b) => dist[a] - dist[b] || a - b);
  s.spread = reached.map((c) => MONTAGE_CHANNELS[c]);
  let phase = 0;
  for (let i = i0; i < i1; i++) {
    const t = i / fs - s.start;
    const u = t / duration;
    const f = s.fromHz * (s.toHz / s.fromHz) ** u; // exponential slowing
    phase += (2 * Math.PI * f) / fs;
    const grow = 60 + 90 * u; // uV, rising through the event
    const fadeOut = Math.min(1, (duration - t) / 2);
    for (const c of reached) {
      const local = t - dist[c] * hopDelay;
      if (local <= 0) continue;
      const rampIn = Math.min(1, local / 3);
      const p = phase - 0.4 * dist[c];
      // Spike-and-wave-like: a sharpened sinusoid (harmonics in phase).
      const wave = Math.sin(p) + 0.45 * Math.sin(2 * p) + 0.2 * Math.sin(3 * p);
      eeg[c][i] += grow * 0.85 ** dist[c] * rampIn * fadeOut * wave;
    }
  }
  // Post-ictal attenuation of the channels that took part, recovering over ~20 s.
  const recover = Math.round(20 * fs);
  for (let i = i1; i < Math.min(n, i1 + recover); i++) {
    const g = 0.4 + 0.6 * ((i - i1) / recover);
    for (const c of reached) eeg[c][i] *= g;
  }
}

function addMains(rng: Rng, eeg: Float32Array[], fs: number): void {
  eeg.forEach((x) => {
    const amp = rng.uniform(1, 3), phi = rng.uniform(0, 2 * Math.PI);
    for (let i = 0; i < x.length; i++) x[i] += amp * Math.sin((2 * Math.PI * 60 * i) / fs + phi);
  });
}

/** Poisson event times (seconds) at `perSecond` over [0, seconds). */
function poisson(rng: Rng, perSecond: number, seconds: number): number[] {
  const out: number[] = [];
  for (let t = -Math.log(1 - rng.next()) / perSecond; t < seconds; t += -Math.log(1 - rng.next()) / perSecond) out.push(t);
  return out;
}

function addBlinks(rng: Rng, eeg: Float32Array[], roc: Float32Array, loc: Float32Array, eyesOpen: Uint8Array, fs: number): SyntheticArtifact[] {
  const n = eyesOpen.length;
  const out: SyntheticArtifact[] = [];
  for (const t of poisson(rng, 0.2, n / fs)) {
    const i0 = Math.round(t * fs);
    const width = rng.uniform(0.2, 0.4);
    const amp = rng.uniform(80, 200);
    if (!eyesOpen[i0]) continue;
    const len = Math.round(width * fs);
    for (let k = 0; k < len && i0 + k < n; k++) {
      const bump = amp * Math.sin((Math.PI * k) / len) ** 2;
      MONTAGE_CHANNELS.forEach((name, c) => (eeg[c][i0 + k] += (BLINK_WEIGHT[name] ?? 0) * bump));
      roc[i0 + k] += 0.6 * bump;
      loc[i0 + k] -= 0.6 * bump;
    }
    out.push({ kind: 'blink', start: i0 / fs, stop: (i0 + len) / fs, channels: Object.keys(BLINK_WEIGHT) });
  }
  return out;
}

function addMuscle(rng: Rng, eeg: Float32Array[], fs: number): SyntheticArtifact[] {
  const n = eeg[0].length;
  const out: SyntheticArtifact[] = [];
  const a = Math.exp((-2 * Math.PI * 20) / fs);
  for (const t of poisson(rng, 1.5 / 60, n / fs)) {
    const duration = rng.uniform(0.5, 3);
    const rms = rng.uniform(20, 50);
    const side = MUSCLE_SIDES[rng.int(2)];
    const i0 = Math.round(t * fs), len = Math.round(duration * fs);
    for (const name of side) {
      const c = MONTAGE_CHANNELS.indexOf(name);
      let low = 0;
      for (let k = 0; k < len && i0 + k < n; k++) {
        const white = rng.normal();
        low = a * low + (1 - a) * white;
        const hann = Math.sin((Math.PI * k) / len) ** 2;
        eeg[c][i0 + k] += rms * hann * (white - low); // high-passed white noise: EMG's broad 20-100 Hz power
      }
    }
    out.push({ kind: 'muscle', start: i0 / fs, stop: (i0 + len) / fs, channels: [...side] });
  }
  return out;
}

function addPops(rng: Rng, eeg: Float32Array[], fs: number): SyntheticArtifact[] {
  const n = eeg[0].length;
  const out: SyntheticArtifact[] = [];
  for (const t of poisson(rng, 0.5 / 60, n / fs)) {
    const c = rng.int(MONTAGE_CHANNELS.length);
    const amp = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(100, 300);
    const tau = rng.uniform(0.1, 0.5);
    const i0 = Math.round(t * fs), len = Math.round(5 * tau * fs);
    for (let k = 0; k < len && i0 + k < n; k++) eeg[c][i0 + k] += amp * Math.exp(-k / (tau * fs));
    out.push({ kind: 'pop', start: i0 / fs, stop: (i0 + len) / fs, channels: [MONTAGE_CHANNELS[c]] });
  }
  return out;
}

/** ECG: narrow R waves at 60-80 bpm with a little rate variability, ~1 mV. */
function ecg(rng: Rng, n: number, fs: number): Float32Array {
  const out = new Float32Array(n);
  const bpm = rng.uniform(60, 80);
  for (let t = rng.uniform(0, 1); t < n / fs; t += (60 / bpm) * (1 + 0.05 * rng.normal())) {
    const centre = t * fs;
    for (let i = Math.max(0, Math.floor(centre - 0.05 * fs)); i < Math.min(n, centre + 0.05 * fs); i++) {
      const z = (i - centre) / (0.01 * fs);
      out[i] += 1000 * Math.exp(-0.5 * z * z);
    }
  }
  return out;
}
