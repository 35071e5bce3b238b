// Data movement for the executor: materialised permute (with broadcast), row repacking for reshapes whose
// innermost length changes (f16-storage pads rows), and concatenation on the last axis with broadcast.
// Shapes and strides go up to rank 8 in two vec4s. Strides are PHYSICAL element strides of the source
// (row padding included); a stride of 0 broadcasts. One invocation owns one pair of adjacent outputs.

struct Params {
  rank: u32,          // output rank (1..8)
  out_rows: u32,      // product of all output dims but the last
  out_cols: u32,      // output innermost length
  out_stride: u32,    // output physical row length
  out_pairs: u32,     // ceil(out_cols / 2)
  split: u32,         // concat: columns taken from source a (then b); gather: unused
  in_cols: u32,       // repack: source innermost length
  in_stride: u32,     // repack: source physical row length
  out_shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>, // per output axis; for concat, the last axis is the column stride of a
  b_strides: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> P: Params;
//#if VEC
// concat_chunks: rows of a, b and y unpadded and a whole number of 16-byte chunks each (4 f32 or 8 halves), the
// leading axes equal (no broadcast): one invocation copies one chunk of y. The strided kernels below compute a
// source offset per element, which held the v3 concatenations to 266 - 480 GB/s on an H100.
//#if F32
alias chunk = vec4<f32>;
//#else
alias chunk = vec4<u32>;
//#endif
@group(0) @binding(1) var<storage, read> av: array<chunk>;
@group(0) @binding(2) var<storage, read_write> yv: array<chunk>;
@group(0) @binding(3) var<storage, read> bv: array<chunk>;
//#else
//#tensor 1 a read
//#tensor 2 y read_write
//#tensor 3 b read
//#endif

const WG: u32 = 64u;

//#if VEC
// Chunks per row: y's in out_pairs, a's in split (b's: the rest); out_rows * out_pairs chunks in all.
@compute @workgroup_size(WG) fn concat_chunks(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = linear_wg(wid, nwg) * WG + lid;
  if (k >= P.out_rows * P.out_pairs) { return; }
  let row = k / P.out_pairs;
  let c = k % P.out_pairs;
  if (c < P.split) {
    yv[k] = av[row * P.split + c];
  } else {
    yv[k] = bv[row * (P.out_pairs - P.split) + c - P.split];
  }
}
//#else
fn dim(v: array<vec4<u32>, 2>, i: u32) -> u32 { return v[i / 4u][i % 4u]; }

// Source offset of output element (row, col) through per-axis strides (rank-1 leading axes + the column).
fn offset_of(row: u32, col: u32, strides: array<vec4<u32>, 2>) -> u32 {
  var rest = row;
  var off = col * dim(strides, P.rank - 1u);
  for (var d = i32(P.rank) - 2; d >= 0; d--) {
    let n = dim(P.out_shape, u32(d));
    off += (rest % n) * dim(strides, u32(d));
    rest /= n;
  }
  return off;
}

struct Pair { row: u32, col: u32, i: u32, second: bool, ok: bool }
fn pair_of(gid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> Pair {
  let p = linear_wg(wid, nwg) * WG + gid.x % WG;
  let row = p / P.out_pairs;
  let col = 2u * (p % P.out_pairs);
  return Pair(row, col, row * P.out_stride + col, col + 1u < P.out_cols, row < P.out_rows);
}

@compute @workgroup_size(WG) fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  let v0 = a_ld(offset_of(q.row, q.col, P.a_strides));
  var v1 = act(0.0);
  if (q.second) { v1 = a_ld(offset_of(q.row, q.col + 1u, P.a_strides)); }
  y_st2(q.i, v0, v1, q.second);
}

fn repack_ld(logical: u32) -> act {
  return a_ld((logical / P.in_cols) * P.in_stride + logical % P.in_cols);
}

@compute @workgroup_size(WG) fn repack(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  let logical = q.row * P.out_cols + q.col;
  var v1 = act(0.0);
  if (q.second) { v1 = repack_ld(logical + 1u); }
  y_st2(q.i, repack_ld(logical), v1, q.second);
}

fn concat_ld(row: u32, col: u32) -> act {
  if (col < P.split) { return a_ld(offset_of(row, col, P.a_strides)); }
  return b_ld(offset_of(row, col - P.split, P.b_strides));
}

@compute @workgroup_size(WG) fn concat2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  var v1 = act(0.0);
  if (q.second) { v1 = concat_ld(q.row, q.col + 1u); }
  y_st2(q.i, concat_ld(q.row, q.col), v1, q.second);
}
//#endif
