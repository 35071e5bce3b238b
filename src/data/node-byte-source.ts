// A ByteSource over a Node file handle: the CLI and Node tests read EDF/NPZ files range by range, like the worker
// does with a Blob. Node-only (imports node:fs), so browser code must not import this module.
import { open, type FileHandle } from 'node:fs/promises';
import { checkedRange, type ByteSource } from './byte-source.ts';

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

export async function fileHandleSource(handle: FileHandle): Promise<ByteSource> {
  const { size } = await handle.stat();
  return {
    size,
    async read(offset, length) {
      checkedRange(size, offset, length);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new RangeError(`file shrank while reading: got ${offset + done} of ${offset + length} bytes`);
        done += bytesRead;
      }
      return out;
    },
  };
}

/** Opens a file for range reads; the caller closes it. */
export async function openFileSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  try {
    const source = await fileHandleSource(handle);
    return { ...source, size: source.size, read: source.read, close: () => handle.close() };
  } catch (e) {
    await handle.close();
    throw e;
  }
}
