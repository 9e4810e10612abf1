/** Reading request bodies and writing JSON replies, with the limits that keep a bad client harmless. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, errorResponse, invalidArgument } from './errors.js';

/** The largest legitimate JSON body (1,000 fragment numbers of 128 digits) is ~140 KB. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A declared length over the limit is refused before reading; the connection is then closed.
    if (Number(req.headers['content-length'] ?? 0) > limit) return reject(tooLarge(limit));
    let overflow = false;
    const chunks: Buffer[] = [];
    let total = 0;
    // On overflow keep reading (and dropping) the body, so the keep-alive connection stays usable.
    req.on('data', (chunk: Buffer) => {
      if (overflow) return;
      total += chunk.length;
      if (total > limit) {
        overflow = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => (overflow ? reject(tooLarge(limit)) : resolve(Buffer.concat(chunks, total))));
    req.on('error', reject);
  });
}

const tooLarge = (limit: number) =>
  new ApiError('InvalidArgumentException', 413, `The request body is larger than ${limit} bytes.`);

/**
 * The deepest nesting a request body may have. The deepest legitimate input is ~4 levels (ListFragments'
 * FragmentSelector.TimestampRange); thousands of levels would overflow the stack of anything that walks
 * the value recursively (JSON.stringify in a validation message was one), so they are refused unparsed.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b,
  OPEN_BRACKET = 0x5b,
  CLOSE_BRACE = 0x7d,
  CLOSE_BRACKET = 0x5d,
  QUOTE = 0x22,
  BACKSLASH = 0x5c;

/** The deepest nesting of objects and arrays in JSON text (brackets inside strings do not count). */
export function jsonNestingDepth(body: Buffer, stopAbove = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === BACKSLASH)
        i++; // the escaped character, whatever it is, cannot end the string
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > deepest && (deepest = depth) > stopAbove) return deepest;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return deepest;
}

/** Parses a JSON body. An empty body is `{}` (what the SDKs send for empty input). */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  if (jsonNestingDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw invalidArgument(`The request body is not valid input: nesting deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`The request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A JSON body an operation assembled itself from bytes (a hot path: ListFragments pages, whose entries
 * come from the catalog ready-made), written as it is, in one system call.
 */
export class JsonBytes {
  readonly length: number;
  constructor(readonly parts: Buffer[]) {
    this.length = parts.reduce((n, p) => n + p.length, 0);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  if (value instanceof JsonBytes) {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': value.length, ...headers });
    res.cork();
    for (const part of value.parts) res.write(part);
    res.end();
    return;
  }
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function sendError(res: ServerResponse, err: ApiError, requestId: string) {
  const { status, headers, body } = errorResponse(err, requestId);
  if (res.headersSent) {
    // Too late for a status: the caller has a streaming response open; end it.
    res.destroy();
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Writes with backpressure: resolves when the response can take more, false if the client has gone
 * (so that a streaming handler stops instead of waiting for a 'drain' that never comes).
 */
export function writeChunk(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
