/**
 * The request pipeline: every request goes through the same named stages, in this order:
 *
 *   route -> authenticate (header checks) -> read body -> authenticate (signature over the body)
 *         -> validate -> authorize -> admit (connections, quotas) -> dispatch -> after-response hooks
 *
 * A route's declarations (src/api/routes.ts) choose what each stage does: SigV4, a session token or no
 * authentication; input from a JSON body, headers or the query; a JSON answer or a streamed one. Hooks run
 * once per request after the answer, whatever happened (the request log and the request counters are two).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Context } from './api/operation.js';
import type { KvsdRoute } from './api/routes.js';
import { type AccessControl, type Caller, type PendingAuthentication, streamsOf } from './auth/access.js';
import type { QuotaEnforcer } from './auth/quotas.js';
import { ApiError } from './protocol/errors.js';
import { parseJson, readBody, sendError, sendJson } from './protocol/http.js';
import { throttleReads, within } from './protocol/limits.js';
import { newRequestId } from './protocol/requestId.js';
import { pathOf, type RouteSpec, type Router } from './protocol/router.js';
import { validate } from './protocol/validator.js';

/** What an after-response hook learns about a request. Never headers, bodies or keys. */
export interface RequestEvent {
  requestId: string;
  /** The route's name; for an unknown route, the name of a route at that path, else 'Unknown'. */
  operation: string;
  status: number;
  durationMs: number;
  /** The authenticated principal's name, when kvsd authenticates (--auth). */
  principal?: string;
  /** x-amzn-ErrorType of an error answer. */
  errorType?: string;
}

export type ResponseHook = (event: RequestEvent) => void;

/** Checks the session token of a 'session-token' route (issued by a SigV4 call such as GetHLSStreamingSessionURL). */
export interface SessionTokenVerifier {
  verify(token: string | null, route: RouteSpec, req: IncomingMessage): Promise<Caller>;
}

export interface PipelineOptions {
  router: Router<KvsdRoute>;
  access: AccessControl;
  quotas?: QuotaEnforcer;
  /** Resolves once the archive is open (requests that arrive between listen and open wait for it). */
  ready: () => Promise<void> | undefined;
  /** The handler's context; `stop` also ends a streaming response (eviction by a newer connection). */
  context(req: IncomingMessage, requestId: string, stop?: AbortSignal): Context;
  /** Connection admission of streaming routes (src/protocol/connections.ts). */
  admitStreaming(socket: Socket, operation: string): void;
  bodyTimeoutMs: number;
  sessionTokens?: SessionTokenVerifier;
  /** Where an unexpected failure's stack goes (the client gets only the request id). */
  log: (line: Record<string, unknown>) => void;
}

/** The route a request reached, as far as it got: what the hooks name it by. */
interface Progress {
  route?: KvsdRoute;
  caller?: Caller;
}

export class RequestPipeline {
  private readonly hooks: ResponseHook[] = [];

  constructor(private readonly o: PipelineOptions) {}

  /** Adds an after-response hook (in the manner of fastify's onResponse). */
  onResponse(hook: ResponseHook): this {
    this.hooks.push(hook);
    return this;
  }

  /** The node:http request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const requestId = newRequestId();
    res.setHeader('x-amzn-requestid', requestId);
    res.setHeader('x-amz-requestid', requestId);
    const progress: Progress = {};
    this.run(req, res, requestId, progress)
      .catch((err: unknown) => {
        sendError(res, err instanceof ApiError ? err : this.internalFailure(err, requestId), requestId);
        if (!req.complete) drainRefusedBody(req);
      })
      .finally(() => {
        const event: RequestEvent = {
          requestId,
          operation: progress.route?.name ?? 'Unknown',
          status: res.statusCode,
          durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
          ...(progress.caller && this.o.access.enabled && { principal: progress.caller.name }),
          ...(res.statusCode >= 400 && { errorType: String(res.getHeader('x-amzn-errortype') ?? '') }),
        };
        for (const hook of this.hooks) hook(event);
      });
  };

  private async run(req: IncomingMessage, res: ServerResponse, requestId: string, progress: Progress) {
    await this.o.ready();
    const path = pathOf(req.url);
    const { route, samePath } = this.o.router.match(req.method, path);
    // An unknown method at a known path is named, and authenticated, as that path's route would be.
    const declared = route ?? samePath[0];
    progress.route = declared;

    const pending = this.authenticate(req, declared);
    const body =
      declared?.input === 'headers' || declared?.input === 'none' || declared?.input === 'query'
        ? undefined
        : await within(readBody(req), this.o.bodyTimeoutMs);
    const caller = await pending.finish(body);
    progress.caller = caller;
    if (!route)
      throw new ApiError('UnknownOperationException', 404, `kvsd serves no operation at ${req.method} ${path}.`);

    const input = this.validate(route, req, body);
    const streams = route.auth === 'sigv4' ? this.authorize(route, req, caller, input) : [];
    await this.admitAndDispatch(route, req, res, requestId, input, streams, caller.session);
  }

  /** Authentication, stage one: the header checks, before a byte of body is read. */
  private authenticate(req: IncomingMessage, route: KvsdRoute | undefined): PendingAuthentication {
    // No route at the path: authenticated as an AWS call would be, so that probing paths costs a signature.
    const auth = route?.auth ?? 'sigv4';
    if (auth === 'none') return { finish: async () => ANONYMOUS_ROUTE_CALLER };
    if (auth === 'session-token') {
      const verifier = this.o.sessionTokens;
      if (!verifier) throw new ApiError('NotAuthorizedException', 401, 'This kvsd issues no session tokens.');
      const token = new URL(req.url ?? '/', 'http://kvsd').searchParams.get('SessionToken');
      return { finish: () => verifier.verify(token, route!, req) };
    }
    return this.o.access.begin(req);
  }

  /** The input, checked against the route's shape (AWS-worded InvalidArgumentException otherwise). */
  private validate(route: KvsdRoute, req: IncomingMessage, body: Buffer | undefined): unknown {
    if (!route.shape) return undefined;
    if (route.input === 'query') {
      return validate(route.shape, Object.fromEntries(new URL(req.url ?? '/', 'http://kvsd').searchParams));
    }
    return body === undefined ? undefined : validate(route.shape, parseJson(body));
  }

  /** Per-stream permissions of the caller (--auth), for the streams the input names. */
  private authorize(route: KvsdRoute, req: IncomingMessage, caller: Caller, input: unknown): string[] {
    const streams = streamsOf(input, req.headers, route.input === 'headers');
    this.o.access.authorize(caller, route.name, streams);
    return streams;
  }

  private async admitAndDispatch(
    route: KvsdRoute,
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    input: unknown,
    streams: string[],
    session: string | undefined,
  ) {
    if (route.streaming) this.o.admitStreaming(req.socket, route.name);
    const evicted = new AbortController();
    const admission = this.o.quotas?.admit(route.name, streams[0], {
      ...(session !== undefined && { session }),
      streaming: route.streaming,
      evict: () => evicted.abort(),
    });
    try {
      // A streaming connection also ends when a newer one replaces it (PutMedia: "the last connection is accepted").
      const ctx = this.o.context(req, requestId, admission && route.streaming ? evicted.signal : undefined);
      if (route.answers === 'json') {
        sendJson(res, 200, (await route.handle({ req, res, input, ctx })) ?? {});
        return;
      }
      if (admission?.bandwidth && route.input === 'headers') throttleReads(req, admission.bandwidth);
      await route.handle({ req, res, input, ctx });
    } finally {
      admission?.release();
    }
  }

  private internalFailure(err: unknown, requestId: string): ApiError {
    this.o.log({
      level: 'error',
      requestId,
      msg: 'unhandled error',
      error: err instanceof Error ? err.stack : String(err),
    });
    return new ApiError('InternalFailure', 500, `kvsd hit an internal error; the request id is ${requestId}.`);
  }
}

/** The caller of an open route ('none'): nobody in particular, allowed nothing that needs permission. */
const ANONYMOUS_ROUTE_CALLER: Caller = { name: 'anonymous', allows: () => false };

/**
 * After refusing a request whose body was not read (a PutMedia to an unknown stream, a declared body
 * over the limit), keep reading and dropping the body for a while: a producer that streams before it
 * reads then gets the error instead of a reset. Past the bound the connection is cut.
 */
const DRAIN_MAX_BYTES = 1024 * 1024;
const DRAIN_MAX_MS = 2_000;
function drainRefusedBody(req: IncomingMessage) {
  let drained = 0;
  const cut = () => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(cut, DRAIN_MAX_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_MAX_BYTES) cut();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}
