/**
 * Limits that keep slow or greedy clients harmless: a deadline for receiving a JSON request body, and a
 * byte-rate throttle for long uploads that pauses reading (TCP back-pressure slows the sender) instead of
 * failing the request.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';
import type { TokenBucket } from './tokenBucket.js';

/** Node's own defaults are generous (16 KiB of headers, no body deadline): kvsd states its own. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 1000;
/**
 * Connections kvsd accepts beyond --max-connections when every connection is busy, for short requests only
 * (/health, ListFragments, the control plane): a streaming operation on one of them is refused
 * (src/protocol/connections.ts).
 */
export const CONNECTION_RESERVE = 32;
/** Time allowed for a JSON request's body to arrive (PutMedia bodies are exempt: they are live streams). */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/** Time allowed for the request line and headers; then the connection is destroyed (after a 408 if it takes one). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

/**
 * File descriptors kvsd needs besides its connections (SQLite and its WAL, catalog reader threads, stdio,
 * the listener, libuv's own) and per connection (a PutMedia holds its socket and a segment file).
 */
const FDS_BESIDES_CONNECTIONS = 64;
const FDS_PER_CONNECTION = 2;

/** The soft "Max open files" limit of this process (RLIMIT_NOFILE), or undefined where unknown or unlimited. */
export function openFileLimit(limits = readProcLimits()): number | undefined {
  const match = /^Max open files\s+(\d+)\s/m.exec(limits ?? '');
  return match ? Number(match[1]) : undefined;
}

function readProcLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined; // not Linux: no limit known
  }
}

/** Most connections `fdLimit` file descriptors sustain, each a PutMedia, with the reserve in use too. */
export function connectionsForFdLimit(fdLimit: number): number {
  return Math.max(1, Math.floor((fdLimit - FDS_BESIDES_CONNECTIONS - CONNECTION_RESERVE) / FDS_PER_CONNECTION));
}

/**
 * The connection limit: the explicit one, or the default lowered to what the open-file limit sustains (Node
 * cannot raise RLIMIT_NOFILE itself). `warning` says so, or that an explicit limit exceeds it.
 */
export function resolveMaxConnections(
  explicit: number | undefined,
  fdLimit = openFileLimit(),
): { max: number; warning?: string } {
  const sustained = fdLimit === undefined ? Infinity : connectionsForFdLimit(fdLimit);
  const raise = 'raise the limit with `ulimit -n 8192` before starting kvsd, or LimitNOFILE=8192 in its systemd unit';
  if (explicit !== undefined) {
    if (explicit <= sustained) return { max: explicit };
    return {
      max: explicit,
      warning:
        `--max-connections ${explicit} is more than the open-file limit (${fdLimit}) sustains (${sustained}: each ` +
        `PutMedia holds a socket and a segment file); connections beyond that may fail with EMFILE: ${raise}`,
    };
  }
  if (DEFAULT_MAX_CONNECTIONS <= sustained) return { max: DEFAULT_MAX_CONNECTIONS };
  return {
    max: sustained,
    warning:
      `the open-file limit is ${fdLimit}: --max-connections defaults to ${sustained} instead of ` +
      `${DEFAULT_MAX_CONNECTIONS} (each PutMedia holds a socket and a segment file); to serve more, ${raise}`,
  };
}

export const requestTimeout = (ms: number) =>
  new ApiError('RequestTimeoutException', 408, `The request body was not received within ${ms} ms.`);

/** Resolves with `work`, or rejects with RequestTimeoutException after `ms`. */
export async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  if (!(ms > 0)) return work;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(requestTimeout(ms)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Limits how fast `req` is read to the bucket's rate: after each chunk the bucket is charged, and while it
 * is in debt the request stays paused. Works under a consumer that itself pauses and resumes (PutMedia
 * pauses per chunk): its resume() is honoured only once the throttle lets go.
 */
export function throttleReads(req: IncomingMessage, bucket: TokenBucket): void {
  const originalPause = req.pause.bind(req);
  const originalResume = req.resume.bind(req);
  let heldUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  /** What the consumer last asked for. */
  let consumerPaused = false;

  req.pause = () => {
    consumerPaused = true;
    return originalPause();
  };
  req.resume = () => {
    consumerPaused = false;
    if (Date.now() < heldUntil) return req;
    return originalResume();
  };
  const meter = (chunk: Buffer) => {
    const wait = bucket.consume(chunk.length);
    if (wait <= 0) return;
    heldUntil = Date.now() + wait;
    originalPause();
    clearTimeout(timer);
    timer = setTimeout(() => {
      heldUntil = 0;
      if (!consumerPaused && !req.destroyed) originalResume();
    }, wait);
  };
  // The meter joins when the consumer starts reading (a 'data' listener of our own would start the flow
  // early and lose data), and runs before the consumer's listener, so that its pause lands first.
  const onNewListener = (event: string | symbol) => {
    if (event !== 'data') return;
    req.off('newListener', onNewListener);
    req.prependListener('data', meter);
  };
  req.on('newListener', onNewListener);
  req.once('close', () => clearTimeout(timer));
}
