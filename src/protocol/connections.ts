/**
 * Who holds kvsd's connections, so that idle and slow clients cannot lock everyone out (docs/reliability.md,
 * "Connections and slow clients"):
 * - every socket is tracked as idle (connected without a request yet, or kept alive between requests) or busy
 *   (a request in progress; PutMedia and GetMedia are busy for their whole life);
 * - at --max-connections a newcomer closes the connection idle the longest, never a busy one (node's own
 *   maxConnections would drop the newcomer instead);
 * - when none is idle, up to CONNECTION_RESERVE more connections are accepted, for short requests only:
 *   a streaming operation on one of them is refused with ConnectionLimitExceededException; beyond that a new
 *   socket is destroyed at once;
 * - optionally, at most `maxPerAddress` connections per client address (its own idle ones are closed first);
 * - a malformed or too slow request header gets its error response if the socket takes it, and the socket
 *   is destroyed: never half-closed, waiting for a peer that may never read or close.
 */
import { STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, connectionLimitExceeded, errorResponse } from './errors.js';
import { newRequestId } from './requestId.js';

export interface ConnectionLimits {
  /** Connections for any request. */
  max: number;
  /** Further connections, for short requests only, used when all `max` are busy. */
  reserve: number;
  /** Most connections from one client address (undefined: no such cap). */
  maxPerAddress?: number;
}

interface Tracked {
  socket: Socket;
  address: string;
  /** Requests in progress on the socket (more than one when pipelined). */
  busy: number;
  /** Holds a reserve slot: short requests only, until a regular slot frees up. */
  reserve: boolean;
}

/** Shortest time between two log lines about the connection limit. */
const LIMIT_LOG_INTERVAL_MS = 60_000;

export class ConnectionTracker {
  private readonly tracked = new Map<Socket, Tracked>();
  /** Idle connections, the one idle the longest first (a Map iterates in insertion order). */
  private readonly idle = new Map<Socket, Tracked>();
  /** Connections on reserve slots, oldest first: the first to move to a regular slot that frees up. */
  private readonly onReserve = new Set<Tracked>();
  private readonly perAddress = new Map<string, number>();
  private regular = 0;
  private closedIdle = 0;
  private refused = 0;
  private lastLimitLog = -Infinity;

  constructor(
    readonly limits: ConnectionLimits,
    private readonly log: (line: Record<string, unknown>) => void = () => {},
  ) {}

  /** Admits a new socket: closes an idle one to make room if needed, or destroys the newcomer. */
  accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const { max, reserve, maxPerAddress } = this.limits;
    if (maxPerAddress !== undefined && (this.perAddress.get(address) ?? 0) >= maxPerAddress) {
      const victim = this.longestIdle((t) => t.address === address);
      if (!victim) {
        this.refuse(socket);
        return;
      }
      this.close(victim);
    }
    if (this.regular >= max) {
      const victim = this.longestIdle();
      if (victim) this.close(victim);
    }
    const onReserve = this.regular >= max;
    if (onReserve && this.onReserve.size >= reserve) {
      this.refuse(socket);
      return;
    }

    const t: Tracked = { socket, address, busy: 0, reserve: onReserve };
    this.tracked.set(socket, t);
    this.idle.set(socket, t);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    if (onReserve) this.onReserve.add(t);
    else this.regular++;
    socket.once('close', () => this.release(t));
  }

  /** Marks the request's socket busy until `res` is done. */
  requestStarted(socket: Socket, res: ServerResponse): void {
    const t = this.tracked.get(socket);
    if (!t) return;
    t.busy++;
    this.idle.delete(socket);
    res.once('close', () => {
      t.busy--;
      // Re-inserted: now the most recently idle.
      if (t.busy === 0 && this.tracked.has(socket) && !socket.destroyed) this.idle.set(socket, t);
    });
  }

  /** Throws ConnectionLimitExceededException if `operation`, a long-lived stream, arrived on a reserve slot. */
  admitStreaming(socket: Socket, operation: string): void {
    if (!this.tracked.get(socket)?.reserve) return;
    throw connectionLimitExceeded(
      `kvsd already serves ${this.limits.max} connections, the most allowed (--max-connections); ` +
        `this connection is one of ${this.limits.reserve} kept for short requests, so ${operation} is not accepted on it.`,
    );
  }

  private longestIdle(matching: (t: Tracked) => boolean = () => true): Tracked | undefined {
    for (const t of this.idle.values()) if (matching(t)) return t;
    return undefined;
  }

  private close(t: Tracked): void {
    this.release(t);
    t.socket.destroy();
    this.closedIdle++;
    this.noteLimit();
  }

  private refuse(socket: Socket): void {
    socket.destroy();
    this.refused++;
    this.noteLimit();
  }

  private release(t: Tracked): void {
    if (!this.tracked.delete(t.socket)) return;
    this.idle.delete(t.socket);
    const left = (this.perAddress.get(t.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(t.address, left);
    else this.perAddress.delete(t.address);
    if (t.reserve) {
      this.onReserve.delete(t);
      return;
    }
    this.regular--;
    const promoted = this.onReserve.values().next().value;
    if (promoted) {
      this.onReserve.delete(promoted);
      promoted.reserve = false;
      this.regular++;
    }
  }

  /** One line now and then, so that an operator sees the limit being hit without a line per connection. */
  private noteLimit(): void {
    const now = Date.now();
    if (now - this.lastLimitLog < LIMIT_LOG_INTERVAL_MS) return;
    this.lastLimitLog = now;
    this.log({
      level: 'warn',
      msg: 'connection limit reached: closing idle connections, refusing new ones when none is idle',
      maxConnections: this.limits.max,
      reserve: this.limits.reserve,
      ...(this.limits.maxPerAddress !== undefined && { maxConnectionsPerAddress: this.limits.maxPerAddress }),
      closedIdle: this.closedIdle,
      refused: this.refused,
    });
    this.closedIdle = 0;
    this.refused = 0;
  }
}

/**
 * Manages `http`'s connections with a ConnectionTracker (node's maxConnections stays unset), answers
 * malformed and timed-out request headers without leaving the socket half-open, and keeps an accept failure
 * (EMFILE: out of file descriptors) from crashing the process.
 */
export function manageConnections(
  http: Server,
  limits: ConnectionLimits,
  opts: {
    maxHeaderBytes: number;
    log: (line: Record<string, unknown>) => void;
  },
): ConnectionTracker {
  const tracker = new ConnectionTracker(limits, opts.log);
  http.on('connection', (socket: Socket) => tracker.accept(socket));
  http.on('request', (req, res: ServerResponse) => tracker.requestStarted(req.socket, res));
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(err, socket, opts.maxHeaderBytes),
  );
  let lastAcceptLog = -Infinity;
  // Once listening, a server 'error' is a failed accept() (libuv has closed the pending connection): logged
  // now and then; unhandled, it would end the process.
  http.once('listening', () =>
    http.on('error', (err: NodeJS.ErrnoException) => {
      if (Date.now() - lastAcceptLog < LIMIT_LOG_INTERVAL_MS) return;
      lastAcceptLog = Date.now();
      opts.log({
        level: 'error',
        msg: 'could not accept a connection',
        error: err.code ?? String(err),
        ...(err.code === 'EMFILE' && {
          hint: 'out of file descriptors: lower --max-connections or raise the limit (ulimit -n, LimitNOFILE=)',
        }),
      });
    }),
  );
  return tracker;
}

/**
 * Malformed HTTP never reaches a handler: the error goes straight onto the socket in AWS's shape, if it can
 * still be written and no response is under way there, and the socket is destroyed at once (the kernel
 * still sends what was written). Ending it instead would wait for the peer's FIN, which a client that never
 * reads never sends, and the half-open socket would hold its connection slot and file descriptor.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket, maxHeaderBytes: number): void {
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !response?.headersSent) {
    const error =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new ApiError('InvalidArgumentException', 431, `The request line and headers exceed ${maxHeaderBytes} bytes.`)
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new ApiError('RequestTimeoutException', 408, 'The request headers were not received in time.')
          : new ApiError('InvalidArgumentException', 400, `Malformed HTTP request: ${err.message}`);
    const { headers, body } = errorResponse(error, newRequestId());
    const head = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    socket.write(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`);
  }
  socket.destroy();
}
