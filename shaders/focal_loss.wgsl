// The training loss (backend/ictal_backend/losses.py): focal loss on BCE-with-logits with a positive-class weight,
// its value summed and its gradient with respect to the logits, in one pass; then a fixed-order sum.
//
// Per element (z logit, y label in [0, 1], w pos_weight, all arithmetic in f32 whatever the storage):
//   z'   = clamp(z, -L, L)                                   (gradient passes where -L <= z <= L)
//   bce  = w y softplus(-z') + (1 - y) softplus(z')
//   q    = 1 - p_t = y sigmoid(-z') + (1 - y) sigmoid(z'), clamped to [eps, 1 - eps] (no gradient outside)
//   f    = alpha_t q^gamma bce, alpha_t = y alpha + (1 - y)(1 - alpha)
//   l    = min(f, M)                                         (gradient passes where f <= M)
// The clamps are off with L = M = FLT_MAX and eps = 0 (the backend's loss today).
//   dlogits = scale dl/dz / mean_over;  loss_sum (=, or += when accumulating) sum(l) / mean_over.
//
// Variants (defines):
//   ELEMENTS  logits, labels -> dlogits, partial  (an invocation per element pair, a partial sum per workgroup)
//     SCALE_TENSOR: the loss scale is read from a f32 [1] tensor (the dynamic loss scale lives on the GPU)
//   FINAL     partial -> loss_sum                  (one workgroup, fixed order: the same bits every run)

struct Params {
  rows: u32,
  cols: u32,
  stride: u32,          // stored row length (even in f16-storage)
  pairs_per_row: u32,
  partials: u32,
  accumulate: u32,      // FINAL: 1 adds to loss_sum instead of overwriting it
  pos_weight: f32,
  alpha: f32,
  gamma: f32,
  scale: f32,           // used without SCALE_TENSOR
  inv_mean: f32,        // 1 / mean_over
  logit_limit: f32,
  eps: f32,
  max_loss: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
//#if ELEMENTS
//#tensor 1 logits read
//#tensor 2 labels read
//#tensor 3 dlogits read_write
//#tensor 4 partial read_write f32
//#if SCALE_TENSOR
//#tensor 5 scale_t read f32
//#endif
//#endif
//#if FINAL
//#tensor 1 partial read f32
//#tensor 2 loss_sum read_write f32
//#endif

const WG: u32 = 64u;

//#if ELEMENTS
// log(1 + t) for t in [0, 1]: the series where 1 + t would round t away.
fn log1p_small(t: f32) -> f32 { return select(log(1.0 + t), t * (1.0 - 0.5 * t), t < 1e-4); }
fn softplus(z: f32) -> f32 { return max(z, 0.0) + log1p_small(exp(-abs(z))); }
fn sigmoid(z: f32) -> f32 {
  let e = exp(-abs(z));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}
// q^g for q >= 0 (0^g = 0 for g > 0, 1 for g = 0).
fn pow0(q: f32, g: f32) -> f32 {
  if (g == 0.0) { return 1.0; }
  if (q <= 0.0) { return 0.0; }
  return exp2(g * log2(q));
}

// (l, dl/dz) for one element.
fn focal(z_in: f32, y: f32) -> vec2<f32> {
  let passes = z_in >= -P.logit_limit && z_in <= P.logit_limit;
  let z = clamp(z_in, -P.logit_limit, P.logit_limit);
  let s = sigmoid(z);
  let sn = sigmoid(-z);
  let bce = P.pos_weight * y * softplus(-z) + (1.0 - y) * softplus(z);
  let dbce = -P.pos_weight * y * sn + (1.0 - y) * s;
  var q = y * sn + (1.0 - y) * s;
  var dq = (1.0 - 2.0 * y) * s * sn;
  if (q < P.eps || q > 1.0 - P.eps) {
    q = clamp(q, P.eps, 1.0 - P.eps);
    dq = 0.0;
  }
  let at = y * P.alpha + (1.0 - y) * (1.0 - P.alpha);
  let qg = pow0(q, P.gamma);
  let dqg = select(P.gamma * pow0(q, P.gamma - 1.0) * dq, 0.0, dq == 0.0);
  let f = at * qg * bce;
  let df = at * (dqg * bce + qg * dbce);
  if (f > P.max_loss) { return vec2<f32>(P.max_loss, 0.0); }
  return vec2<f32>(f, select(0.0, df, passes));
}

// Beyond the half range a gradient is stored as infinity (a conversion out of range is undefined in WGSL), so the
// loss scaler sees the overflow. Infinity comes from a private variable: a constant infinity does not compile.
var<private> INF_BITS: u32 = 0x7f800000u;
fn stored(v: f32) -> act {
//#if F32
  return v;
//#else
  return act(select(v, sign(v) * bitcast<f32>(INF_BITS), abs(v) > 65504.0));
//#endif
}

fn loss_scale() -> f32 {
//#if SCALE_TENSOR
  return scale_t_ld(0u);
//#else
  return P.scale;
//#endif
}

@compute @workgroup_size(WG) fn focal_elements(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  let p = w * WG + lid;
  let row = p / P.pairs_per_row;
  let c = 2u * (p % P.pairs_per_row);
  var l = vec2<f32>(0.0);
  if (row < P.rows) {
    let at = row * P.stride + c;
    let second = c + 1u < P.cols;
    let k = loss_scale() * P.inv_mean;
    let a = focal(f32(logits_ld(at)), f32(labels_ld(at)));
    var b = vec2<f32>(0.0);
    if (second) { b = focal(f32(logits_ld(at + 1u)), f32(labels_ld(at + 1u))); }
    dlogits_st2(at, stored(a.y * k), stored(b.y * k), second);
    l = vec2<f32>(a.x, b.x);
  }
  let total = wg_sum2(lid, l);
  if (lid == 0u && w < P.partials) { partial_st(w, total.x + total.y); }
}
//#endif

//#if FINAL
@compute @workgroup_size(WG) fn focal_final(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  for (var i = lid; i < P.partials; i += WG) { a += partial_ld(i); }
  let total = wg_sum2(lid, vec2<f32>(a, 0.0)).x * P.inv_mean;
  if (lid == 0u) { loss_sum_st(0u, select(total, loss_sum_ld(0u) + total, P.accumulate == 1u)); }
}
//#endif
