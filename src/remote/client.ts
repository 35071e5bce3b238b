// Typed client of the run API (docs/api.md), fetch-based, for the browser, workers and Node.
import { readServerSentEvents, SseParser } from './sse.ts';
import type { Health, RunCreated, RunEvent, RunInfo, RunRequest, RunStatus } from './types.ts';

/** An answer other than 2xx: `status` is the HTTP status, `detail` the server's reason. */
export class RunApiError extends Error {
  override name = 'RunApiError';
  constructor(readonly status: number, readonly detail: string, readonly path: string) {
    super(`${path}: HTTP ${status}: ${detail}`);
  }
}

export interface RunClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8000 (a path prefix is kept). */
  server: string;
  token: string;
  fetch?: typeof fetch;
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Start after this event id (resume a stream). */
  lastEventId?: number;
  /** Reconnect attempts when the connection drops before the run's end (default 5). */
  reconnects?: number;
  /** Wait between reconnects, ms (default 1000). */
  reconnectDelayMs?: number;
}

const KNOWN_KINDS = new Set(['log', 'metrics', 'checkpoint', 'heartbeat', 'rewind', 'status', 'end']);

export class RunClient {
  private readonly base: string;
  private readonly token: string;
  private readonly fetchFn: typeof fetch;

  constructor(options: RunClientOptions) {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      throw new Error(`server "${options.server}" is not a URL (expected e.g. http://127.0.0.1:8000)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`server "${options.server}": only http and https URLs are supported`);
    if (!options.token) throw new Error('token is empty: the run API needs its bearer token');
    this.base = url.href.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${this.token}`);
    let response: Response;
    try {
      response = await this.fetchFn(this.base + path, { ...init, headers });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach the run API at ${this.base}${path}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if (!response.ok) throw new RunApiError(response.status, await errorDetail(response), path);
    return response;
  }

  private async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await this.request(path, init)).json() as Promise<T>;
  }

  private post<T>(path: string, body?: unknown): Promise<T> {
    return this.json<T>(path, body === undefined ? { method: 'POST' } : { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  }

  health(): Promise<Health> {
    return this.json('/api/health');
  }

  submit(request: RunRequest): Promise<RunCreated> {
    return this.post('/api/runs', request);
  }

  async list(status?: RunStatus): Promise<RunInfo[]> {
    const query = status ? `?status=${encodeURIComponent(status)}` : '';
    return (await this.json<{ runs: RunInfo[] }>(`/api/runs${query}`)).runs;
  }

  get(id: string): Promise<RunInfo> {
    return this.json(`/api/runs/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<RunInfo> {
    return this.post(`/api/runs/${encodeURIComponent(id)}/cancel`);
  }

  resume(id: string): Promise<RunInfo> {
    return this.post(`/api/runs/${encodeURIComponent(id)}/resume`);
  }

  /** A checkpoint's bytes (a safetensors file). */
  async artifact(id: string, name: string): Promise<Uint8Array> {
    const response = await this.request(`/api/runs/${encodeURIComponent(id)}/artifacts/${encodeURIComponent(name)}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** One connection's events, as the server sends them; ends with the stream (normally after `end`). */
  async *events(id: string, options: { signal?: AbortSignal; lastEventId?: number; parser?: SseParser } = {}): AsyncGenerator<RunEvent> {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (options.lastEventId !== undefined) headers['Last-Event-ID'] = String(options.lastEventId);
    const response = await this.request(`/api/runs/${encodeURIComponent(id)}/events`, { headers, signal: options.signal });
    if (!response.body) throw new Error(`/api/runs/${id}/events: the response has no body to stream`);
    for await (const e of readServerSentEvents(response.body, options.parser)) yield toRunEvent(e.event, e.data, e.id);
  }

  /** The run's events until its `end`, reconnecting (from the last event id) if the connection drops. */
  async *follow(id: string, options: FollowOptions = {}): AsyncGenerator<RunEvent> {
    let lastEventId = options.lastEventId;
    let retriesLeft = options.reconnects ?? 5;
    for (;;) {
      const parser = new SseParser();
      try {
        for await (const event of this.events(id, { signal: options.signal, lastEventId, parser })) {
          if ('id' in event && typeof event.id === 'number') lastEventId = event.id;
          yield event;
          if (event.kind === 'end') return;
        }
      } catch (e) {
        if (e instanceof RunApiError || options.signal?.aborted || retriesLeft <= 0) throw e;
      }
      if (retriesLeft-- <= 0) throw new Error(`/api/runs/${id}/events: the stream ended before the run's end event`);
      await new Promise((resolve) => setTimeout(resolve, parser.retryMs ?? options.reconnectDelayMs ?? 1000));
    }
  }
}

function toRunEvent(event: string, data: string, id: string | undefined): RunEvent {
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(data);
    body = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    body = { message: data };
  }
  const numericId = id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
  const { type: _type, ...fields } = body;
  const withId = numericId === undefined ? fields : { ...fields, id: numericId };
  if (KNOWN_KINDS.has(event)) return { kind: event, ...withId } as RunEvent;
  return { kind: 'other', event, ...withId };
}

async function errorDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { detail?: unknown };
    if (typeof body.detail === 'string') return body.detail;
    if (body.detail !== undefined) return JSON.stringify(body.detail);
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 500) || response.statusText;
}

/** Base64 of bytes, for RunRequest.weights (btoa exists in browsers, workers and Node). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
