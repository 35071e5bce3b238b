// The v3 head's small ops over [rows, cols] views (the last dimension is cols), an invocation per pair of
// output elements of a row (whole packed words in f16-storage):
//   upsample      dst[r, u] = src[r, u / factor]                 (nearest, along the last dimension)
//   upsample_bwd  dst[r, t] = sum over j < factor of src[r, t factor + j]
//   clamp         dst = clamp(src, lo, hi)
//   clamp_bwd     dst = aux (the gradient) where lo <= src <= hi, else 0 (PyTorch's rule at the bounds)
//   sanitize      dst = clamp(NaN -> 0 of src, lo, hi)          (the model's input guard)

struct Params {
  rows: u32,
  out_cols: u32,
  src_stride: u32,
  dst_stride: u32,
  pairs_per_row: u32,
  factor: u32,
  lo: f32,
  hi: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#tensor 1 src read
//#tensor 2 dst read_write
//#tensor 3 aux read

const WG: u32 = 64u;

struct Pair { row: u32, c: u32, second: bool, ok: bool }
fn pair_of(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> Pair {
  let p = linear_wg(wid, nwg) * WG + lid;
  let row = p / P.pairs_per_row;
  let c = 2u * (p % P.pairs_per_row);
  return Pair(row, c, c + 1u < P.out_cols, row < P.rows);
}

// NaN by its bits: comparisons with NaN may be folded away by a driver's fast-math.
fn is_nan(v: act) -> bool {
//#if F16
  return (bitcast<u32>(vec2<f16>(v, f16(0.0))) & 0x7fffu) > 0x7c00u;
//#else
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
//#endif
}

fn sanitized(v: act) -> act { return clamp(select(v, act(0.0), is_nan(v)), act(P.lo), act(P.hi)); }
fn clamped(v: act) -> act { return clamp(v, act(P.lo), act(P.hi)); }
fn inside(v: act) -> bool { return v >= act(P.lo) && v <= act(P.hi); }

@compute @workgroup_size(WG) fn upsample(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let base = q.row * P.src_stride;
  dst_st2(q.row * P.dst_stride + q.c, src_ld(base + q.c / P.factor), src_ld(base + (q.c + 1u) / P.factor), q.second);
}

@compute @workgroup_size(WG) fn upsample_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  var s = vec2<f32>(0.0);
  let base = q.row * P.src_stride + q.c * P.factor;
  for (var j = 0u; j < P.factor; j++) {
    s.x += f32(src_ld(base + j));
    if (q.second) { s.y += f32(src_ld(base + P.factor + j)); }
  }
  dst_st2(q.row * P.dst_stride + q.c, act(s.x), act(s.y), q.second);
}

@compute @workgroup_size(WG) fn clamp_fwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let i = q.row * P.src_stride + q.c;
  dst_st2(q.row * P.dst_stride + q.c, clamped(src_ld(i)), clamped(src_ld(i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn clamp_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let i = q.row * P.src_stride + q.c;
  let g0 = select(act(0.0), aux_ld(i), inside(src_ld(i)));
  let g1 = select(act(0.0), aux_ld(i + 1u), inside(src_ld(i + 1u)));
  dst_st2(q.row * P.dst_stride + q.c, g0, g1, q.second);
}

@compute @workgroup_size(WG) fn sanitize(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let i = q.row * P.src_stride + q.c;
  dst_st2(q.row * P.dst_stride + q.c, sanitized(src_ld(i)), sanitized(src_ld(i + 1u)), q.second);
}
