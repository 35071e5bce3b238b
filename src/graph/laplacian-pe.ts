// The static Laplacian positional encoding with the deterministic basis and sign rules of docs/ir.md.
import { GraphError } from './errors.ts';

/** Eigenvalues of clusters closer than this are one eigenspace. */
export const CLUSTER_TOL = 1e-8;
/** A projected unit vector shorter than this adds no basis direction. */
export const BASIS_TOL = 1e-6;
/** Entries within this of the largest magnitude tie for the sign pivot (lowest index wins). */
export const SIGN_TOL = 1e-9;

/** Symmetric normalised Laplacian I - D^-1/2 A D^-1/2 of an unweighted undirected graph (row-major, float64). */
export function normalizedLaplacian(n: number, edges: readonly (readonly [number, number])[]): Float64Array {
  const A = new Float64Array(n * n);
  for (const [i, j] of edges) A[i * n + j] = A[j * n + i] = 1;
  const deg = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) deg[i] += A[i * n + j]!;
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    if (deg[i] === 0) throw new GraphError(`laplacian_pe: node ${i} has no edge`);
    for (let j = 0; j < n; j++) L[i * n + j] = (i === j ? 1 : 0) - A[i * n + j]! / Math.sqrt(deg[i]! * deg[j]!);
  }
  return L;
}

/**
 * Cyclic Jacobi eigen-decomposition of a symmetric matrix (float64, deterministic: fixed sweep order).
 * Returns eigenvalues ascending and eigenvectors as columns of `vectors` (row-major n x n), same order.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-60) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        // A <- J^T A J with the rotation in the (p, q) plane
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i]! - a[j * n + j]! || i - j);
  const values = Float64Array.from(order, (i) => a[i * n + i]!);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => { for (let k = 0; k < n; k++) vectors[k * n + dst] = v[k * n + src]!; });
  return { values, vectors };
}

const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, xi, i) => s + xi * y[i]!, 0);

/** The canonical orthonormal basis of one eigenspace (columns `cols` of `vectors`): docs/ir.md step 4. */
function canonicalBasis(vectors: Float64Array, n: number, cols: number[]): Float64Array[] {
  const Q = cols.map((c) => Float64Array.from({ length: n }, (_, k) => vectors[k * n + c]!));
  const basis: Float64Array[] = [];
  for (let i = 0; i < n && basis.length < cols.length; i++) {
    const w = new Float64Array(n); // P e_i = sum_q q_i q
    for (const q of Q) for (let k = 0; k < n; k++) w[k] += q[i]! * q[k]!;
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        const d = dot(w, b);
        for (let k = 0; k < n; k++) w[k] -= d * b[k]!;
      }
    }
    const norm = Math.sqrt(dot(w, w));
    if (norm > BASIS_TOL) basis.push(w.map((x) => x / norm));
  }
  if (basis.length !== cols.length) throw new GraphError(`laplacian_pe: eigenspace of dimension ${cols.length} yielded ${basis.length} basis vectors`);
  return basis;
}

/** Sign rule: the largest-magnitude entry (ties within SIGN_TOL to the lowest index) is positive. */
function fixSign(v: Float64Array): Float64Array {
  let M = 0;
  for (const x of v) M = Math.max(M, Math.abs(x));
  const pivot = v.findIndex((x) => Math.abs(x) >= M - SIGN_TOL);
  return v[pivot]! < 0 ? v.map((x) => -x) : v;
}

/**
 * Canonical eigenvectors (cluster basis rule, then sign rule) from any eigen-decomposition: `values`
 * ascending, `vectors` their columns (row-major n x n). Basis-independent within each eigenspace.
 */
export function canonicalize(values: Float64Array, vectors: Float64Array, n: number): { value: number; vector: Float64Array }[] {
  const out: { value: number; vector: Float64Array }[] = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && values[i]! - values[i - 1]! < CLUSTER_TOL) continue;
    const cols = Array.from({ length: i - start }, (_, k) => start + k);
    for (const v of canonicalBasis(vectors, n, cols)) out.push({ value: values[start]!, vector: fixSign(v) });
    start = i;
  }
  return out;
}

/** Canonical eigenvectors of the normalised Laplacian, ascending eigenvalue. */
export function canonicalEigenvectors(n: number, edges: readonly (readonly [number, number])[]): { value: number; vector: Float64Array }[] {
  const { values, vectors } = symmetricEigen(normalizedLaplacian(n, edges), n);
  return canonicalize(values, vectors, n);
}

/** PE buffer [n, dim] row-major: the dim eigenvectors after the trivial one. */
export function laplacianPe(n: number, edges: readonly (readonly [number, number])[], dim: number): Float64Array {
  if (dim > n - 1) throw new GraphError(`laplacian_pe: dim ${dim} exceeds ${n - 1} non-trivial eigenvectors`);
  const eig = canonicalEigenvectors(n, edges);
  const pe = new Float64Array(n * dim);
  for (let c = 0; c < dim; c++) for (let e = 0; e < n; e++) pe[e * dim + c] = eig[c + 1]!.vector[e]!;
  return pe;
}
