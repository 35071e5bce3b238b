// SSGConv propagation over the disjoint batch of B*T small graphs (graph g = b * T + t, E nodes each):
//   Ã = A with A_ii = 1 where A_ii == 0 (added self-loops);  d_i = sum_j Ã_ij;  Â_ij = Ã_ij / sqrt(d_i d_j)
//   z_0 = x,  z_k = Â z_{k-1},  h = alpha x + (1 - alpha) / K * (z_1 + ... + z_K)
// (the linear layer h W + b that follows is a matmul). One workgroup per graph holds Â in workgroup memory; each
// invocation propagates two feature columns in registers; every sum has a fixed order: deterministic, no atomics.
// Backward: with gz_K = c dh, gz_{k-1} = Â^T gz_k (+ c dh for k-1 >= 1), dx = alpha dh + Â^T gz_1 and
// G = sum_k gz_k z_{k-1}^T (= dL/dÂ), c = (1 - alpha) / K:
//   dÃ_ij = G_ij / sqrt(d_i d_j) - r_i / (2 d_i),   r_i = sum_l G_il Â_il + sum_l G_li Â_li
// and dA = dÃ, except 0 on an added self-loop (a constant).
// Node features x[b * x_b + i * x_e + t * x_t + f] (f contiguous): (B, E, T, F) as the node stream leaves them,
// or (B*T, E, F); h / dx have x's layout.
//
// E is also the pipeline constant E_N: the workgroup arrays are sized for E, not for 32 nodes (the backward's
// staging took 25 KiB a workgroup at 32, ~13 KiB at E 19: twice the workgroups resident per SM). With UNROLL
// (GPU adapters) the loops over nodes run to E_N, a trip count the driver knows: it can unroll them and keep the
// per-column arrays in registers (indexed by a loop variable of unknown bound they live in local memory).
// CPU adapters loop to the uniform instead: lavapipe's LLVM took minutes (E 19) to over 15 (E 32) to compile the
// unrolled kernels.

struct Params {
  B: u32, T: u32, E: u32, F: u32,
  K: u32, alpha: f32, x_b: u32, x_e: u32,
  x_t: u32, a_row: u32, graphs: u32, pad0: u32,
}
@group(0) @binding(0) var<uniform> U: Params;

const WG: u32 = 32u;
const EMAX: u32 = 32u;   // register columns' capacity (E_N <= EMAX, checked by the caller)
override E_N: u32;       // nodes per graph

//#if UNROLL
fn nodes() -> u32 { return E_N; }
//#else
fn nodes() -> u32 { return U.E; }
//#endif
// One invocation per pair of feature columns: propagation is independent per column, so a column lives in
// registers and only Â is shared. A block is the WG * 2 columns of one pass over the workgroup.
const FB: u32 = 2u * WG;

//#if FWD
//#tensor 1 x read
//#tensor 2 adj read
//#tensor 3 h read_write
//#endif
//#if BWD
//#tensor 1 x read
//#tensor 2 adj read
//#tensor 3 dh read
//#tensor 4 dx read_write
//#tensor 5 dadj read_write
//#endif

var<workgroup> sh_a: array<f32, E_N * E_N>;     // Â
var<workgroup> sh_dinv: array<f32, E_N>;        // 1 / sqrt(d_i)
var<workgroup> sh_added: array<u32, E_N>;       // 1 where the self-loop was added

fn node_base(g: u32, i: u32) -> u32 {
  return (g / U.T) * U.x_b + i * U.x_e + (g % U.T) * U.x_t;
}

// Â of graph g into sh_a.
fn normalised_adjacency(lid: u32, g: u32) {
  for (var i = lid; i < E_N * E_N; i += WG) {
    let r = i / E_N;
    let c = i % E_N;
    sh_a[i] = f32(adj_ld((g * E_N + r) * U.a_row + c));
  }
  workgroupBarrier();
  for (var i = lid; i < E_N; i += WG) {
    let added = sh_a[i * E_N + i] == 0.0;
    if (added) { sh_a[i * E_N + i] = 1.0; }
    sh_added[i] = select(0u, 1u, added);
    var d = 0.0;
    for (var j = 0u; j < nodes(); j++) { d += sh_a[i * E_N + j]; }
    sh_dinv[i] = inverseSqrt(d);
  }
  workgroupBarrier();
  for (var i = lid; i < E_N * E_N; i += WG) {
    sh_a[i] *= sh_dinv[i / E_N] * sh_dinv[i % E_N];
  }
  workgroupBarrier();
}

// A feature column of one graph, in registers.
alias Column = array<f32, EMAX>;

// Â c. (Two functions, not a select: a select reads both entries.)
fn apply(c: Column) -> Column {
  var out: Column;
  for (var i = 0u; i < nodes(); i++) {
    var s = 0.0;
    for (var j = 0u; j < nodes(); j++) { s += sh_a[i * E_N + j] * c[j]; }
    out[i] = s;
  }
  return out;
}

// Â^T c.
fn apply_t(c: Column) -> Column {
  var out: Column;
  for (var i = 0u; i < nodes(); i++) {
    var s = 0.0;
    for (var j = 0u; j < nodes(); j++) { s += sh_a[j * E_N + i] * c[j]; }
    out[i] = s;
  }
  return out;
}

// Column f of tensor rows (node i at node_base(g, i) + f); zeros past F.
struct Cols { f0: u32, has1: bool }
fn cols_of(block: u32, lid: u32) -> Cols {
  let f0 = block * FB + 2u * lid;
  return Cols(f0, f0 + 1u < U.F);
}

//#if FWD
@compute @workgroup_size(WG) fn ssgconv_propagate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = linear_wg(wid, nwg);
  if (g >= U.graphs) { return; }
  normalised_adjacency(lid, g);
  let c = (1.0 - U.alpha) / f32(U.K);
  for (var block = 0u; block * FB < U.F; block++) {
    let q = cols_of(block, lid);
    if (q.f0 >= U.F) { continue; }
    var z0: Column;
    var z1: Column;
    var h0: Column;
    var h1: Column;
    for (var i = 0u; i < nodes(); i++) {
      let o = node_base(g, i) + q.f0;
      z0[i] = f32(x_ld(o));
      z1[i] = select(0.0, f32(x_ld(o + 1u)), q.has1);
      h0[i] = U.alpha * z0[i];
      h1[i] = U.alpha * z1[i];
    }
    for (var k = 1u; k <= U.K; k++) {
      z0 = apply(z0);
      z1 = apply(z1);
      for (var i = 0u; i < nodes(); i++) { h0[i] += c * z0[i]; h1[i] += c * z1[i]; }
    }
    for (var i = 0u; i < nodes(); i++) { h_st2(node_base(g, i) + q.f0, act(h0[i]), act(h1[i]), q.has1); }
  }
}
//#endif

//#if BWD
// The block's columns of gz_k and z_{k-1}, for G += gz_k z_{k-1}^T summed over the block's features. Rows are
// FB + 1 apart: invocations reading one feature of consecutive nodes then hit distinct memory banks.
const ROW: u32 = FB + 1u;
var<workgroup> sh_gz: array<f32, E_N * ROW>;
var<workgroup> sh_zp: array<f32, E_N * ROW>;
var<workgroup> sh_g: array<f32, E_N * E_N>;     // G = dL/dÂ, summed over features
var<workgroup> sh_r: array<f32, E_N>;

@compute @workgroup_size(WG) fn ssgconv_propagate_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = linear_wg(wid, nwg);
  if (g >= U.graphs) { return; }
  normalised_adjacency(lid, g);
  for (var i = lid; i < E_N * E_N; i += WG) { sh_g[i] = 0.0; }
  let c = (1.0 - U.alpha) / f32(U.K);
  for (var block = 0u; block * FB < U.F; block++) {
    let q = cols_of(block, lid);
    let live = q.f0 < U.F;   // idle invocations still reach every barrier
    let nf = min(FB, U.F - block * FB);
    // gz_K = c dh. x and dh are re-read where needed (cached) and z_{k-1} = Â^(k-1) x recomputed for each k
    // (K is small): four columns per invocation stay in registers instead of K + 4 spilling to local memory.
    var gz0: Column;
    var gz1: Column;
    if (live) {
      for (var i = 0u; i < nodes(); i++) {
        let o = node_base(g, i) + q.f0;
        gz0[i] = c * f32(dh_ld(o));
        gz1[i] = select(0.0, c * f32(dh_ld(o + 1u)), q.has1);
      }
    }
    for (var k = U.K; k >= 1u; k--) {
      if (live) {
        var zp0: Column;
        var zp1: Column;
        for (var i = 0u; i < nodes(); i++) {
          let o = node_base(g, i) + q.f0;
          zp0[i] = f32(x_ld(o));
          zp1[i] = select(0.0, f32(x_ld(o + 1u)), q.has1);
        }
        for (var m = 1u; m < k; m++) {
          zp0 = apply(zp0);
          zp1 = apply(zp1);
        }
        let f = 2u * lid;
        for (var i = 0u; i < nodes(); i++) {
          sh_gz[i * ROW + f] = gz0[i];
          sh_gz[i * ROW + f + 1u] = gz1[i];
          sh_zp[i * ROW + f] = zp0[i];
          sh_zp[i * ROW + f + 1u] = zp1[i];
        }
      }
      workgroupBarrier();
      // G += gz_k z_{k-1}^T over the block's features, each entry owned by one invocation (fixed order).
      for (var it = lid; it < E_N * E_N; it += WG) {
        let i = it / E_N;
        let j = it % E_N;
        var s = 0.0;
        for (var f = 0u; f < nf; f++) { s += sh_gz[i * ROW + f] * sh_zp[j * ROW + f]; }
        sh_g[it] += s;
      }
      workgroupBarrier();
      // gz_{k-1} = Â^T gz_k + c dh (k-1 >= 1); after k = 1 it is dx = Â^T gz_1 + alpha dh.
      if (live) {
        let w = select(U.alpha, c, k > 1u);
        gz0 = apply_t(gz0);
        gz1 = apply_t(gz1);
        for (var i = 0u; i < nodes(); i++) {
          let o = node_base(g, i) + q.f0;
          gz0[i] += w * f32(dh_ld(o));
          gz1[i] += select(0.0, w * f32(dh_ld(o + 1u)), q.has1);
        }
      }
    }
    if (live) {
      for (var i = 0u; i < nodes(); i++) { dx_st2(node_base(g, i) + q.f0, act(gz0[i]), act(gz1[i]), q.has1); }
    }
  }
  for (var i = lid; i < E_N; i += WG) {
    var r = 0.0;
    for (var l = 0u; l < nodes(); l++) { r += sh_g[i * E_N + l] * sh_a[i * E_N + l] + sh_g[l * E_N + i] * sh_a[l * E_N + i]; }
    sh_r[i] = r;
  }
  workgroupBarrier();
  let cpairs = (E_N + 1u) / 2u;
  for (var it = lid; it < E_N * cpairs; it += WG) {
    let i = it / cpairs;
    let j0 = 2u * (it % cpairs);
    var v = array<f32, 2>(0.0, 0.0);
    for (var q = 0u; q < 2u; q++) {
      let j = j0 + q;
      if (j >= E_N) { break; }
      // d_i = 1 / dinv_i^2, so r_i / (2 d_i) = r_i dinv_i^2 / 2.
      var d = sh_g[i * E_N + j] * sh_dinv[i] * sh_dinv[j] - 0.5 * sh_r[i] * sh_dinv[i] * sh_dinv[i];
      if (i == j && sh_added[i] != 0u) { d = 0.0; }
      v[q] = d;
    }
    dadj_st2((g * E_N + i) * U.a_row + j0, act(v[0]), act(v[1]), j0 + 1u < E_N);
  }
}
//#endif
