// Depthwise causal conv1d over time, channels last, as Mamba2 uses it on [x, B, C]:
//   y[s, t, c] = bias[c] + sum over j < k of w[c, j] x[s, t - (k - 1 - j), c]      (zeros before t = 0)
// x may be a channel slice of a wider tensor (the in_proj output): channels x_offset .. x_offset + C of rows
// x_stride long; y is [seqs, steps, C]. With `reverse` the sequence is read backwards and the result stored in
// forward order (y[t] = sum w[j] x[t + (k - 1 - j)]), which is the backward direction of a Bi-Mamba2 layer
// without flipped copies.
// Variants: FWD (x, w, bias -> y), BWD_DX (dy, w -> dx slice), PARTIAL (dy, x -> f32 partial sums of dw and db
// per block of rows), FINAL (partial -> dw, db; fixed order, no atomics).

struct Params {
  seqs: u32,
  steps: u32,
  channels: u32,
  taps: u32,
  x_stride: u32,
  x_offset: u32,
  y_stride: u32,
  w_stride: u32,
  reverse: u32,
  pairs_per_row: u32,
  blocks: u32,
  block_len: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#if FWD
//#tensor 1 x read
//#tensor 2 w read
//#tensor 3 bias read
//#tensor 4 y read_write
//#endif
//#if BWD_DX
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx read_write
//#endif
//#if PARTIAL
//#tensor 1 dy read
//#tensor 2 x read
//#tensor 3 partial read_write f32
//#endif
//#if FINAL
//#tensor 1 partial read f32
//#tensor 2 dw read_write
//#tensor 3 db read_write
//#endif

const WG: u32 = 64u;
const MAX_TAPS: u32 = 8u;

// The time step tap j reads for output step t, or -1 outside the sequence.
fn source_step(t: u32, j: u32) -> i32 {
  let o = i32(P.taps - 1u - j);
  let u = select(i32(t) - o, i32(t) + o, P.reverse != 0u);
  return select(-1, u, u >= 0 && u < i32(P.steps));
}

// The output step that read step u through tap j (the inverse of source_step), or -1.
fn reader_step(u: u32, j: u32) -> i32 {
  let o = i32(P.taps - 1u - j);
  let t = select(i32(u) + o, i32(u) - o, P.reverse != 0u);
  return select(-1, t, t >= 0 && t < i32(P.steps));
}

struct RowPair { row: u32, c: u32, second: bool, ok: bool }
fn row_pair(i: u32) -> RowPair {
  let row = i / P.pairs_per_row;
  let c = 2u * (i % P.pairs_per_row);
  return RowPair(row, c, c + 1u < P.channels, row < P.seqs * P.steps);
}

//#if FWD
@compute @workgroup_size(WG) fn depthwise_conv(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = row_pair(linear_wg(wid, nwg) * WG + lid);
  if (!q.ok) { return; }
  let seq_base = (q.row / P.steps) * P.steps;
  let t = q.row % P.steps;
  var a = vec2<f32>(f32(bias_ld(q.c)), 0.0);
  if (q.second) { a.y = f32(bias_ld(q.c + 1u)); }
  for (var j = 0u; j < P.taps; j++) {
    let u = source_step(t, j);
    if (u >= 0) {
      let at = (seq_base + u32(u)) * P.x_stride + P.x_offset + q.c;
      a.x += f32(w_ld(q.c * P.w_stride + j)) * f32(x_ld(at));
      if (q.second) { a.y += f32(w_ld((q.c + 1u) * P.w_stride + j)) * f32(x_ld(at + 1u)); }
    }
  }
  y_st2(q.row * P.y_stride + q.c, act(a.x), act(a.y), q.second);
}
//#endif

//#if BWD_DX
@compute @workgroup_size(WG) fn depthwise_conv_bwd_dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = row_pair(linear_wg(wid, nwg) * WG + lid);
  if (!q.ok) { return; }
  let seq_base = (q.row / P.steps) * P.steps;
  let u = q.row % P.steps;
  var a = vec2<f32>(0.0);
  for (var j = 0u; j < P.taps; j++) {
    let t = reader_step(u, j);
    if (t >= 0) {
      let at = (seq_base + u32(t)) * P.y_stride + q.c;
      a.x += f32(w_ld(q.c * P.w_stride + j)) * f32(dy_ld(at));
      if (q.second) { a.y += f32(w_ld((q.c + 1u) * P.w_stride + j)) * f32(dy_ld(at + 1u)); }
    }
  }
  dx_st2(q.row * P.x_stride + P.x_offset + q.c, act(a.x), act(a.y), q.second);
}
//#endif

//#if PARTIAL
// Invocation (block b, channel c): taps' and bias' gradient over the block's rows; partial [blocks, C, k + 1].
@compute @workgroup_size(WG) fn depthwise_conv_bwd_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_wg(wid, nwg) * WG + lid;
  if (i >= P.channels * P.blocks) { return; }
  let c = i % P.channels;
  let b = i / P.channels;
  var acc: array<f32, MAX_TAPS>;
  var db = 0.0;
  let end = min(P.seqs * P.steps, (b + 1u) * P.block_len);
  for (var row = b * P.block_len; row < end; row++) {
    let g = f32(dy_ld(row * P.y_stride + c));
    db += g;
    let seq_base = (row / P.steps) * P.steps;
    for (var j = 0u; j < P.taps; j++) {
      let u = source_step(row % P.steps, j);
      if (u >= 0) { acc[j] += g * f32(x_ld((seq_base + u32(u)) * P.x_stride + P.x_offset + c)); }
    }
  }
  let base = i * (P.taps + 1u);
  for (var j = 0u; j < P.taps; j++) { partial_st(base + j, acc[j]); }
  partial_st(base + P.taps, db);
}
//#endif

//#if FINAL
// A workgroup per channel pair: for each tap (and the bias) its invocations take every 64th block, then a tree
// (fixed order: same bits); lid 0 keeps the sums and writes both channels' tap rows and their pair of db.
// wg_sum2: shaders/workgroup_sum.wgsl, appended by src/kernels/depthwise-conv.ts.

@compute @workgroup_size(WG) fn depthwise_conv_bwd_final(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c0 = 2u * linear_wg(wid, nwg);
  if (c0 >= P.channels) { return; }
  let second = c0 + 1u < P.channels;
  let width = P.taps + 1u;
  var sums = array<vec2<f32>, MAX_TAPS + 1u>();
  for (var j = 0u; j <= P.taps; j++) {
    var a = vec2<f32>(0.0);
    for (var b = lid; b < P.blocks; b += WG) {
      a.x += partial_ld((b * P.channels + c0) * width + j);
      if (second) { a.y += partial_ld((b * P.channels + c0 + 1u) * width + j); }
    }
    sums[j] = wg_sum2(lid, a);
  }
  if (lid == 0u) {
    for (var j = 0u; j < P.taps; j += 2u) {
      let pair = j + 1u < P.taps;
      let next = sums[min(j + 1u, P.taps)];
      dw_st2(c0 * P.w_stride + j, act(sums[j].x), act(select(0.0, next.x, pair)), pair);
      if (second) { dw_st2((c0 + 1u) * P.w_stride + j, act(sums[j].y), act(select(0.0, next.y, pair)), pair); }
    }
    db_st2(c0, act(sums[P.taps].x), act(sums[P.taps].y), second);
  }
}
//#endif
