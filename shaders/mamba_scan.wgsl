// Mamba2 selective scan (ngroups 1: B and C shared by every head), forward in two forms and backward.
//
//   h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T        y_t = h_t C_t + D x_t        (per sequence and head)
//
// Operands are channel slices of channels-last [seq, T, channels] tensors (the in_proj / conv outputs), read in
// place through (offset, row stride, sequence stride); nothing is copied. Channel ch = head * P + p.
// `reverse` walks step k at time index T-1-k and writes there too: the backward direction of a Bi-Mamba2 layer
// needs no flipped copies. `fused_dt`: dt = softplus(dt_raw + dt_bias[h]) inside the kernel.
// Arithmetic is f32 in every precision mode; states are f32 and saved f32.
//
// Entry points, each compiled with the define naming its group (each group declares its own bindings):
//   FWD_SEQ    scan_sequential   one invocation per (sequence, channel pair), N states per channel in registers
//   SSD_STATE  ssd_chunk_state   chunked form 1/3: each chunk's own end state S_c and its sum s_end of dt A
//                                (chunk_sums[(seq * n_chunks + c) * H + h]), one workgroup per (seq, chunk)
//   SSD_PASS   ssd_state_pass    chunked form 2/3: H_c = exp(s_end) H_{c-1} + S_c, in place: leaves chunk-start states;
//                                one invocation per state element
//   SSD_OUT    ssd_chunk_output  chunked form 3/3: intra-chunk quadratic form + exp(s_t) H_{c-1} C_t + D x_t,
//                                one workgroup per (seq, chunk)
//   (SSD_STATE and SSD_OUT also define SSD_CHUNK: the staging of a chunk in workgroup memory they share.)
//   BWD_DH     bwd_chunk_dh      backward 1/4: dH at each chunk's first step from the chunk alone, and its decays
//   BWD_PASS   bwd_dh_pass       backward 2/4: hands each chunk the dH of everything after it (one invocation per
//                                state element, over the chunks from the last)
//   BWD        scan_backward     backward 3/4: one workgroup per (sequence, chunk), one invocation per channel; walks
//                                the chunk backwards from the dH handed in, recomputing its states from the saved
//                                chunk-start state
//   GRADS      scan_param_grads  backward 4/4: dA, dD, d(dt_bias) from per-(sequence, chunk) partial sums, fixed order
// Saved states: states[((seq * n_chunks + c) * N + n) * CH + ch] = state before step c * chunk (f32). Channel
// fastest: invocations on consecutive channels (every pass here) load and store consecutive words.

struct Params {
  seqs: u32, T: u32, H: u32, P: u32,
  N: u32, CH: u32, chunk: u32, n_chunks: u32,
  reverse: u32, fused_dt: u32, save_states: u32, items: u32,
  x_off: u32, x_row: u32, x_seq: u32,
  b_off: u32, b_row: u32, b_seq: u32,
  c_off: u32, c_row: u32, c_seq: u32,
  dt_off: u32, dt_row: u32, dt_seq: u32,
  y_off: u32, y_row: u32, y_seq: u32,       // y (forward) or dy (backward)
  dx_off: u32, db_off: u32, dc_off: u32, dxbc_row: u32, dxbc_seq: u32,
  ddt_off: u32, ddt_row: u32, ddt_seq: u32, pad0: u32,
}
@group(0) @binding(0) var<uniform> U: Params;

// Pipeline constants: the state size bounds the register loops; chunk and head counts size workgroup arrays.
override N_STATE: u32 = 16u;
override CHUNK: u32 = 16u;
override HEADS: u32 = 16u;
override BWD_WG: u32 = 128u;
// Chunked form: channels per sequence (H*P) sizes the staged x; HEAD_BLOCK (<= PBMAX) channels of one head per
// invocation in the output's intra-chunk sum.
override CHANNELS: u32 = 128u;
override HEAD_BLOCK: u32 = 8u;
const PBMAX: u32 = 8u;
const SSD_WG: u32 = 256u;
// Register capacity of one channel's state (N <= 16) and of one chunk's recomputed states (chunk * N <= 256).
const NMAX: u32 = 16u;
const HIST: u32 = 256u;
const WG: u32 = 64u;

//#if FWD_SEQ
//#tensor 1 x read
//#tensor 2 dt read
//#tensor 3 A read
//#tensor 4 Dskip read
//#tensor 5 dt_bias read
//#tensor 6 y read_write
//#tensor 7 states read_write f32
//#endif
//#if SSD_STATE
//#tensor 1 x read
//#tensor 2 dt read
//#tensor 3 A read
//#tensor 4 dt_bias read
//#tensor 5 states read_write f32
//#tensor 6 chunk_sums read_write f32
//#endif
//#if SSD_PASS
//#tensor 1 chunk_sums read f32
//#tensor 2 states read_write f32
//#endif
//#if SSD_OUT
//#tensor 1 x read
//#tensor 2 dt read
//#tensor 3 A read
//#tensor 4 Dskip read
//#tensor 5 dt_bias read
//#tensor 6 y read_write
//#tensor 7 states read f32
//#endif
//#if BWD
//#tensor 1 x read
//#tensor 2 dt read
//#tensor 3 A read
//#tensor 4 Dskip read
//#tensor 5 dt_bias read
//#tensor 6 dy read
//#tensor 7 states read f32
//#tensor 8 dxbc read_write
//#tensor 9 ddt read_write
//#tensor 10 scratch read_write f32
//#endif
//#if BWD_DH
//#tensor 1 x read
//#tensor 2 dt read
//#tensor 3 A read
//#tensor 4 dt_bias read
//#tensor 5 dy read
//#tensor 6 scratch read_write f32
//#endif
//#if BWD_PASS
//#tensor 1 scratch read_write f32
//#endif
// x, B and C are channel slices of one tensor (the conv output [x | B | C]): one binding serves all three,
// which keeps the backward within 10 storage buffers (browsers offer as few as 8 to 10 per stage).
//#if !GRADS
//#if !SSD_PASS
//#if !BWD_PASS
fn Bm_ld(i: u32) -> act { return x_ld(i); }
fn Cm_ld(i: u32) -> act { return x_ld(i); }
//#endif
//#endif
//#endif
//#if GRADS
//#tensor 1 scratch read f32
//#tensor 2 dA read_write
//#tensor 3 dD read_write
//#tensor 4 ddt_bias read_write
//#endif

fn time_index(k: u32) -> u32 { return select(k, U.T - 1u - k, U.reverse != 0u); }
fn softplus(v: f32) -> f32 { return max(v, 0.0) + log(1.0 + exp(-abs(v))); }
fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
// Element (n, ch) of a chunk's state is at state_index(seq, c, ch) + n * CH.
fn state_index(seq: u32, c: u32, ch: u32) -> u32 { return (seq * U.n_chunks + c) * U.N * U.CH + ch; }
// The backward's f32 scratch, per (seq, chunk): partial sums [3][H] (dA, dD, d(dt_bias)); then decays [2][H] (dt A
// summed over the chunk's steps after its first, and dt A of its first step); then dH entering the chunk from the
// next one [N][CH] (laid out as the states).
fn bwd_dec_off() -> u32 { return U.seqs * U.n_chunks * 3u * U.H; }
fn bwd_dh_off() -> u32 { return U.seqs * U.n_chunks * 5u * U.H; }

//#if !GRADS
//#if !SSD_PASS
//#if !BWD_PASS
// dt_raw at (seq, time index, head); the step is softplus(dt_raw + dt_bias) when fused.
fn dt_raw(seq: u32, t: u32, h: u32) -> f32 {
  let raw = f32(dt_ld(seq * U.dt_seq + t * U.dt_row + U.dt_off + h));
  return select(raw, raw + f32(dt_bias_ld(h)), U.fused_dt != 0u);
}
fn step_dt(seq: u32, t: u32, h: u32) -> f32 {
  let v = dt_raw(seq, t, h);
  return select(v, softplus(v), U.fused_dt != 0u);
}
//#endif
//#endif
//#endif

//#if FWD_SEQ
@compute @workgroup_size(WG) fn scan_sequential(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let item = linear_wg(wid, nwg) * WG + lid;
  if (item >= U.items) { return; }
  let pairs = (U.CH + 1u) / 2u;
  let seq = item / pairs;
  let c0 = 2u * (item % pairs);
  let has1 = c0 + 1u < U.CH;
  let c1 = select(c0, c0 + 1u, has1);
  // The two channels of a pair may belong to two heads when P is odd.
  let h0 = c0 / U.P;
  let h1 = c1 / U.P;
  let a0 = f32(A_ld(h0));
  let a1 = f32(A_ld(h1));
  let d0 = f32(Dskip_ld(h0));
  let d1 = f32(Dskip_ld(h1));
  var s0: array<f32, NMAX>;
  var s1: array<f32, NMAX>;
  for (var k = 0u; k < U.T; k++) {
    let t = time_index(k);
    if (U.save_states != 0u && k % U.chunk == 0u) {
      let i0 = state_index(seq, k / U.chunk, c0);
      let i1 = state_index(seq, k / U.chunk, c1);
      for (var n = 0u; n < N_STATE; n++) { states_st(i0 + n * U.CH, s0[n]); states_st(i1 + n * U.CH, s1[n]); }
    }
    let dt0 = step_dt(seq, t, h0);
    let dt1 = select(dt0, step_dt(seq, t, h1), h1 != h0);
    let xb = seq * U.x_seq + t * U.x_row + U.x_off;
    let x0 = f32(x_ld(xb + c0));
    let x1 = f32(x_ld(xb + c1));
    let e0 = exp(dt0 * a0);
    let e1 = exp(dt1 * a1);
    let u0 = dt0 * x0;
    let u1 = dt1 * x1;
    let bb = seq * U.b_seq + t * U.b_row + U.b_off;
    let cb = seq * U.c_seq + t * U.c_row + U.c_off;
    var y0 = 0.0;
    var y1 = 0.0;
    for (var n = 0u; n < N_STATE; n++) {
      let b = f32(Bm_ld(bb + n));
      let c = f32(Cm_ld(cb + n));
      s0[n] = e0 * s0[n] + u0 * b;
      s1[n] = e1 * s1[n] + u1 * b;
      y0 += s0[n] * c;
      y1 += s1[n] * c;
    }
    y_st2(seq * U.y_seq + t * U.y_row + U.y_off + c0, act(y0 + d0 * x0), act(y1 + d1 * x1), has1);
  }
}
//#endif

//#if SSD_CHUNK
// The chunked passes stage one chunk in workgroup memory once, with coalesced loads (consecutive invocations read
// consecutive channels of a row), and compute from there: x [j][ch], B (C) [j][n], dt and the running sum of dt A
// [j][h] (head fastest: the loops below read one time step across heads or channels without bank conflicts).
var<workgroup> sh_x: array<f32, CHUNK * (CHANNELS + HEADS)>;
var<workgroup> sh_b: array<f32, CHUNK * N_STATE>;
var<workgroup> sh_dt: array<f32, CHUNK * HEADS>;
var<workgroup> sh_cs: array<f32, CHUNK * HEADS>;

// Where x[j][ch] of head h sits in sh_x: rows of CHANNELS + HEADS words, each head's channels one word further
// on than the previous head's. The output's intra-chunk sum reads one step across heads, P words apart: with
// P 8 that would put 16 heads on 4 banks; the skew spreads them.
fn xs(j: u32, ch: u32, h: u32) -> u32 { return j * (CHANNELS + HEADS) + ch + h; }

// x, B and dt of steps [start, start + len) of one sequence into workgroup memory (no barrier: the caller's).
fn stage_chunk(lid: u32, seq: u32, start: u32, len: u32) {
  for (var i = lid; i < len * U.CH; i += SSD_WG) {
    let j = i / U.CH;
    let ch = i % U.CH;
    sh_x[xs(j, ch, ch / U.P)] = f32(x_ld(seq * U.x_seq + time_index(start + j) * U.x_row + U.x_off + ch));
  }
  for (var i = lid; i < len * U.N; i += SSD_WG) {
    sh_b[i] = f32(Bm_ld(seq * U.b_seq + time_index(start + i / U.N) * U.b_row + U.b_off + i % U.N));
  }
  for (var i = lid; i < len * U.H; i += SSD_WG) {
    sh_dt[i] = step_dt(seq, time_index(start + i / U.H), i % U.H);
  }
}

// Running sums of dt A over the chunk for head h (after stage_chunk and a barrier); returns the chunk's total.
fn chunk_cumsum(h: u32, len: u32) -> f32 {
  let a = f32(A_ld(h));
  var s = 0.0;
  for (var j = 0u; j < len; j++) { s += sh_dt[j * HEADS + h] * a; sh_cs[j * HEADS + h] = s; }
  return s;
}
//#endif

//#if SSD_STATE
// S_c[n, ch] = sum over the chunk of exp(s_end - s_tau) dt_tau x_tau[ch] B_tau[n]; s = running sum of dt A inside the chunk.
// One workgroup per (seq, chunk): the weights exp(s_end - s_tau) dt_tau x_tau replace x in place, then one
// invocation per state element (channel fastest: the stores are coalesced).
@compute @workgroup_size(SSD_WG) fn ssd_chunk_state(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  if (w >= U.items) { return; } // uniform per workgroup: the barriers below stay in uniform control flow
  let seq = w / U.n_chunks;
  let c = w % U.n_chunks;
  let start = c * U.chunk;
  let len = min(U.chunk, U.T - start);
  stage_chunk(lid, seq, start, len);
  workgroupBarrier();
  for (var h = lid; h < U.H; h += SSD_WG) { chunk_sums_st((seq * U.n_chunks + c) * U.H + h, chunk_cumsum(h, len)); }
  workgroupBarrier();
  let last = (len - 1u) * HEADS;
  for (var i = lid; i < len * U.CH; i += SSD_WG) {
    let j = i / U.CH;
    let h = (i % U.CH) / U.P;
    sh_x[xs(j, i % U.CH, h)] *= exp(sh_cs[last + h] - sh_cs[j * HEADS + h]) * sh_dt[j * HEADS + h];
  }
  workgroupBarrier();
  let o = state_index(seq, c, 0u);
  for (var i = lid; i < U.N * U.CH; i += SSD_WG) {
    let n = i / U.CH;
    let ch = i % U.CH;
    let x0 = xs(0u, ch, ch / U.P);
    var acc = 0.0;
    for (var j = 0u; j < len; j++) { acc += sh_x[x0 + j * (CHANNELS + HEADS)] * sh_b[j * N_STATE + n]; }
    states_st(o + i, acc);
  }
}
//#endif

//#if SSD_PASS
// One invocation per state element (sequence, n, channel), consecutive invocations on consecutive elements: the
// sequential pass over chunks only (T / chunk steps), each load and store coalesced.
@compute @workgroup_size(WG) fn ssd_state_pass(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let item = linear_wg(wid, nwg) * WG + lid;
  if (item >= U.items) { return; }
  let per = U.N * U.CH;
  let seq = item / per;
  let e = item % per;
  let h = (e % U.CH) / U.P;
  var run = 0.0;
  for (var c = 0u; c < U.n_chunks; c++) {
    // Underflows to 0 for long chunks of strong decay, which is the right limit.
    let decay = exp(chunk_sums_ld((seq * U.n_chunks + c) * U.H + h));
    let o = state_index(seq, c, 0u) + e;
    let own = states_ld(o);
    states_st(o, run);
    run = decay * run + own;
  }
}
//#endif

//#if SSD_OUT
var<workgroup> sh_c: array<f32, CHUNK * N_STATE>;
var<workgroup> sh_cb: array<f32, CHUNK * CHUNK>;

// y_t = sum_{tau <= t} (C_t . B_tau) exp(s_t - s_tau) dt_tau x_tau + exp(s_t) H_{c-1} C_t + D x_t, inside one chunk.
// One workgroup per (seq, chunk), after staging: (1) C_t . B_tau for tau <= t; (2) the intra-chunk sum and the
// skip, one invocation per (t, head, block of HEAD_BLOCK channels) so exp(s_t - s_tau) is taken once per head, the
// sums overwriting x in place (in rounds of SSD_WG items, latest steps first: a round only overwrites steps no
// later round reads); (3) the carried state, one invocation per channel pair holding its states in registers, and
// the coalesced store of y.
@compute @workgroup_size(SSD_WG) fn ssd_chunk_output(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  if (w >= U.items) { return; }
  let seq = w / U.n_chunks;
  let c = w % U.n_chunks;
  let start = c * U.chunk;
  let len = min(U.chunk, U.T - start);
  stage_chunk(lid, seq, start, len);
  for (var i = lid; i < len * U.N; i += SSD_WG) {
    sh_c[i] = f32(Cm_ld(seq * U.c_seq + time_index(start + i / U.N) * U.c_row + U.c_off + i % U.N));
  }
  workgroupBarrier();
  for (var h = lid; h < U.H; h += SSD_WG) { _ = chunk_cumsum(h, len); }
  for (var i = lid; i < len * len; i += SSD_WG) {
    let j = i / len;
    let tau = i % len;
    if (tau <= j) {
      var dot = 0.0;
      for (var n = 0u; n < N_STATE; n++) { dot += sh_c[j * N_STATE + n] * sh_b[tau * N_STATE + n]; }
      sh_cb[j * CHUNK + tau] = dot;
    }
  }
  workgroupBarrier();
  let blocks = (U.P + HEAD_BLOCK - 1u) / HEAD_BLOCK;
  let per_step = U.H * blocks;
  let items = len * per_step;
  for (var base = 0u; base < items; base += SSD_WG) {
    let i = base + lid;
    let live = i < items;
    var acc: array<f32, PBMAX>;
    for (var q = 0u; q < HEAD_BLOCK; q++) { acc[q] = 0.0; }
    var j = 0u;
    var col = 0u;   // where the block's first channel sits in a row of sh_x
    var width = 0u; // channels in the block
    if (live) {
      j = len - 1u - i / per_step;
      let h = (i % per_step) / blocks;
      let p0 = (i % blocks) * HEAD_BLOCK;
      col = xs(0u, h * U.P + p0, h);
      width = min(HEAD_BLOCK, U.P - p0);
      let cs_j = sh_cs[j * HEADS + h];
      for (var tau = 0u; tau <= j; tau++) {
        let l = sh_cb[j * CHUNK + tau] * exp(cs_j - sh_cs[tau * HEADS + h]) * sh_dt[tau * HEADS + h];
        for (var q = 0u; q < HEAD_BLOCK; q++) {
          if (q < width) { acc[q] += l * sh_x[tau * (CHANNELS + HEADS) + col + q]; }
        }
      }
      let dskip = f32(Dskip_ld(h));
      for (var q = 0u; q < HEAD_BLOCK; q++) {
        if (q < width) { acc[q] += dskip * sh_x[j * (CHANNELS + HEADS) + col + q]; }
      }
    }
    workgroupBarrier();
    for (var q = 0u; q < HEAD_BLOCK; q++) {
      if (q < width) { sh_x[j * (CHANNELS + HEADS) + col + q] = acc[q]; }
    }
    workgroupBarrier();
  }
  // Carried state: exp(s_t) H_{c-1} C_t (states hold chunk-start states after the pass). Invocations split into
  // `groups` of `span` channel pairs; a group walks every groups-th step.
  let pairs = (U.CH + 1u) / 2u;
  let span = min(pairs, SSD_WG);
  let groups = SSD_WG / span;
  let g = lid / span;
  if (g >= groups) { return; }
  let o = state_index(seq, c, 0u);
  for (var pr = lid % span; pr < pairs; pr += span) {
    let c0 = 2u * pr;
    let has1 = c0 + 1u < U.CH;
    let c1 = select(c0, c0 + 1u, has1);
    let h0 = c0 / U.P;
    let h1 = c1 / U.P;
    var s0: array<f32, NMAX>;
    var s1: array<f32, NMAX>;
    for (var n = 0u; n < N_STATE; n++) { s0[n] = states_ld(o + n * U.CH + c0); s1[n] = states_ld(o + n * U.CH + c1); }
    for (var j = g; j < len; j += groups) {
      var q0 = 0.0;
      var q1 = 0.0;
      for (var n = 0u; n < N_STATE; n++) {
        let cn = sh_c[j * N_STATE + n];
        q0 += s0[n] * cn;
        q1 += s1[n] * cn;
      }
      let y0 = sh_x[xs(j, c0, h0)] + exp(sh_cs[j * HEADS + h0]) * q0;
      let y1 = sh_x[xs(j, c1, h1)] + exp(sh_cs[j * HEADS + h1]) * q1;
      y_st2(seq * U.y_seq + time_index(start + j) * U.y_row + U.y_off + c0, act(y0), act(y1), has1);
    }
  }
}
//#endif

//#if BWD
// Per step: [dB terms: n * CH + ch] [dC terms: (N + n) * CH + ch] [d(dt) terms: 2N * CH + ch] [dx: (2N + 1) * CH + ch].
var<workgroup> red: array<f32, BWD_WG * (2u * N_STATE + 2u)>;
var<workgroup> sh_dtb: array<f32, HEADS>;
// The current chunk's B, C [j][n], dt (after softplus when fused) and sigmoid(dt_raw + dt_bias) [j][h], staged
// once per chunk (coalesced) instead of loaded by every invocation at every step.
var<workgroup> sh_b: array<f32, CHUNK * N_STATE>;
var<workgroup> sh_c: array<f32, CHUNK * N_STATE>;
var<workgroup> sh_dt: array<f32, CHUNK * HEADS>;
var<workgroup> sh_sig: array<f32, CHUNK * HEADS>;

var<workgroup> part: array<f32, 2u * N_STATE + BWD_WG>;

fn ddt_sum(h: u32) -> f32 {
  var s = 0.0;
  for (var p = 0u; p < U.P; p++) { s += red[2u * U.N * U.CH + h * U.P + p]; }
  return s;
}

// The dB and dC rows (2N rows of CH contributions) are summed in two stages, so that no invocation walks a whole
// row per step: `segments` sums per row over consecutive channel ranges (one invocation each), then the segments
// (in a fixed order both times: deterministic).
fn segments() -> u32 { return max(1u, BWD_WG / (2u * U.N)); }

// Stage 1 of one step's writes: the segment sums, and the d(dt) head pairs and dx channel pairs (those tasks taken
// from the other end of the workgroup, which the segment sums start at).
fn write_step_partial(lid: u32, seq: u32, t: u32, j: u32) {
  let S = segments();
  let L = (U.CH + S - 1u) / S;
  for (var task = lid; task < 2u * U.N * S; task += BWD_WG) {
    let r = task / S;
    let lo = (task % S) * L;
    let hi = min(U.CH, lo + L);
    var v = 0.0;
    for (var ch = lo; ch < hi; ch++) { v += red[r * U.CH + ch]; }
    part[task] = v;
  }
  let hpair = (U.H + 1u) / 2u;
  let cpair = (U.CH + 1u) / 2u;
  let row = seq * U.dxbc_seq + t * U.dxbc_row;
  for (var task = BWD_WG - 1u - lid; task < hpair + cpair; task += BWD_WG) {
    if (task < hpair) {
      let h0 = 2u * task;
      let has1 = h0 + 1u < U.H;
      var g0 = ddt_sum(h0);
      var g1 = 0.0;
      if (has1) { g1 = ddt_sum(h0 + 1u); }
      if (U.fused_dt != 0u) {
        // Through softplus: d(dt_raw) = d(dt) * sigmoid(dt_raw + dt_bias); dt_bias collects the same.
        g0 *= sh_sig[j * HEADS + h0];
        sh_dtb[h0] += g0;
        if (has1) { g1 *= sh_sig[j * HEADS + h0 + 1u]; sh_dtb[h0 + 1u] += g1; }
      }
      ddt_st2(seq * U.ddt_seq + t * U.ddt_row + U.ddt_off + h0, act(g0), act(g1), has1);
    } else {
      let c0 = 2u * (task - hpair);
      let has1 = c0 + 1u < U.CH;
      let base = (2u * U.N + 1u) * U.CH;
      dxbc_st2(row + U.dx_off + c0, act(red[base + c0]), act(select(0.0, red[base + c0 + 1u], has1)), has1);
    }
  }
}

// Stage 2: dB and dC pairs from the segment sums.
// x (dy when `grad`) of channel ch at time index t.
fn xdy_ld(seq: u32, t: u32, ch: u32, grad: bool) -> f32 {
  if (grad) { return f32(dy_ld(seq * U.y_seq + t * U.y_row + U.y_off + ch)); }
  return f32(x_ld(seq * U.x_seq + t * U.x_row + U.x_off + ch));
}

fn write_step_final(lid: u32, seq: u32, t: u32) {
  let S = segments();
  let npair = (U.N + 1u) / 2u;
  let row = seq * U.dxbc_seq + t * U.dxbc_row;
  for (var task = lid; task < 2u * npair; task += BWD_WG) {
    let which = task / npair; // 0: dB, 1: dC
    let n0 = 2u * (task % npair);
    let has1 = n0 + 1u < U.N;
    let r = which * U.N + n0;
    var v0 = 0.0;
    var v1 = 0.0;
    for (var k = 0u; k < S; k++) {
      v0 += part[r * S + k];
      if (has1) { v1 += part[(r + 1u) * S + k]; }
    }
    let off = select(U.db_off, U.dc_off, which == 1u);
    dxbc_st2(row + off + n0, act(v0), act(v1), has1);
  }
}

// Walks t backwards with dH (per channel: N values), per KERNELS.md:
//   dH_t = g_t C_t^T + exp(a_{t+1}) dH_{t+1};  dx_t = dt dH_t B_t + D g_t;  dB_t = dt dH_t^T x_t;  dC_t = h_t^T g_t;
//   d(dt_t) = x_t^T dH_t B_t + A exp(a_t) <dH_t, h_{t-1}>;  dA += dt exp(a_t) <dH_t, h_{t-1}>;  dD += g_t . x_t.
// One workgroup per (sequence, chunk), one invocation per channel: the chunks walk in parallel, each starting from
// the dH its successor hands it (bwd_chunk_dh and bwd_dh_pass before it).
@compute @workgroup_size(BWD_WG) fn scan_backward(@builtin(local_invocation_index) ch: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  if (w >= U.items) { return; }
  let seq = w / U.n_chunks;
  let c = w % U.n_chunks;
  let h = ch / U.P;
  let a_h = f32(A_ld(h));
  let d_h = f32(Dskip_ld(h));
  for (var i = ch; i < U.H; i += BWD_WG) { sh_dtb[i] = 0.0; }
  var hist: array<f32, HIST>;   // states after each step of the current chunk
  var h0: array<f32, NMAX>;     // state at the chunk start
  var dh: array<f32, NMAX>;
  var acc_da = 0.0;
  var acc_dd = 0.0;
  {
    let start = c * U.chunk;
    let len = min(U.chunk, U.T - start);
    // dH at the next chunk's first step, and exp(a) of that step (0 past the last step).
    let din = bwd_dh_off() + state_index(seq, c, ch);
    for (var n = 0u; n < N_STATE; n++) { dh[n] = scratch_ld(din + n * U.CH); }
    var decay_next = 0.0;
    if (c + 1u < U.n_chunks) { decay_next = exp(a_h * step_dt(seq, time_index(start + len), h)); }
    // Every read of the staged arrays for the previous chunk came before its last step's second barrier.
    for (var i = ch; i < len * U.N; i += BWD_WG) {
      let t = time_index(start + i / U.N);
      sh_b[i] = f32(Bm_ld(seq * U.b_seq + t * U.b_row + U.b_off + i % U.N));
      sh_c[i] = f32(Cm_ld(seq * U.c_seq + t * U.c_row + U.c_off + i % U.N));
    }
    for (var i = ch; i < len * U.H; i += BWD_WG) {
      let raw = dt_raw(seq, time_index(start + i / U.H), i % U.H);
      sh_dt[i] = select(raw, softplus(raw), U.fused_dt != 0u);
      sh_sig[i] = sigmoid(raw);
    }
    let so = state_index(seq, c, ch);
    var hs: array<f32, NMAX>;
    for (var n = 0u; n < N_STATE; n++) { h0[n] = states_ld(so + n * U.CH); hs[n] = h0[n]; }
    workgroupBarrier();
    for (var j = 0u; j < len; j++) {
      let t = time_index(start + j);
      let dtv = sh_dt[j * HEADS + h];
      let e = exp(dtv * a_h);
      let u = dtv * f32(x_ld(seq * U.x_seq + t * U.x_row + U.x_off + ch));
      for (var n = 0u; n < N_STATE; n++) {
        hs[n] = e * hs[n] + u * sh_b[j * N_STATE + n];
        hist[j * N_STATE + n] = hs[n];
      }
    }
    // x and dy of the step walked next are loaded a step ahead: their latency overlaps this step's barriers.
    var xv = xdy_ld(seq, time_index(start + len - 1u), ch, false);
    var g = xdy_ld(seq, time_index(start + len - 1u), ch, true);
    // h_t of the step walked (the last recomputed state first); each step reads only h_{t-1} from hist.
    var cur = hs;
    for (var jj = 0u; jj < len; jj++) {
      let j = len - 1u - jj;
      let t = time_index(start + j);
      var x_next = 0.0;
      var g_next = 0.0;
      if (j > 0u) {
        x_next = xdy_ld(seq, time_index(start + j - 1u), ch, false);
        g_next = xdy_ld(seq, time_index(start + j - 1u), ch, true);
      }
      let dtv = sh_dt[j * HEADS + h];
      let e = exp(dtv * a_h);
      var sum_b = 0.0;
      var sum_h = 0.0;
      for (var n = 0u; n < N_STATE; n++) {
        let bn = sh_b[j * N_STATE + n];
        dh[n] = g * sh_c[j * N_STATE + n] + decay_next * dh[n];
        sum_b += dh[n] * bn;
        var prev = h0[n];
        if (j > 0u) { prev = hist[(j - 1u) * N_STATE + n]; }
        sum_h += dh[n] * prev;
        red[n * U.CH + ch] = dtv * dh[n] * xv;
        red[(U.N + n) * U.CH + ch] = cur[n] * g;
        cur[n] = prev;
      }
      red[2u * U.N * U.CH + ch] = xv * sum_b + a_h * e * sum_h;
      red[(2u * U.N + 1u) * U.CH + ch] = dtv * sum_b + d_h * g;
      acc_da += dtv * e * sum_h;
      acc_dd += g * xv;
      decay_next = e;
      workgroupBarrier();
      write_step_partial(ch, seq, t, j);
      workgroupBarrier();
      // No barrier after: the next step writes `red`, all read before the one above, and `part` only after its
      // first barrier, which this stage's reads precede.
      write_step_final(ch, seq, t);
      xv = x_next;
      g = g_next;
    }
  }
  // Per-(sequence, chunk) partial sums per head, reduced over the head's channels in a fixed order.
  red[ch] = acc_da;
  red[U.CH + ch] = acc_dd;
  workgroupBarrier();
  for (var i = ch; i < U.H; i += BWD_WG) {
    var sa = 0.0;
    var sd = 0.0;
    for (var p = 0u; p < U.P; p++) { sa += red[i * U.P + p]; sd += red[U.CH + i * U.P + p]; }
    let o = w * 3u * U.H;
    scratch_st(o + i, sa);
    scratch_st(o + U.H + i, sd);
    scratch_st(o + 2u * U.H + i, sh_dtb[i]);
  }
}
//#endif

//#if BWD_DH
// dH at each chunk's first step from the chunk alone (as if nothing came after it): L_c = sum over the chunk of
// exp(a summed over the steps after its first, up to t) g_t C_t; one workgroup per (sequence, chunk), one invocation per
// channel, no barriers. Also each head's decays: dt A summed over the steps after the first, and dt A of the first.
@compute @workgroup_size(BWD_WG) fn bwd_chunk_dh(@builtin(local_invocation_index) ch: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  if (w >= U.items) { return; }
  let seq = w / U.n_chunks;
  let c = w % U.n_chunks;
  let start = c * U.chunk;
  let len = min(U.chunk, U.T - start);
  let h = ch / U.P;
  let a_h = f32(A_ld(h));
  var dh: array<f32, NMAX>;
  for (var n = 0u; n < N_STATE; n++) { dh[n] = 0.0; }
  var decay_next = 0.0;
  var after_first = 0.0;
  var first = 0.0;
  for (var jj = 0u; jj < len; jj++) {
    let j = len - 1u - jj;
    let t = time_index(start + j);
    let g = f32(dy_ld(seq * U.y_seq + t * U.y_row + U.y_off + ch));
    let cb = seq * U.c_seq + t * U.c_row + U.c_off;
    for (var n = 0u; n < N_STATE; n++) { dh[n] = g * f32(Cm_ld(cb + n)) + decay_next * dh[n]; }
    let da = step_dt(seq, t, h) * a_h;
    decay_next = exp(da);
    if (j > 0u) { after_first += da; } else { first = da; }
  }
  let o = bwd_dh_off() + state_index(seq, c, ch);
  for (var n = 0u; n < N_STATE; n++) { scratch_st(o + n * U.CH, dh[n]); }
  if (ch % U.P == 0u) {
    scratch_st(bwd_dec_off() + w * 2u * U.H + h, after_first);
    scratch_st(bwd_dec_off() + w * 2u * U.H + U.H + h, first);
  }
}
//#endif

//#if BWD_PASS
// One invocation per (sequence, n, channel), over the chunks from the last: D_c = L_c + exp(after_first_c + first_{c+1})
// D_{c+1}, in place, leaving in chunk c's slot the dH its walk starts from, D_{c+1} (0 for the last chunk).
@compute @workgroup_size(WG) fn bwd_dh_pass(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let item = linear_wg(wid, nwg) * WG + lid;
  if (item >= U.items) { return; }
  let per = U.N * U.CH;
  let seq = item / per;
  let e = item % per;
  let h = (e % U.CH) / U.P;
  var run = 0.0;
  for (var cc = 0u; cc < U.n_chunks; cc++) {
    let c = U.n_chunks - 1u - cc;
    let o = bwd_dh_off() + state_index(seq, c, 0u) + e;
    let own = scratch_ld(o);
    scratch_st(o, run);
    var decay = 0.0;
    if (c + 1u < U.n_chunks) {
      let w = seq * U.n_chunks + c;
      decay = exp(scratch_ld(bwd_dec_off() + w * 2u * U.H + h) + scratch_ld(bwd_dec_off() + (w + 1u) * 2u * U.H + U.H + h));
    }
    run = own + decay * run;
  }
}
//#endif

//#if GRADS
// One workgroup per (parameter, head pair): items = 3 * ceil(H / 2). Its invocations sum every WG-th (sequence,
// chunk) partial, then wg_sum2 (shaders/workgroup_sum.wgsl, appended by src/kernels/mamba-scan.ts) sums theirs: a
// fixed order, and seqs x chunks loads in flight across WG invocations instead of one invocation walking them all
// (13 ms a call at the edge stream's 82K partials on an H100).
@compute @workgroup_size(WG) fn scan_param_grads(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let item = linear_wg(wid, nwg);
  if (item >= U.items) { return; }
  let hpair = (U.H + 1u) / 2u;
  let which = item / hpair;
  let h0 = 2u * (item % hpair);
  let has1 = h0 + 1u < U.H;
  var s = vec2<f32>(0.0);
  for (var w = lid; w < U.seqs * U.n_chunks; w += WG) {
    let o = (w * 3u + which) * U.H + h0;
    s.x += scratch_ld(o);
    if (has1) { s.y += scratch_ld(o + 1u); }
  }
  let t = wg_sum2(lid, s);
  if (lid != 0u) { return; }
  if (which == 0u) { dA_st2(h0, act(t.x), act(t.y), has1); }
  else if (which == 1u) { dD_st2(h0, act(t.x), act(t.y), has1); }
  else if (U.fused_dt != 0u) { ddt_bias_st2(h0, act(t.x), act(t.y), has1); }
}
//#endif
