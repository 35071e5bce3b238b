// The global gradient norm of the unscaled f32 gradients, the overflow flag and the clip multiplier
// (torch.nn.utils.clip_grad_norm_ after GradScaler.unscale_), without a host sync.
//
// Entries (defines):
//   PARTIAL  sumsq_partial: g (one gradient tensor, f32, scaled by the loss scale) -> partial[offset + w] =
//            sum over workgroup w's block of (g / scale)^2. One dispatch per gradient tensor, each at its offset.
//   FINAL    norm_final: partial -> stats (f32 [4]), one workgroup, fixed order (the same bits every run):
//            stats[0] = the norm sqrt(sum); stats[1] = 1 where it is not finite (an inf or NaN gradient), else 0;
//            stats[2] = what the optimizer multiplies each stored gradient by: (1 / scale) min(1, max_norm /
//            (norm + 1e-6)); stats[3] = the loss (copied from loss_sum, so one read returns everything).

struct Params {
  n: u32,              // PARTIAL: elements of this gradient; FINAL: partials in all
  offset: u32,         // PARTIAL: where this gradient's partials start
  max_norm: f32,       // FINAL: the clip norm
}
@group(0) @binding(0) var<uniform> P: Params;
//#if PARTIAL
//#tensor 1 g read f32
//#tensor 2 partial read_write f32
//#tensor 3 scale read f32
//#endif
//#if FINAL
//#tensor 1 partial read f32
//#tensor 2 scale read f32
//#tensor 3 loss_sum read f32
//#tensor 4 stats read_write f32
//#endif

const WG: u32 = 64u;
const PER_INVOCATION: u32 = 16u;   // a workgroup sums WG * PER_INVOCATION elements

//#if PARTIAL
@compute @workgroup_size(WG) fn sumsq_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  let inv = 1.0 / scale_ld(0u);
  let start = w * WG * PER_INVOCATION;
  var a = 0.0;
  for (var k = 0u; k < PER_INVOCATION; k++) {
    let i = start + k * WG + lid;   // neighbours read neighbours
    if (i < P.n) {
      let v = g_ld(i) * inv;
      a += v * v;
    }
  }
  let total = wg_sum2(lid, vec2<f32>(a, 0.0)).x;
  if (lid == 0u) { partial_st(P.offset + w, total); }
}
//#endif

//#if FINAL
// Not finite by its bits: comparisons with NaN may be folded away by a driver's fast-math.
fn finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }

@compute @workgroup_size(WG) fn norm_final(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  for (var i = lid; i < P.n; i += WG) { a += partial_ld(i); }
  let sumsq = wg_sum2(lid, vec2<f32>(a, 0.0)).x;
  if (lid == 0u) {
    let norm = sqrt(sumsq);
    let ok = finite(norm);
    stats_st(0u, norm);
    stats_st(1u, select(1.0, 0.0, ok));
    stats_st(2u, select(0.0, min(1.0, P.max_norm / (norm + 1e-6)) / scale_ld(0u), ok));
    stats_st(3u, loss_sum_ld(0u));
  }
}
//#endif
