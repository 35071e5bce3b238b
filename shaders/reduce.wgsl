// Reductions. The input is viewed as [outer, n, inner] (n = the reduced axis) in its logical row-major order;
// `phys` maps a logical index to the stored one (rows of in_len elements stored in_stride apart).
// Every output element is written by the invocation (or workgroup) that owns its pair, so packed halves are
// written as whole words. Sums accumulate in f32 whatever the precision.
//
// Variants (defines), each with its own bindings:
//   ONE_PASS  x -> y:        reduce_rows (axis is innermost: a workgroup per output pair)
//   PARTIAL   x -> partial:  sum_keep_partial (f32 partial results per block of the reduced extent),
//                            sum_rows_partial (sum_keep with a long inner extent: a workgroup per (outer, kept) row)
//   CHUNKS with  rows whose stride is a whole number of 16-byte chunks (4 f32, 8 halves), read a chunk per load:
//     ROWS_VEC  x -> partial:  sum_rows_partial_vec (sum_rows_partial over single stored rows)
//     RED_ROWS  x -> y:        reduce_rows_vec (reduce_rows)
//   FINAL     partial -> y:  sum_keep_final (combine the blocks in a fixed order)
// A non-innermost axis (and sum_keep of the last axis) is reduce_cols.wgsl's: tiled, vectorised, two passes.
// Two passes instead of float atomics: the same input gives the same bits.
// sum_keep sums over every axis but one ([outer, n, inner] -> [n]): bias and norm-weight gradients.

struct Params {
  outer: u32,
  n: u32,
  inner: u32,
  op: u32,             // 0 sum, 1 mean, 2 max
  in_len: u32,         // input rows: logical length
  in_stride: u32,      //   and stored length
  out_len: u32,        // output rows: logical length
  out_stride: u32,     //   and stored length
  pairs: u32,          // output pairs (rows x ceil(out_len / 2))
  pairs_per_row: u32,
  blocks: u32,         // two-pass: blocks along the reduced extent
  block_len: u32,
  scale: f32,          // applied to the result: 1/n for mean, else 1
}
@group(0) @binding(0) var<uniform> P: Params;
//#if ONE_PASS
//#tensor 1 x read
//#tensor 2 y read_write
//#endif
//#if PARTIAL
//#tensor 1 x read
//#tensor 2 partial read_write f32
//#endif
//#if CHUNKS
// Lanes of chunk i at or past `valid` count as the identity (a row's last chunk may hold its f16-storage pad half).
fn fold4(v: vec4<f32>) -> f32 { return combine(combine(v.x, v.y), combine(v.z, v.w)); }
//#if F32
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
const LANES: u32 = 4u;
fn chunk_fold(i: u32, valid: u32) -> f32 {
  return fold4(select(vec4<f32>(identity()), xv[i], vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(valid)));
}
//#else
// Both f16 modes store element e at byte 2e: raw words unpack the same way.
@group(0) @binding(1) var<storage, read> xv: array<vec4<u32>>;
const LANES: u32 = 8u;
fn chunk_fold(i: u32, valid: u32) -> f32 {
  let w = xv[i];
  let id = vec4<f32>(identity());
  let lo = select(id, vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(valid));
  let hi = select(id, vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)), vec4<u32>(4u, 5u, 6u, 7u) < vec4<u32>(valid));
  return combine(fold4(lo), fold4(hi));
}
//#endif
//#endif
//#if ROWS_VEC
//#tensor 2 partial read_write f32
//#endif
//#if RED_ROWS
//#tensor 2 y read_write
//#endif
//#if FINAL
//#tensor 1 partial read f32
//#tensor 2 y read_write
//#endif

const WG: u32 = 64u;
const LOWEST: f32 = -3.4028234e38;

fn phys_in(f: u32) -> u32 { return (f / P.in_len) * P.in_stride + f % P.in_len; }
fn identity() -> f32 { return select(0.0, LOWEST, P.op == 2u); }
fn combine(a: f32, b: f32) -> f32 { if (P.op == 2u) { return max(a, b); } return a + b; }

// Output pair p: first logical index, stored index, and whether the pair has a second element.
struct OutPair { f: u32, at: u32, second: bool }
fn out_pair(p: u32) -> OutPair {
  let row = p / P.pairs_per_row;
  let c = 2u * (p % P.pairs_per_row);
  return OutPair(row * P.out_len + c, row * P.out_stride + c, c + 1u < P.out_len);
}

//#if ONE_PASS
var<workgroup> red: array<vec2<f32>, WG>;

// Axis innermost: output element o is the reduction of input row o.
@compute @workgroup_size(WG) fn reduce_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = linear_wg(wid, nwg);
  if (p >= P.pairs) { return; }
  let q = out_pair(p);
  var a0 = identity();
  var a1 = identity();
  for (var k = lid; k < P.n; k += WG) {
    a0 = combine(a0, f32(x_ld(q.f * P.in_stride + k)));
    if (q.second) { a1 = combine(a1, f32(x_ld((q.f + 1u) * P.in_stride + k))); }
  }
  red[lid] = vec2<f32>(a0, a1);
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lid < st) { red[lid] = vec2<f32>(combine(red[lid].x, red[lid + st].x), combine(red[lid].y, red[lid + st].y)); }
  }
  if (lid == 0u) { y_st2(q.at, act(red[0].x * P.scale), act(red[0].y * P.scale), q.second); }
}

//#endif

//#if PARTIAL
// Block b of the outer x inner extent for kept index c; partial is [blocks, n].
@compute @workgroup_size(WG) fn sum_keep_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_wg(wid, nwg) * WG + lid;
  if (t >= P.n * P.blocks) { return; }
  let c = t % P.n;
  let b = t / P.n;
  let end = min(P.outer * P.inner, (b + 1u) * P.block_len);
  var a = 0.0;
  for (var r = b * P.block_len; r < end; r++) {
    let o = r / P.inner;
    let i = r % P.inner;
    a += f32(x_ld(phys_in((o * P.n + c) * P.inner + i)));
  }
  partial_st(t, a);
}

// sum_keep when inner is long: each (o, c) row of `inner` elements is contiguous in memory, so a workgroup reads
// it coalesced and writes one partial; partial is [outer, n], which sum_keep_final reads as blocks = outer.
var<workgroup> red1: array<f32, WG>;
@compute @workgroup_size(WG) fn sum_rows_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_wg(wid, nwg);
  if (r >= P.outer * P.n) { return; }
  var a = 0.0;
  for (var i = lid; i < P.inner; i += WG) { a += f32(x_ld(phys_in(r * P.inner + i))); }
  red1[lid] = a;
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lid < st) { red1[lid] += red1[lid + st]; }
  }
  if (lid == 0u) { partial_st(r, red1[0]); }
}
//#endif

//#if ROWS_VEC
// sum_rows_partial over 16-byte chunks: row r is stored at r * in_stride (inner is one stored row of in_len).
var<workgroup> redv: array<f32, WG>;
@compute @workgroup_size(WG) fn sum_rows_partial_vec(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_wg(wid, nwg);
  if (r >= P.outer * P.n) { return; }
  let per = P.in_stride / LANES;
  var a = 0.0;
  for (var k = lid; k * LANES < P.in_len; k += WG) { a += chunk_fold(r * per + k, P.in_len - k * LANES); }
  redv[lid] = a;
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lid < st) { redv[lid] += redv[lid + st]; }
  }
  if (lid == 0u) { partial_st(r, redv[0]); }
}
//#endif

//#if RED_ROWS
// reduce_rows over 16-byte chunks: output pair p reduces stored rows q.f and q.f + 1.
var<workgroup> redr: array<vec2<f32>, WG>;
@compute @workgroup_size(WG) fn reduce_rows_vec(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = linear_wg(wid, nwg);
  if (p >= P.pairs) { return; }
  let q = out_pair(p);
  let per = P.in_stride / LANES;
  var a0 = identity();
  var a1 = identity();
  for (var k = lid; k * LANES < P.n; k += WG) {
    let valid = P.n - k * LANES;
    a0 = combine(a0, chunk_fold(q.f * per + k, valid));
    if (q.second) { a1 = combine(a1, chunk_fold((q.f + 1u) * per + k, valid)); }
  }
  redr[lid] = vec2<f32>(a0, a1);
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lid < st) { redr[lid] = vec2<f32>(combine(redr[lid].x, redr[lid + st].x), combine(redr[lid].y, redr[lid + st].y)); }
  }
  if (lid == 0u) { y_st2(q.at, act(redr[0].x * P.scale), act(redr[0].y * P.scale), q.second); }
}
//#endif

//#if FINAL
// A workgroup per output pair: its invocations take every 64th block, then a tree (the order is fixed by the
// shapes, so the bits are too). A serial loop per pair left the GPU idle when pairs were few.
var<workgroup> redf: array<vec2<f32>, WG>;
fn tree(lid: u32, v: vec2<f32>) -> vec2<f32> {
  redf[lid] = v;
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lid < st) { redf[lid] = vec2<f32>(combine(redf[lid].x, redf[lid + st].x), combine(redf[lid].y, redf[lid + st].y)); }
  }
  workgroupBarrier();
  return redf[0];
}

// The output is 1-D [n]: pair p holds kept indices 2p and 2p + 1.
@compute @workgroup_size(WG) fn sum_keep_final(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = linear_wg(wid, nwg);
  if (p >= P.pairs) { return; }
  let c = 2u * p;
  let second = c + 1u < P.n;
  var a = vec2<f32>(0.0);
  for (var b = lid; b < P.blocks; b += WG) {
    a.x += partial_ld(b * P.n + c);
    if (second) { a.y += partial_ld(b * P.n + c + 1u); }
  }
  let r = tree(lid, a);
  if (lid == 0u) { y_st2(c, act(r.x * P.scale), act(r.y * P.scale), second); }
}
//#endif
