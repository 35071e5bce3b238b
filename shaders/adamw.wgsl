// AdamW (torch.optim.AdamW, amsgrad off) on f32 master weights, one invocation per element:
//   g = grad * stats[2]                  (unscale and clip, from grad_norm.wgsl)
//   p *= 1 - lr wd                       (decoupled weight decay; wd = 0 for the no-decay group)
//   m = m + (1 - b1)(g - m);  v = b2 v + (1 - b2) g^2
//   p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),  bc1 = 1 - b1^t, bc2 = 1 - b2^t (computed on the host)
// Nothing changes when stats[1] flags an inf or NaN gradient: the step is skipped, as GradScaler.step does.

struct Params {
  n: u32,
  lr: f32,
  weight_decay: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  step_size: f32,      // lr / bc1
  bc2_sqrt: f32,       // sqrt(bc2)
}
@group(0) @binding(0) var<uniform> P: Params;
//#tensor 1 param read_write f32
//#tensor 2 grad read f32
//#tensor 3 mom1 read_write f32
//#tensor 4 mom2 read_write f32
//#tensor 5 stats read f32

const WG: u32 = 64u;

@compute @workgroup_size(WG) fn adamw_step(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_wg(wid, nwg) * WG + lid;
  if (i >= P.n || stats_ld(1u) != 0.0) { return; }
  let g = grad_ld(i) * stats_ld(2u);
  let p = param_ld(i) * (1.0 - P.lr * P.weight_decay);
  let m = mom1_ld(i) + (1.0 - P.beta1) * (g - mom1_ld(i));
  let v = P.beta2 * mom2_ld(i) + (1.0 - P.beta2) * g * g;
  mom1_st(i, m);
  mom2_st(i, v);
  param_st(i, p - P.step_size * m / (sqrt(v) / P.bc2_sqrt + P.eps));
}
