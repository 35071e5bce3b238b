// Batched matmul C[b] = act(op(A[b]) op(B[b]) + bias), op = optional transpose; the tiled core is
// gemm_tile.wgsl (appended by the TS module) and activations come from activation.wgsl.
// A batch stride of 0 broadcasts an operand. With sum_batches > 1 the output has one batch and the contraction
// also runs over the operands' batches: the gradient of a broadcast operand, without atomics.
// Stores go in pairs along N (whole words in f16-storage; C's rows are padded to even length there); with
// SPLIT_K the core stores f32 partials instead and gemm_splitk.wgsl applies bias and activation.

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
  a_stride: u32,    // stored row length of A as laid out (K, or M when transposed)
  b_stride: u32,
  c_stride: u32,
  a_batch: u32,     // stored elements between batches (0: broadcast)
  b_batch: u32,
  c_batch: u32,
  trans_a: u32,
  trans_b: u32,
  activation: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#tensor 1 lhs read
//#tensor 2 rhs read
//#if SPLIT_K
//#tensor 3 partial read_write f32
//#else
//#tensor 3 out read_write
//#if BIAS
//#tensor 4 bias read
//#endif
//#endif

fn gemm_a_k_fast() -> bool { return P.trans_a == 0u; }
fn gemm_slice(g: u32, k0: u32) {}
fn gemm_b_n_fast() -> bool { return P.trans_b == 0u; }

fn gemm_a(g: u32, m: u32, k: u32) -> act {
  if (P.trans_a != 0u) { return lhs_ld(g * P.a_batch + k * P.a_stride + m); }
  return lhs_ld(g * P.a_batch + m * P.a_stride + k);
}

fn gemm_b(g: u32, k: u32, n: u32) -> act {
  if (P.trans_b != 0u) { return rhs_ld(g * P.b_batch + n * P.b_stride + k); }
  return rhs_ld(g * P.b_batch + k * P.b_stride + n);
}

//#if !SPLIT_K
fn epilogue(v: f32, n: u32) -> f32 {
  var u = v;
//#if BIAS
  u += f32(bias_ld(n));
//#endif
  return activate(u, P.activation);
}

fn gemm_store(b: u32, split: u32, m0: u32, n0: u32, c: array<f32, 16>) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= P.M) { return; }
    for (var j = 0u; j < 4u; j += 2u) {
      let n = n0 + j;
      if (n < P.N) {
        let second = n + 1u < P.N;
        let v1 = select(0.0, epilogue(c[i * 4u + j + 1u], n + 1u), second);
        out_st2(b * P.c_batch + m * P.c_stride + n, act(epilogue(c[i * 4u + j], n)), act(v1), second);
      }
    }
  }
}
//#endif
