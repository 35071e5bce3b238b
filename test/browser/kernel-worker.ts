// The kernel cases in a browser Web Worker, with the same harness and cases as the Node suites: every case of
// the registry (or a spread subset) in f32 and f16-storage, plus f16 where the adapter has shader-f16.
import { acquireGpu } from '../../src/gpu/device.ts';
import { ComputeSession } from '../../src/gpu/session.ts';
import type { Precision } from '../../src/gpu/precision.ts';
import { TOLERANCE, describeResult, runKernelCase } from '../harness/kernel-harness.ts';
import { selectCases } from '../kernels/cases/index.ts';
import type { KernelRunMessage, KernelRunRequest } from './kernel-protocol.ts';

const post = (m: KernelRunMessage) => postMessage(m);

addEventListener('message', async (e: MessageEvent<KernelRunRequest>) => {
  try {
    const gpu = await acquireGpu();
    let session = new ComputeSession(gpu);
    const precisions: Precision[] = ['f32', 'f16-storage'];
    if (gpu.has('shader-f16')) precisions.push('f16');
    const cases = selectCases(e.data.perFamily ?? Infinity);
    for (const precision of precisions) {
      for (const { family, case: c } of cases) {
        try {
          const result = await runKernelCase(session, c, precision);
          post({ type: 'case', family, result, line: describeResult(result) });
        } catch (err) {
          // A case that throws (a pipeline this browser refuses, say) fails alone; the others still run.
          const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          const result = { name: c.name, precision, seed: NaN, tolerance: TOLERANCE[precision], errors: {}, pass: false };
          post({ type: 'case', family, result, line: `FAIL ${c.name} (${precision}): threw ${why}` });
          // The thrown case may have left recorded commands on buffers it released: a new session drops them.
          session = new ComputeSession(gpu);
        }
      }
    }
    const i = gpu.info;
    post({ type: 'done', adapter: i.description || [i.vendor, i.architecture].filter(Boolean).join(' '), precisions, cases: cases.length });
    session.destroy();
    gpu.device.destroy();
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
});
