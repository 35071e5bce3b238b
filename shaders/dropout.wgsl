// Dropout in training, forward and backward with one entry: y = x * keep(i) / (1 - p). The mask is never
// stored: keep(i) is recomputed from a counter-based hash of (key, i), where key mixes the seed, the step and
// the node, and i is the element's logical index in the whole batch (micro-batch offset included), so the mask
// is the same in every precision and for every micro-batch split. The backward applies the same mask to dy.
// An invocation owns a pair of adjacent elements of a row (a packed word in f16-storage).

struct Params {
  rows: u32,
  cols: u32,
  stride: u32,      // physical row length of x and y
  pairs: u32,       // ceil(cols / 2)
  key: u32,
  base: u32,        // logical index of this micro-batch's first element in the whole batch
  threshold: u32,   // element dropped when hash < threshold (p * 2^32)
  scale: f32,       // 1 / (1 - p)
}
@group(0) @binding(0) var<uniform> P: Params;
//#tensor 1 x read
//#tensor 2 y read_write

const WG: u32 = 64u;

// PCG output permutation (O'Neill), as a stateless hash; dropoutKeep in src/kernels/dropout.ts is its twin.
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn masked(v: act, i: u32) -> act {
  let kept = pcg(pcg(i) ^ P.key) >= P.threshold;
  return select(act(0.0), v * act(P.scale), kept);
}

@compute @workgroup_size(WG) fn dropout(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = linear_wg(wid, nwg) * WG + lid;
  let row = p / P.pairs;
  let c = 2u * (p % P.pairs);
  if (row >= P.rows) { return; }
  let second = c + 1u < P.cols;
  let i = row * P.stride + c;
  let logical = P.base + row * P.cols + c;
  var v1 = act(0.0);
  if (second) { v1 = masked(x_ld(i + 1u), logical + 1u); }
  y_st2(i, masked(x_ld(i), logical), v1, second);
}
