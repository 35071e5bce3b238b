// Tree sum over a workgroup of WG invocations (WG comes from the shader this is appended to), in a fixed order:
// the same bits every run, no atomics. Every invocation calls it, from uniform control flow.
var<workgroup> wg_red: array<vec2<f32>, WG>;

fn wg_sum2(lid: u32, v: vec2<f32>) -> vec2<f32> { return seg_sum2(lid, v, WG); }

// The tree within each aligned segment of `lanes` invocations (a power of two <= WG, uniform): every invocation
// gets its segment's sum. A workgroup serving several rows, one segment each, reduces them all at once.
fn seg_sum2(lid: u32, v: vec2<f32>, lanes: u32) -> vec2<f32> {
  if (lanes == 1u) { return v; } // a row per invocation: nothing to share, no barrier (CPU drivers pay dearly for them)
  wg_red[lid] = v;
  let lane = lid % lanes;
  for (var st = lanes / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lane < st) { wg_red[lid] += wg_red[lid + st]; }
  }
  workgroupBarrier();
  let r = wg_red[lid - lane];
  workgroupBarrier();
  return r;
}
