// Conv1d [B, Cin, L] -> [B, Cout, Lout] with taps k, dilation d, stride s, left padding p (zeros outside x):
//   y[b, co, l] = bias[co] + sum over ci, j of w[co, ci, j] x[b, ci, l s - p + j d]
// as implicit GEMMs on the tiled core (gemm_tile.wgsl, appended by the TS module): no im2col buffer, the
// operand loaders gather. Variants (defines), each with its own bindings:
//   FWD       y = W (Cout x Cin k) . X (Cin k x Lout) per batch, + bias, activation
//   DX        dx (Cin x L) = W^T (Cin x Cout k) . dY gathered (Cout k x L) per batch; a tap contributes where
//             t + p - j d is a multiple of s inside the output
//   DX_PATCH  dx for s = k, d = 1, p = 0, L = Lout k (the downsampler): rows are (ci, j), columns l, K = Cout,
//             stored at dx[b, ci, l k + j]: no zero taps multiplied (DX would waste (s - 1)/s of its work)
//   DW        dw (Cout x Cin k) = sum over b of dY (Cout x Lout) . X gathered^T (Lout x Cin k)
// w's rows are its taps: stored row length w_stride (k, or k rounded up to even in f16-storage); DW treats
// the padded tap as a column of zeros so that stores stay whole words. FWD and DW may run split-K (SPLIT_K:
// f32 partials from the core, combined with bias and activation by gemm_splitk.wgsl).
// TAP_MAJOR (FWD, DX where the contracted channels, Cin or Cout, are a multiple of 32): K runs tap-major,
// k = j C + c instead of c k + j, so every K slice (16 or 32 long) has one tap: gemm_slice finds it once per
// slice and the loaders need no integer division by the taps per element (the v3 TCN's channels all qualify).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batches: u32,
  sum_batches: u32,
  tiles_m: u32,
  tiles_n: u32,
  splits: u32,
  split_tiles: u32,
  c_in: u32,
  c_out: u32,
  len_in: u32,
  len_out: u32,
  taps: u32,
  stride: u32,
  dilation: u32,
  padding: u32,
  x_stride: u32,    // stored row lengths of x (and dx), y (and dy), w (and dw)
  y_stride: u32,
  w_stride: u32,
  activation: u32,
}
@group(0) @binding(0) var<uniform> P: Params;

//#if TAP_MAJOR
var<private> slice_k0: u32;
var<private> slice_c0: u32;
var<private> slice_j: u32;
//#endif

// Where the K slice from k0 starts, as (channel, tap) over `channels` contracted channels (TAP_MAJOR only).
fn slice_start(k0: u32, channels: u32) {
//#if TAP_MAJOR
  slice_k0 = k0;
  slice_j = k0 / channels;
  slice_c0 = k0 % channels;
//#endif
}

// (channel, tap) of contraction index k (of the current slice under TAP_MAJOR).
fn tap_split(k: u32) -> vec2<u32> {
//#if TAP_MAJOR
  return vec2<u32>(slice_c0 + (k - slice_k0), slice_j);
//#else
  return vec2<u32>(k / P.taps, k % P.taps);
//#endif
}

//#if FWD
//#tensor 1 x read
//#tensor 2 w read
//#if SPLIT_K
//#tensor 3 partial read_write f32
//#else
//#tensor 3 y read_write
//#if BIAS
//#tensor 4 bias read
//#endif
//#endif

fn gemm_a_k_fast() -> bool { return true; }
fn gemm_b_n_fast() -> bool { return true; }
fn gemm_slice(g: u32, k0: u32) { slice_start(k0, P.c_in); }

// A = W as [Cout, Cin * k].
fn gemm_a(g: u32, m: u32, k: u32) -> act {
  let cj = tap_split(k);
  return w_ld((m * P.c_in + cj.x) * P.w_stride + cj.y);
}

// B = X gathered: row (ci, j), column l.
fn gemm_b(g: u32, k: u32, n: u32) -> act {
  let cj = tap_split(k);
  let u = i32(n * P.stride + cj.y * P.dilation) - i32(P.padding);
  if (u < 0 || u >= i32(P.len_in)) { return act(0.0); }
  return x_ld((g * P.c_in + cj.x) * P.x_stride + u32(u));
}

//#if !SPLIT_K
fn gemm_store(b: u32, split: u32, m0: u32, n0: u32, c: array<f32, 16>) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= P.M) { return; }
    var add = 0.0;
//#if BIAS
    add = f32(bias_ld(m));
//#endif
    for (var j = 0u; j < 4u; j += 2u) {
      let n = n0 + j;
      if (n < P.N) {
        let second = n + 1u < P.N;
        let v0 = activate(c[i * 4u + j] + add, P.activation);
        let v1 = select(0.0, activate(c[i * 4u + j + 1u] + add, P.activation), second);
        y_st2((b * P.c_out + m) * P.y_stride + n, act(v0), act(v1), second);
      }
    }
  }
}
//#endif
//#endif

//#if DX
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx read_write

fn gemm_a_k_fast() -> bool { return true; }
fn gemm_b_n_fast() -> bool { return true; }
fn gemm_slice(g: u32, k0: u32) { slice_start(k0, P.c_out); }

// A = W^T: row ci, column (co, j).
fn gemm_a(g: u32, m: u32, k: u32) -> act {
  let cj = tap_split(k);
  return w_ld((cj.x * P.c_in + m) * P.w_stride + cj.y);
}

// B: row (co, j), column t: dy[b, co, (t + p - j d) / s] where that is a whole output position.
fn gemm_b(g: u32, k: u32, n: u32) -> act {
  let cj = tap_split(k);
  let u = i32(n + P.padding) - i32(cj.y * P.dilation);
  if (u < 0) { return act(0.0); }
  var l = u32(u);
  if (P.stride != 1u) {
    l = l / P.stride;
    if (l * P.stride != u32(u)) { return act(0.0); }
  }
  if (l >= P.len_out) { return act(0.0); }
  return dy_ld((g * P.c_out + cj.x) * P.y_stride + l);
}

fn gemm_store(b: u32, split: u32, m0: u32, n0: u32, c: array<f32, 16>) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= P.M) { return; }
    for (var j = 0u; j < 4u; j += 2u) {
      let n = n0 + j;
      if (n < P.N) {
        let second = n + 1u < P.N;
        dx_st2((b * P.c_in + m) * P.x_stride + n, act(c[i * 4u + j]), act(select(0.0, c[i * 4u + j + 1u], second)), second);
      }
    }
  }
}
//#endif

//#if DX_PATCH
//#tensor 1 dy read
//#tensor 2 w read
//#tensor 3 dx read_write

fn gemm_a_k_fast() -> bool { return false; }
fn gemm_b_n_fast() -> bool { return true; }
fn gemm_slice(g: u32, k0: u32) {}

// A: row (ci, j), column co.
fn gemm_a(g: u32, m: u32, k: u32) -> act { return w_ld((k * P.c_in + m / P.taps) * P.w_stride + m % P.taps); }

fn gemm_b(g: u32, k: u32, n: u32) -> act { return dy_ld((g * P.c_out + k) * P.y_stride + n); }

fn dx_at(b: u32, m: u32, n: u32) -> u32 { return (b * P.c_in + m / P.taps) * P.x_stride + n * P.taps + m % P.taps; }

// Pairs run along the rows here (taps j, j + 1 of one patch are adjacent in dx); k is even in f16-storage.
fn gemm_store(b: u32, split: u32, m0: u32, n0: u32, c: array<f32, 16>) {
  for (var i = 0u; i < 4u; i += 2u) {
    let m = m0 + i;
    if (m >= P.M) { return; }
    let with_next = m + 1u < P.M;
    let same_patch = (m % P.taps) + 1u < P.taps;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < P.N) {
        let v0 = act(c[i * 4u + j]);
        let v1 = act(c[(i + 1u) * 4u + j]);
        if (with_next && same_patch) {
          dx_st2(dx_at(b, m, n), v0, v1, true);
        } else {
          dx_st2(dx_at(b, m, n), v0, v0, false);
          if (with_next) { dx_st2(dx_at(b, m + 1u, n), v1, v1, false); }
        }
      }
    }
  }
}
//#endif

//#if DW
//#tensor 1 dy read
//#tensor 2 x read
//#if SPLIT_K
//#tensor 3 partial read_write f32
//#else
//#tensor 3 dw read_write
//#endif

fn gemm_a_k_fast() -> bool { return true; }
fn gemm_b_n_fast() -> bool { return false; }
fn gemm_slice(g: u32, k0: u32) {}

// A = dY[b]: row co, column l.
fn gemm_a(g: u32, m: u32, k: u32) -> act { return dy_ld((g * P.c_out + m) * P.y_stride + k); }

// B = X gathered^T: row l, column (ci, j) over the stored tap row (the pad tap reads as zero).
fn gemm_b(g: u32, k: u32, n: u32) -> act {
  let j = n % P.w_stride;
  if (j >= P.taps) { return act(0.0); }
  let u = i32(k * P.stride + j * P.dilation) - i32(P.padding);
  if (u < 0 || u >= i32(P.len_in)) { return act(0.0); }
  return x_ld((g * P.c_in + n / P.w_stride) * P.x_stride + u32(u));
}

//#if !SPLIT_K
fn gemm_store(b: u32, split: u32, m0: u32, n0: u32, c: array<f32, 16>) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= P.M) { return; }
    for (var j = 0u; j < 4u; j += 2u) {
      let n = n0 + j;
      if (n < P.N) {
        let second = n + 1u < P.N;
        dw_st2(m * P.N + n, act(c[i * 4u + j]), act(select(0.0, c[i * 4u + j + 1u], second)), second);
      }
    }
  }
}
//#endif
//#endif
