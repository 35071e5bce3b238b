// Activation functions on f32, for kernel epilogues (matmul, conv1d). Included by concatenation in the TS
// module; codes: 0 none, 1 relu, 2 silu, 3 gelu (erf form), 4 softplus.

// erfc(z) for z >= 0, relative error < 2e-6 in f32 (Numerical Recipes' erfcc, a Chebyshev fit). gelu's
// 1 + erf(v / sqrt 2) is erfc(|v| / sqrt 2) for v < 0: computing it as 1 + erf cancels to nothing in f32 there.
fn act_erfc(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(p - z * z);
}

// 2 Phi(v) = 1 + erf(v / sqrt 2), accurate relative to itself in both tails.
fn two_phi(v: f32) -> f32 {
  let e = act_erfc(abs(v) * 0.70710678118654752);
  return select(2.0 - e, e, v < 0.0);
}

fn activate(v: f32, kind: u32) -> f32 {
  switch kind {
    case 1u: { return max(v, 0.0); }
    case 2u: { return v / (1.0 + exp(-v)); }
    case 3u: { return 0.5 * v * two_phi(v); }
    case 4u: { return max(v, 0.0) + log(1.0 + exp(-abs(v))); }
    default: { return v; }
  }
}
