// Cosine edge features: for every (b, t) and every electrode pair i < j (row-major: (0,1), (0,2), ..., (E-2,E-1)),
//   s_ij = <u_i, u_j> / ((|u_i| + 1e-8)(|u_j| + 1e-8)),   u_i = electrode i's D features at (b, t).
// u is read through strides (b, e, t, d), so the 1x1 conv output is used where it lies, in any of its layouts.
// One workgroup per (b, pair of time steps): it owns both halves of every packed word along t, and along d.
//
// Entry points: cosine_edges (defines FWD) -> out (B, pairs, T), T contiguous;
//               cosine_edges_bwd (defines BWD), with n_i = u_i / (|u_i| + 1e-8):
//   du_i = (sum_j g_ij n_j - (sum_j g_ij s_ij) u_i / |u_i|) / (|u_i| + 1e-8)   over the pairs holding i.

struct Params {
  B: u32, E: u32, T: u32, D: u32,
  pairs: u32, t_pairs: u32, u_b: u32, u_e: u32,
  u_t: u32, u_d: u32, o_b: u32, o_p: u32,     // o_*: strides of out (forward) or of g (backward); t stride 1
  du_b: u32, du_e: u32, du_t: u32, du_d: u32,
  du_pair_t: u32, pad0: u32, pad1: u32, pad2: u32, // du_pair_t: 1 when t is du's contiguous axis, 0 when d is
}
@group(0) @binding(0) var<uniform> U: Params;

const WG: u32 = 64u;
const EPS: f32 = 1e-8;
// Workgroup capacities: electrodes and pairs of one (b, t).
const EMAX: u32 = 32u;
const PMAX: u32 = 496u;

//#if FWD
//#tensor 1 u read
//#tensor 2 out read_write
//#endif
//#if BWD
//#tensor 1 u read
//#tensor 2 g read
//#tensor 3 du read_write
//#endif

var<workgroup> sh_norm: array<f32, 2u * EMAX>;

fn u_at(b: u32, e: u32, t: u32, d: u32) -> f32 {
  return f32(u_ld(b * U.u_b + e * U.u_e + t * U.u_t + d * U.u_d));
}

// Electrodes (i, j) of pair p, i < j, row-major.
fn pair_of(p: u32) -> vec2<u32> {
  var i = 0u;
  var first = 0u;
  loop {
    let row = U.E - 1u - i;
    if (p < first + row) { break; }
    first += row;
    i++;
  }
  return vec2<u32>(i, i + 1u + (p - first));
}

fn pair_index(i: u32, j: u32) -> u32 {
  let lo = min(i, j);
  let hi = max(i, j);
  return lo * U.E - lo * (lo + 1u) / 2u + (hi - lo - 1u);
}

// |u_e| at the workgroup's two steps: sh_norm[k * EMAX + e], k = 0, 1 (t0, t0 + 1; the second only if it exists).
fn load_norms(lid: u32, b: u32, t0: u32, nt: u32) {
  for (var i = lid; i < nt * U.E; i += WG) {
    let k = i / U.E;
    let e = i % U.E;
    var ss = 0.0;
    for (var d = 0u; d < U.D; d++) { let v = u_at(b, e, t0 + k, d); ss += v * v; }
    sh_norm[k * EMAX + e] = sqrt(ss);
  }
}

fn cosine(b: u32, t: u32, i: u32, j: u32, ni: f32, nj: f32) -> f32 {
  var dot = 0.0;
  for (var d = 0u; d < U.D; d++) { dot += u_at(b, i, t, d) * u_at(b, j, t, d); }
  return dot / ((ni + EPS) * (nj + EPS));
}

//#if FWD
@compute @workgroup_size(WG) fn cosine_edges(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  if (w >= U.B * U.t_pairs) { return; }
  let b = w / U.t_pairs;
  let t0 = 2u * (w % U.t_pairs);
  let nt = min(2u, U.T - t0);
  load_norms(lid, b, t0, nt);
  workgroupBarrier();
  for (var p = lid; p < U.pairs; p += WG) {
    let ij = pair_of(p);
    let s0 = cosine(b, t0, ij.x, ij.y, sh_norm[ij.x], sh_norm[ij.y]);
    var s1 = 0.0;
    if (nt == 2u) { s1 = cosine(b, t0 + 1u, ij.x, ij.y, sh_norm[EMAX + ij.x], sh_norm[EMAX + ij.y]); }
    out_st2(b * U.o_b + p * U.o_p + t0, act(s0), act(s1), nt == 2u);
  }
}
//#endif

//#if BWD
var<workgroup> sh_g: array<f32, 2u * PMAX>;
var<workgroup> sh_s: array<f32, 2u * PMAX>;
var<workgroup> sh_w: array<f32, 2u * EMAX>;

// du_i[d] at step k of the workgroup.
fn du_value(b: u32, t: u32, k: u32, i: u32, d: u32) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j < U.E; j++) {
    if (j == i) { continue; }
    acc += sh_g[k * PMAX + pair_index(i, j)] * u_at(b, j, t, d) / (sh_norm[k * EMAX + j] + EPS);
  }
  let ni = sh_norm[k * EMAX + i];
  // u_i / |u_i| is taken as 0 for a zero vector (its cosines are all 0 and stay so under any small step).
  let unit = select(0.0, u_at(b, i, t, d) / ni, ni > 0.0);
  return (acc - sh_w[k * EMAX + i] * unit) / (ni + EPS);
}

@compute @workgroup_size(WG) fn cosine_edges_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  if (w >= U.B * U.t_pairs) { return; }
  let b = w / U.t_pairs;
  let t0 = 2u * (w % U.t_pairs);
  let nt = min(2u, U.T - t0);
  load_norms(lid, b, t0, nt);
  workgroupBarrier();
  for (var i = lid; i < nt * U.pairs; i += WG) {
    let k = i / U.pairs;
    let p = i % U.pairs;
    let ij = pair_of(p);
    sh_s[k * PMAX + p] = cosine(b, t0 + k, ij.x, ij.y, sh_norm[k * EMAX + ij.x], sh_norm[k * EMAX + ij.y]);
    sh_g[k * PMAX + p] = f32(g_ld(b * U.o_b + p * U.o_p + t0 + k));
  }
  workgroupBarrier();
  for (var i = lid; i < nt * U.E; i += WG) {
    let k = i / U.E;
    let e = i % U.E;
    var acc = 0.0;
    for (var j = 0u; j < U.E; j++) {
      if (j == e) { continue; }
      let p = pair_index(e, j);
      acc += sh_g[k * PMAX + p] * sh_s[k * PMAX + p];
    }
    sh_w[k * EMAX + e] = acc;
  }
  workgroupBarrier();
  // (electrode, d pair) items; each writes its 2 x 2 block as words along whichever of t, d is contiguous.
  let dpairs = (U.D + 1u) / 2u;
  for (var i = lid; i < U.E * dpairs; i += WG) {
    let e = i / dpairs;
    let d0 = 2u * (i % dpairs);
    let has_d1 = d0 + 1u < U.D;
    let has_t1 = nt == 2u;
    let v00 = du_value(b, t0, 0u, e, d0);
    var v01 = 0.0;
    var v10 = 0.0;
    var v11 = 0.0;
    if (has_d1) { v01 = du_value(b, t0, 0u, e, d0 + 1u); }
    if (has_t1) { v10 = du_value(b, t0 + 1u, 1u, e, d0); }
    if (has_d1 && has_t1) { v11 = du_value(b, t0 + 1u, 1u, e, d0 + 1u); }
    let base = b * U.du_b + e * U.du_e + t0 * U.du_t + d0 * U.du_d;
    if (U.du_pair_t != 0u) {
      du_st2(base, act(v00), act(v10), has_t1);
      if (has_d1) { du_st2(base + U.du_d, act(v01), act(v11), has_t1); }
    } else {
      du_st2(base, act(v00), act(v01), has_d1);
      if (has_t1) { du_st2(base + U.du_t, act(v10), act(v11), has_d1); }
    }
  }
}
//#endif
