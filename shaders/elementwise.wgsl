// Elementwise ops over a [rows, cols] view (any tensor, flattened to its innermost dimension).
// Forward: add, mul (same shapes), relu, silu, gelu (erf form), softplus.
// Backward (unary): dx = dy * f'(x), entries `<op>_bwd` with x at binding 1, dy at binding 3, dx at binding 2.
//
// Two variants:
// - default: one invocation owns one pair of adjacent elements of a row (a packed word in f16-storage), from
//   element `base` on. Any layout, padded f16-storage rows included; also the tail of the VEC variant.
// - VEC: operands without row padding seen as one flat array of 16-byte chunks (4 f32, or 8 halves in both f16
//   modes), one chunk per invocation: the calibration copy's access size. Pairs moved 8 bytes an invocation in
//   f32 and 4 in f16-storage, which reached 39 - 59 % and 9 - 14 % of the copy roofline on an H200.
//   The op is the pipeline constant OP (a switch the compiler folds): vec_unary reads x; vec_binary reads x and b.

struct Params {
  rows: u32,
  cols: u32,
  stride: u32,        // physical row length of every operand
  pairs_per_row: u32, // ceil(cols / 2); VEC: the number of chunks
  base: u32,          // first element (even): the VEC variant's tail starts past its chunks
}
@group(0) @binding(0) var<uniform> P: Params;

const WG: u32 = 64u;

//#if VEC
//#if F32
alias chunk = vec4<f32>;
//#else
alias chunk = vec4<u32>;
//#endif
@group(0) @binding(1) var<storage, read> xv: array<chunk>;
@group(0) @binding(2) var<storage, read_write> yv: array<chunk>;
@group(0) @binding(3) var<storage, read> bv: array<chunk>;
//#else
//#tensor 1 x read
//#tensor 2 y read_write
//#tensor 3 b read
//#endif

// erfc(z) for z >= 0, relative error < 2e-6 in f32 (Numerical Recipes' erfcc, a Chebyshev fit): WGSL has no
// erf. gelu's 1 + erf(v / sqrt 2) is erfc(|v| / sqrt 2) for v < 0, where 1 + erf would cancel to nothing in f32.
fn erfc_pos(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(p - z * z);
}

// 2 Phi(u) = 1 + erf(u / sqrt 2), accurate relative to itself in both tails.
fn two_phi(u: f32) -> f32 {
  let e = erfc_pos(abs(u) * 0.70710678118654752);
  return select(2.0 - e, e, u < 0.0);
}

fn f_relu(v: act) -> act { return max(v, act(0.0)); }
fn f_silu(v: act) -> act { return v / (act(1.0) + exp(-v)); }
// Transcendentals of gelu and softplus run in f32 even in native f16: exp overflows f16 at 11.
fn f_gelu(v: act) -> act { let u = f32(v); return act(0.5 * u * two_phi(u)); }
fn f_softplus(v: act) -> act { let u = f32(v); return act(max(u, 0.0) + log(1.0 + exp(-abs(u)))); }

fn d_relu(v: act) -> act { return select(act(0.0), act(1.0), v > act(0.0)); }
fn d_silu(v: act) -> act { let s = act(1.0) / (act(1.0) + exp(-v)); return s * (act(1.0) + v * (act(1.0) - s)); }
fn d_gelu(v: act) -> act {
  let u = f32(v);
  return act(0.5 * two_phi(u) + u * 0.3989422804014327 * exp(-0.5 * u * u));
}
fn d_softplus(v: act) -> act { return act(1.0 / (1.0 + exp(-f32(v)))); }

//#if VEC
// OP codes (src/kernels/elementwise.ts VEC_OP): add 0, mul 1, relu 2, silu 3, gelu 4, softplus 5, and their
// backward 6 - 9 (b = dy).
override OP: u32;

fn apply(a: act, b: act) -> act {
  switch OP {
    case 0u: { return a + b; }
    case 1u: { return a * b; }
    case 2u: { return f_relu(a); }
    case 3u: { return f_silu(a); }
    case 4u: { return f_gelu(a); }
    case 5u: { return f_softplus(a); }
    case 6u: { return b * d_relu(a); }
    case 7u: { return b * d_silu(a); }
    case 8u: { return b * d_gelu(a); }
    default: { return b * d_softplus(a); }
  }
}

// A chunk's elements two at a time: f32 holds 1 per word (pairs .xy, .zw), the f16 modes 2 per word.
//#if F32
fn apply_chunk(a: chunk, b: chunk) -> chunk {
  return chunk(apply(a.x, b.x), apply(a.y, b.y), apply(a.z, b.z), apply(a.w, b.w));
}
//#else
//#if F16
fn halves(w: u32) -> vec2<act> { return bitcast<vec2<f16>>(w); }
fn word(v: vec2<act>) -> u32 { return bitcast<u32>(v); }
//#else
fn halves(w: u32) -> vec2<act> { return unpack2x16float(w); }
fn word(v: vec2<act>) -> u32 { return pack2x16float(v); }
//#endif
fn apply_word(a: u32, b: u32) -> u32 {
  let u = halves(a);
  let v = halves(b);
  return word(vec2<act>(apply(u.x, v.x), apply(u.y, v.y)));
}
fn apply_chunk(a: chunk, b: chunk) -> chunk {
  return chunk(apply_word(a.x, b.x), apply_word(a.y, b.y), apply_word(a.z, b.z), apply_word(a.w, b.w));
}
//#endif

@compute @workgroup_size(WG) fn vec_unary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_wg(wid, nwg) * WG + lid;
  if (i >= P.pairs_per_row) { return; }
  let a = xv[i];
  yv[i] = apply_chunk(a, a);
}

@compute @workgroup_size(WG) fn vec_binary(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_wg(wid, nwg) * WG + lid;
  if (i >= P.pairs_per_row) { return; }
  yv[i] = apply_chunk(xv[i], bv[i]);
}
//#else
// Index of this invocation's first element, or false when it has no pair.
struct Pair { i: u32, second: bool, ok: bool }
fn pair_of(gid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> Pair {
  let p = linear_wg(wid, nwg) * WG + gid.x % WG;
  let row = p / P.pairs_per_row;
  let c = 2u * (p % P.pairs_per_row);
  return Pair(P.base + row * P.stride + c, c + 1u < P.cols, row < P.rows);
}

@compute @workgroup_size(WG) fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, x_ld(q.i) + b_ld(q.i), x_ld(q.i + 1u) + b_ld(q.i + 1u), q.second);
}

@compute @workgroup_size(WG) fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, x_ld(q.i) * b_ld(q.i), x_ld(q.i + 1u) * b_ld(q.i + 1u), q.second);
}

// Reads of the element after a row's end (i + 1 when !second) stay inside the buffer: the caller sizes
// buffers to whole words, and the value is discarded.
@compute @workgroup_size(WG) fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, f_relu(x_ld(q.i)), f_relu(x_ld(q.i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn silu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, f_silu(x_ld(q.i)), f_silu(x_ld(q.i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn gelu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, f_gelu(x_ld(q.i)), f_gelu(x_ld(q.i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn softplus(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, f_softplus(x_ld(q.i)), f_softplus(x_ld(q.i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn relu_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, b_ld(q.i) * d_relu(x_ld(q.i)), b_ld(q.i + 1u) * d_relu(x_ld(q.i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn silu_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, b_ld(q.i) * d_silu(x_ld(q.i)), b_ld(q.i + 1u) * d_silu(x_ld(q.i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn gelu_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, b_ld(q.i) * d_gelu(x_ld(q.i)), b_ld(q.i + 1u) * d_gelu(x_ld(q.i + 1u)), q.second);
}

@compute @workgroup_size(WG) fn softplus_bwd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = pair_of(gid, wid, nwg);
  if (!q.ok) { return; }
  y_st2(q.i, b_ld(q.i) * d_softplus(x_ld(q.i)), b_ld(q.i + 1u) * d_softplus(x_ld(q.i + 1u)), q.second);
}
//#endif
