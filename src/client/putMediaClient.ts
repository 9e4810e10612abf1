/**
 * A PutMedia producer client, because no AWS SDK for JavaScript has one. Streams any MKV source to
 * any KVS endpoint (kvsd or AWS itself), signed with SigV4, and yields the acknowledgements as they
 * arrive. Signed as the C producer SDK signs it (docs/kvs-wire.md "PutMedia"): the payload hash is that of an empty body,
 * since the body is a stream that cannot be hashed up front.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { EMPTY_SHA256, NodeSha256 } from '../protocol/sha256.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:4568 or the DataEndpoint from GetDataEndpoint(PUT_MEDIA). */
  endpoint: string;
  region: string;
  credentials: Credentials;
}

export interface PutMediaInput {
  streamName?: string;
  streamArn?: string;
  timecodeType: 'ABSOLUTE' | 'RELATIVE';
  /** Required with RELATIVE timecodes: the producer timestamp of cluster timecode 0. */
  producerStartTimestamp?: Date | number;
  body: Readable | AsyncIterable<Uint8Array> | Uint8Array;
}

export type PutMediaAck = {
  EventType: 'BUFFERING' | 'RECEIVED' | 'PERSISTED' | 'ERROR' | 'IDLE';
  FragmentTimecode?: number;
  FragmentNumber?: string;
  ErrorId?: number;
  ErrorCode?: string;
};

/** An HTTP error before any acknowledgement (unknown stream, bad header...), in AWS's shape. */
export class KvsServiceError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = code;
  }
}

function signer(opts: ClientOptions) {
  return new SignatureV4({
    service: 'kinesisvideo',
    region: opts.region,
    credentials: opts.credentials,
    sha256: NodeSha256,
    uriEscapePath: true,
  });
}

async function signedHeaders(opts: ClientOptions, path: string, headers: Record<string, string>, payloadHash: string) {
  const url = new URL(opts.endpoint);
  const signed = await signer(opts).sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path,
      query: {},
      headers: { host: url.host, ...headers, 'x-amz-content-sha256': payloadHash },
    },
    { unsignableHeaders: new Set(['x-amz-content-sha256']) },
  );
  const out = { ...signed.headers };
  delete out['x-amz-content-sha256'];
  return out;
}

async function errorFrom(res: IncomingMessage): Promise<KvsServiceError> {
  let text = '';
  try {
    for await (const chunk of res) text += chunk;
  } catch {
    // The server may close the connection right after the error (it refuses the body): keep what came.
  }
  let body: { message?: string; Message?: string; __type?: string } = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const code = String(res.headers['x-amzn-errortype'] ?? body.__type ?? res.statusCode).split(':')[0]!;
  const requestId = res.headers['x-amzn-requestid'];
  return new KvsServiceError(
    code,
    res.statusCode ?? 0,
    body.message ?? body.Message ?? text,
    typeof requestId === 'string' ? requestId : undefined,
  );
}

function post(endpoint: string, path: string, headers: Record<string, string>): ReturnType<typeof httpRequest> {
  const url = new URL(path, endpoint);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return send(url, { method: 'POST', headers });
}

/** How long the body waits for the server's answer to the headers (see putMedia). */
const BODY_WAIT_MS = 1000;

/** How much of a PutMedia body went out; filled in while the upload runs. */
export interface BodyProgress {
  /** Bytes of the body handed to the connection. */
  bytesSent: number;
  /** The whole body was read from its source and written to the connection (the upload was not cut short). */
  complete: boolean;
}

/** The acknowledgements of one PutMedia upload, and how much of its body was sent. */
export type PutMediaUpload = AsyncGenerator<PutMediaAck> & { readonly body: Readonly<BodyProgress> };

export class PutMediaClient {
  constructor(private readonly opts: ClientOptions) {}

  /**
   * Streams the body; yields each acknowledgement; throws KvsServiceError for a refused request. Once the
   * acknowledgements end, `body.complete` tells whether the server had the whole body: it may end the
   * response early (shutting down, a fatal ERROR), and that is no error of the HTTP exchange.
   */
  putMedia(input: PutMediaInput): PutMediaUpload {
    const body: BodyProgress = { bytesSent: 0, complete: false };
    return Object.assign(this.upload(input, body), { body });
  }

  private async *upload(input: PutMediaInput, progress: BodyProgress): AsyncGenerator<PutMediaAck> {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'transfer-encoding': 'chunked',
      'x-amzn-fragment-timecode-type': input.timecodeType,
      'user-agent': 'kvsd-putmedia-client',
    };
    if (input.streamName !== undefined) headers['x-amzn-stream-name'] = input.streamName;
    if (input.streamArn !== undefined) headers['x-amzn-stream-arn'] = input.streamArn;
    if (input.producerStartTimestamp !== undefined) {
      const ms =
        typeof input.producerStartTimestamp === 'number'
          ? input.producerStartTimestamp
          : input.producerStartTimestamp.getTime();
      headers['x-amzn-producer-start-timestamp'] = (ms / 1000).toFixed(3);
    }
    if (this.opts.credentials.sessionToken) headers['x-amz-security-token'] = this.opts.credentials.sessionToken;

    const req = post(
      this.opts.endpoint,
      '/putMedia',
      await signedHeaders(this.opts, '/putMedia', headers, EMPTY_SHA256),
    );
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    response.catch(() => undefined); // awaited below
    // Once the response is there, a write error (the server closed its end) must not crash the process: the
    // response, or its abrupt end, tells the caller what happened, and `progress` how far the body got.
    req.on('error', () => undefined);
    const source = input.body instanceof Uint8Array ? Readable.from([input.body]) : Readable.from(input.body);
    source.on('error', (err) => req.destroy(err));
    // Only pipe() ends the request, once the source has ended: 'finish' then means every byte was written.
    req.once('finish', () => {
      progress.complete = true;
    });

    // The headers go first, the body only once the server has answered them (kvsd, and KVS per its docs, answer
    // 200 or an error right after checking the headers) or after BODY_WAIT_MS. A refused request then never
    // races our body writes against the server closing the connection: that race loses the error response
    // and leaves only EPIPE/ECONNRESET. (curl waits for "100 Continue" in the same way.)
    req.flushHeaders();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      response.then(
        () => undefined,
        () => undefined,
      ),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, BODY_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);

    let res: IncomingMessage;
    try {
      const answered = await Promise.race([response, Promise.resolve(undefined)]);
      if (answered === undefined || answered.statusCode === 200) {
        source.pipe(req);
        source.on('data', (chunk: Uint8Array) => {
          progress.bytesSent += chunk.length;
        });
      }
      res = await response;
    } catch (err) {
      source.destroy();
      throw err;
    }
    if (res.statusCode !== 200) {
      // Stop sending, read the error body, and only then drop the connection (destroying it first could lose
      // the body, and with it the message).
      source.unpipe(req);
      source.destroy();
      const error = await errorFrom(res);
      req.destroy();
      throw error;
    }
    let pending = '';
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        pending += chunk.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line) yield JSON.parse(line) as PutMediaAck;
        }
      }
      if (pending.trim()) yield JSON.parse(pending) as PutMediaAck;
    } finally {
      source.destroy();
      req.destroy();
    }
  }
}

/** A signed JSON call to a KVS control-plane or archived-media operation (used by `kvsd put --create`). */
export async function callJson(opts: ClientOptions, path: string, body: object): Promise<Record<string, unknown>> {
  const payload = Buffer.from(JSON.stringify(body));
  const h = new NodeSha256();
  h.update(payload);
  const payloadHash = Buffer.from(await h.digest()).toString('hex');
  const headers = await signedHeaders(
    opts,
    path,
    { 'content-type': 'application/json', 'content-length': String(payload.length) },
    payloadHash,
  );
  const req = post(opts.endpoint, path, headers);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
    req.end(payload);
  });
  if (res.statusCode !== 200) throw await errorFrom(res);
  let text = '';
  for await (const chunk of res) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
