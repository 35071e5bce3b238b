// Server-sent events parsed from a fetch body, per the WHATWG event-stream format. Works wherever fetch
// returns a ReadableStream (browsers, workers, Node 18+); EventSource is not used because it cannot send
// the Authorization header.

export interface ServerSentEvent {
  /** The `event:` field; "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The `id:` field of this event, or undefined when it set none. */
  id: string | undefined;
}

/** Incremental parser: feed decoded text in any chunking, get whole events back. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** The stream's last event id (it persists across events, as EventSource's does). */
  lastEventId: string | undefined;
  /** The server's `retry:` advice in milliseconds, if it gave one. */
  retryMs: number | undefined;

  push(text: string): ServerSentEvent[] {
    this.buffer += text;
    const out: ServerSentEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone \r at the very end may be the first half of \r\n: wait for the next chunk.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) out.push(event);
    }
    return out;
  }

  /** The stream ended: an event without its closing blank line is discarded, as the spec says. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.event = '';
    this.id = undefined;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data': this.data.push(value); break;
      case 'event': this.event = value; break;
      case 'id': if (!value.includes('\0')) this.id = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retryMs = Number(value); break;
      default: break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    if (this.id !== undefined) this.lastEventId = this.id;
    const hadData = this.data.length > 0;
    const event: ServerSentEvent = { event: this.event || 'message', data: this.data.join('\n'), id: this.id };
    this.data = [];
    this.event = '';
    this.id = undefined;
    return hadData ? event : undefined;
  }
}

/** Every event of a response body, in order, until the stream ends. */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>, parser = new SseParser()): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => undefined);
  }
}
