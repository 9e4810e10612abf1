/**
 * Shared pieces of the auth tests: an --auth file with three principals (admin, a camera limited to its
 * own stream, a read-only viewer), clients signed as each, raw signed requests built with
 * @smithy/signature-v4 (to sign at a chosen date or to tamper with a signed request), the Python clients
 * and curl, and crafted MKV for PutMedia.
 */
// needs: curl
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { KinesisVideoMediaClient } from '@aws-sdk/client-kinesis-video-media';
import { NodeSha256 } from '../../src/protocol/sha256.js';
import { PutMediaClient, type PutMediaAck } from '../../src/client/putMediaClient.js';
import { craftCluster, craftHeader, frames } from '../helpers/putMedia.js';
import { run as runTool, type Run } from '../helpers/cli.js';
import { createStream as createStreamAs } from '../helpers/sdk.js';

export type { Run };

export const REGION = 'us-east-1';

export interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Secrets with characters that break naive handling (/, +, =). */
export const ADMIN: Key = {
  accessKeyId: 'AKIDKVSDADMIN01',
  secretAccessKey: 'adm1n/Secret+Key=WithPadding0123456789abc',
};
export const CAMERA: Key = {
  accessKeyId: 'AKIDKVSDCAMERA1',
  secretAccessKey: 'cam3ra-Secret-98765432109876543210zyxwv',
};
export const VIEWER: Key = {
  accessKeyId: 'AKIDKVSDVIEWER1',
  secretAccessKey: 'v1ewer-Secret-abcdefghijklmnopqrstuvwxyz',
};
export const ALL_SECRETS = [ADMIN, CAMERA, VIEWER].map((k) => k.secretAccessKey);

/** CreateStream signed by the admin principal: these servers run with --auth. Returns the ARN. */
export const createStream = (url: string, name: string, retentionHours = 24) =>
  createStreamAs(url, name, retentionHours, ADMIN);

export const AUTH_CONFIG = {
  principals: [
    { name: 'admin', ...ADMIN, allow: [{ actions: ['kinesisvideo:*'], streams: ['*'] }] },
    {
      name: 'camera-1',
      ...CAMERA,
      allow: [
        {
          actions: ['kinesisvideo:PutMedia', 'kinesisvideo:DescribeStream', 'kinesisvideo:GetDataEndpoint'],
          streams: ['cam-1'],
        },
      ],
    },
    {
      name: 'viewer',
      ...VIEWER,
      allow: [
        {
          actions: [
            'kinesisvideo:ListFragments',
            'kinesisvideo:GetMedia*',
            'kinesisvideo:Describe*',
            'kinesisvideo:List*',
            'kinesisvideo:GetDataEndpoint',
          ],
          streams: ['*'],
        },
      ],
    },
  ],
};

/** Writes a file in a fresh temporary directory; returns its path. */
export function writeTempFile(name: string, content: string | Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kvsd-auth-')), name);
  writeFileSync(file, content);
  return file;
}

export const writeJsonFile = (value: unknown, name = 'config.json') =>
  writeTempFile(name, JSON.stringify(value, null, 2));

export const authFile = () => writeJsonFile(AUTH_CONFIG, 'auth.json');

export function config(url: string, key: Key, extra: Record<string, unknown> = {}) {
  return { endpoint: url, region: REGION, credentials: key, maxAttempts: 1, ...extra };
}
export const controlPlane = (url: string, key: Key, extra: Record<string, unknown> = {}) =>
  new KinesisVideoClient(config(url, key, extra));
export const archived = (url: string, key: Key, extra: Record<string, unknown> = {}) =>
  new KinesisVideoArchivedMediaClient(config(url, key, extra));
export const media = (url: string, key: Key) => new KinesisVideoMediaClient(config(url, key));

/** Runs `p`, expecting a service error; returns it. */
export async function rejected(
  p: Promise<unknown>,
  what = 'the call',
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  assert.fail(`${what} should have failed`);
}

/** Asserts an SDK error's code, HTTP status and (optionally) message. */
export async function assertSdkError(
  p: Promise<unknown>,
  code: string,
  status: number,
  message?: string | RegExp,
  what?: string,
) {
  const err = await rejected(p, what);
  assert.equal(err.name, code, `${what ?? 'error'}: ${err.name}: ${err.message}`);
  assert.equal(err.$metadata?.httpStatusCode, status, `${what ?? 'error'} status`);
  if (typeof message === 'string') assert.equal(err.message, message);
  else if (message) assert.match(err.message, message);
  return err;
}

// ---------------------------------------------------------------------------------------------------
// Raw signed requests

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function rawRequest(
  url: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Signs a JSON POST with @smithy/signature-v4 as a client would. `withContentSha` sends and signs
 * x-amz-content-sha256 (JS SDK style); without it the body hash is signed but not sent (botocore, curl).
 */
export async function signJson(
  url: string,
  path: string,
  body: string,
  key: Key,
  opts: { signingDate?: Date; withContentSha?: boolean } = {},
) {
  const u = new URL(url);
  const signer = new SignatureV4({
    service: 'kinesisvideo',
    region: REGION,
    credentials: key,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: opts.withContentSha === true,
  });
  const headers: Record<string, string> = {
    host: u.host,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (opts.withContentSha) headers['x-amz-content-sha256'] = sha256Hex(body);
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path,
      query: {},
      headers,
      body,
    },
    { signingDate: opts.signingDate ?? new Date() },
  );
  return signed.headers as Record<string, string>;
}

/** An error response's code (x-amzn-ErrorType) and message. */
export function errorOf(res: RawResponse): { code: string; message: string } {
  const body = JSON.parse(res.body) as { message?: string; Message?: string };
  return { code: String(res.headers['x-amzn-errortype']).split(':')[0]!, message: body.message ?? body.Message ?? '' };
}

// ---------------------------------------------------------------------------------------------------
// Python clients and curl

/** The shared tool runner with `env` added to this process's environment. */
export function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runTool(file, args, { env: { ...process.env, ...env }, timeoutMs: 60_000 });
}

export function awsEnvFor(key: Key): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** curl --aws-sigv4 POST of a JSON body; returns status and body. */
export async function curlJson(
  url: string,
  path: string,
  body: string,
  key?: Key,
): Promise<{ status: number; body: string }> {
  const args = [
    '-sS',
    '-o',
    '-',
    '-w',
    '\n%{http_code}',
    '-H',
    'content-type: application/json',
    '--data-binary',
    body,
  ];
  if (key)
    args.push('--aws-sigv4', `aws:amz:${REGION}:kinesisvideo`, '--user', `${key.accessKeyId}:${key.secretAccessKey}`);
  args.push(`${url}${path}`);
  const r = await run('curl', args);
  assert.equal(r.code, 0, r.stderr);
  const nl = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(nl + 1)), body: r.stdout.slice(0, nl) };
}

// ---------------------------------------------------------------------------------------------------
// PutMedia

/** A crafted MKV stream: header + `n` one-second clusters with ABSOLUTE (epoch ms) timecodes. */
export function mkvClusters(n: number, startMs: number, frameBytes = 200): { header: Buffer; clusters: Buffer[] } {
  return {
    header: craftHeader(1),
    clusters: Array.from({ length: n }, (_, i) =>
      craftCluster({ timecode: startMs + i * 1000, frames: frames({ count: 10, stepMs: 100, size: frameBytes }) }),
    ),
  };
}

export function mkv(n: number, startMs: number, frameBytes = 200): Buffer {
  const { header, clusters } = mkvClusters(n, startMs, frameBytes);
  return Buffer.concat([header, ...clusters]);
}

export const putMediaClient = (url: string, key: Key) =>
  new PutMediaClient({ endpoint: url, region: REGION, credentials: key });

/** Sends a whole body with PutMediaClient; returns the acks, or throws the service error. */
export async function putMedia(
  url: string,
  key: Key,
  stream: string,
  body: Buffer | AsyncIterable<Uint8Array>,
  onAck?: (a: PutMediaAck) => void,
) {
  const acks: PutMediaAck[] = [];
  for await (const ack of putMediaClient(url, key).putMedia({ streamName: stream, timecodeType: 'ABSOLUTE', body })) {
    acks.push(ack);
    onAck?.(ack);
  }
  return acks;
}
