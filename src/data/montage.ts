/**
 * The 19-channel 10-20 montage of the v3 model (design/V3_MODEL.md): channel order and the structural graph.
 * Everything that orders channels (data ingest, the synthetic generator, the graph's positional encoding) uses
 * these, so the order cannot drift between modules.
 */
export const MONTAGE_CHANNELS = [
  'Fp1', 'F3', 'C3', 'P3', 'F7', 'T3', 'T5', 'O1', 'Fz', 'Cz', 'Pz', 'Fp2', 'F4', 'C4', 'P4', 'F8', 'T4', 'T6', 'O2',
] as const;

export type MontageChannel = (typeof MONTAGE_CHANNELS)[number];

export const CHANNEL_COUNT = MONTAGE_CHANNELS.length;

/** Newer 10-10 names of four electrodes, mapped to the 10-20 names the montage uses. */
export const CHANNEL_ALIASES: Readonly<Record<string, MontageChannel>> = { T7: 'T3', T8: 'T4', P7: 'T5', P8: 'T6' };

/** The 24 undirected structural edges of the 10-20 graph, by channel name. */
export const STRUCTURAL_EDGES: ReadonlyArray<readonly [MontageChannel, MontageChannel]> = [
  ['Fp1', 'F3'], ['Fp1', 'F7'], ['Fp2', 'F4'], ['Fp2', 'F8'], ['F3', 'C3'], ['C3', 'P3'], ['F4', 'C4'], ['C4', 'P4'],
  ['F7', 'T3'], ['T3', 'T5'], ['F8', 'T4'], ['T4', 'T6'], ['P3', 'O1'], ['T5', 'O1'], ['P4', 'O2'], ['T6', 'O2'],
  ['Fz', 'Cz'], ['Cz', 'Pz'], ['F3', 'Fz'], ['Fz', 'F4'], ['C3', 'Cz'], ['Cz', 'C4'], ['P3', 'Pz'], ['Pz', 'P4'],
];

export function channelIndex(name: MontageChannel): number {
  return MONTAGE_CHANNELS.indexOf(name);
}

/** Neighbour lists by channel index, from STRUCTURAL_EDGES. */
export function structuralNeighbours(): number[][] {
  const out: number[][] = MONTAGE_CHANNELS.map(() => []);
  for (const [a, b] of STRUCTURAL_EDGES) {
    out[channelIndex(a)].push(channelIndex(b));
    out[channelIndex(b)].push(channelIndex(a));
  }
  return out;
}
