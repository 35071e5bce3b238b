// Activation functions on f32, for kernel epilogues (matmul, conv1d). Included by concatenation in the TS
// module; codes: 0 none, 1 relu, 2 silu, 3 gelu (erf form), 4 softplus.

fn act_erf(v: f32) -> f32 {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf.
  let s = sign(v);
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp(-a * a));
}

fn activate(v: f32, kind: u32) -> f32 {
  switch kind {
    case 1u: { return max(v, 0.0); }
    case 2u: { return v / (1.0 + exp(-v)); }
    case 3u: { return 0.5 * v * (1.0 + act_erf(v * 0.70710678118654752)); }
    case 4u: { return max(v, 0.0) + log(1.0 + exp(-abs(v))); }
    default: { return v; }
  }
}
