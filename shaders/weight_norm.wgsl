// Weight normalisation of conv weights: w = g v / |v|, the norm over everything but the output channel
// (v [Cout, Cin, k], g [Cout]; rows of k taps stored w_stride apart).
//   FWD  v, g -> w, norm (f32 [Cout], saved for backward): a workgroup per output channel
//   BWD  v, g, norm, dw -> dv, dg:  dg = <dw, v> / |v|;  dv = (g / |v|) (dw - (<dw, v> / |v|^2) v)
//        a workgroup per pair of output channels, so that dg is written as whole words in f16-storage.

struct Params {
  c_out: u32,
  c_in: u32,
  taps: u32,
  w_stride: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#if FWD
//#tensor 1 v read
//#tensor 2 g read
//#tensor 3 w read_write
//#tensor 4 norm read_write f32
//#endif
//#if BWD
//#tensor 1 v read
//#tensor 2 g read
//#tensor 3 norm read f32
//#tensor 4 dw read
//#tensor 5 dv read_write
//#tensor 6 dg read_write
//#endif

const WG: u32 = 64u;
// wg_sum2: shaders/workgroup_sum.wgsl, appended by src/kernels/weight-norm.ts.

// Stored index of element e (logical, over Cin x k) of output channel co.
fn at(co: u32, e: u32) -> u32 { return (co * P.c_in + e / P.taps) * P.w_stride + e % P.taps; }

// Tap pairs of a channel's rows: pair q covers taps j, j + 1 of input channel ci.
struct TapPair { e: u32, second: bool }
fn tap_pair(q: u32) -> TapPair {
  let per_row = (P.taps + 1u) / 2u;
  let j = 2u * (q % per_row);
  return TapPair((q / per_row) * P.taps + j, j + 1u < P.taps);
}

//#if FWD
@compute @workgroup_size(WG) fn weight_norm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let co = linear_wg(wid, nwg);
  if (co >= P.c_out) { return; }
  let n = P.c_in * P.taps;
  var q = 0.0;
  for (var e = lid; e < n; e += WG) { let x = f32(v_ld(at(co, e))); q += x * x; }
  let nrm = sqrt(wg_sum2(lid, vec2<f32>(q, 0.0)).x);
  let scale = f32(g_ld(co)) / nrm;
  let pairs = P.c_in * ((P.taps + 1u) / 2u);
  for (var p = lid; p < pairs; p += WG) {
    let t = tap_pair(p);
    let i = at(co, t.e);
    w_st2(i, act(f32(v_ld(i)) * scale), act(select(0.0, f32(v_ld(i + 1u)) * scale, t.second)), t.second);
  }
  if (lid == 0u) { norm_st(co, nrm); }
}
//#endif

//#if BWD
@compute @workgroup_size(WG) fn weight_norm_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let co = 2u * linear_wg(wid, nwg);
  if (co >= P.c_out) { return; }
  let has1 = co + 1u < P.c_out;
  let n = P.c_in * P.taps;
  var d = vec2<f32>(0.0);
  for (var e = lid; e < n; e += WG) {
    d.x += f32(dw_ld(at(co, e))) * f32(v_ld(at(co, e)));
    if (has1) { d.y += f32(dw_ld(at(co + 1u, e))) * f32(v_ld(at(co + 1u, e))); }
  }
  let dot = wg_sum2(lid, d);
  let pairs = P.c_in * ((P.taps + 1u) / 2u);
  for (var k = 0u; k < 2u; k++) {
    let c = co + k;
    if (c < P.c_out) {
      let nrm = norm_ld(c);
      let gn = f32(g_ld(c)) / nrm;
      let proj = dot[k] / (nrm * nrm);
      for (var p = lid; p < pairs; p += WG) {
        let t = tap_pair(p);
        let i = at(c, t.e);
        let d0 = gn * (f32(dw_ld(i)) - proj * f32(v_ld(i)));
        let d1 = select(0.0, gn * (f32(dw_ld(i + 1u)) - proj * f32(v_ld(i + 1u))), t.second);
        dv_st2(i, act(d0), act(d1), t.second);
      }
    }
  }
  if (lid == 0u) {
    var dg1 = 0.0;
    if (has1) { dg1 = dot.y / norm_ld(co + 1u); }
    dg_st2(co, act(dot.x / norm_ld(co)), act(dg1), has1);
  }
}
//#endif
