// Calibration kernels: the two ceilings of this adapter's roofline, always in f32.
// copy:       every invocation moves one vec4 from src to dst (memory bandwidth; 32 bytes moved per invocation).
// fma_chains: every invocation runs CHAINS independent dependent chains of vec4 FMAs for P.iters trips
//             (arithmetic rate; 2 * 4 * CHAINS FLOPs per trip). Independent chains hide each FMA's latency;
//             the multiplier and addend come from the uniform so nothing folds at compile time.

struct Params {
  count: u32,  // copy: vec4 elements; fma_chains: invocations that do work
  iters: u32,  // fma_chains: trips of the FMA loop
  mul: f32,    // fma_chains: a <- a * mul + add; |mul| < 1 keeps every chain bounded (no overflow, no denormals)
  add: f32,
}
@group(0) @binding(0) var<uniform> P: Params;

const WG: u32 = 256u;

@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(WG) fn copy(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_wg(wid, nwg) * WG + lid.x;
  if (i < P.count) { dst[i] = src[i]; }
}

// Written only when the chains sum to -1, which positive seeds, mul and add never do: the store depends on
// every FMA, so no compiler may drop the loop, and the kernel moves no memory worth counting.
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

@compute @workgroup_size(WG) fn fma_chains(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_wg(wid, nwg) * WG + lid.x;
  if (i >= P.count) { return; }
  let s = f32(i & 1023u) * 1e-3;
  let m = vec4<f32>(P.mul);
  let c = vec4<f32>(P.add);
  var a0 = vec4<f32>(s, s + 0.01, s + 0.02, s + 0.03);
  var a1 = a0 + 0.1;
  var a2 = a0 + 0.2;
  var a3 = a0 + 0.3;
  var a4 = a0 + 0.4;
  var a5 = a0 + 0.5;
  var a6 = a0 + 0.6;
  var a7 = a0 + 0.7;
  for (var k = 0u; k < P.iters; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  let v = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
  let total = v.x + v.y + v.z + v.w;
  if (total == -1.0) { sink[0] = total; }
}
