/**
 * A minimal HTTP/1.1 keep-alive client connection for load generation: one request at a time, the
 * same pre-built request bytes every time, answers read by Content-Length. A fraction of node:http's
 * CPU per request, so a generator on a shared core measures the server and not itself.
 *
 * Only what the benchmarked servers send is understood: a status line, headers, and a body framed
 * by Content-Length (or none, for 204/304/1xx-less answers). Chunked or close-delimited bodies are
 * reported as errors rather than guessed at.
 */
import { Socket } from 'node:net';

export class Http1ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Http1ProtocolError';
  }
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** The bytes of `GET path` with the given headers (Host and Connection: keep-alive added). */
export function buildGetRequest(url: URL, headers: Readonly<Record<string, string>> = {}): Buffer {
  let text = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return Buffer.from(text + '\r\n', 'latin1');
}

/** Status and framing of one answer, from its header block (latin1 text without the blank line). */
function parseHead(head: string): { status: number; contentLength: number; close: boolean } {
  const status = Number(head.slice(9, 12));
  if (!head.startsWith('HTTP/1.') || !Number.isInteger(status)) throw new Http1ProtocolError(`bad status line: ${head.slice(0, 40)}`);
  let contentLength = -1;
  let close = head.startsWith('HTTP/1.0');
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') contentLength = Number(value);
    else if (name === 'transfer-encoding') throw new Http1ProtocolError(`unsupported Transfer-Encoding: ${value}`);
    else if (name === 'connection') close = value.toLowerCase() === 'close';
  }
  if (contentLength < 0) {
    if (status === 204 || status === 304) contentLength = 0;
    else throw new Http1ProtocolError('answer without Content-Length');
  }
  return { status, contentLength, close };
}

export interface Http1ConnectionEvents {
  /** The answer to the request in flight is complete. */
  onAnswer(status: number): void;
  /** The request in flight failed (connection error, protocol error, closed before the answer). */
  onError(err: Error): void;
}

/** One keep-alive connection; reconnects after the server closes it. */
export class Http1Connection {
  private socket: Socket | null = null;
  private buffered: Buffer | null = null;
  private inFlight = false;
  private expected: { status: number; total: number; close: boolean } | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly request: Buffer,
    private readonly events: Http1ConnectionEvents,
  ) {}

  get busy(): boolean {
    return this.inFlight;
  }

  /** Send the request; the answer (or error) comes through the events. */
  send(): void {
    if (this.inFlight) throw new Error('Http1Connection.send while a request is in flight');
    this.inFlight = true;
    this.expected = null;
    this.buffered = null;
    (this.socket ??= this.connect()).write(this.request);
  }

  destroy(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): Socket {
    const socket = new Socket();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(socket, err));
    socket.on('close', () => this.fail(socket, new Http1ProtocolError('connection closed before the answer')));
    socket.connect(this.port, this.host);
    return socket;
  }

  private fail(socket: Socket, err: Error): void {
    if (this.socket !== socket) return; // an old socket's late event
    this.socket = null;
    socket.destroy();
    if (this.inFlight) {
      this.inFlight = false;
      this.events.onError(err);
    }
  }

  private onData(chunk: Buffer): void {
    const data = this.buffered === null ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.expected === null) {
      const end = data.indexOf(HEADER_END);
      if (end < 0) {
        this.buffered = data;
        return;
      }
      try {
        const head = parseHead(data.toString('latin1', 0, end));
        this.expected = { status: head.status, total: end + HEADER_END.length + head.contentLength, close: head.close };
      } catch (err) {
        this.fail(this.socket!, err as Error);
        return;
      }
    }
    if (data.length < this.expected.total) {
      this.buffered = data;
      return;
    }
    const { status, close } = this.expected;
    this.buffered = null;
    this.expected = null;
    this.inFlight = false;
    if (close) {
      const socket = this.socket;
      this.socket = null;
      socket?.destroy();
    }
    this.events.onAnswer(status);
  }
}
