/**
 * NumPy `.npy` arrays (format versions 1.0, 2.0 and 3.0), little-endian, C order. The header is parsed on its
 * own (parseNpyHeader) so that callers can read a slice of the data by byte range without loading the rest.
 * float16 data is kept as raw half bits (Uint16Array); halfToFloat32 widens it.
 */
import { NpyError } from './errors.ts';
import { fromHalfBits, toHalfBits } from '../gpu/half.ts';

export type NpyDtype = 'f2' | 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'u1' | 'u2' | 'u4' | 'b1';

export type NpyData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** Row-major values; 'f2' as raw IEEE half bits, 'b1' as 0/1 bytes. */
  data: NpyData;
}

export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  /** Byte offset of the first element from the start of the .npy bytes. */
  dataOffset: number;
  itemSize: number;
  /** Bytes of data the shape calls for. */
  dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
export const NPY_PREFIX_BYTES = 12; // enough to learn the header length of any version
const MAX_HEADER_BYTES = 1 << 20;
const ITEM_SIZE: Record<NpyDtype, number> = { f2: 2, f4: 4, f8: 8, i1: 1, i2: 2, i4: 4, u1: 1, u2: 2, u4: 4, b1: 1 };
const latin1 = new TextDecoder('latin1');

/** Total header length (prefix included) from the first bytes; needs 10 bytes for v1, 12 for v2/v3. */
export function npyHeaderLength(bytes: Uint8Array, where = 'npy'): number {
  if (bytes.length < 10) throw new NpyError('truncated', `${where}: ${bytes.length} bytes, too short for the .npy magic and header length`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new NpyError('bad-magic', `${where}: does not start with the .npy magic "\\x93NUMPY"`);
  const major = bytes[6];
  if (major === 1) return 10 + (bytes[8] | (bytes[9] << 8));
  if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError('truncated', `${where}: ${bytes.length} bytes, too short for a version ${major} header length`);
    const n = new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0, true);
    if (n > MAX_HEADER_BYTES) throw new NpyError('bad-header', `${where}: header length ${n} is implausibly large`);
    return 12 + n;
  }
  throw new NpyError('bad-version', `${where}: format version ${major}.${bytes[7]} is not 1, 2 or 3`);
}

/** Parses the header; `bytes` holds at least npyHeaderLength(bytes) bytes. */
export function parseNpyHeader(bytes: Uint8Array, where = 'npy'): NpyHeader {
  const dataOffset = npyHeaderLength(bytes, where);
  if (bytes.length < dataOffset) throw new NpyError('truncated', `${where}: header needs ${dataOffset} bytes, got ${bytes.length}`);
  const text = latin1.decode(bytes.subarray(bytes[6] === 1 ? 10 : 12, dataOffset)).trim();
  if (!text.startsWith('{') || !text.endsWith('}')) throw new NpyError('bad-header', `${where}: header ${JSON.stringify(text.slice(0, 80))} is not a Python dict`);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyError('bad-header', `${where}: header ${JSON.stringify(text.slice(0, 120))} lacks 'descr', 'fortran_order' or 'shape'`);
  }
  const dtype = parseDescr(descr, where);
  const parts = shapeText.split(',').map((s) => s.trim());
  if (parts[parts.length - 1] === '') parts.pop();
  if (!parts.every((p) => /^\d+$/.test(p))) throw new NpyError('bad-header', `${where}: shape (${shapeText}) is not a tuple of non-negative integers`);
  const shape = parts.map(Number);
  if (fortran === 'True' && shape.filter((d) => d > 1).length > 1) throw new NpyError('unsupported', `${where}: Fortran-ordered arrays are not supported (shape ${shape})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = ITEM_SIZE[dtype];
  if (!Number.isSafeInteger(count * itemSize)) throw new NpyError('bad-header', `${where}: shape (${shape}) is too large`);
  return { dtype, shape, dataOffset, itemSize, dataBytes: count * itemSize };
}

function parseDescr(descr: string, where: string): NpyDtype {
  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const dtype = m ? `${m[2]}${m[3]}` : '';
  if (!m || !(dtype in ITEM_SIZE)) throw new NpyError('unsupported', `${where}: dtype ${JSON.stringify(descr)} is not supported (f2, f4, f8, i1, i2, i4, u1, u2, u4, b1)`);
  if (m[1] === '>' && ITEM_SIZE[dtype as NpyDtype] > 1) throw new NpyError('unsupported', `${where}: big-endian dtype ${JSON.stringify(descr)} is not supported`);
  return dtype as NpyDtype;
}

/** A typed array over a copy of `bytes` (copied so that it is aligned and owns its memory). */
export function typedData(dtype: NpyDtype, bytes: Uint8Array): NpyData {
  // new Uint8Array(x) copies; x.slice() would not for a Node Buffer.
  const buffer = new Uint8Array(bytes).buffer;
  switch (dtype) {
    case 'f2': case 'u2': return new Uint16Array(buffer);
    case 'f4': return new Float32Array(buffer);
    case 'f8': return new Float64Array(buffer);
    case 'i1': return new Int8Array(buffer);
    case 'i2': return new Int16Array(buffer);
    case 'i4': return new Int32Array(buffer);
    case 'u1': case 'b1': return new Uint8Array(buffer);
    case 'u4': return new Uint32Array(buffer);
  }
}

export function decodeNpy(bytes: Uint8Array, where = 'npy'): NpyArray {
  const header = parseNpyHeader(bytes, where);
  const available = bytes.length - header.dataOffset;
  if (available !== header.dataBytes) {
    throw new NpyError(available < header.dataBytes ? 'truncated' : 'size-mismatch', `${where}: shape (${header.shape}) of ${header.dtype} needs ${header.dataBytes} data bytes, the file holds ${available}`);
  }
  return { dtype: header.dtype, shape: header.shape, data: typedData(header.dtype, bytes.subarray(header.dataOffset)) };
}

const DTYPE_OF: Array<[new (...a: never[]) => NpyData, NpyDtype]> = [
  [Float32Array, 'f4'], [Float64Array, 'f8'], [Int8Array, 'i1'], [Int16Array, 'i2'], [Int32Array, 'i4'],
  [Uint8Array, 'u1'], [Uint16Array, 'u2'], [Uint32Array, 'u4'],
];

/** The dtype a typed array is written as (Uint16Array as 'u2': pass dtype 'f2' explicitly for halves). */
export function dtypeOf(data: NpyData): NpyDtype {
  return DTYPE_OF.find(([ctor]) => data instanceof ctor)![1];
}

/** Encodes a version 1.0 .npy with the header padded to a multiple of 64 bytes, as NumPy writes it. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== count) throw new NpyError('size-mismatch', `data holds ${array.data.length} values, shape (${array.shape}) needs ${count}`);
  const descr = array.dtype === 'b1' ? '|b1' : ITEM_SIZE[array.dtype] === 1 ? `|${array.dtype}` : `<${array.dtype}`;
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  if (dict.length > 0xffff) throw new NpyError('bad-header', `shape (${array.shape}) gives a header too long for format 1.0`);
  const data = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  const out = new Uint8Array(total + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  out.set(data, total);
  return out;
}

export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromHalfBits(bits[i]);
  return out;
}

export function float32ToHalf(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalfBits(values[i]);
  return out;
}
