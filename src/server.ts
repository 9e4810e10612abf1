/**
 * The composition root: opens the archive, registers the operations and serves them over HTTP.
 * One listener serves the control-plane, media and archived-media paths (they never collide).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { operations, type Context, type Operation } from './api/index.js';
import { Archive } from './archive/archive.js';
import { ApiError, errorResponse } from './protocol/errors.js';
import { parseJson, readBody, sendError, sendJson } from './protocol/http.js';
import { newRequestId } from './protocol/requestId.js';
import { validate } from './protocol/validator.js';

export interface ServerOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  region?: string;
  accountId?: string;
  /** What GetDataEndpoint returns when kvsd sits behind a proxy. */
  publicUrl?: string;
  /** One JSON line per request and event; off by default for the programmatic API. */
  log?: boolean | ((line: Record<string, unknown>) => void);
  /** Retention sweep period, ms (tests shorten it). */
  sweepIntervalMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  host: string;
  archive: Archive;
  close(): Promise<void>;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 4568,
  dataDir: './kvsd-data',
  region: 'us-east-1',
  accountId: '000000000000',
} as const;

function validateOptions(o: Required<Pick<ServerOptions, 'region' | 'accountId'>> & ServerOptions) {
  if (!/^\d{12}$/.test(o.accountId)) throw new Error(`--account-id must be 12 digits, got '${o.accountId}'`);
  if (!/^[a-z0-9-]+$/.test(o.region)) throw new Error(`--region must match [a-z0-9-]+, got '${o.region}'`);
  if (o.publicUrl !== undefined && !/^https?:\/\/[^/]+$/.test(o.publicUrl.replace(/\/$/, ''))) {
    throw new Error(`--public-url must be a base URL such as https://kvs.example.com, got '${o.publicUrl}'`);
  }
}

function loggerFrom(log: ServerOptions['log']): (line: Record<string, unknown>) => void {
  if (typeof log === 'function') return log;
  if (log) return (line) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
  return () => {};
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as
    typeof DEFAULTS & ServerOptions;
  validateOptions(opts);
  const log = loggerFrom(opts.log);
  const archive = await Archive.open({
    dataDir: opts.dataDir, region: opts.region, accountId: opts.accountId, log, sweepIntervalMs: opts.sweepIntervalMs,
  });

  const routes = new Map<string, Operation>(operations.map((op) => [op.path, op]));
  const shutdown = new AbortController();
  let baseUrl = '';
  let wildcard = false;
  const server: ServerInfoImpl = {
    dataEndpoint: (hostHeader) => {
      if (opts.publicUrl) return opts.publicUrl.replace(/\/$/, '');
      if (wildcard && hostHeader && /^[A-Za-z0-9.\-:[\]]+$/.test(hostHeader)) return `http://${hostHeader}`;
      return baseUrl;
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<string> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET' && path === '/health') {
      sendJson(res, 200, { status: 'ok' });
      return 'Health';
    }
    const op = routes.get(path);
    if (!op || req.method !== 'POST') {
      throw new ApiError('UnknownOperationException', 404, `kvsd serves no operation at ${req.method} ${path}.`);
    }
    const ctx: Context = { requestId, archive, server, shutdown: shutdown.signal, ...(req.headers.host && { host: req.headers.host }) };
    if (op.kind === 'json') {
      const input = validate(op.input, parseJson(await readBody(req)));
      sendJson(res, 200, await op.handle(input, ctx));
    } else {
      const input = op.input ? validate(op.input, parseJson(await readBody(req))) : undefined;
      await op.handle(req, res, input, ctx);
    }
    return op.name;
  }

  const http: Server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 30_000 }, (req, res) => {
    const started = process.hrtime.bigint();
    const requestId = newRequestId();
    res.setHeader('x-amzn-requestid', requestId);
    res.setHeader('x-amz-requestid', requestId);
    let opName = 'Unknown';
    handle(req, res, requestId)
      .then((name) => { opName = name; })
      .catch((err: unknown) => {
        const apiError = err instanceof ApiError ? err : internalFailure(err, requestId, log);
        opName = routes.get((req.url ?? '').split('?')[0]!)?.name ?? 'Unknown';
        sendError(res, apiError, requestId);
        // A request whose body we did not read would otherwise hold the connection.
        if (!req.complete) req.resume();
      })
      .finally(() => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        log({ level: 'info', requestId, operation: opName, status: res.statusCode, durationMs: Math.round(ms * 100) / 100 });
      });
  });
  http.on('clientError', (err, socket) => {
    // Malformed HTTP never reaches a handler: answer 400 in AWS's shape if the socket still can be written.
    if (!socket.writable) return socket.destroy();
    const { headers, body } = errorResponse(new ApiError('InvalidArgumentException', 400, `Malformed HTTP request: ${err.message}`), newRequestId());
    const head = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
      .map(([k, v]) => `${k}: ${v}`).join('\r\n');
    socket.end(`HTTP/1.1 400 Bad Request\r\n${head}\r\n\r\n${body}`);
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => { http.off('error', reject); resolve(); });
  });
  const address = http.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${hostForUrl}:${address.port}`;
  wildcard = address.address === '0.0.0.0' || address.address === '::';

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    shutdown.abort();
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeIdleConnections();
    // In-flight requests get a few seconds to finish; then their sockets are cut.
    const timer = setTimeout(() => http.closeAllConnections(), 5_000);
    await closed;
    clearTimeout(timer);
    await archive.close();
  })());

  return { url: baseUrl, port: address.port, host: address.address, archive, close };
}

type ServerInfoImpl = Context['server'];

function internalFailure(err: unknown, requestId: string, log: (line: Record<string, unknown>) => void): ApiError {
  log({ level: 'error', requestId, msg: 'unhandled error', error: err instanceof Error ? err.stack : String(err) });
  return new ApiError('InternalFailure', 500, `kvsd hit an internal error; the request id is ${requestId}.`);
}
