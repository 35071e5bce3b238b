// Messages between the kernel test page and its worker.
import type { CaseResult } from '../harness/kernel-harness.ts';

/** Page -> worker: run the registry's cases, at most `perFamily` per family (all when absent). */
export interface KernelRunRequest {
  perFamily?: number;
}

export type KernelRunMessage =
  | { type: 'case'; family: string; result: CaseResult; line: string }
  | { type: 'done'; adapter: string; precisions: string[]; cases: number }
  | { type: 'error'; message: string };

/** What the page exposes as `window.kernelRun` for the test to read. */
export interface KernelRunState {
  finished: boolean;
  results: (CaseResult & { family: string; line: string })[];
  adapter?: string;
  precisions?: string[];
  error?: string;
}
