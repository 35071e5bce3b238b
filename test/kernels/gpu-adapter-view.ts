// A compute session as a GPU adapter would be seen on a CPU adapter (CI's lavapipe): the same device, with
// `cpuAdapter` off, so kernels that pick a variant for GPUs take it here too and run against their references.
import type { ComputeSession } from '../../src/gpu/session.ts';

export function asGpuAdapter(s: ComputeSession): ComputeSession {
  const view = Object.create(s) as ComputeSession;
  Object.defineProperty(view, 'gpu', { value: { ...s.gpu, info: { ...s.gpu.info, cpuAdapter: false } } });
  // Recording state lives on the session itself: the view must not grow an encoder of its own.
  view.dispatch = (spec) => s.dispatch(spec);
  view.scratch = (shape, precision, label) => s.scratch(shape, precision, label);
  return view;
}
