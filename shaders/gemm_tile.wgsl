// The tiled GEMM core shared by matmul.wgsl and conv1d.wgsl (concatenated after them by the TS module).
//   C[b] (M x N) = sum over s < sum_batches of A[b, s] (M x K) B[b, s] (K x N)
// Each invocation computes a 4 x 4 block of C; a workgroup stages a K slice of op(A) and op(B) in workgroup
// memory and every invocation multiplies it in f32. Two tiles (gemm-subgroup-matrix.ts picks per shape):
//   small (default): 32 x 32 of C, 64 invocations, K slices of 16: 1,024 staged values feed 16K multiply-adds;
//   GEMM_LARGE:      64 x 64 of C, 256 invocations, K slices of 32: 4,096 staged values feed 128K (twice the
//                    reuse of every staged value; 16 KiB of f32 staging, the default workgroup storage limit).
// Values are staged as `act` in vec4 rows (4 consecutive m or n), so the product reads 2 vectors per 16 FMAs.
// Split-K: the contraction's K slices (over all sum_batches) are cut into `splits` ranges of split_tiles slices;
// workgroup (b, split, tile) covers one range and its store writes f32 partials that gemm_splitk.wgsl combines
// in a fixed order (small M x N with a long K, e.g. weight gradients, would otherwise leave the GPU idle).
//
// The including file defines the operand access and the epilogue (so one core serves plain, transposed,
// broadcast and implicit-im2col operands):
//   struct Params with fields M, N, K, batches, sum_batches, tiles_m, tiles_n, splits, split_tiles (and its own)
//   fn gemm_a(g: u32, m: u32, k: u32) -> act        element (m, k) of A for batch g; only called in range
//   fn gemm_b(g: u32, k: u32, n: u32) -> act
//   fn gemm_a_k_fast() -> bool                      A is contiguous along k (else along m): picks the load order
//   fn gemm_b_n_fast() -> bool                      B is contiguous along n (else along k)
//   fn gemm_slice(g: u32, k0: u32)                  called once per K slice before its loads (per-slice index
//                                                   work hoisted out of gemm_a and gemm_b; may do nothing)
//   fn gemm_store(b: u32, split: u32, m0: u32, n0: u32, c: array<f32, 16>)   c[i * 4 + j] is C[m0 + i, n0 + j]
// g = b * sum_batches + s, where b < batches is the output batch.

//#if GEMM_LARGE
const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 32u;
const GEMM_WG: u32 = 256u;
//#else
const TILE_M: u32 = 32u;
const TILE_N: u32 = 32u;
const TILE_K: u32 = 16u;
const GEMM_WG: u32 = 64u;
//#endif
const STAGE: u32 = TILE_M * TILE_K; // staged values of each operand per K slice (TILE_M = TILE_N)

var<workgroup> tile_a: array<vec4<act>, STAGE / 4u>; // [TILE_K][TILE_M / 4], swizzled (slot)
var<workgroup> tile_b: array<vec4<act>, STAGE / 4u>; // [TILE_K][TILE_N / 4], swizzled (slot)

// Where vector v of staged row k lives: rows of ROW vectors, each row's vectors permuted by XOR with k. An operand
// loaded k-fast (weights, dY, X in dw) has consecutive invocations writing one column down consecutive rows: without
// the XOR every row starts on the same bank, a 32-way conflict per store (16-way in f16); with it the rows' columns
// spread over 8 banks (16 in f16). The product reads one row at a time, whose vectors stay a permutation: no conflict.
// GEMM_PLAIN_STAGING (ICTAL_GEMM_SWIZZLE=off, for an A/B on one GPU): the unpermuted layout.
const ROW: u32 = TILE_M / 4u; // TILE_M = TILE_N, a power of two
//#if GEMM_PLAIN_STAGING
fn slot(k: u32, v: u32) -> u32 { return k * ROW + v; }
//#else
fn slot(k: u32, v: u32) -> u32 { return k * ROW + (v ^ (k % ROW)); }
//#endif

@compute @workgroup_size(GEMM_WG)
fn gemm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let wg = linear_wg(wid, nwg);
  let tiles = P.tiles_m * P.tiles_n;
  let b = wg / (tiles * P.splits);
  if (b >= P.batches) { return; }
  let split = (wg / tiles) % P.splits;
  let tile = wg % tiles;
  let m0 = (tile / P.tiles_n) * TILE_M;
  let n0 = (tile % P.tiles_n) * TILE_N;
  let tx = lid % (TILE_N / 4u);
  let ty = lid / (TILE_N / 4u);
  let a_k_fast = gemm_a_k_fast();
  let b_n_fast = gemm_b_n_fast();
  let k_tiles = (P.K + TILE_K - 1u) / TILE_K;
  let first = split * P.split_tiles;
  let last = min(first + P.split_tiles, P.sum_batches * k_tiles);
  var c: array<f32, 16>;
  for (var t = first; t < last; t++) {
    let g = b * P.sum_batches + t / k_tiles;
    let k0 = (t % k_tiles) * TILE_K;
    gemm_slice(g, k0);
    for (var r = 0u; r < STAGE / GEMM_WG; r++) {
      let e = lid + r * GEMM_WG;
      // Consecutive invocations take consecutive addresses of whichever operand layout is contiguous.
      var am = e % TILE_M;
      var ak = e / TILE_M;
      if (a_k_fast) { ak = e % TILE_K; am = e / TILE_K; }
      var av = act(0.0);
      if (m0 + am < P.M && k0 + ak < P.K) { av = gemm_a(g, m0 + am, k0 + ak); }
      tile_a[slot(ak, am / 4u)][am % 4u] = av;
      var bn = e % TILE_N;
      var bk = e / TILE_N;
      if (!b_n_fast) { bk = e % TILE_K; bn = e / TILE_K; }
      var bv = act(0.0);
      if (n0 + bn < P.N && k0 + bk < P.K) { bv = gemm_b(g, k0 + bk, n0 + bn); }
      tile_b[slot(bk, bn / 4u)][bn % 4u] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let ar = vec4<f32>(tile_a[slot(kk, ty)]);
      let br = vec4<f32>(tile_b[slot(kk, tx)]);
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { c[i * 4u + j] = fma(ar[i], br[j], c[i * 4u + j]); }
      }
    }
    workgroupBarrier();
  }
  gemm_store(b, split, m0 + ty * 4u, n0 + tx * 4u, c);
}
