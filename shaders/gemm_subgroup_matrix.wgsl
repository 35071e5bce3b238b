// The GEMM core on subgroup matrices (tensor cores on NVIDIA): a drop-in for gemm_tile.wgsl with the same
// interface to the including file (gemm_a, gemm_b, gemm_a_k_fast, gemm_b_n_fast, gemm_slice, gemm_store, Params with
// M, N, K, batches, sum_batches, tiles_m, tiles_n, splits, split_tiles), the same tiles of C per workgroup, the
// same K slices and the same split-K ranges: only the inner product differs, so every operand form (transposed,
// broadcast, implicit im2col) and every epilogue (bias, activation, packed halves, split-K partials) is shared
// with the fallback. Two tiles, as in gemm_tile.wgsl (gemm-subgroup-matrix.ts picks per shape):
//   small (default): 32 x 32 of C, 64 invocations, K slices of 16; each subgroup SGM_PER_SG result tiles
//                    along N (2 on NVIDIA), each loading its own left and right matrix per K step
//   GEMM_LARGE:      64 x 64 of C, K slices of 32, one subgroup per 2 x 2 block of result tiles (128
//                    invocations on NVIDIA: 4 subgroups of 32 with 2 x 2 of 16 x 16), so each loaded left and
//                    right matrix feeds two multiplies and each staged value 64 multiply-adds (16 on small).
//
// Per K slice the workgroup stages op(A) [TILE_M x TILE_K] and op(B) [TILE_K x TILE_N] as f16 in workgroup
// memory (zeros outside the matrix, so ragged edges need no other guard); each subgroup multiplies its result
// tiles of SGM_M x SGM_N with f32 accumulators; at the end the tiles go through workgroup memory (f32) back to
// the 4 x 4 blocks that gemm_store takes, in two rounds of half the rows on the large tile (8 KiB of staging
// plus 8 KiB of results stays within the default 16 KiB of workgroup storage). Used for the f16 modes only:
// their values are halves already, so staging them as f16 loses nothing (f32 keeps the exact fallback).
//
// The TS module (gemm-subgroup-matrix.ts) prepends the constants SGM_M, SGM_N, SGM_K (an adapter
// subgroupMatrixConfig with f16 operands and an f32 result) and SGM_SG (the subgroup size, fixed on the adapters
// it picks), and one define:
//   SGM_EMULATE  plain-WGSL stand-ins for the subgroup-matrix builtins (a whole matrix per invocation), so that
//                everything but those few lines runs against the float64 references on adapters without the
//                feature (CI's lavapipe); never picked for speed.
//   SGM_LAYOUT_TEMPLATE  Dawn's current call form subgroupMatrixLoad<T, row_major>(p, offset, stride); without
//                it, the earlier subgroupMatrixLoad<T>(p, offset, col_major, stride). The module probes which
//                one the device's Dawn compiles.

enable f16;
//#if !SGM_EMULATE
enable subgroups;
enable chromium_experimental_subgroup_matrix;
// Load, store and multiply must see subgroup-uniform arguments: they do here (a subgroup's tile offsets depend
// only on subgroup_id and loop counters), but WGSL's uniformity analysis works per workgroup and cannot see it.
diagnostic(off, chromium.subgroup_matrix_uniformity);
//#endif

//#if GEMM_LARGE
const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 32u;
// Subgroups own 2 x 2 blocks of result tiles, TILE_M / (2 SGM_M) rows of SGM_BLOCKS_N over the tile.
const SGM_BLOCKS_N: u32 = TILE_N / (2u * SGM_N);
const GEMM_WG: u32 = (TILE_M / (2u * SGM_M)) * SGM_BLOCKS_N * SGM_SG;
const SGM_PER_SG: u32 = 4u;
const C_ROUNDS: u32 = 2u;
//#else
const TILE_M: u32 = 32u;
const TILE_N: u32 = 32u;
const TILE_K: u32 = 16u;
const GEMM_WG: u32 = 64u;
const SGM_TILES_N: u32 = TILE_N / SGM_N;
const SGM_PER_SG: u32 = (TILE_M / SGM_M) * SGM_TILES_N / (GEMM_WG / SGM_SG);
const C_ROUNDS: u32 = 1u;
//#endif
const STAGE: u32 = TILE_M * TILE_K; // staged values of each operand per K slice (TILE_M = TILE_N)
const C_ROWS: u32 = TILE_M / C_ROUNDS; // result rows through tile_c per round

var<workgroup> tile_a: array<f16, STAGE>; // [TILE_M][TILE_K], row-major: a left matrix is rows of TILE_K
var<workgroup> tile_b: array<f16, STAGE>; // [TILE_K][TILE_N], row-major: a right matrix is rows of TILE_N
var<workgroup> tile_c: array<f32, C_ROWS * TILE_N>; // [C_ROWS][TILE_N]: the result on its way to gemm_store

//#if !SGM_EMULATE
alias SgmLeft = subgroup_matrix_left<f16, SGM_K, SGM_M>;
alias SgmRight = subgroup_matrix_right<f16, SGM_N, SGM_K>;
alias SgmAcc = subgroup_matrix_result<f32, SGM_N, SGM_M>;

//#if SGM_LAYOUT_TEMPLATE
fn sgm_left(offset: u32) -> SgmLeft { return subgroupMatrixLoad<SgmLeft, row_major>(&tile_a, offset, TILE_K); }
fn sgm_right(offset: u32) -> SgmRight { return subgroupMatrixLoad<SgmRight, row_major>(&tile_b, offset, TILE_N); }
fn sgm_store(offset: u32, v: SgmAcc) { subgroupMatrixStore<row_major>(&tile_c, offset, v, TILE_N); }
//#else
fn sgm_left(offset: u32) -> SgmLeft { return subgroupMatrixLoad<SgmLeft>(&tile_a, offset, false, TILE_K); }
fn sgm_right(offset: u32) -> SgmRight { return subgroupMatrixLoad<SgmRight>(&tile_b, offset, false, TILE_N); }
fn sgm_store(offset: u32, v: SgmAcc) { subgroupMatrixStore(&tile_c, offset, v, false, TILE_N); }
//#endif
fn sgm_mma(l: SgmLeft, r: SgmRight, c: SgmAcc) -> SgmAcc { return subgroupMatrixMultiplyAccumulate(l, r, c); }
//#else
// The stand-ins: the same row-major addressing as the builtins (entry [r, c] at offset + r * stride + c), each
// invocation holding the whole matrix. Every invocation of a stand-in subgroup stores the same values to the
// same addresses in sgm_store, as the real subgroup stores one matrix once.
alias SgmLeft = array<f16, SGM_M * SGM_K>;
alias SgmRight = array<f16, SGM_K * SGM_N>;
alias SgmAcc = array<f32, SGM_M * SGM_N>;

fn sgm_left(offset: u32) -> SgmLeft {
  var l: SgmLeft;
  for (var r = 0u; r < SGM_M; r++) {
    for (var c = 0u; c < SGM_K; c++) { l[r * SGM_K + c] = tile_a[offset + r * TILE_K + c]; }
  }
  return l;
}
fn sgm_right(offset: u32) -> SgmRight {
  var m: SgmRight;
  for (var r = 0u; r < SGM_K; r++) {
    for (var c = 0u; c < SGM_N; c++) { m[r * SGM_N + c] = tile_b[offset + r * TILE_N + c]; }
  }
  return m;
}
fn sgm_store(offset: u32, v: SgmAcc) {
  for (var r = 0u; r < SGM_M; r++) {
    for (var c = 0u; c < SGM_N; c++) { tile_c[offset + r * TILE_N + c] = v[r * SGM_N + c]; }
  }
}
fn sgm_mma(l: SgmLeft, m: SgmRight, acc: SgmAcc) -> SgmAcc {
  var out = acc;
  for (var r = 0u; r < SGM_M; r++) {
    for (var c = 0u; c < SGM_N; c++) {
      var s = out[r * SGM_N + c];
      for (var k = 0u; k < SGM_K; k++) { s = fma(f32(l[r * SGM_K + k]), f32(m[k * SGM_N + c]), s); }
      out[r * SGM_N + c] = s;
    }
  }
  return out;
}
//#endif

// Row and column of result tile r of subgroup sg within the tile: on the small tile a subgroup's tiles run
// along N; on the large one they are the 2 x 2 block (r = 2 i + j) of the subgroup's place in the grid of blocks.
fn sgm_tile_origin(sg: u32, r: u32) -> vec2<u32> {
//#if GEMM_LARGE
  return vec2<u32>(((sg / SGM_BLOCKS_N) * 2u + r / 2u) * SGM_M, ((sg % SGM_BLOCKS_N) * 2u + r % 2u) * SGM_N);
//#else
  let t = sg * SGM_PER_SG + r;
  return vec2<u32>((t / SGM_TILES_N) * SGM_M, (t % SGM_TILES_N) * SGM_N);
//#endif
}

@compute @workgroup_size(GEMM_WG)
fn gemm(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
//#if !SGM_EMULATE
  @builtin(subgroup_id) subgroup: u32,
//#endif
) {
//#if SGM_EMULATE
  let sg = lid / SGM_SG;
//#else
  let sg = subgroup;
//#endif
  let wg = linear_wg(wid, nwg);
  let tiles = P.tiles_m * P.tiles_n;
  // Whole workgroups leave together (b is the same for all invocations), so the subgroup-matrix calls below stay in
  // uniform control flow.
  let b = wg / (tiles * P.splits);
  if (b >= P.batches) { return; }
  let split = (wg / tiles) % P.splits;
  let tile = wg % tiles;
  let m0 = (tile / P.tiles_n) * TILE_M;
  let n0 = (tile % P.tiles_n) * TILE_N;
  let a_k_fast = gemm_a_k_fast();
  let b_n_fast = gemm_b_n_fast();
  let k_tiles = (P.K + TILE_K - 1u) / TILE_K;
  let first = split * P.split_tiles;
  let last = min(first + P.split_tiles, P.sum_batches * k_tiles);
  var acc: array<SgmAcc, SGM_PER_SG>;
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
      tile_a[am * TILE_K + ak] = f16(av);
      var bn = e % TILE_N;
      var bk = e / TILE_N;
      if (!b_n_fast) { bk = e % TILE_K; bn = e / TILE_K; }
      var bv = act(0.0);
      if (n0 + bn < P.N && k0 + bk < P.K) { bv = gemm_b(g, k0 + bk, n0 + bn); }
      tile_b[bk * TILE_N + bn] = f16(bv);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk += SGM_K) {
//#if GEMM_LARGE
      // Two left and two right matrices feed the block's four products.
      let o = sgm_tile_origin(sg, 0u);
      let l0 = sgm_left(o.x * TILE_K + kk);
      let l1 = sgm_left((o.x + SGM_M) * TILE_K + kk);
      let r0 = sgm_right(kk * TILE_N + o.y);
      let r1 = sgm_right(kk * TILE_N + o.y + SGM_N);
      acc[0] = sgm_mma(l0, r0, acc[0]);
      acc[1] = sgm_mma(l0, r1, acc[1]);
      acc[2] = sgm_mma(l1, r0, acc[2]);
      acc[3] = sgm_mma(l1, r1, acc[3]);
//#else
      for (var r = 0u; r < SGM_PER_SG; r++) {
        let o = sgm_tile_origin(sg, r);
        acc[r] = sgm_mma(sgm_left(o.x * TILE_K + kk), sgm_right(kk * TILE_N + o.y), acc[r]);
      }
//#endif
    }
    workgroupBarrier();
  }
  // The result leaves in rounds of C_ROWS rows: the subgroups holding those rows store their tiles, then each
  // invocation hands 4 x 4 blocks to gemm_store.
  for (var h = 0u; h < C_ROUNDS; h++) {
    for (var r = 0u; r < SGM_PER_SG; r++) {
      let o = sgm_tile_origin(sg, r);
      if (o.x / C_ROWS == h) { sgm_store((o.x - h * C_ROWS) * TILE_N + o.y, acc[r]); }
    }
    workgroupBarrier();
    for (var q = lid; q < C_ROWS * TILE_N / 16u; q += GEMM_WG) {
      let by = q / (TILE_N / 4u);
      let bx = q % (TILE_N / 4u);
      var c: array<f32, 16>;
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { c[i * 4u + j] = tile_c[(by * 4u + i) * TILE_N + bx * 4u + j]; }
      }
      gemm_store(b, split, m0 + h * C_ROWS + by * 4u, n0 + bx * 4u, c);
    }
    workgroupBarrier();
  }
}
