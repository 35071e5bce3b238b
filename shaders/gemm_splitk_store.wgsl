// The GEMM cores' split-K store, shared by gemm_tile.wgsl and gemm_subgroup_matrix.wgsl (appended after either).
//#if SPLIT_K
// Split-K store: f32 partial sums laid out [batches, splits, M, N] (one element per invocation and slot, so no
// packing), combined by gemm_splitk.wgsl. The including file declares `partial` and leaves out its own store.
fn gemm_store(b: u32, split: u32, m0: u32, n0: u32, c: array<f32, 16>) {
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= P.M) { return; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + j;
      if (n < P.N) { partial_st(((b * P.splits + split) * P.M + m) * P.N + n, c[i * 4u + j]); }
    }
  }
}
//#endif
