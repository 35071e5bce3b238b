// The static PE: an orthonormal set of non-trivial eigenvectors of the structural graph's normalised
// Laplacian, chosen by the basis and sign rules of docs/ir.md, identical between runs and eigen-solvers.
import { describe, expect, it } from 'vitest';
import { canonicalEigenvectors, canonicalize, laplacianPe, normalizedLaplacian, symmetricEigen, SIGN_TOL } from '../../src/graph/laplacian-pe.ts';
import { STRUCTURAL_EDGES, ELECTRODES } from '../../src/graph/montage.ts';
import { makeRng } from '../harness/kernel-harness.ts';

const n = ELECTRODES.length;
const L = normalizedLaplacian(n, STRUCTURAL_EDGES);
const col = (pe: Float64Array, c: number, k = 16) => Float64Array.from({ length: n }, (_, e) => pe[e * k + c]!);
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const matvec = (v: Float64Array) => Float64Array.from({ length: n }, (_, i) => v.reduce((s, x, j) => s + L[i * n + j]! * x, 0));

describe('structural graph', () => {
  it('has 19 nodes and the 24 undirected edges of V3_MODEL.md, no duplicates', () => {
    expect(STRUCTURAL_EDGES).toHaveLength(24);
    const keys = STRUCTURAL_EDGES.map(([i, j]) => `${Math.min(i, j)}-${Math.max(i, j)}`);
    expect(new Set(keys).size).toBe(24);
    expect(STRUCTURAL_EDGES[0]).toEqual([0, 1]); // Fp1-F3
    expect(STRUCTURAL_EDGES[23]).toEqual([10, 14]); // Pz-P4
  });

  it('spectrum: 0 first, 0.0824..., eigenvalue 1 three times, 2 last (bipartite)', () => {
    const { values } = symmetricEigen(L, n);
    expect(values[0]).toBeCloseTo(0, 12);
    expect(values[1]).toBeCloseTo(0.0824, 4);
    expect(values[n - 1]).toBeCloseTo(2, 12);
    expect(Array.from(values).filter((v) => Math.abs(v - 1) < 1e-9)).toHaveLength(3);
    // bipartite: the spectrum is symmetric about 1
    for (let i = 0; i < n; i++) expect(values[i]! + values[n - 1 - i]!).toBeCloseTo(2, 12);
  });
});

describe('laplacian PE', () => {
  const pe = laplacianPe(n, STRUCTURAL_EDGES, 16);
  const eig = canonicalEigenvectors(n, STRUCTURAL_EDGES);

  it('columns are orthonormal', () => {
    for (let a = 0; a < 16; a++) {
      for (let b = 0; b < 16; b++) expect(Math.abs(dot(col(pe, a), col(pe, b)) - (a === b ? 1 : 0))).toBeLessThan(1e-12);
    }
  });

  it('every column satisfies L v = lambda v, lambda ascending, the trivial eigenvector dropped', () => {
    let prev = 0;
    for (let c = 0; c < 16; c++) {
      const v = col(pe, c), lambda = eig[c + 1]!.value;
      const Lv = matvec(v);
      for (let i = 0; i < n; i++) expect(Math.abs(Lv[i]! - lambda * v[i]!)).toBeLessThan(1e-12);
      expect(lambda).toBeGreaterThan(prev);
      prev = lambda - 1e-9;
    }
    // every column is orthogonal to the trivial eigenvector D^1/2 1
    const deg = new Float64Array(n);
    for (const [i, j] of STRUCTURAL_EDGES) { deg[i]++; deg[j]++; }
    const trivial = deg.map(Math.sqrt);
    for (let c = 0; c < 16; c++) expect(Math.abs(dot(col(pe, c), trivial))).toBeLessThan(1e-12);
  });

  it('sign rule: each column largest-magnitude entry (lowest index on ties) is positive', () => {
    for (let c = 0; c < 16; c++) {
      const v = col(pe, c);
      const M = Math.max(...v.map(Math.abs));
      const pivot = v.findIndex((x) => Math.abs(x) >= M - SIGN_TOL);
      expect(v[pivot]).toBeGreaterThan(0);
    }
  });

  it('is identical between runs (bit for bit)', () => {
    expect(Array.from(laplacianPe(n, STRUCTURAL_EDGES, 16))).toEqual(Array.from(pe));
  });

  it('does not depend on the eigen-solver basis: random rotations inside each eigenspace give the same PE', () => {
    const { values, vectors } = symmetricEigen(L, n);
    const rand = makeRng(12345);
    // rotate the eigenvectors of every cluster by a random orthogonal matrix (Gram-Schmidt of random columns),
    // and flip signs at random: what another solver (numpy eigh) might return
    const rotated = Float64Array.from(vectors);
    let start = 0;
    for (let i = 1; i <= n; i++) {
      if (i < n && values[i]! - values[i - 1]! < 1e-8) continue;
      const m = i - start;
      const R: number[][] = [];
      for (let a = 0; a < m; a++) {
        const r = Array.from({ length: m }, () => rand() * 2 - 1);
        for (const q of R) { const d = r.reduce((s, x, k) => s + x * q[k]!, 0); r.forEach((_, k) => (r[k]! -= d * q[k]!)); }
        const nr = Math.hypot(...r);
        R.push(r.map((x) => x / nr));
      }
      for (let e = 0; e < n; e++) {
        for (let a = 0; a < m; a++) {
          let s = 0;
          for (let b = 0; b < m; b++) s += vectors[e * n + start + b]! * R[a]![b]!;
          rotated[e * n + start + a] = s;
        }
      }
      start = i;
    }
    const again = canonicalize(values, rotated, n);
    for (let c = 0; c < n; c++) {
      for (let e = 0; e < n; e++) expect(Math.abs(again[c]!.vector[e]! - eig[c]!.vector[e]!)).toBeLessThan(1e-12);
    }
  });

  it('the eigenvalue-1 eigenspace basis follows the Gram-Schmidt rule on projected unit vectors', () => {
    const cluster = eig.filter((e) => Math.abs(e.value - 1) < 1e-9).map((e) => e.vector);
    expect(cluster).toHaveLength(3);
    // the first basis vector is the normalised projection of the first unit vector with a non-zero projection
    const P = (i: number) => {
      const w = new Float64Array(n);
      for (const q of cluster) for (let k = 0; k < n; k++) w[k] += q[i]! * q[k]!;
      return w;
    };
    const i0 = Array.from({ length: n }, (_, i) => i).find((i) => Math.hypot(...P(i)) > 1e-6)!;
    const w = P(i0), nw = Math.hypot(...w);
    const sign = Math.sign(dot(w, cluster[0]!));
    for (let k = 0; k < n; k++) expect(Math.abs(sign * w[k]! / nw - cluster[0]![k]!)).toBeLessThan(1e-12);
  });
});
