/**
 * The composition root: opens the archive, registers the route groups with the router, and serves them
 * through the request pipeline (src/pipeline.ts) over HTTP. One listener serves the control-plane, media
 * and archived-media paths (they never collide), /health, and later groups (HLS, DASH, metrics).
 */
import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import type { Context, ServerInfo } from './api/index.js';
import { awsOperations, health, type KvsdRoute } from './api/routes.js';
import { dash } from './api/dash.js';
import { hls } from './api/hls.js';
import { sessionTokenVerifier } from './api/playbackSession.js';
import type { Archive } from './archive/archive.js';
import type { FragmentListing } from './archive/fragmentListing.js';
import { UnorderedListing } from './archive/unorderedListing.js';
import { DelayedListing, parseDelaySpec, VisibilityGate, type DelaySpec } from './archive/visibility.js';
import { openArchive as openConfiguredArchive } from './openArchive.js';
import { RequestPipeline, type RequestEvent } from './pipeline.js';
import { planStorage } from './storage/open.js';
import { AccessControl } from './auth/access.js';
import { loadAuthFile, parseAuthConfig, type AuthConfig } from './auth/policy.js';
import { AWS_QUOTAS, loadQuotaFile, parseQuotaConfig, QuotaEnforcer, type QuotaConfig } from './auth/quotas.js';
import { manageConnections } from './protocol/connections.js';
import {
  CONNECTION_RESERVE,
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_HEADER_BYTES,
  resolveMaxConnections,
} from './protocol/limits.js';
import { RequestCounters } from './protocol/requestCounters.js';
import { Router } from './protocol/router.js';

export interface ServerOptions {
  host?: string;
  port?: number;
  dataDir?: string;
  /** Catalog URL (src/storage/open.ts): default sqlite:<dataDir>/catalog.sqlite. */
  catalog?: string;
  /** Media store URL: default file:<dataDir>/media. */
  media?: string;
  region?: string;
  accountId?: string;
  /** What GetDataEndpoint returns when kvsd sits behind a proxy. */
  publicUrl?: string;
  /** One JSON line per request and event; off by default for the programmatic API. */
  log?: boolean | ((line: Record<string, unknown>) => void);
  /** Retention sweep period, ms (tests shorten it). */
  sweepIntervalMs?: number;
  /**
   * Threads reading ListFragments pages from the SQLite catalog; 0 reads on the main thread (default: cores - 1, at
   * most 4). A shortcut for the catalog URL's `?readers=N`.
   */
  catalogReaders?: number;

  /**
   * SigV4 authentication and per-stream permissions (docs/auth.md): the path of an --auth JSON file, or its
   * content. Without it every well-formed request is accepted, and kvsd only listens on loopback addresses.
   */
  auth?: string | AuthConfig;
  /** Listen on a non-loopback address without `auth` (refused otherwise). */
  allowAnonymous?: boolean;
  /**
   * Request quotas: 'off' (the default), 'aws' (AWS's published numbers; the default of mode 'aws'), the path
   * of a quota JSON file, or its content (src/auth/quotas.ts, docs/auth.md).
   */
  quotas?: 'off' | 'aws' | string | QuotaConfig;
  /**
   * 'default': friendly (ListFragments sorted, fragments listable at once, no quotas). 'aws': as AWS documents
   * the service: quotas 'aws', ListFragments unordered within and across pages, fragments listable only a
   * visibility delay after PERSISTED, and the credential scope must name kvsd's region.
   */
  mode?: 'default' | 'aws';
  /** Delay between PERSISTED and listable: ms, or 'MIN-MAX' for a random delay per fragment. Mode 'aws': '0-1000'. */
  visibilityDelayMs?: number | string;
  /**
   * Most simultaneous TCP connections (default 1000, lower under a small open-file limit): at the limit the
   * connection idle the longest is closed for a newcomer; when all are busy, a small reserve serves short
   * requests only (src/protocol/connections.ts, docs/reliability.md).
   */
  maxConnections?: number;
  /** Most simultaneous TCP connections from one client address (default: no such cap). */
  maxConnectionsPerAddress?: number;
  /** Most bytes of request line and headers (default 16 KiB); more is answered 431. */
  maxHeaderBytes?: number;
  /** Time allowed for a JSON request body (default 30 s); PutMedia's streaming body is exempt. */
  bodyTimeoutMs?: number;
  /** Time allowed for the request line and headers (default 10 s); then the connection is closed. */
  headersTimeoutMs?: number;
  /** Most bytes the live buffer of retention-0 streams holds across all streams (default 256 MiB). */
  liveBufferBytes?: number;
  /** Age past which buffered fragments of retention-0 streams are dropped, ms (default 5 minutes). */
  liveBufferMaxAgeMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  host: string;
  archive: Archive;
  /** Requests answered, per operation and outcome (an after-response hook). */
  requests: RequestCounters;
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
  if (o.mode !== undefined && o.mode !== 'default' && o.mode !== 'aws')
    throw new Error(`--mode must be 'default' or 'aws', got '${String(o.mode)}'`);
  for (const [name, value, min] of [
    ['--max-connections', o.maxConnections, 1],
    ['--max-connections-per-address', o.maxConnectionsPerAddress, 1],
    ['--max-header-bytes', o.maxHeaderBytes, 1024],
    ['--body-timeout-ms', o.bodyTimeoutMs, 0],
    ['headersTimeoutMs', o.headersTimeoutMs, 1],
    ['--catalog-readers', o.catalogReaders, 0],
    ['--live-buffer-bytes', o.liveBufferBytes, 0],
    ['--live-buffer-max-age-ms', o.liveBufferMaxAgeMs, 1],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= min))
      throw new Error(`${name} must be an integer >= ${min}, got '${value}'`);
  }
  if (o.catalogReaders !== undefined && o.catalogReaders > 64)
    throw new Error(`--catalog-readers must be at most 64, got '${o.catalogReaders}'`);
  // Storage URLs are checked before the port is taken; the storage opens after.
  planStorage({
    dataDir: o.dataDir ?? DEFAULTS.dataDir,
    catalog: o.catalog,
    media: o.media,
    catalogReaders: o.catalogReaders,
  });
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
  const opts = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as typeof DEFAULTS & ServerOptions;
  validateOptions(opts);
  const log = loggerFrom(opts.log);
  const aws = opts.mode === 'aws';
  const authConfig = typeof opts.auth === 'string' ? loadAuthFile(opts.auth) : opts.auth && parseAuthConfig(opts.auth);
  if (!authConfig && !opts.allowAnonymous && !(await isLoopback(opts.host))) {
    throw new Error(
      `refusing to listen on ${opts.host} without --auth: anyone who can reach it could read, write and delete ` +
        'every stream. Give --auth FILE (principals and permissions, see docs/auth.md), listen on a loopback address ' +
        '(--host 127.0.0.1), or pass --allow-anonymous if an open server is really what you want.',
    );
  }
  const quotaConfig = resolveQuotas(opts.quotas ?? (aws ? 'aws' : 'off'));
  const delay = resolveDelay(opts.visibilityDelayMs ?? (aws ? '0-1000' : undefined));
  const access = new AccessControl({
    region: opts.region,
    accountId: opts.accountId,
    strictRegion: aws,
    ...(authConfig && { auth: authConfig }),
  });
  const quotas = quotaConfig && new QuotaEnforcer(quotaConfig);

  // The archive opens once the port is ours: a start that fails to listen leaves no data directory behind.
  // Requests that arrive in between wait for it (`ready`).
  let archive!: Archive;
  let lister: FragmentListing | undefined;
  const openArchive = async () => {
    archive = await openConfiguredArchive({
      dataDir: opts.dataDir,
      region: opts.region,
      accountId: opts.accountId,
      log,
      sweepIntervalMs: opts.sweepIntervalMs,
      ...(opts.catalog !== undefined && { catalog: opts.catalog }),
      ...(opts.media !== undefined && { media: opts.media }),
      ...(opts.catalogReaders !== undefined && { catalogReaders: opts.catalogReaders }),
      liveBuffer: { maxBytes: opts.liveBufferBytes, maxAgeMs: opts.liveBufferMaxAgeMs },
    });
    const visibility = delay && delay.max > 0 ? new VisibilityGate(delay) : undefined;
    if (visibility) {
      archive.events.subscribe('fragmentPersisted', ({ stream, fragment }) => {
        visibility.persisted(stream.id, fragment.seq);
      });
    }
    if (aws) lister = new UnorderedListing(archive.catalog, archive.tokens, visibility);
    else if (visibility) lister = new DelayedListing(archive.lister, visibility);
  };
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const shutdown = new AbortController();
  // Every live PutMedia/GetMedia listens for shutdown: any number of them is expected.
  setMaxListeners(0, shutdown.signal);
  let baseUrl = '';
  let wildcard = false;
  const server: ServerInfo = {
    dataEndpoint: (hostHeader) => {
      if (opts.publicUrl) return opts.publicUrl.replace(/\/$/, '');
      if (wildcard && hostHeader && /^[A-Za-z0-9.\-:[\]]+$/.test(hostHeader)) return `http://${hostHeader}`;
      return baseUrl;
    },
  };

  const router = new Router<KvsdRoute>().add(awsOperations).add(health).add(hls).add(dash);
  const counters = new RequestCounters();
  const pipeline = new RequestPipeline({
    router,
    access,
    ...(quotas && { quotas }),
    log,
    ready: () => (archive ? undefined : ready),
    sessionTokens: sessionTokenVerifier(() => archive),
    bodyTimeoutMs: opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    admitStreaming: (socket, operation) => connections.admitStreaming(socket, operation),
    context: (req, requestId, stop): Context => ({
      requestId,
      archive,
      server,
      shutdown: stop ? AbortSignal.any([shutdown.signal, stop]) : shutdown.signal,
      ...(req.headers.host && { host: req.headers.host }),
      ...(lister && { lister }),
      ...(quotas && { sessions: quotas }),
    }),
  })
    .onResponse(requestLog(log, access))
    .onResponse(counters.count);

  const http: Server = createServer(
    {
      // No overall request deadline: PutMedia bodies are live streams. JSON bodies have bodyTimeoutMs (the pipeline).
      requestTimeout: 0,
      headersTimeout: opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: 1_000,
      keepAliveTimeout: 30_000,
      maxHeaderSize: opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    },
    pipeline.listener,
  );
  const maxConnections = resolveMaxConnections(opts.maxConnections);
  if (maxConnections.warning) log({ level: 'warn', msg: maxConnections.warning });
  const connections = manageConnections(
    http,
    {
      max: maxConnections.max,
      reserve: CONNECTION_RESERVE,
      maxPerAddress: opts.maxConnectionsPerAddress,
    },
    { maxHeaderBytes: opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES, log },
  );

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  try {
    await openArchive();
  } catch (err) {
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    throw err;
  }
  markReady();
  const address = http.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${hostForUrl}:${address.port}`;
  wildcard = address.address === '0.0.0.0' || address.address === '::';

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shutdown.abort();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      // In-flight requests get a few seconds to finish; then their sockets are cut.
      const timer = setTimeout(() => http.closeAllConnections(), 5_000);
      await closed;
      clearTimeout(timer);
      await archive.close();
    })());

  return { url: baseUrl, port: address.port, host: address.address, archive, requests: counters, close };
}

/** True if every address `host` stands for is a loopback address. */
async function isLoopback(host: string): Promise<boolean> {
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      return false;
    }
  }
  return addresses.length > 0 && addresses.every((a) => /^127\./.test(a) || a === '::1' || /^::ffff:127\./i.test(a));
}

function resolveQuotas(q: NonNullable<ServerOptions['quotas']>): QuotaConfig | undefined {
  if (q === 'off') return undefined;
  if (q === 'aws') return AWS_QUOTAS;
  if (typeof q === 'string') return loadQuotaFile(q);
  return parseQuotaConfig(q);
}

function resolveDelay(d: number | string | undefined): DelaySpec | undefined {
  if (d === undefined) return undefined;
  const spec = parseDelaySpec(String(d));
  if (!spec)
    throw new Error(`--visibility-delay-ms must be milliseconds (1500) or a range MIN-MAX (0-1000), got '${d}'`);
  return spec;
}

/** The request log, as an after-response hook: who called (the principal's name), what, and the outcome. */
function requestLog(log: (line: Record<string, unknown>) => void, access: AccessControl) {
  return (e: RequestEvent) =>
    log({
      level: 'info',
      requestId: e.requestId,
      operation: e.operation,
      status: e.status,
      durationMs: e.durationMs,
      ...(e.principal !== undefined && access.enabled && { principal: e.principal }),
      ...(e.errorType !== undefined && { error: e.errorType }),
    });
}
