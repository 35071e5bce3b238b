// Gated RMSNorm of the Mamba2 block: g = x silu(z);  y = g / rms(g) * w,  rms(g) = sqrt(mean(g^2) + eps),
// over the last dimension D. z may be a channel slice of a wider tensor (the in_proj output): channels
// z_offset .. z_offset + D of rows z_stride long. Variants:
//   FWD      x, z, w -> y, rstd (f32 per row): ROW_LANES invocations per row (`gated_rmsnorm`; at one lane no
//            barrier, which CPU drivers pay dearly)
//   BWD_DX   x, z, w, dy, rstd -> dx, dz (dz into the same slice of a tensor shaped like z)
//            n = g rstd;  dg = rstd (dy w - n mean(dy w n));  dx = dg silu(z);  dz = dg x silu'(z)
//   PARTIAL  x, z, dy, rstd -> partial [blocks, D] f32: sum of dy n over a block of rows
//   FINAL    partial -> dw (fixed order, no atomics)

struct Params {
  rows: u32,
  cols: u32,
  x_stride: u32,    // stored row length of x, y, dy, dx
  z_stride: u32,    // stored row length of z and dz
  z_offset: u32,
  eps: f32,
  blocks: u32,
  block_len: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#if FWD
//#tensor 1 x read
//#tensor 2 z read
//#tensor 3 w read
//#tensor 4 y read_write
//#tensor 5 rstd read_write f32
//#endif
//#if BWD_DX
//#tensor 1 x read
//#tensor 2 z read
//#tensor 3 w read
//#tensor 4 dy read
//#tensor 5 rstd read f32
//#tensor 6 dx read_write
//#tensor 7 dz read_write
//#endif
//#if PARTIAL
//#tensor 1 x read
//#tensor 2 z read
//#tensor 3 dy read
//#tensor 4 rstd read f32
//#tensor 5 partial read_write f32
//#endif
//#if FINAL
//#tensor 1 partial read f32
//#tensor 2 dw read_write
//#endif

const WG: u32 = 64u;
// Invocations per row of `gated_rmsnorm` and `gated_rmsnorm_bwd_dx` (a power of two <= WG; src/kernels/row-lanes.ts):
// WG / ROW_LANES rows per workgroup. 64: a workgroup per row.
override ROW_LANES: u32 = 64u;
// wg_sum2: shaders/workgroup_sum.wgsl, appended by src/kernels/gated-rmsnorm.ts.

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

//#if !FINAL
// The gate g = x silu(z) of row `row`, channel c.
fn gate(row: u32, c: u32) -> f32 {
  let zv = f32(z_ld(row * P.z_stride + P.z_offset + c));
  return f32(x_ld(row * P.x_stride + c)) * zv * sigmoid(zv);
}
//#endif

//#if FWD
@compute @workgroup_size(WG) fn gated_rmsnorm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lid % ROW_LANES;
  let row = linear_wg(wid, nwg) * (WG / ROW_LANES) + lid / ROW_LANES;
  // A row past the end walks no channels but still reaches every barrier of its workgroup.
  let cols = select(0u, P.cols, row < P.rows);
  var q = 0.0;
  for (var c = lane; c < cols; c += ROW_LANES) { let g = gate(row, c); q += g * g; }
  let r = inverseSqrt(seg_sum2(lid, vec2<f32>(q, 0.0), ROW_LANES).x / f32(P.cols) + P.eps);
  for (var c = 2u * lane; c < cols; c += 2u * ROW_LANES) {
    let second = c + 1u < cols;
    let y0 = gate(row, c) * r * f32(w_ld(c));
    var y1 = 0.0;
    if (second) { y1 = gate(row, c + 1u) * r * f32(w_ld(c + 1u)); }
    y_st2(row * P.x_stride + c, act(y0), act(y1), second);
  }
  if (lane == 0u && cols > 0u) { rstd_st(row, r); }
}
//#endif

//#if BWD_DX
struct Grad { dx: f32, dz: f32 }
fn grad(row: u32, c: u32, r: f32, m: f32) -> Grad {
  let zv = f32(z_ld(row * P.z_stride + P.z_offset + c));
  let xv = f32(x_ld(row * P.x_stride + c));
  let s = sigmoid(zv);
  let silu = zv * s;
  let n = xv * silu * r;
  let dg = r * (f32(dy_ld(row * P.x_stride + c)) * f32(w_ld(c)) - n * m);
  return Grad(dg * silu, dg * xv * s * (1.0 + zv * (1.0 - s)));
}

@compute @workgroup_size(WG) fn gated_rmsnorm_bwd_dx(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lid % ROW_LANES;
  let row = linear_wg(wid, nwg) * (WG / ROW_LANES) + lid / ROW_LANES;
  let cols = select(0u, P.cols, row < P.rows);
  var r = 0.0;
  if (cols > 0u) { r = rstd_ld(row); }
  var s = 0.0;
  for (var c = lane; c < cols; c += ROW_LANES) { s += f32(dy_ld(row * P.x_stride + c)) * f32(w_ld(c)) * gate(row, c) * r; }
  let m = seg_sum2(lid, vec2<f32>(s, 0.0), ROW_LANES).x / f32(P.cols);
  for (var c = 2u * lane; c < cols; c += 2u * ROW_LANES) {
    let second = c + 1u < cols;
    let g0 = grad(row, c, r, m);
    var g1 = Grad(0.0, 0.0);
    if (second) { g1 = grad(row, c + 1u, r, m); }
    dx_st2(row * P.x_stride + c, act(g0.dx), act(g1.dx), second);
    dz_st2(row * P.z_stride + P.z_offset + c, act(g0.dz), act(g1.dz), second);
  }
}
//#endif

//#if PARTIAL
@compute @workgroup_size(WG) fn gated_rmsnorm_bwd_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_wg(wid, nwg) * WG + lid;
  if (t >= P.cols * P.blocks) { return; }
  let c = t % P.cols;
  let b = t / P.cols;
  let end = min(P.rows, (b + 1u) * P.block_len);
  var s = 0.0;
  for (var row = b * P.block_len; row < end; row++) {
    s += f32(dy_ld(row * P.x_stride + c)) * gate(row, c) * rstd_ld(row);
  }
  partial_st(t, s);
}
//#endif

//#if FINAL
// A workgroup per channel pair: invocations take every 64th block, then a tree (fixed order: same bits).
@compute @workgroup_size(WG) fn gated_rmsnorm_bwd_final(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = 2u * linear_wg(wid, nwg);
  if (c >= P.cols) { return; }
  let second = c + 1u < P.cols;
  var a = vec2<f32>(0.0);
  for (var b = lid; b < P.blocks; b += WG) {
    a.x += partial_ld(b * P.cols + c);
    if (second) { a.y += partial_ld(b * P.cols + c + 1u); }
  }
  let total = wg_sum2(lid, a);
  if (lid == 0u) { dw_st2(c, act(total.x), act(total.y), second); }
}
//#endif
