// SSGConv propagation over the disjoint batch of B*T small graphs (graph g = b * T + t, E nodes each):
//   Ã = A with A_ii = 1 where A_ii == 0 (added self-loops);  d_i = sum_j Ã_ij;  Â_ij = Ã_ij / sqrt(d_i d_j)
//   z_0 = x,  z_k = Â z_{k-1},  h = alpha x + (1 - alpha) / K * (z_1 + ... + z_K)
// (the linear layer h W + b that follows is a matmul). One workgroup per graph holds Â in workgroup memory and
// walks the features in blocks of FB; every sum has a fixed order: deterministic, no atomics.
// Backward: with gz_K = c dh, gz_{k-1} = Â^T gz_k (+ c dh for k-1 >= 1), dx = alpha dh + Â^T gz_1 and
// G = sum_k gz_k z_{k-1}^T (= dL/dÂ), c = (1 - alpha) / K:
//   dÃ_ij = G_ij / sqrt(d_i d_j) - r_i / (2 d_i),   r_i = sum_l G_il Â_il + sum_l G_li Â_li
// and dA = dÃ, except 0 on an added self-loop (a constant).
// Node features x[b * x_b + i * x_e + t * x_t + f] (f contiguous): (B, E, T, F) as the node stream leaves them,
// or (B*T, E, F); h / dx have x's layout.

struct Params {
  B: u32, T: u32, E: u32, F: u32,
  K: u32, alpha: f32, x_b: u32, x_e: u32,
  x_t: u32, a_row: u32, graphs: u32, pad0: u32,
}
@group(0) @binding(0) var<uniform> U: Params;

const WG: u32 = 64u;
const EMAX: u32 = 32u;
const KMAX: u32 = 4u;
const FB: u32 = 8u;    // features per block (even: a block never splits a packed pair; 14 KiB of workgroup memory)
const BLK: u32 = EMAX * FB;

//#if FWD
//#tensor 1 x read
//#tensor 2 adj read
//#tensor 3 h read_write
//#endif
//#if BWD
//#tensor 1 x read
//#tensor 2 adj read
//#tensor 3 dh read
//#tensor 4 dx read_write
//#tensor 5 dadj read_write
//#endif

var<workgroup> sh_a: array<f32, EMAX * EMAX>;   // Â
var<workgroup> sh_dinv: array<f32, EMAX>;       // 1 / sqrt(d_i)
var<workgroup> sh_added: array<u32, EMAX>;      // 1 where the self-loop was added

fn node_base(g: u32, i: u32) -> u32 {
  return (g / U.T) * U.x_b + i * U.x_e + (g % U.T) * U.x_t;
}

// Â of graph g into sh_a.
fn normalised_adjacency(lid: u32, g: u32) {
  for (var i = lid; i < U.E * U.E; i += WG) {
    let r = i / U.E;
    let c = i % U.E;
    sh_a[r * EMAX + c] = f32(adj_ld((g * U.E + r) * U.a_row + c));
  }
  workgroupBarrier();
  for (var i = lid; i < U.E; i += WG) {
    let added = sh_a[i * EMAX + i] == 0.0;
    if (added) { sh_a[i * EMAX + i] = 1.0; }
    sh_added[i] = select(0u, 1u, added);
    var d = 0.0;
    for (var j = 0u; j < U.E; j++) { d += sh_a[i * EMAX + j]; }
    sh_dinv[i] = inverseSqrt(d);
  }
  workgroupBarrier();
  for (var i = lid; i < U.E * U.E; i += WG) {
    let r = i / U.E;
    let c = i % U.E;
    sh_a[r * EMAX + c] *= sh_dinv[r] * sh_dinv[c];
  }
  workgroupBarrier();
}

// dst[i][f] = sum_j M[i][j] src[j][f] over one block; M = Â, or Â^T when `transpose`.
fn propagate(lid: u32, nf: u32, transpose: bool, src: u32, dst: u32) {
  for (var it = lid; it < U.E * nf; it += WG) {
    let i = it / nf;
    let f = it % nf;
    var s = 0.0;
    for (var j = 0u; j < U.E; j++) {
      let m = select(sh_a[i * EMAX + j], sh_a[j * EMAX + i], transpose);
      s += m * sh_z[src + j * FB + f];
    }
    sh_z[dst + i * FB + f] = s;
  }
}

//#if FWD
var<workgroup> sh_z: array<f32, 2u * BLK>;      // z_{k-1}, z_k (ping-pong)
var<workgroup> sh_h: array<f32, BLK>;

@compute @workgroup_size(WG) fn ssgconv_propagate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = linear_wg(wid, nwg);
  if (g >= U.graphs) { return; }
  normalised_adjacency(lid, g);
  let c = (1.0 - U.alpha) / f32(U.K);
  for (var f0 = 0u; f0 < U.F; f0 += FB) {
    let nf = min(FB, U.F - f0);
    for (var it = lid; it < U.E * nf; it += WG) {
      let i = it / nf;
      let f = it % nf;
      let v = f32(x_ld(node_base(g, i) + f0 + f));
      sh_z[i * FB + f] = v;
      sh_h[i * FB + f] = U.alpha * v;
    }
    workgroupBarrier();
    for (var k = 1u; k <= U.K; k++) {
      let src = ((k - 1u) % 2u) * BLK;
      let dst = (k % 2u) * BLK;
      propagate(lid, nf, false, src, dst);
      workgroupBarrier();
      for (var it = lid; it < U.E * nf; it += WG) {
        let i = it / nf;
        let f = it % nf;
        sh_h[i * FB + f] += c * sh_z[dst + i * FB + f];
      }
      workgroupBarrier();
    }
    let fpairs = (nf + 1u) / 2u;
    for (var it = lid; it < U.E * fpairs; it += WG) {
      let i = it / fpairs;
      let f = 2u * (it % fpairs);
      h_st2(node_base(g, i) + f0 + f, act(sh_h[i * FB + f]), act(sh_h[i * FB + f + 1u]), f + 1u < nf);
    }
    workgroupBarrier();
  }
}
//#endif

//#if BWD
// sh_z: z_0 .. z_{K-1} of the block, then two gz buffers.
var<workgroup> sh_z: array<f32, (KMAX + 2u) * BLK>;
var<workgroup> sh_g: array<f32, EMAX * EMAX>;   // G = dL/dÂ, summed over features
var<workgroup> sh_r: array<f32, EMAX>;

@compute @workgroup_size(WG) fn ssgconv_propagate_bwd(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = linear_wg(wid, nwg);
  if (g >= U.graphs) { return; }
  normalised_adjacency(lid, g);
  for (var i = lid; i < EMAX * EMAX; i += WG) { sh_g[i] = 0.0; }
  let c = (1.0 - U.alpha) / f32(U.K);
  let gz0 = KMAX * BLK;
  for (var f0 = 0u; f0 < U.F; f0 += FB) {
    let nf = min(FB, U.F - f0);
    // Forward recompute: z_0 .. z_{K-1}; gz_K = c dh.
    for (var it = lid; it < U.E * nf; it += WG) {
      let i = it / nf;
      let f = it % nf;
      sh_z[i * FB + f] = f32(x_ld(node_base(g, i) + f0 + f));
      sh_z[gz0 + i * FB + f] = c * f32(dh_ld(node_base(g, i) + f0 + f));
    }
    workgroupBarrier();
    for (var k = 1u; k < U.K; k++) {
      propagate(lid, nf, false, (k - 1u) * BLK, k * BLK);
      workgroupBarrier();
    }
    for (var k = U.K; k >= 1u; k--) {
      let cur = gz0 + ((U.K - k) % 2u) * BLK;   // gz_k
      let nxt = gz0 + ((U.K - k + 1u) % 2u) * BLK;
      // G += gz_k z_{k-1}^T, each entry owned by one invocation.
      for (var it = lid; it < U.E * U.E; it += WG) {
        let i = it / U.E;
        let j = it % U.E;
        var s = 0.0;
        for (var f = 0u; f < nf; f++) { s += sh_z[cur + i * FB + f] * sh_z[(k - 1u) * BLK + j * FB + f]; }
        sh_g[i * EMAX + j] += s;
      }
      propagate(lid, nf, true, cur, nxt);
      workgroupBarrier();
      // gz_{k-1} = Â^T gz_k + c dh (k-1 >= 1), or dx = Â^T gz_1 + alpha dh.
      let w = select(U.alpha, c, k > 1u);
      for (var it = lid; it < U.E * nf; it += WG) {
        let i = it / nf;
        let f = it % nf;
        sh_z[nxt + i * FB + f] += w * f32(dh_ld(node_base(g, i) + f0 + f));
      }
      workgroupBarrier();
    }
    let dxb = gz0 + (U.K % 2u) * BLK;
    let fpairs = (nf + 1u) / 2u;
    for (var it = lid; it < U.E * fpairs; it += WG) {
      let i = it / fpairs;
      let f = 2u * (it % fpairs);
      dx_st2(node_base(g, i) + f0 + f, act(sh_z[dxb + i * FB + f]), act(sh_z[dxb + i * FB + f + 1u]), f + 1u < nf);
    }
    workgroupBarrier();
  }
  for (var i = lid; i < U.E; i += WG) {
    var r = 0.0;
    for (var l = 0u; l < U.E; l++) { r += sh_g[i * EMAX + l] * sh_a[i * EMAX + l] + sh_g[l * EMAX + i] * sh_a[l * EMAX + i]; }
    sh_r[i] = r;
  }
  workgroupBarrier();
  let cpairs = (U.E + 1u) / 2u;
  for (var it = lid; it < U.E * cpairs; it += WG) {
    let i = it / cpairs;
    let j0 = 2u * (it % cpairs);
    var v = array<f32, 2>(0.0, 0.0);
    for (var q = 0u; q < 2u; q++) {
      let j = j0 + q;
      if (j >= U.E) { break; }
      // d_i = 1 / dinv_i^2, so r_i / (2 d_i) = r_i dinv_i^2 / 2.
      var d = sh_g[i * EMAX + j] * sh_dinv[i] * sh_dinv[j] - 0.5 * sh_r[i] * sh_dinv[i] * sh_dinv[i];
      if (i == j && sh_added[i] != 0u) { d = 0.0; }
      v[q] = d;
    }
    dadj_st2((g * U.E + i) * U.a_row + j0, act(v[0]), act(v[1]), j0 + 1u < U.E);
  }
}
//#endif
