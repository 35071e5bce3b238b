// LayerNorm over the last dimension with affine: y = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps).
// Rows are x's leading dimensions flattened; every row-wise tensor has the same stored row length `stride`.
// Variants (defines):
//   FWD      x, gamma, beta -> y, mean, rstd (saved f32 statistics): ROW_LANES invocations per row (`layernorm`;
//            at one lane no barrier, which CPU drivers pay dearly)
//   BWD_DX   x, gamma, dy, mean, rstd -> dx:  dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy gamma
//   PARTIAL  x, dy, mean, rstd -> partial [blocks, 2, C] f32: sums of dy xhat and dy over a block of rows
//   FINAL    partial -> dgamma, dbeta: the blocks combined in a fixed order (no atomics: same bits every run)

struct Params {
  rows: u32,
  cols: u32,
  stride: u32,
  eps: f32,
  blocks: u32,
  block_len: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#if FWD
//#tensor 1 x read
//#tensor 2 gamma read
//#tensor 3 beta read
//#tensor 4 y read_write
//#tensor 5 mean read_write f32
//#tensor 6 rstd read_write f32
//#endif
//#if BWD_DX
//#tensor 1 x read
//#tensor 2 gamma read
//#tensor 3 dy read
//#tensor 4 mean read f32
//#tensor 5 rstd read f32
//#tensor 6 dx read_write
//#endif
//#if PARTIAL
//#tensor 1 x read
//#tensor 2 dy read
//#tensor 3 mean read f32
//#tensor 4 rstd read f32
//#tensor 5 partial read_write f32
//#endif
//#if FINAL
//#tensor 1 partial read f32
//#tensor 2 dgamma read_write
//#tensor 3 dbeta read_write
//#endif

const WG: u32 = 64u;
// Invocations per row of `layernorm` and `layernorm_bwd_dx` (a power of two <= WG; src/kernels/row-lanes.ts):
// WG / ROW_LANES rows per workgroup. 64: a workgroup per row.
override ROW_LANES: u32 = 64u;

// wg_sum2: shaders/workgroup_sum.wgsl, appended by src/kernels/layernorm.ts.

//#if FWD
@compute @workgroup_size(WG) fn layernorm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lid % ROW_LANES;
  let row = linear_wg(wid, nwg) * (WG / ROW_LANES) + lid / ROW_LANES;
  // A row past the end walks no columns but still reaches every barrier of its workgroup.
  let cols = select(0u, P.cols, row < P.rows);
  let base = row * P.stride;
  let n = f32(P.cols);
  var s = 0.0;
  for (var c = lane; c < cols; c += ROW_LANES) { s += f32(x_ld(base + c)); }
  let mu = seg_sum2(lid, vec2<f32>(s, 0.0), ROW_LANES).x / n;
  // Two passes over the row (mean, then squared deviations): no cancellation from E[x^2] - E[x]^2.
  var q = 0.0;
  for (var c = lane; c < cols; c += ROW_LANES) { let d = f32(x_ld(base + c)) - mu; q += d * d; }
  let r = inverseSqrt(seg_sum2(lid, vec2<f32>(q, 0.0), ROW_LANES).x / n + P.eps);
  for (var c = 2u * lane; c < cols; c += 2u * ROW_LANES) {
    let second = c + 1u < cols;
    let y0 = (f32(x_ld(base + c)) - mu) * r * f32(gamma_ld(c)) + f32(beta_ld(c));
    var y1 = 0.0;
    if (second) { y1 = (f32(x_ld(base + c + 1u)) - mu) * r * f32(gamma_ld(c + 1u)) + f32(beta_ld(c + 1u)); }
    y_st2(base + c, act(y0), act(y1), second);
  }
  if (lane == 0u && cols > 0u) { mean_st(row, mu); rstd_st(row, r); }
}
//#endif

//#if BWD_DX
@compute @workgroup_size(WG) fn layernorm_bwd_dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lid % ROW_LANES;
  let row = linear_wg(wid, nwg) * (WG / ROW_LANES) + lid / ROW_LANES;
  let valid = row < P.rows;
  let cols = select(0u, P.cols, valid);
  let base = row * P.stride;
  var mu = 0.0;
  var r = 0.0;
  if (valid) { mu = mean_ld(row); r = rstd_ld(row); }
  var s = vec2<f32>(0.0);
  for (var c = lane; c < cols; c += ROW_LANES) {
    let g = f32(dy_ld(base + c)) * f32(gamma_ld(c));
    s += vec2<f32>(g, g * (f32(x_ld(base + c)) - mu) * r);
  }
  let m = seg_sum2(lid, s, ROW_LANES) / f32(P.cols);
  for (var c = 2u * lane; c < cols; c += 2u * ROW_LANES) {
    let second = c + 1u < cols;
    let g0 = f32(dy_ld(base + c)) * f32(gamma_ld(c));
    let d0 = r * (g0 - m.x - (f32(x_ld(base + c)) - mu) * r * m.y);
    var d1 = 0.0;
    if (second) {
      let g1 = f32(dy_ld(base + c + 1u)) * f32(gamma_ld(c + 1u));
      d1 = r * (g1 - m.x - (f32(x_ld(base + c + 1u)) - mu) * r * m.y);
    }
    dx_st2(base + c, act(d0), act(d1), second);
  }
}
//#endif

//#if PARTIAL
// Invocation (block b, column c); consecutive invocations read consecutive columns of a row.
@compute @workgroup_size(WG) fn layernorm_bwd_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_wg(wid, nwg) * WG + lid;
  if (t >= P.cols * P.blocks) { return; }
  let c = t % P.cols;
  let b = t / P.cols;
  let end = min(P.rows, (b + 1u) * P.block_len);
  var s = vec2<f32>(0.0);
  for (var row = b * P.block_len; row < end; row++) {
    let i = row * P.stride + c;
    let g = f32(dy_ld(i));
    s += vec2<f32>(g * (f32(x_ld(i)) - mean_ld(row)) * rstd_ld(row), g);
  }
  partial_st((2u * b) * P.cols + c, s.x);
  partial_st((2u * b + 1u) * P.cols + c, s.y);
}
//#endif

//#if FINAL
// A workgroup per column pair: invocations take every 64th block, then a tree (fixed order: same bits).
var<workgroup> red4: array<vec4<f32>, WG>;
@compute @workgroup_size(WG) fn layernorm_bwd_final(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = 2u * linear_wg(wid, nwg);
  if (c >= P.cols) { return; }
  let second = c + 1u < P.cols;
  var a = vec4<f32>(0.0); // dgamma (c, c + 1), dbeta (c, c + 1)
  for (var b = lid; b < P.blocks; b += WG) {
    a.x += partial_ld((2u * b) * P.cols + c);
    a.z += partial_ld((2u * b + 1u) * P.cols + c);
    if (second) {
      a.y += partial_ld((2u * b) * P.cols + c + 1u);
      a.w += partial_ld((2u * b + 1u) * P.cols + c + 1u);
    }
  }
  red4[lid] = a;
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lid < st) { red4[lid] += red4[lid + st]; }
  }
  if (lid == 0u) {
    let r = red4[0];
    dgamma_st2(c, act(r.x), act(r.y), second);
    dbeta_st2(c, act(r.z), act(r.w), second);
  }
}
//#endif
