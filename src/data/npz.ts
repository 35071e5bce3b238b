/**
 * NumPy `.npz` archives (a zip of .npy members, stored or deflated), read member by member from a ByteSource.
 * Whole arrays are CRC-checked. `readRows` reads a slice along the first axis: straight from the file for stored
 * members, and by streaming inflation (bounded memory, stopping at the slice's end) for deflated ones.
 */
import { Inflate, zipSync, type Zippable } from 'fflate';
import type { ByteSource } from './byte-source.ts';
import { crc32 } from './crc32.ts';
import { NpyError, NpzError } from './errors.ts';
import { decodeNpy, encodeNpy, npyHeaderLength, NPY_PREFIX_BYTES, parseNpyHeader, typedData, type NpyArray, type NpyHeader } from './npy.ts';
import { memberDataOffset, readZipDirectory, type ZipMember } from './zip-directory.ts';

const CHUNK_BYTES = 1 << 20;
const PUSH_BYTES = 1 << 14;
/** Deflate cannot expand more than ~1032:1; a larger claimed ratio means a damaged directory. */
const MAX_DEFLATE_RATIO = 1100;
/** Whole-array reads above this size must go through readRows. */
const MAX_WHOLE_ARRAY_BYTES = 2 ** 31 - 1;

export class NpzReader {
  private readonly headers = new Map<string, Promise<NpyHeader>>();

  private constructor(
    readonly source: ByteSource,
    private readonly members: Map<string, ZipMember>,
  ) {}

  static async open(source: ByteSource): Promise<NpzReader> {
    const members = new Map<string, ZipMember>();
    for (const m of await readZipDirectory(source)) {
      if (!m.name.endsWith('.npy')) continue; // np.load ignores non-.npy members too
      if (m.method === 8 && m.uncompressedSize > Math.max(1024, m.compressedSize * MAX_DEFLATE_RATIO)) {
        throw new NpzError('bad-zip', `member ${JSON.stringify(m.name)} claims ${m.uncompressedSize} bytes from ${m.compressedSize} compressed: impossible for deflate`);
      }
      members.set(m.name.slice(0, -4), m);
    }
    return new NpzReader(source, members);
  }

  /** Array names (member names without ".npy"). */
  get names(): string[] {
    return [...this.members.keys()];
  }

  /** The array's dtype and shape, from its .npy header alone. */
  header(name: string): Promise<NpyHeader> {
    let h = this.headers.get(name);
    if (!h) {
      h = this.readHeader(name);
      this.headers.set(name, h);
    }
    return h;
  }

  async readArray(name: string): Promise<NpyArray> {
    const member = this.member(name);
    if (member.uncompressedSize > MAX_WHOLE_ARRAY_BYTES) throw new NpzError('too-large', `array ${JSON.stringify(name)} is ${member.uncompressedSize} bytes: read it in slices with readRows`);
    const bytes = await this.memberBytes(member, 0, member.uncompressedSize);
    const crc = crc32(bytes);
    if (crc !== member.crc32) throw new NpzError('crc', `array ${JSON.stringify(name)}: CRC-32 ${hex(crc)} does not match the archive's ${hex(member.crc32)}: the data is damaged`);
    return asNpzErrors(() => decodeNpy(bytes, `npz member ${JSON.stringify(member.name)}`));
  }

  /** Rows [first, first + count) along axis 0 (for `windows` (n, 19, L): whole windows). Not CRC-checked. */
  async readRows(name: string, first: number, count: number): Promise<NpyArray> {
    const member = this.member(name);
    const h = await this.header(name);
    if (h.shape.length === 0) throw new NpzError('bad-request', `array ${JSON.stringify(name)} is a scalar: it has no rows`);
    const rows = h.shape[0];
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 0 || first + count > rows) {
      throw new NpzError('bad-request', `rows [${first}, ${first + count}) of ${JSON.stringify(name)} are outside its ${rows} rows`);
    }
    const rowBytes = rows === 0 ? 0 : h.dataBytes / rows;
    const from = h.dataOffset + first * rowBytes;
    const bytes = await this.memberBytes(member, from, from + count * rowBytes);
    return { dtype: h.dtype, shape: [count, ...h.shape.slice(1)], data: typedData(h.dtype, bytes) };
  }

  private member(name: string): ZipMember {
    const m = this.members.get(name);
    if (!m) throw new NpzError('missing-array', `no array ${JSON.stringify(name)} in this npz (it holds ${this.names.map((n) => JSON.stringify(n)).join(', ') || 'none'})`);
    return m;
  }

  private async readHeader(name: string): Promise<NpyHeader> {
    const member = this.member(name);
    const where = `npz member ${JSON.stringify(member.name)}`;
    const prefix = await this.memberBytes(member, 0, Math.min(NPY_PREFIX_BYTES, member.uncompressedSize));
    const length = asNpzErrors(() => npyHeaderLength(prefix, where));
    if (length > member.uncompressedSize) throw new NpzError('truncated', `${where}: .npy header of ${length} bytes is longer than the member (${member.uncompressedSize})`);
    const headerBytes = await this.memberBytes(member, 0, length);
    const header = asNpzErrors(() => parseNpyHeader(headerBytes, where));
    if (header.dataOffset + header.dataBytes !== member.uncompressedSize) {
      throw new NpzError('size-mismatch', `${where}: shape (${header.shape}) of ${header.dtype} needs ${header.dataOffset + header.dataBytes} bytes, the member holds ${member.uncompressedSize}`);
    }
    return header;
  }

  /** Uncompressed bytes [from, to) of a member. */
  private async memberBytes(member: ZipMember, from: number, to: number): Promise<Uint8Array> {
    const start = await memberDataOffset(this.source, member);
    if (to > member.uncompressedSize) throw new NpzError('truncated', `member ${JSON.stringify(member.name)} holds ${member.uncompressedSize} bytes, ${to} needed`);
    if (member.method === 0) return this.source.read(start + from, to - from);
    return this.inflateRange(member, start, from, to);
  }

  private async inflateRange(member: ZipMember, start: number, from: number, to: number): Promise<Uint8Array> {
    const out = new Uint8Array(to - from);
    let produced = 0;
    const inflater = new Inflate((chunk) => {
      const lo = Math.max(from, produced), hi = Math.min(to, produced + chunk.length);
      if (hi > lo) out.set(chunk.subarray(lo - produced, hi - produced), lo - from);
      produced += chunk.length;
    });
    try {
      // Read in large blocks, inflate in small pushes: a header or an early window stops after a few KiB.
      for (let at = 0; at < member.compressedSize && produced < to; at += CHUNK_BYTES) {
        const block = await this.source.read(start + at, Math.min(CHUNK_BYTES, member.compressedSize - at));
        for (let p = 0; p < block.length && produced < to; p += PUSH_BYTES) {
          const end = Math.min(block.length, p + PUSH_BYTES);
          inflater.push(block.subarray(p, end), at + end >= member.compressedSize);
        }
      }
    } catch (e) {
      if (e instanceof NpzError) throw e;
      throw new NpzError('bad-deflate', `member ${JSON.stringify(member.name)}: deflate data is damaged (${(e as Error).message})`);
    }
    if (produced < to) throw new NpzError('truncated', `member ${JSON.stringify(member.name)}: deflate stream ended after ${produced} bytes, ${to} needed`);
    return out;
  }
}

/** npy errors inside an npz surface as NpzError, so callers catch one class per format. */
function asNpzErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof NpyError ? new NpzError(e.code, e.message) : e;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** An npz of the given arrays, deflated (`compress`, like np.savez_compressed) or stored (like np.savez). */
export function encodeNpz(arrays: Record<string, NpyArray>, options: { compress?: boolean } = {}): Uint8Array {
  const files: Zippable = {};
  for (const [name, array] of Object.entries(arrays)) files[`${name}.npy`] = [encodeNpy(array), { level: options.compress ? 6 : 0 }];
  // A fixed time stamp: the same arrays give the same bytes.
  return zipSync(files, { mtime: new Date(Date.UTC(2000, 0, 1)) });
}
