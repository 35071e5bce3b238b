// Host <-> GPU byte layouts of tensors in each precision (row padding of f16-storage included).
import { toHalfBits, fromHalfBits } from './half.ts';
import { type Precision, rowStride, tensorBytes } from './precision.ts';

function rowsOf(shape: readonly number[]): { rows: number; inner: number } {
  const inner = shape.length ? shape[shape.length - 1]! : 1;
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i]!;
  return { rows, inner };
}

/** Bytes to upload for logical values `data` (row-major, `shape`). */
export function encodeTensor(data: ArrayLike<number>, shape: readonly number[], p: Precision): ArrayBuffer {
  const { rows, inner } = rowsOf(shape);
  if (data.length !== rows * inner) throw new Error(`encodeTensor: ${data.length} values for shape [${shape.join(', ')}]`);
  const out = new ArrayBuffer(tensorBytes(shape, p));
  if (p === 'f32') {
    new Float32Array(out).set(data);
    return out;
  }
  const halves = new Uint16Array(out);
  const stride = rowStride(inner, p);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < inner; c++) halves[r * stride + c] = toHalfBits(data[r * inner + c]!);
  }
  return out;
}

/** Logical values (row padding dropped) from downloaded bytes. */
export function decodeTensor(bytes: ArrayBuffer, shape: readonly number[], p: Precision): Float64Array {
  const { rows, inner } = rowsOf(shape);
  const out = new Float64Array(rows * inner);
  if (p === 'f32') {
    const f = new Float32Array(bytes, 0, rows * inner);
    out.set(f);
    return out;
  }
  const halves = new Uint16Array(bytes);
  const stride = rowStride(inner, p);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < inner; c++) out[r * inner + c] = fromHalfBits(halves[r * stride + c]!);
  }
  return out;
}
