// The tiled GEMM core shared by matmul.wgsl and conv1d.wgsl (concatenated after them by the TS module).
//   C[b] (M x N) = sum over s < sum_batches of A[b, s] (M x K) B[b, s] (K x N)
// Each invocation computes QUADS x QUADS blocks of 4 x 4 of C; a workgroup stages a K slice of op(A) and op(B)
// in workgroup memory and every invocation multiplies it in f32. Three tiles (gemm-subgroup-matrix.ts picks per
// shape):
//   small (default): 32 x 32 of C, 64 invocations of 4 x 4, K slices of 16: 1,024 staged values feed 16K
//                    multiply-adds;
//   GEMM_LARGE:      64 x 64 of C, 256 invocations of 4 x 4, K slices of 32: 4,096 staged values feed 128K (twice
//                    the reuse of every staged value; 16 KiB of f32 staging, the default workgroup storage limit);
//   GEMM_XL:         128 x 128 of C, 256 invocations of 8 x 8, K slices of 16: 4,096 staged values feed 256K (4x
//                    the small tile's reuse; 16 KiB of f32 staging). An invocation's 8 x 8 is four 4 x 4
//                    quadrants at rows ty * 4 + {0, 64} and columns tx * 4 + {0, 64} (tx, ty < 16), so each K
//                    step reads 2 vectors of A and 2 of B for 64 FMAs, from the same staging layout.
// Values are staged as `act` in vec4 rows (4 consecutive m or n), so the product reads 2 vectors per 16 FMAs
// (4 per 64 in the xl tile): consecutive invocations read consecutive vectors.
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
//                                                   (called once per 4 x 4 quadrant)
// g = b * sum_batches + s, where b < batches is the output batch.

//#if GEMM_XL
const TILE_M: u32 = 128u;
const TILE_N: u32 = 128u;
const TILE_K: u32 = 16u;
const GEMM_WG: u32 = 256u;
const QUADS: u32 = 2u; // 4 x 4 quadrants per invocation along each of m and n
//#else
//#if GEMM_LARGE
const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 32u;
const GEMM_WG: u32 = 256u;
const QUADS: u32 = 1u;
//#else
const TILE_M: u32 = 32u;
const TILE_N: u32 = 32u;
const TILE_K: u32 = 16u;
const GEMM_WG: u32 = 64u;
const QUADS: u32 = 1u;
//#endif
//#endif
const STAGE: u32 = TILE_M * TILE_K; // staged values of each operand per K slice (TILE_M = TILE_N)
const GRID_N: u32 = TILE_N / (4u * QUADS); // invocations along n (tx); ty runs along m
const QUAD_M: u32 = TILE_M / QUADS; // rows between an invocation's quadrants
const QUAD_N: u32 = TILE_N / QUADS;
const ACC: u32 = 16u * QUADS * QUADS; // accumulators per invocation: quadrant (qi, qj) at (qi * QUADS + qj) * 16

var<workgroup> tile_a: array<vec4<act>, STAGE / 4u>; // [TILE_K][TILE_M / 4]
var<workgroup> tile_b: array<vec4<act>, STAGE / 4u>; // [TILE_K][TILE_N / 4]

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
  let tx = lid % GRID_N;
  let ty = lid / GRID_N;
  let a_k_fast = gemm_a_k_fast();
  let b_n_fast = gemm_b_n_fast();
  let k_tiles = (P.K + TILE_K - 1u) / TILE_K;
  let first = split * P.split_tiles;
  let last = min(first + P.split_tiles, P.sum_batches * k_tiles);
  var c: array<f32, ACC>;
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
      tile_a[ak * (TILE_M / 4u) + am / 4u][am % 4u] = av;
      var bn = e % TILE_N;
      var bk = e / TILE_N;
      if (!b_n_fast) { bk = e % TILE_K; bn = e / TILE_K; }
      var bv = act(0.0);
      if (n0 + bn < P.N && k0 + bk < P.K) { bv = gemm_b(g, k0 + bk, n0 + bn); }
      tile_b[bk * (TILE_N / 4u) + bn / 4u][bn % 4u] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      var ar: array<vec4<f32>, QUADS>;
      var br: array<vec4<f32>, QUADS>;
      for (var q = 0u; q < QUADS; q++) {
        ar[q] = vec4<f32>(tile_a[kk * (TILE_M / 4u) + q * (QUAD_M / 4u) + ty]);
        br[q] = vec4<f32>(tile_b[kk * (TILE_N / 4u) + q * (QUAD_N / 4u) + tx]);
      }
      for (var qi = 0u; qi < QUADS; qi++) {
        for (var qj = 0u; qj < QUADS; qj++) {
          let base = (qi * QUADS + qj) * 16u;
          for (var i = 0u; i < 4u; i++) {
            for (var j = 0u; j < 4u; j++) { c[base + i * 4u + j] = fma(ar[qi][i], br[qj][j], c[base + i * 4u + j]); }
          }
        }
      }
    }
    workgroupBarrier();
  }
  for (var qi = 0u; qi < QUADS; qi++) {
    for (var qj = 0u; qj < QUADS; qj++) {
      var q: array<f32, 16>;
      for (var e = 0u; e < 16u; e++) { q[e] = c[(qi * QUADS + qj) * 16u + e]; }
      gemm_store(b, split, m0 + qi * QUAD_M + ty * 4u, n0 + qj * QUAD_N + tx * 4u, q);
    }
  }
}
