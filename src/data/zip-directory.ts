/**
 * The central directory of a zip archive (zip64 included, as NumPy's savez writes it), read from the end of a
 * ByteSource: member names, methods, sizes and where each member's data starts. No member data is read here.
 */
import type { ByteSource } from './byte-source.ts';
import { NpzError } from './errors.ts';

export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
const utf8 = new TextDecoder('utf-8');

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function u64(view: DataView, at: number, what: string): number {
  const value = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
  if (!Number.isSafeInteger(value)) throw new NpzError('bad-zip', `${what} ${value} is too large`);
  return value;
}

export async function readZipDirectory(source: ByteSource): Promise<ZipMember[]> {
  const size = source.size;
  if (size < 22) throw new NpzError('truncated', `file is ${size} bytes: too short to be a zip archive (end record alone is 22)`);
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await source.read(size - tailLength, tailLength);
  const tv = viewOf(tail);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD && i + 22 + tv.getUint16(i + 20, true) === tailLength) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new NpzError('bad-zip', 'no zip end-of-central-directory record: not a zip archive, or truncated');
  let entries = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = size - tailLength + eocd - 20;
    if (locator < 0) throw new NpzError('bad-zip', 'zip64 end record expected but the file is too short');
    const lv = viewOf(await source.read(locator, 20));
    if (lv.getUint32(0, true) !== ZIP64_LOCATOR) throw new NpzError('bad-zip', 'zip64 locator missing before the end record');
    const z64 = u64(lv, 8, 'zip64 end record offset');
    if (z64 + 56 > size) throw new NpzError('truncated', `zip64 end record at ${z64} lies past the end of the ${size}-byte file`);
    const zv = viewOf(await source.read(z64, 56));
    if (zv.getUint32(0, true) !== ZIP64_EOCD) throw new NpzError('bad-zip', `no zip64 end record at byte ${z64}`);
    entries = u64(zv, 32, 'zip64 entry count');
    cdSize = u64(zv, 40, 'zip64 central directory size');
    cdOffset = u64(zv, 48, 'zip64 central directory offset');
  }
  if (cdOffset + cdSize > size) throw new NpzError('truncated', `central directory [${cdOffset}, ${cdOffset + cdSize}) lies past the end of the ${size}-byte file`);
  if (entries * 46 > cdSize) throw new NpzError('bad-zip', `${entries} entries cannot fit in a ${cdSize}-byte central directory`);
  const cd = await source.read(cdOffset, cdSize);
  const cv = viewOf(cd);
  const members: ZipMember[] = [];
  let at = 0;
  for (let e = 0; e < entries; e++) {
    if (at + 46 > cdSize || cv.getUint32(at, true) !== CENTRAL) throw new NpzError('bad-zip', `central directory entry ${e} at byte ${cdOffset + at} is damaged`);
    const flags = cv.getUint16(at + 8, true);
    const method = cv.getUint16(at + 10, true);
    const crc = cv.getUint32(at + 16, true);
    let compressedSize = cv.getUint32(at + 20, true);
    let uncompressedSize = cv.getUint32(at + 24, true);
    const nameLength = cv.getUint16(at + 28, true), extraLength = cv.getUint16(at + 30, true), commentLength = cv.getUint16(at + 32, true);
    let localHeaderOffset = cv.getUint32(at + 42, true);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cdSize) throw new NpzError('bad-zip', `central directory entry ${e} runs past the directory`);
    const name = utf8.decode(cd.subarray(at + 46, at + 46 + nameLength));
    // Zip64 extra field: the 64-bit values of exactly the fields that hold 0xFFFFFFFF, in this order.
    let x = at + 46 + nameLength;
    const extraEnd = x + extraLength;
    while (x + 4 <= extraEnd) {
      const id = cv.getUint16(x, true), len = cv.getUint16(x + 2, true);
      if (x + 4 + len > extraEnd) throw new NpzError('bad-zip', `member ${JSON.stringify(name)}: extra field runs past its entry`);
      if (id === 0x0001) {
        let p = x + 4;
        const take = (what: string) => {
          if (p + 8 > x + 4 + len) throw new NpzError('bad-zip', `member ${JSON.stringify(name)}: zip64 field lacks the ${what}`);
          const v = u64(cv, p, `member ${JSON.stringify(name)} ${what}`);
          p += 8;
          return v;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = take('uncompressed size');
        if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('local header offset');
      }
      x += 4 + len;
    }
    if (flags & 1) throw new NpzError('unsupported', `member ${JSON.stringify(name)} is encrypted`);
    if (method !== 0 && method !== 8) throw new NpzError('unsupported', `member ${JSON.stringify(name)} uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    if (method === 0 && compressedSize !== uncompressedSize) throw new NpzError('bad-zip', `stored member ${JSON.stringify(name)} has compressed size ${compressedSize} != uncompressed size ${uncompressedSize}`);
    members.push({ name, method, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
    at = end;
  }
  return members;
}

/** Offset of a member's data: after its local header, whose name and extra lengths may differ from the central one. */
export async function memberDataOffset(source: ByteSource, member: ZipMember): Promise<number> {
  const at = member.localHeaderOffset;
  if (at + 30 > source.size) throw new NpzError('truncated', `member ${JSON.stringify(member.name)}: local header at ${at} lies past the end of the file`);
  const lv = viewOf(await source.read(at, 30));
  if (lv.getUint32(0, true) !== LOCAL) throw new NpzError('bad-zip', `member ${JSON.stringify(member.name)}: no local header at byte ${at}`);
  const start = at + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
  if (start + member.compressedSize > source.size) {
    throw new NpzError('truncated', `member ${JSON.stringify(member.name)}: its ${member.compressedSize} bytes of data run past the end of the ${source.size}-byte file`);
  }
  return start;
}
