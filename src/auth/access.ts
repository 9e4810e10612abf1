/**
 * Access control as the request pipeline sees it: who is calling (SigV4 against the principals of the
 * --auth file, or anonymous without one) and whether that caller may run this operation on these streams.
 */
import type { IncomingMessage } from 'node:http';
import { notAuthorized } from '../protocol/errors.js';
import { SigV4Verifier, type PendingVerification } from '../protocol/sigv4.js';
import { ACTION_PREFIX, type Principal, PrincipalDirectory, type AuthConfig } from './policy.js';

/** The caller of a request. */
export interface Caller {
  /** Principal name, or "anonymous". Safe to log. */
  name: string;
  allows(operation: string, streams: readonly string[]): boolean;
  /** A playback session's id, when the caller is its session token (per-session quotas). */
  session?: string;
}

const ANONYMOUS: Caller = { name: 'anonymous', allows: () => true };

/** A started authentication: the header checks passed; `finish` checks the signature over the body. */
export interface PendingAuthentication {
  finish(body: Buffer | undefined): Promise<Caller>;
}

export interface AccessOptions {
  auth?: AuthConfig;
  region: string;
  accountId: string;
  /** Insist that the credential scope names kvsd's region (--mode aws). */
  strictRegion?: boolean;
}

export class AccessControl {
  private readonly verifier?: SigV4Verifier<Principal>;

  constructor(private readonly opts: AccessOptions) {
    if (opts.auth) {
      const directory = new PrincipalDirectory(opts.auth);
      this.verifier = new SigV4Verifier<Principal>({
        lookup: (id) => directory.get(id),
        ...(opts.strictRegion && { region: opts.region }),
      });
    }
  }

  get enabled(): boolean {
    return this.verifier !== undefined;
  }

  /** Header checks; throws MissingAuthenticationToken / UnrecognizedClient / InvalidSignature / IncompleteSignature. */
  begin(req: IncomingMessage): PendingAuthentication {
    const verifier = this.verifier;
    if (!verifier) return { finish: async () => ANONYMOUS };
    const parts = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      headersDistinct: req.headersDistinct,
    };
    const pending: PendingVerification<Principal> = verifier.begin(parts);
    return { finish: (body) => verifier.finish(pending, parts, body) };
  }

  /** Throws NotAuthorizedException (401) unless `caller` may run `operation` on every stream named. */
  authorize(caller: Caller, operation: string, streams: readonly string[]): void {
    if (caller.allows(operation, streams)) return;
    const { region, accountId } = this.opts;
    const resource =
      streams.length === 0
        ? '*'
        : `arn:aws:kinesisvideo:${region}:${accountId}:stream/${streams.find((s) => !caller.allows(operation, [s])) ?? streams[0]}/*`;
    throw notAuthorized(
      `User: arn:aws:iam::${accountId}:user/${caller.name} is not authorized to perform: ${ACTION_PREFIX}${operation} on resource: ${resource}`,
    );
  }
}

const ARN_NAME = /^arn:[^:]*:kinesisvideo:[^:]*:[^:]*:stream\/([^/]+)\/[^/]*$/;

/** The stream name inside a stream ARN; the whole string if it is not one (it then matches only "*"). */
export function streamNameFromArn(arn: string): string {
  return ARN_NAME.exec(arn)?.[1] ?? arn;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * The stream names a request refers to: StreamName and the name inside StreamARN (JSON input), or the
 * x-amzn-stream-name / x-amzn-stream-arn headers (PutMedia). Empty for stream-less operations.
 */
export function streamsOf(input: unknown, headers: IncomingMessage['headers'], inputInHeaders: boolean): string[] {
  let name: unknown;
  let arn: unknown;
  if (inputInHeaders) {
    name = first(headers['x-amzn-stream-name']);
    arn = first(headers['x-amzn-stream-arn']);
  } else if (input && typeof input === 'object') {
    ({ StreamName: name, StreamARN: arn } = input as { StreamName?: unknown; StreamARN?: unknown });
  }
  const out: string[] = [];
  if (typeof name === 'string') out.push(name);
  if (typeof arn === 'string') {
    const n = streamNameFromArn(arn);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}
