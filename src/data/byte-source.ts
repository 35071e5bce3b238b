/**
 * Random-access bytes: the one thing the streaming readers (EDF, NPZ, NPY) need. A Blob or File works in a
 * browser worker; node-byte-source.ts adds a Node file handle. Readers ask for ranges, never for the whole file.
 */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset`; the caller keeps offset + length <= size. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function bytesSource(input: Uint8Array): ByteSource {
  // A plain view, so that a Node Buffer's subarray/slice semantics never leak out.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return {
    size: bytes.length,
    read: async (offset, length) => checkedRange(bytes.length, offset, length) && bytes.subarray(offset, offset + length),
  };
}

export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    async read(offset, length) {
      checkedRange(blob.size, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

export function checkedRange(size: number, offset: number, length: number): true {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new RangeError(`byte range [${offset}, ${offset + length}) is outside a source of ${size} bytes`);
  }
  return true;
}
