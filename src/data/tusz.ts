/**
 * TUSZ signal labels ("EEG FP1-REF", "EEG FP1-LE", "EEG T7-REF", "Fp1", ...) mapped onto the 19 montage channels.
 * A label names a montage electrode when, after dropping case, spaces, an "EEG" prefix and a reference suffix,
 * what is left is a montage name or one of its aliases (T7=T3, T8=T4, P7=T5, P8=T6).
 */
import { ChannelMappingError } from './errors.ts';
import { CHANNEL_ALIASES, MONTAGE_CHANNELS, type MontageChannel } from './montage.ts';

/** Reference electrodes a referential label may name after the dash. */
const REFERENCES = new Set(['REF', 'LE', 'AR', 'AVG', 'A1', 'A2', 'M1', 'M2']);

const BY_UPPER = new Map<string, MontageChannel>([
  ...MONTAGE_CHANNELS.map((c) => [c.toUpperCase(), c] as const),
  ...Object.entries(CHANNEL_ALIASES).map(([alias, c]) => [alias, c] as const),
]);

export interface ParsedChannelLabel {
  channel: MontageChannel;
  /** The reference suffix ("REF", "LE", ...), or '' when the label has none. */
  reference: string;
}

/** The montage channel a label names, or null (bipolar derivations, EKG, photic, numbered channels...). */
export function parseChannelLabel(label: string): ParsedChannelLabel | null {
  let s = label.toUpperCase().replace(/\s+/g, '');
  if (s.startsWith('EEG')) s = s.slice(3);
  let reference = '';
  const dash = s.indexOf('-');
  if (dash >= 0) {
    reference = s.slice(dash + 1);
    if (!REFERENCES.has(reference)) return null;
    s = s.slice(0, dash);
  }
  const channel = BY_UPPER.get(s);
  return channel ? { channel, reference } : null;
}

export interface ChannelMapping {
  /** For each montage channel in MONTAGE_CHANNELS order, the index of the label (signal) that carries it. */
  indices: number[];
  /** The references seen among the mapped labels (normally exactly one, e.g. ["REF"] or ["LE"]). */
  references: string[];
}

/** Maps labels (e.g. an EDF's signal labels) onto the montage; throws naming every missing or doubled channel. */
export function mapChannels(labels: readonly string[]): ChannelMapping {
  const found = new Map<MontageChannel, number[]>();
  const references = new Set<string>();
  labels.forEach((label, i) => {
    const parsed = parseChannelLabel(label);
    if (!parsed) return;
    found.set(parsed.channel, [...(found.get(parsed.channel) ?? []), i]);
    references.add(parsed.reference);
  });
  const doubled = MONTAGE_CHANNELS.filter((c) => (found.get(c)?.length ?? 0) > 1);
  if (doubled.length) {
    const detail = doubled.map((c) => `${c}: ${found.get(c)!.map((i) => `${JSON.stringify(labels[i])} (#${i})`).join(' and ')}`);
    throw new ChannelMappingError('ambiguous', `more than one signal maps onto ${detail.join('; ')}`);
  }
  const missing = MONTAGE_CHANNELS.filter((c) => !found.has(c));
  if (missing.length) {
    throw new ChannelMappingError(
      'missing',
      `missing ${missing.length} of the 19 montage channels: ${missing.join(', ')} (signals present: ${labels.map((l) => JSON.stringify(l)).join(', ') || 'none'})`,
      missing,
    );
  }
  return { indices: MONTAGE_CHANNELS.map((c) => found.get(c)![0]), references: [...references].sort() };
}

/** The TUSZ label the synthetic recordings use for a montage channel, e.g. "EEG FP1-REF". */
export function tuszLabel(channel: MontageChannel, reference = 'REF'): string {
  return `EEG ${channel.toUpperCase()}-${reference}`;
}
