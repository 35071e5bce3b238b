// Combines the split-K partial sums of the tiled GEMM (gemm_tile.wgsl) in a fixed order, then the epilogue:
//   out[b, m, n] = act(sum over s < splits of partial[b, s, m, n] + bias)
// with bias per column n (BIAS_N, matmul) or per row m (BIAS_M, conv forward). An invocation per output pair
// along n (whole words in f16-storage); out rows are out_stride long, batches out_batch apart.

struct Params {
  M: u32,
  N: u32,
  batches: u32,
  splits: u32,
  out_stride: u32,
  out_batch: u32,
  pairs_per_row: u32,
  activation: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#tensor 1 partial read f32
//#tensor 2 out read_write
//#if BIAS_N
//#tensor 3 bias read
//#endif
//#if BIAS_M
//#tensor 3 bias read
//#endif

const WG: u32 = 64u;

fn finish(v: f32, m: u32, n: u32) -> f32 {
  var u = v;
//#if BIAS_N
  u += f32(bias_ld(n));
//#endif
//#if BIAS_M
  u += f32(bias_ld(m));
//#endif
  return activate(u, P.activation);
}

@compute @workgroup_size(WG) fn gemm_splitk_final(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = linear_wg(wid, nwg) * WG + lid;
  let per_batch = P.M * P.pairs_per_row;
  let b = p / per_batch;
  if (b >= P.batches) { return; }
  let m = (p % per_batch) / P.pairs_per_row;
  let n = 2u * (p % P.pairs_per_row);
  let second = n + 1u < P.N;
  var v = vec2<f32>(0.0);
  for (var s = 0u; s < P.splits; s++) {
    let at = ((b * P.splits + s) * P.M + m) * P.N + n;
    v.x += partial_ld(at);
    if (second) { v.y += partial_ld(at + 1u); }
  }
  var v1 = 0.0;
  if (second) { v1 = finish(v.y, m, n + 1u); }
  out_st2(b * P.out_batch + m * P.out_stride + n, act(finish(v.x, m, n)), act(v1), second);
}
