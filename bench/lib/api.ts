/**
 * A small signed JSON client for the setup calls of the bench (CreateStream, ListFragments checks...),
 * plus SigV4 headers for the load generators. Requests carry the headers the SDKs send; the bench runs kvsd
 * without --auth, so the signatures are parsed but not checked (docs/auth.md).
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../src/protocol/sha256.js';

export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'AKIDKVSDBENCH', secretAccessKey: 'kvsd-bench-secret' };

const signer = new SignatureV4({
  service: 'kinesisvideo',
  region: REGION,
  credentials: CREDENTIALS,
  sha256: NodeSha256,
  uriEscapePath: true,
});
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export function sha256Hex(data: Buffer | string): Promise<string> {
  const h = new NodeSha256();
  h.update(typeof data === 'string' ? Buffer.from(data) : data);
  return h.digest().then((d) => Buffer.from(d).toString('hex'));
}

/** SigV4 headers for a POST to `base + path` (payloadHash: the body's SHA-256, or that of '' for streams). */
export async function signedHeaders(
  base: string,
  path: string,
  headers: Record<string, string>,
  payloadHash: string,
): Promise<Record<string, string>> {
  const url = new URL(base);
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path,
    query: {},
    headers: { host: url.host, ...headers, 'x-amz-content-sha256': payloadHash },
  });
  return signed.headers as Record<string, string>;
}

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** POST /<op> with a JSON body; returns the raw response body (throws ApiCallError on non-200). */
export async function callRaw(base: string, op: string, body: unknown): Promise<Buffer> {
  const payload = Buffer.from(JSON.stringify(body));
  const path = `/${op}`;
  const headers = await signedHeaders(
    base,
    path,
    { 'content-type': 'application/json', 'content-length': String(payload.length) },
    await sha256Hex(payload),
  );
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(new URL(path, base), { method: 'POST', headers, agent }, resolve);
    req.once('error', reject);
    req.end(payload);
  });
  const data = await readAll(res);
  if (res.statusCode !== 200) {
    let type = String(res.headers['x-amzn-errortype'] ?? '').split(':')[0] ?? '';
    let message = data.toString('utf8');
    try {
      const parsed = JSON.parse(message) as { __type?: string; message?: string };
      type ||= parsed.__type ?? '';
      message = parsed.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new ApiCallError(res.statusCode ?? 0, type, `${op}: HTTP ${res.statusCode} ${type}: ${message}`);
  }
  return data;
}

export async function call<T = Record<string, unknown>>(base: string, op: string, body: unknown): Promise<T> {
  const data = await callRaw(base, op, body);
  return (data.length ? JSON.parse(data.toString('utf8')) : {}) as T;
}

export interface FragmentJson {
  FragmentNumber: string;
  FragmentSizeInBytes: number;
  ProducerTimestamp: number;
}

export function producerRange(startMs: number, endMs: number) {
  return {
    FragmentSelectorType: 'PRODUCER_TIMESTAMP',
    TimestampRange: { StartTimestamp: startMs / 1000, EndTimestamp: endMs / 1000 },
  };
}

/** Creates the stream; false if it already exists. */
export async function createStream(base: string, name: string, retentionHours: number): Promise<boolean> {
  try {
    await call(base, 'createStream', {
      StreamName: name,
      DataRetentionInHours: retentionHours,
      MediaType: 'video/h264',
    });
    return true;
  } catch (err) {
    if (err instanceof ApiCallError && err.type === 'ResourceInUseException') return false;
    throw err;
  }
}

/** Runs `fn` over `items` with at most `limit` calls at a time. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/**
 * Closes the setup client's idle keep-alive connections: they would count against kvsd's connection
 * limit (1000 by default) while the producers run.
 */
export function closeIdleConnections() {
  for (const list of Object.values(agent.freeSockets)) for (const socket of list ?? []) socket.destroy();
}

export function closeAgent() {
  agent.destroy();
}
