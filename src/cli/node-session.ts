// The GPU for CLI commands: Dawn in Node.
import { acquireGpu, useNodeGpu, type AcquireOptions, type GpuContext } from '../gpu/device.ts';
import { nodeGpu } from '../gpu/node-gpu.ts';

export async function cliGpu(options: AcquireOptions = {}): Promise<GpuContext> {
  useNodeGpu(nodeGpu);
  return acquireGpu(options);
}
