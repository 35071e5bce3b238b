// Training plumbing over [rows, cols] views (rows = every dimension but the last). Each entry is selected by a
// define of the same name, which also picks its bindings:
//   CAST         y(act)[r, c] = src(f32)[offset + r * cols + c]      f32 master weight (or a micro-batch of the
//                                                                    step's f32 input) -> run precision
//   ACCUMULATE   dst(f32)[r * cols + c] = keep * dst + scale * src(act)[r, c]   gradient -> f32 sum
//   ADD_INTO     y[r, c] += src[r, c]                                 a tensor's second gradient contribution
//   SLICE        y[r, c] = src[r * src_stride + offset + c]           concat's backward (columns of one input)
//   NEG_EXP      y = -exp(src)                                        Mamba2's A = -exp(A_log)
//   NEG_EXP_BWD  y = src * aux  (dA_log = dA * A, since dA/dA_log = -exp(A_log) = A)
// One invocation owns a pair of adjacent outputs of a row (a packed word in f16-storage); ACCUMULATE writes
// f32, an element per invocation.

struct Params {
  rows: u32,
  cols: u32,
  y_stride: u32,   // physical row length of the output (y or dst)
  src_stride: u32, // physical row length of src (and aux)
  pairs: u32,      // ceil(cols / 2)
  offset: u32,     // SLICE: first source column; CAST: first source element
  keep: f32,       // ACCUMULATE: 0 overwrites, 1 adds
  scale: f32,      // ACCUMULATE: multiplies the gradient (1 / loss scale)
}
@group(0) @binding(0) var<uniform> P: Params;
//#if CAST
//#tensor 1 src read f32
//#tensor 2 y read_write
//#endif
//#if ACCUMULATE
//#tensor 1 src read
//#tensor 2 dst read_write f32
//#endif
//#if ADD_INTO
//#tensor 1 src read
//#tensor 2 y read_write
//#endif
//#if SLICE
//#tensor 1 src read
//#tensor 2 y read_write
//#endif
//#if NEG_EXP
//#tensor 1 src read
//#tensor 2 y read_write
//#endif
//#if NEG_EXP_BWD
//#tensor 1 src read
//#tensor 2 y read_write
//#tensor 3 aux read
//#endif

const WG: u32 = 64u;

struct Pair { row: u32, c: u32, second: bool, ok: bool }
fn pair_of(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> Pair {
  let p = linear_wg(wid, nwg) * WG + lid;
  let row = p / P.pairs;
  let c = 2u * (p % P.pairs);
  return Pair(row, c, c + 1u < P.cols, row < P.rows);
}

//#if CAST
@compute @workgroup_size(WG) fn cast_f32(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let i = P.offset + q.row * P.cols + q.c;
  var v1 = 0.0;
  if (q.second) { v1 = src_ld(i + 1u); }
  y_st2(q.row * P.y_stride + q.c, act(src_ld(i)), act(v1), q.second);
}
//#endif

//#if ACCUMULATE
@compute @workgroup_size(WG) fn accumulate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = linear_wg(wid, nwg) * WG + lid;
  if (e >= P.rows * P.cols) { return; }
  let row = e / P.cols;
  let c = e % P.cols;
  let g = P.scale * f32(src_ld(row * P.src_stride + c));
  // keep == 0 must overwrite whatever was there (NaN poison included), not multiply it
  if (P.keep == 0.0) { dst_st(e, g); } else { dst_st(e, dst_ld(e) + g); }
}
//#endif

//#if ADD_INTO
@compute @workgroup_size(WG) fn add_into(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let i = q.row * P.y_stride + q.c;
  var v1 = act(0.0);
  if (q.second) { v1 = y_ld(i + 1u) + src_ld(i + 1u); }
  y_st2(i, y_ld(i) + src_ld(i), v1, q.second);
}
//#endif

//#if SLICE
@compute @workgroup_size(WG) fn slice_cols(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let s = q.row * P.src_stride + P.offset + q.c;
  var v1 = act(0.0);
  if (q.second) { v1 = src_ld(s + 1u); }
  y_st2(q.row * P.y_stride + q.c, src_ld(s), v1, q.second);
}
//#endif

//#if NEG_EXP
@compute @workgroup_size(WG) fn neg_exp(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let i = q.row * P.y_stride + q.c;
  // exp in f32: A_log up to ~2.8 stays far from f16's range, but the product must not round twice
  var v1 = 0.0;
  if (q.second) { v1 = -exp(f32(src_ld(i + 1u))); }
  y_st2(i, act(-exp(f32(src_ld(i)))), act(v1), q.second);
}
//#endif

//#if NEG_EXP_BWD
@compute @workgroup_size(WG) fn neg_exp_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(lid, wid, nwg);
  if (!q.ok) { return; }
  let i = q.row * P.y_stride + q.c;
  var v1 = act(0.0);
  if (q.second) { v1 = src_ld(i + 1u) * aux_ld(i + 1u); }
  y_st2(i, src_ld(i) * aux_ld(i), v1, q.second);
}
//#endif
