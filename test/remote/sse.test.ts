// The SSE parser on the awkward parts of the format: any chunking (CRLF split across chunks, a multi-byte
// character split across reads), multi-line data, comments, ids that persist, events without data.
import { describe, expect, it } from 'vitest';
import { SseParser, readServerSentEvents } from '../../src/remote/sse.ts';

const STREAM = 'id: 0\r\nevent: log\r\ndata: {"message":"héllo"}\r\n\r\n' +
  ': keepalive\n\n' +
  'event: status\ndata: line one\ndata: line two\n\n' +
  'id: 7\nretry: 2500\ndata:no-space\n\n' +
  'event: empty\n\n' +
  'data: tail without blank line';

const EXPECTED = [
  { event: 'log', data: '{"message":"héllo"}', id: '0' },
  { event: 'status', data: 'line one\nline two', id: undefined },
  { event: 'message', data: 'no-space', id: '7' },
];

function bodyOf(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const edges = [0, ...cuts, bytes.length];
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i + 1 < edges.length; i++) controller.enqueue(bytes.subarray(edges[i], edges[i + 1]));
      controller.close();
    },
  });
}

describe('SseParser', () => {
  it('gives the same events whole and one byte at a time', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    const whole: unknown[] = [];
    for await (const e of readServerSentEvents(bodyOf(bytes, []))) whole.push(e);
    expect(whole).toEqual(EXPECTED);
    const parser = new SseParser();
    const byByte: unknown[] = [];
    for await (const e of readServerSentEvents(bodyOf(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)), parser)) byByte.push(e);
    expect(byByte).toEqual(EXPECTED);
    expect(parser.lastEventId).toBe('7');
    expect(parser.retryMs).toBe(2500);
  });

  it('waits for the \\n of a \\r\\n split across chunks', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\n\r')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'message', data: 'a', id: undefined }]);
  });
});
