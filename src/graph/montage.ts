// The 10-20 montage of V3_MODEL.md: electrode order and the 24 structural edges of the static graph.

export const ELECTRODES = ['Fp1', 'F3', 'C3', 'P3', 'F7', 'T3', 'T5', 'O1', 'Fz', 'Cz', 'Pz', 'Fp2', 'F4', 'C4', 'P4', 'F8', 'T4', 'T6', 'O2'] as const;

const NAMED_EDGES: [string, string][] = [
  ['Fp1', 'F3'], ['Fp1', 'F7'], ['Fp2', 'F4'], ['Fp2', 'F8'], ['F3', 'C3'], ['C3', 'P3'], ['F4', 'C4'], ['C4', 'P4'],
  ['F7', 'T3'], ['T3', 'T5'], ['F8', 'T4'], ['T4', 'T6'], ['P3', 'O1'], ['T5', 'O1'], ['P4', 'O2'], ['T6', 'O2'],
  ['Fz', 'Cz'], ['Cz', 'Pz'], ['F3', 'Fz'], ['Fz', 'F4'], ['C3', 'Cz'], ['Cz', 'C4'], ['P3', 'Pz'], ['Pz', 'P4'],
];

function index(name: string): number {
  const i = (ELECTRODES as readonly string[]).indexOf(name);
  if (i < 0) throw new Error(`unknown electrode ${name}`);
  return i;
}

/** The structural edges as [i, j] electrode indices, in the order V3_MODEL.md lists them. */
export const STRUCTURAL_EDGES: [number, number][] = NAMED_EDGES.map(([a, b]) => [index(a), index(b)]);
