// Seeded generators for initialisation: one independent stream per parameter, keyed by (seed, name), so
// adding or reordering modules never changes the other parameters' values.

/** FNV-1a hash of a string (UTF-16 code units), 32 bits. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** splitmix32 step: seeds the xoshiro state from one 32-bit value. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** uniform generator in [0, 1) (32 random bits per draw). */
export function streamFor(seed: number, name: string): () => number {
  const init = { s: (fnv1a(name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0 };
  let a = splitmix32(init), b = splitmix32(init), c = splitmix32(init), d = splitmix32(init);
  return () => {
    const r = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t;
    d = (d << 11) | (d >>> 21);
    return r / 4294967296;
  };
}
