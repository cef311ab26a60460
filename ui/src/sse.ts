// Server-sent events read with fetch() and a streaming body, because
// EventSource cannot send the Authorization header (and the token never goes
// into the query string).
import { ApiError, Unauthorized, clearToken, getToken } from './api';

export interface SseMessage {
  /** The `event:` field (`message` when absent). */
  event: string;
  /** The `id:` field, if any. */
  id: string | null;
  /** The `data:` lines joined with newlines. */
  data: string;
}

/**
 * An incremental parser of `text/event-stream`: feed it text as it comes,
 * it calls `onMessage` for every complete message (comments are skipped).
 */
export class SseParser {
  private buf = '';
  private event = '';
  private id: string | null = null;
  private data: string[] = [];

  constructor(private readonly onMessage: (m: SseMessage) => void) {}

  push(text: string): void {
    this.buf += text;
    for (;;) {
      const nl = this.buf.search(/\r\n|\r|\n/);
      if (nl < 0) return;
      const line = this.buf.slice(0, nl);
      // A lone \r at the end of the buffer may be the start of \r\n: wait.
      if (this.buf[nl] === '\r' && nl + 1 === this.buf.length) return;
      this.buf = this.buf.slice(nl + (this.buf.startsWith('\r\n', nl) ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length) this.onMessage({ event: this.event || 'message', id: this.id, data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
  }
}

/**
 * Opens `path` as an event stream with the bearer token. Resolves once the
 * server answered 200 (`opened`), then calls `onMessage` for each message;
 * `done` resolves when the body ends (or the signal aborts) and rejects when
 * reading fails.
 */
export async function openStream(
  path: string,
  onMessage: (m: SseMessage) => void,
  signal: AbortSignal,
): Promise<{ done: Promise<void> }> {
  const token = getToken();
  if (!token) throw new Unauthorized('no token');
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' }, signal, cache: 'no-store' });
  if (res.status === 401) {
    clearToken();
    throw new Unauthorized('the server refused the token (401)');
  }
  if (!res.ok || !res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream'))
    throw new ApiError(res.status, `http_${res.status}`, `no event stream (${res.status})`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser(onMessage);
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        parser.push(value);
      }
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
  })();
  return { done };
}
