// The run API's bodies (docs/api.md; the server's pydantic models in backend/ictal_backend/api/schemas.py).
import type { IrDocument } from '../graph/ir.ts';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
/** Statuses that end an event stream (`interrupted` can be resumed, which starts a new stream). */
export const STREAM_END_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export interface TrainSpec {
  /** Exactly one of steps and epochs. */
  steps?: number;
  epochs?: number;
  batch_size: number;
  /** auto (default): f16 on CUDA, f32 on CPU. */
  precision?: 'auto' | 'f32' | 'f16' | 'bf16';
  /** The trainer's other keys (lr, weight_decay, seed, log_every, ...: docs/backend.md). */
  [key: string]: unknown;
}

/** Paths are on the server, inside its data folders. */
export type DataSpec =
  | { kind: 'synthetic'; seed: number; windows?: number; val_windows?: number }
  | { kind: 'npz' | 'cache'; path: string; val_path?: string; val_fraction?: number };

export interface RunRequest {
  graph: IrDocument;
  /** Base64 of a safetensors file with every parameter; omitted: initialised on the server from a seed. */
  weights?: string;
  train: TrainSpec;
  data: DataSpec;
}

export interface RunCreated {
  id: string;
  status: RunStatus;
}

export interface RunInfo {
  id: string;
  status: RunStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  graph: { name: string; ictal_ir: number; nodes: number; params: number };
  train: TrainSpec;
  data: DataSpec;
  init: 'weights' | 'seed';
  /** Per split ("train", "val"): the latest metrics the run reported. */
  metrics: Record<string, Record<string, unknown>>;
  /** Checkpoint names, for artifact(). */
  artifacts: string[];
  error: string | null;
  attempts: number;
  cancel_requested: boolean;
}

export interface Health {
  status: 'ok';
  version: string;
}

/** One event of a run's stream. Log-backed events carry `id` (their line in the run's log). */
export type RunEvent =
  | { kind: 'log'; id?: number; time: number; level: string; message: string }
  | { kind: 'metrics'; id?: number; time: number; step?: number; epoch?: number; [metric: string]: unknown }
  | { kind: 'checkpoint'; id?: number; time: number; name?: string; step?: number; epoch?: number; [key: string]: unknown }
  | { kind: 'heartbeat'; id?: number; time: number; [key: string]: unknown }
  /** A resume cut the log back: events from `first_dropped_id` on (before this one) are withdrawn. */
  | { kind: 'rewind'; id?: number; time: number; first_dropped_id: number; to_step: number; dropped: number; message: string }
  | { kind: 'status'; status: RunStatus; error: string | null }
  | { kind: 'end'; status: RunStatus; error: string | null; metrics: Record<string, Record<string, unknown>> }
  | { kind: 'other'; event: string; id?: number; [key: string]: unknown };
