// Column reductions: sum, mean or max over an axis that is not the innermost one. The input is viewed as
// [outer, n, inner] with inner = r_inner stored rows of `len` elements (`stride` apart); the output keeps the
// input's rows, so output row `orow` = (o, r) sums input rows (o, k, r) for k < n, all `r_inner * stride` apart.
//
// Why it is shaped like this: an invocation walking down a column waits a whole memory latency per row, and
// the old kernel (one invocation per output pair, 8 bytes a row) reached 0.4 - 3.5 % of the copy roofline on an
// H200. Here:
// - an invocation owns a group of V adjacent columns and loads them in one 16-byte vector (V = 4 in f32, 8
//   halves in the f16 modes) where the stored rows allow it (VEC), else a pair of elements per load;
// - a workgroup is TX column groups x TY row slices: a subgroup of 32 reads 512 contiguous bytes of one row,
//   the slices walk interleaved rows of the workgroup's tile, 4 rows in flight per invocation (unrolled);
// - the slices combine in workgroup memory, and each tile of rows writes one f32 partial per column
//   (COLS_PARTIAL), which a second dispatch of the same kernel sums over the tiles (COLS_FINAL). With one tile
//   the first pass writes the output itself (COLS_DIRECT).
// No atomics: the order of every sum is fixed by the shapes, so the same input gives the same bits.
//
// Partial layout (f32): [tiles, out_rows, pw] with pw = len rounded up to 8, so its size does not depend on V
// (reducePlan in src/kernels/reduce.ts sizes it without knowing the precision).
//
// Variants (defines): COLS_DIRECT x -> y, COLS_PARTIAL x -> partial, COLS_FINAL partial -> y; VEC with the
// first two reads x as 16-byte vectors (stride divisible by V), and with COLS_FINAL says which V pass 1 used.

struct Params {
  groups: u32,     // column groups of this pass: out_rows x gpr
  gpr: u32,        // groups per row: ceil(len / V)
  r_inner: u32,    // stored rows in the inner extent
  stride: u32,     // stored row length of x and y
  len: u32,        // logical row length of x and y
  n: u32,          // the reduced extent of x
  rows: u32,       // rows this pass sums: n, or the number of tiles in COLS_FINAL
  tile_rows: u32,  // rows per tile (COLS_FINAL: one tile of every row)
  col_wgs: u32,    // workgroups across the column groups: ceil(groups / TX)
  op: u32,         // 0 sum, 1 mean, 2 max
  pw: u32,         // partial row width: len rounded up to 8
  out_rows: u32,   // output rows: outer x r_inner
  scale: f32,      // applied to the result: 1/n for mean, else 1
}
@group(0) @binding(0) var<uniform> P: Params;

//#if VEC
//#if F32
const V: u32 = 4u;
//#else
const V: u32 = 8u;
//#endif
//#else
const V: u32 = 2u;
//#endif

//#if COLS_FINAL
//#tensor 1 src read f32
//#else
//#if VEC
//#if F32
@group(0) @binding(1) var<storage, read> xv: array<vec4<f32>>;
//#else
// Both f16 modes store element e at byte 2e, so raw words unpack the same way (no f16 arithmetic needed).
@group(0) @binding(1) var<storage, read> xv: array<vec4<u32>>;
//#endif
//#else
//#tensor 1 x read
//#endif
//#endif
//#if COLS_PARTIAL
//#tensor 2 partial read_write f32
//#else
//#tensor 2 y read_write
//#endif

const TX: u32 = 32u;
const TY: u32 = 8u;
const LOWEST: f32 = -3.4028234e38;

// Up to 8 lanes of one column group; lanes at or past V are never stored.
struct Lanes { lo: vec4<f32>, hi: vec4<f32> }

fn identity() -> f32 { return select(0.0, LOWEST, P.op == 2u); }
fn combine(a: Lanes, b: Lanes) -> Lanes {
  if (P.op == 2u) { return Lanes(max(a.lo, b.lo), max(a.hi, b.hi)); }
  return Lanes(a.lo + b.lo, a.hi + b.hi);
}

// V lanes starting at element e (a multiple of V); `has2`: the second element of a pair exists.
fn load(e: u32, has2: bool) -> Lanes {
  let id = identity();
//#if COLS_FINAL
  var r = Lanes(vec4<f32>(id), vec4<f32>(id));
  r.lo.x = src_ld(e);
  r.lo.y = src_ld(e + 1u);
  if (V > 2u) { r.lo.z = src_ld(e + 2u); r.lo.w = src_ld(e + 3u); }
  if (V > 4u) { r.hi = vec4<f32>(src_ld(e + 4u), src_ld(e + 5u), src_ld(e + 6u), src_ld(e + 7u)); }
  return r;
//#else
//#if VEC
//#if F32
  return Lanes(xv[e >> 2u], vec4<f32>(id));
//#else
  let w = xv[e >> 3u];
  return Lanes(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)));
//#endif
//#else
  // The element after a row's end is not read: it may lie past the buffer's end.
  let b = select(id, f32(x_ld(e + 1u)), has2);
  return Lanes(vec4<f32>(f32(x_ld(e)), b, id, id), vec4<f32>(id));
//#endif
//#endif
}

//#if !COLS_PARTIAL
fn store_pair(at: u32, c: u32, a: f32, b: f32) {
  if (c < P.len) { y_st2(at, act(a * P.scale), act(b * P.scale), c + 1u < P.len); }
}
//#endif

var<workgroup> sh_lo: array<vec4<f32>, 256>;
var<workgroup> sh_hi: array<vec4<f32>, 256>;

@compute @workgroup_size(TX, TY) fn reduce_cols(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let w = linear_wg(wid, nwg);
  let t = w / P.col_wgs;                  // tile of rows
  let g = (w % P.col_wgs) * TX + lid.x;   // column group
  let orow = g / P.gpr;
  let c0 = (g % P.gpr) * V;
  let live = g < P.groups && t * P.tile_rows < P.rows;
  let id = identity();
  var a = Lanes(vec4<f32>(id), vec4<f32>(id));
  if (live) {
//#if COLS_FINAL
    let base = orow * P.pw + c0;
    let step = P.out_rows * P.pw;
//#else
    let base = ((orow / P.r_inner) * P.n * P.r_inner + orow % P.r_inner) * P.stride + c0;
    let step = P.r_inner * P.stride;
//#endif
    let has2 = c0 + 1u < P.len;
    let end = min(P.rows, (t + 1u) * P.tile_rows);
    var k = t * P.tile_rows + lid.y;
    // Four rows loaded before any is added: four loads in flight per invocation.
    for (; k + 3u * TY < end; k += 4u * TY) {
      let l0 = load(base + k * step, has2);
      let l1 = load(base + (k + TY) * step, has2);
      let l2 = load(base + (k + 2u * TY) * step, has2);
      let l3 = load(base + (k + 3u * TY) * step, has2);
      a = combine(a, combine(combine(l0, l1), combine(l2, l3)));
    }
    for (; k < end; k += TY) { a = combine(a, load(base + k * step, has2)); }
  }
  let me = lid.y * TX + lid.x;
  sh_lo[me] = a.lo;
  sh_hi[me] = a.hi;
  for (var st = TY / 2u; st > 0u; st >>= 1u) {
    workgroupBarrier();
    if (lid.y < st) {
      let r = combine(Lanes(sh_lo[me], sh_hi[me]), Lanes(sh_lo[me + st * TX], sh_hi[me + st * TX]));
      sh_lo[me] = r.lo;
      sh_hi[me] = r.hi;
    }
  }
  if (lid.y != 0u || !live) { return; }
  let r = Lanes(sh_lo[me], sh_hi[me]);
//#if COLS_PARTIAL
  let at = (t * P.out_rows + orow) * P.pw + c0;
  partial_st(at, r.lo.x);
  partial_st(at + 1u, r.lo.y);
  if (V > 2u) { partial_st(at + 2u, r.lo.z); partial_st(at + 3u, r.lo.w); }
  if (V > 4u) { partial_st(at + 4u, r.hi.x); partial_st(at + 5u, r.hi.y); partial_st(at + 6u, r.hi.z); partial_st(at + 7u, r.hi.w); }
//#else
  let at = orow * P.stride + c0;
  store_pair(at, c0, r.lo.x, r.lo.y);
  if (V > 2u) { store_pair(at + 2u, c0 + 2u, r.lo.z, r.lo.w); }
  if (V > 4u) { store_pair(at + 4u, c0 + 4u, r.hi.x, r.hi.y); store_pair(at + 6u, c0 + 6u, r.hi.z, r.hi.w); }
//#endif
}
