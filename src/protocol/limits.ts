/**
 * Limits that keep slow or greedy clients harmless: a deadline for receiving a JSON request body, and a
 * byte-rate throttle for long uploads that pauses reading (TCP back-pressure slows the sender) instead of
 * failing the request.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';
import type { TokenBucket } from '../auth/quotas.js';

/** Node's own defaults are generous (16 KiB of headers, no body deadline): kvsd states its own. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 1000;
/** Time allowed for a JSON request's body to arrive (PutMedia bodies are exempt: they are live streams). */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/** Time allowed for the request line and headers. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;

export const requestTimeout = (ms: number) =>
  new ApiError('RequestTimeoutException', 408, `The request body was not received within ${ms} ms.`);

/** Resolves with `work`, or rejects with RequestTimeoutException after `ms`. */
export async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  if (!(ms > 0)) return work;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(requestTimeout(ms)), ms); }),
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

  req.pause = () => { consumerPaused = true; return originalPause(); };
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
