/**
 * The reference's per-recording cache file `*_windows.npz`: `windows` (n, 19, L) float32 and `labels` (n, L)
 * float32 (L = 15360: 60 s at 256 Hz). Reading one window touches only that window's bytes in a stored archive.
 */
import { NpzError } from './errors.ts';
import { CHANNEL_COUNT } from './montage.ts';
import { encodeNpz, NpzReader } from './npz.ts';

export interface WindowsShape {
  count: number;
  /** Samples per window (15360 in the reference). */
  length: number;
}

export interface Window {
  /** (19, L) row-major. */
  signal: Float32Array;
  /** (L) per-sample labels. */
  labels: Float32Array;
}

/** Checks the two arrays' dtypes and shapes agree with the format; returns n and L. */
export async function windowsShape(npz: NpzReader): Promise<WindowsShape> {
  for (const name of ['windows', 'labels']) {
    if (!npz.names.includes(name)) throw new NpzError('missing-array', `not a windows npz: no ${JSON.stringify(name)} array (it holds ${npz.names.join(', ') || 'none'})`);
  }
  const w = await npz.header('windows');
  const l = await npz.header('labels');
  if (w.dtype !== 'f4' || l.dtype !== 'f4') throw new NpzError('bad-windows', `windows and labels must be float32, got ${w.dtype} and ${l.dtype}`);
  if (w.shape.length !== 3 || w.shape[1] !== CHANNEL_COUNT) throw new NpzError('bad-windows', `windows has shape (${w.shape}), expected (n, ${CHANNEL_COUNT}, L)`);
  if (l.shape.length !== 2 || l.shape[0] !== w.shape[0] || l.shape[1] !== w.shape[2]) {
    throw new NpzError('bad-windows', `labels has shape (${l.shape}), expected (${w.shape[0]}, ${w.shape[2]}) to match windows (${w.shape})`);
  }
  return { count: w.shape[0], length: w.shape[2] };
}

export async function readWindow(npz: NpzReader, index: number): Promise<Window> {
  const { count } = await windowsShape(npz);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new NpzError('bad-request', `window ${index} does not exist: the file holds ${count}`);
  const signal = (await npz.readRows('windows', index, 1)).data as Float32Array;
  const labels = (await npz.readRows('labels', index, 1)).data as Float32Array;
  return { signal, labels };
}

/** All windows and labels, CRC-checked. */
export async function readAllWindows(npz: NpzReader): Promise<WindowsShape & { windows: Float32Array; labels: Float32Array }> {
  const shape = await windowsShape(npz);
  const windows = (await npz.readArray('windows')).data as Float32Array;
  const labels = (await npz.readArray('labels')).data as Float32Array;
  return { ...shape, windows, labels };
}

export function encodeWindowsNpz(windows: Float32Array, labels: Float32Array, shape: WindowsShape, options: { compress?: boolean } = {}): Uint8Array {
  const { count, length } = shape;
  if (windows.length !== count * CHANNEL_COUNT * length) throw new NpzError('size-mismatch', `windows holds ${windows.length} values, (${count}, ${CHANNEL_COUNT}, ${length}) needs ${count * CHANNEL_COUNT * length}`);
  if (labels.length !== count * length) throw new NpzError('size-mismatch', `labels holds ${labels.length} values, (${count}, ${length}) needs ${count * length}`);
  return encodeNpz(
    { windows: { dtype: 'f4', shape: [count, CHANNEL_COUNT, length], data: windows }, labels: { dtype: 'f4', shape: [count, length], data: labels } },
    options,
  );
}
