// safetensors read/write: 8-byte little-endian header length, JSON header, contiguous row-major data.
import { fromHalfBits } from '../gpu/half.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8';
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1 };

export interface StoredTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** The raw little-endian bytes of this tensor (a copy). */
  bytes: Uint8Array;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** A header larger than this is refused as absurd (real headers are kilobytes). */
const MAX_HEADER = 100 * 1024 * 1024;

export function writeSafetensors(tensors: Map<string, { dtype?: SafetensorsDtype; shape: number[]; data: Float32Array | Uint8Array }>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('a tensor may not be named __metadata__');
    const dtype = t.dtype ?? 'F32';
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (bytes.length !== expected) throw new SafetensorsError(`tensor "${name}": ${bytes.length} bytes for ${dtype} shape [${t.shape}] (expected ${expected})`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8); // data starts 8-byte aligned
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const b of parts) { out.set(b, p); p += b.length; }
  return out;
}

export function readSafetensors(file: Uint8Array): { metadata: Record<string, string>; tensors: Map<string, StoredTensor> } {
  if (file.length < 8) throw new SafetensorsError(`file is ${file.length} bytes: too short for the 8-byte header length`);
  const n = new DataView(file.buffer, file.byteOffset, file.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw new SafetensorsError(`header length ${n} is absurd (limit ${MAX_HEADER})`);
  const headerLen = Number(n);
  if (8 + headerLen > file.length) throw new SafetensorsError(`header length ${headerLen} runs past the end of the ${file.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new SafetensorsError('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = file.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, StoredTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new SafetensorsError('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') throw new SafetensorsError(`tensor "${name}": entry is not an object`);
    if (typeof e.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, e.dtype)) throw new SafetensorsError(`tensor "${name}": unsupported dtype ${JSON.stringify(e.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(`tensor "${name}": shape ${JSON.stringify(e.shape)} is not an array of non-negative integers`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) throw new SafetensorsError(`tensor "${name}": data_offsets ${JSON.stringify(off)} is not [begin, end] with 0 <= begin <= end`);
    const [begin, end] = off as [number, number];
    if (end > dataLen) throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] run past the ${dataLen} data bytes`);
    const dtype = e.dtype as SafetensorsDtype;
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) throw new SafetensorsError(`tensor "${name}": ${end - begin} bytes but ${dtype} shape [${shape}] needs ${expected}`);
    spans.push([begin, end, name]);
    tensors.set(name, { dtype, shape, bytes: file.slice(dataStart + begin, dataStart + end) });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cursor = 0;
  for (const [begin, end, name] of spans) {
    if (begin < cursor) throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] overlap another tensor`);
    if (begin > cursor) throw new SafetensorsError(`data bytes ${cursor}..${begin} belong to no tensor (a hole before "${name}")`);
    cursor = end;
  }
  if (cursor !== dataLen) throw new SafetensorsError(`data bytes ${cursor}..${dataLen} belong to no tensor (trailing bytes)`);
  return { metadata, tensors };
}

/** A stored tensor's values as float64 (integers converted; I64 beyond 2^53 loses precision). */
export function tensorValues(t: StoredTensor): Float64Array {
  const b = t.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b.length / DTYPE_BYTES[t.dtype];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'F32': out[i] = dv.getFloat32(4 * i, true); break;
      case 'F64': out[i] = dv.getFloat64(8 * i, true); break;
      case 'F16': out[i] = fromHalfBits(dv.getUint16(2 * i, true)); break;
      case 'BF16': { const f = new DataView(new ArrayBuffer(4)); f.setUint32(0, dv.getUint16(2 * i, true) << 16, true); out[i] = f.getFloat32(0, true); break; }
      case 'I64': out[i] = Number(dv.getBigInt64(8 * i, true)); break;
      case 'I32': out[i] = dv.getInt32(4 * i, true); break;
      case 'U8': out[i] = b[i]!; break;
    }
  }
  return out;
}
