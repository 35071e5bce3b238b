/** No WebGPU on this host: the message says what is missing and how to get it. */
export class NoWebGpuError extends Error {
  override name = 'NoWebGpuError';
}

/** A validation or out-of-memory error caught by an error scope, naming the operation that raised it. */
export class GpuOperationError extends Error {
  override name = 'GpuOperationError';
  constructor(
    readonly operation: string,
    readonly kind: 'validation' | 'out-of-memory' | 'internal',
    message: string,
  ) {
    super(`${operation}: ${kind} error: ${message}`);
  }
}

/**
 * Runs fn inside out-of-memory, validation and internal error scopes and throws the first error raised.
 * Scopes are popped in reverse order of pushing; all three are always popped.
 */
export async function withErrorScopes<T>(device: GPUDevice, operation: string, fn: () => T): Promise<T> {
  device.pushErrorScope('internal');
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let result: T;
  try {
    result = fn();
  } finally {
    const oom = await device.popErrorScope();
    const validation = await device.popErrorScope();
    const internal = await device.popErrorScope();
    if (oom) throw new GpuOperationError(operation, 'out-of-memory', oom.message);
    if (validation) throw new GpuOperationError(operation, 'validation', validation.message);
    if (internal) throw new GpuOperationError(operation, 'internal', internal.message);
  }
  return result;
}
