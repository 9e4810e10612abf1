/**
 * Verifying AWS Signature Version 4 on incoming requests, with @smithy/signature-v4 doing the signing:
 * the request is rebuilt with only the headers the client signed, signed again with the principal's
 * secret at the request's own x-amz-date, and the two signatures are compared in constant time.
 *
 * Two phases, so that the body is read once and only when worth it: `begin` checks what the headers
 * alone can tell (a token at all, its syntax, the access key, the clock, the credential scope) before a
 * byte of body is read; `finish` takes the body (JSON operations) and checks the signature.
 *
 * Payload hash (what the client signed as the body):
 * - JSON operations: x-amz-content-sha256 when sent (JS SDK) — it must then equal the body's SHA-256,
 *   unless it is UNSIGNED-PAYLOAD — else the body's SHA-256 (botocore, curl).
 * - Streaming uploads (PutMedia, docs/kvs-wire.md "PutMedia"): the body cannot be hashed before it is consumed, so the signed
 *   hash is x-amz-content-sha256 if it is one of UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD or the
 *   empty-body hash, else (no header: the C producer) the empty-body hash. Chunk signatures are not checked.
 *
 * Error codes, statuses and wording are AWS's (front-door errors carry a lower-case `message`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ApiError } from './errors.js';
import { EMPTY_SHA256, NodeSha256 } from './sha256.js';

export const SERVICE = 'kinesisvideo';
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

export const missingAuthenticationToken = () =>
  new ApiError('MissingAuthenticationTokenException', 403, 'Missing Authentication Token');
export const unrecognizedClient = () =>
  new ApiError('UnrecognizedClientException', 403, 'The security token included in the request is invalid.');
export const invalidSignature = (message = SIGNATURE_MISMATCH) =>
  new ApiError('InvalidSignatureException', 403, message);
export const incompleteSignature = (message: string) => new ApiError('IncompleteSignatureException', 400, message);

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  /** YYYYMMDD of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesisvideo/aws4_request, SignedHeaders=…, Signature=…`. */
export function parseAuthorization(value: string): ParsedAuthorization {
  const m = /^\s*(\S+)\s+(.*)$/s.exec(value);
  if (!m)
    throw incompleteSignature(
      `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.`,
    );
  if (m[1] !== 'AWS4-HMAC-SHA256') throw incompleteSignature(`Unsupported AWS 'algorithm': '${m[1]!.slice(0, 40)}'`);
  const params = new Map<string, string>();
  for (const part of m[2]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((p) => !params.get(p));
  if (missing.length > 0)
    throw incompleteSignature(missing.map((p) => `Authorization header requires '${p}' parameter.`).join(' '));
  const credential = params.get('Credential')!.split('/');
  if (credential.length !== 5 || credential.some((c) => c === '') || credential[4] !== 'aws4_request') {
    throw incompleteSignature(
      `Credential should be scoped to a valid date, region, service and terminated by 'aws4_request'.`,
    );
  }
  const [accessKeyId, scopeDate, region, service] = credential as [string, string, string, string, string];
  return {
    accessKeyId,
    scopeDate,
    region,
    service,
    signedHeaders: params
      .get('SignedHeaders')!
      .split(';')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    signature: params.get('Signature')!,
  };
}

/** 20240101T000000Z ↔ Date. */
export function parseAmzDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
export const formatAmzDate = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

export interface VerifierOptions<P extends Credentials> {
  /** The principal owning an access key id, if any. */
  lookup(accessKeyId: string): P | undefined;
  /** When set, the credential scope must name this region. */
  region?: string;
  maxSkewMs?: number;
  now?: () => number;
}

/** What `begin` found in the headers; `finish` completes the check with the body. */
export interface PendingVerification<P> {
  principal: P;
  auth: ParsedAuthorization;
  signingDate: Date;
}

/** The parts of an incoming request that are signed. */
export interface SignedRequestParts {
  method: string;
  /** Path and query exactly as received (req.url). */
  url: string;
  headers: IncomingHttpHeaders;
  /** Values of repeated headers, as node keeps them (req.headersDistinct). */
  headersDistinct?: Record<string, string[] | undefined>;
}

export class SigV4Verifier<P extends Credentials> {
  private readonly signers = new WeakMap<P, SignatureV4>();
  private readonly maxSkewMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: VerifierOptions<P>) {
    this.maxSkewMs = opts.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Header checks, before any body is read. Throws the ApiError AWS would answer with. */
  begin(req: SignedRequestParts): PendingVerification<P> {
    const authorization = header(req.headers, 'authorization');
    if (authorization === undefined || authorization.trim() === '') throw missingAuthenticationToken();
    const auth = parseAuthorization(authorization);
    const principal = this.opts.lookup(auth.accessKeyId);
    if (!principal) throw unrecognizedClient();

    const amzDate = header(req.headers, 'x-amz-date');
    if (amzDate === undefined) {
      throw incompleteSignature(`Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`);
    }
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate) throw incompleteSignature(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
    const now = this.now();
    if (signingDate.getTime() < now - this.maxSkewMs) {
      throw invalidSignature(
        `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - this.maxSkewMs)} (${formatAmzDate(now)} - 5 min.)`,
      );
    }
    if (signingDate.getTime() > now + this.maxSkewMs) {
      throw invalidSignature(
        `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + this.maxSkewMs)} (${formatAmzDate(now)} + 5 min.)`,
      );
    }
    if (auth.scopeDate !== amzDate.slice(0, 8)) {
      throw invalidSignature(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate.slice(0, 16)}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      );
    }
    if (auth.service !== SERVICE)
      throw invalidSignature(`Credential should be scoped to correct service: '${SERVICE}'. `);
    if (this.opts.region !== undefined && auth.region !== this.opts.region) {
      throw invalidSignature(`Credential should be scoped to a valid region, not '${auth.region.slice(0, 40)}'. `);
    }
    if (!auth.signedHeaders.includes('host'))
      throw invalidSignature(`'Host' must be a 'SignedHeader' in the AWS Authorization.`);
    return { principal, auth, signingDate };
  }

  /**
   * Checks the signature. `body` is the whole body of a JSON operation; `undefined` for a streaming upload
   * whose body is still unread (PutMedia).
   */
  async finish(pending: PendingVerification<P>, req: SignedRequestParts, body: Buffer | undefined): Promise<P> {
    const { principal, auth, signingDate } = pending;
    const declared = header(req.headers, 'x-amz-content-sha256');
    let payloadHash: string;
    if (body === undefined) {
      if (declared === undefined) payloadHash = EMPTY_SHA256;
      else if (declared === UNSIGNED_PAYLOAD || declared === STREAMING_PAYLOAD || declared === EMPTY_SHA256)
        payloadHash = declared;
      // A hash of a body kvsd never holds whole cannot be checked: refuse rather than pretend.
      else throw invalidSignature();
    } else {
      const actual = createHash('sha256').update(body).digest('hex');
      if (declared === undefined) payloadHash = actual;
      else if (declared === UNSIGNED_PAYLOAD) payloadHash = declared;
      else if (declared === actual) payloadHash = declared;
      else throw invalidSignature();
    }

    // Only what the client signed, as it sent it.
    const headers: Record<string, string> = {};
    for (const name of auth.signedHeaders) {
      const values = req.headersDistinct?.[name];
      const value = values ? values.join(',') : header(req.headers, name);
      if (value !== undefined) headers[name] = value;
    }
    headers['x-amz-content-sha256'] = payloadHash;
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const query: Record<string, string | string[]> = {};
    if (q >= 0) {
      for (const [k, v] of new URLSearchParams(req.url.slice(q + 1))) {
        const prev = query[k];
        query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
    }
    const signed = await this.signer(principal).sign(
      {
        method: req.method,
        protocol: 'http:',
        hostname: headers.host ?? 'localhost',
        path,
        query,
        headers,
      },
      {
        signingDate,
        signingRegion: auth.region,
        signingService: auth.service,
        signableHeaders: new Set(auth.signedHeaders),
        ...(!auth.signedHeaders.includes('x-amz-content-sha256') && {
          unsignableHeaders: new Set(['x-amz-content-sha256']),
        }),
      },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
    if (!expected || !/^[0-9a-f]{64}$/.test(auth.signature)) throw invalidSignature();
    if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(auth.signature, 'hex'))) throw invalidSignature();
    return principal;
  }

  private signer(principal: P): SignatureV4 {
    let s = this.signers.get(principal);
    if (!s) {
      s = new SignatureV4({
        service: SERVICE,
        region: this.opts.region ?? 'us-east-1',
        sha256: NodeSha256,
        uriEscapePath: true,
        applyChecksum: false,
        credentials: { accessKeyId: principal.accessKeyId, secretAccessKey: principal.secretAccessKey },
      });
      this.signers.set(principal, s);
    }
    return s;
  }
}
