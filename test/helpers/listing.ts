/**
 * Helpers of the ListFragments tests: bulk fragments through `kvsd seed` (the real ingest path, in its own
 * process), real PutMedia, ListFragments pages through the JS SDK,
 * raw HTTP (for what no SDK would send), the AWS CLI v2 (/usr/bin/aws) and boto3 (/usr/bin/python3).
 */
// needs: aws, boto3
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  type KinesisVideoArchivedMediaClient,
  ListFragmentsCommand,
  type Fragment,
  type ListFragmentsCommandInput,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { PutMediaClient, type PutMediaAck, type PutMediaInput } from '../../src/client/putMediaClient.js';
import { AWS, CLI, PYTHON, awsEnv, run, type Run } from './cli.js';
import { mkvinfoClusters, type MkvinfoCluster } from './media.js';
import { clientConfig } from './sdk.js';
import { sleep } from './time.js';

export const NOT_FOUND = 'The requested stream is not found or not active.';
export const FIVE_KEYS = [
  'FragmentLengthInMilliseconds',
  'FragmentNumber',
  'FragmentSizeInBytes',
  'ProducerTimestamp',
  'ServerTimestamp',
];

// ---------------------------------------------------------------------------------------------------
// Seeding

export interface SeedOptions {
  fragments: number;
  /** Producer timestamp of the first fragment, epoch ms (may carry milliseconds). */
  startMs: number;
  intervalMs: number;
  create?: boolean;
  /** Payload bytes per fragment (kvsd seed's default otherwise). */
  frameBytes?: number;
}

/**
 * `kvsd seed`: through a running kvsd's PutMedia (`--endpoint`), or straight into a data directory that no
 * server holds (a path: the fast bulk path, for data sets seeded before the server starts). Returns the
 * seeded producer timestamps (ms).
 */
export async function seed(target: { url: string } | string, stream: string, o: SeedOptions): Promise<number[]> {
  const args = [
    CLI,
    'seed',
    ...(typeof target === 'string' ? ['--data-dir', target] : ['--endpoint', target.url]),
    '--stream',
    stream,
    '--fragments',
    String(o.fragments),
    '--start',
    (o.startMs / 1000).toFixed(3),
    '--interval-ms',
    String(o.intervalMs),
  ];
  if (o.create) args.push('--create');
  if (o.frameBytes !== undefined) args.push('--frame-bytes', String(o.frameBytes));
  const r = await run(process.execPath, args, { timeoutMs: 180_000, env: awsEnv() });
  assert.equal(r.code, 0, `kvsd seed failed (${r.code}): ${r.stderr}${r.stdout}`);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { persisted: number; errors: number };
  assert.equal(out.persisted, o.fragments, r.stdout);
  assert.equal(out.errors, 0, r.stdout);
  return Array.from({ length: o.fragments }, (_, i) => o.startMs + i * o.intervalMs);
}

// ---------------------------------------------------------------------------------------------------
// ListFragments through the SDK

export const ms = (d: Date | undefined) => {
  assert.ok(d instanceof Date, `expected a Date, got ${String(d)}`);
  return d.getTime();
};

/** A selector of the kind with a range in epoch ms, as the JS SDK takes it (Dates keep milliseconds). */
export function selector(kind: 'PRODUCER_TIMESTAMP' | 'SERVER_TIMESTAMP', startMs: number, endMs: number) {
  return {
    FragmentSelectorType: kind,
    TimestampRange: { StartTimestamp: new Date(startMs), EndTimestamp: new Date(endMs) },
  } as const;
}

export interface Walk {
  fragments: Fragment[];
  tokens: string[];
  pageSizes: number[];
}

/** Walks every page with ListFragmentsCommand, re-sending the selector with each token (as the paginators do). */
export async function walk(
  am: KinesisVideoArchivedMediaClient,
  input: ListFragmentsCommandInput,
  opts: { resendSelector?: boolean; between?: (page: number) => Promise<void> } = {},
): Promise<Walk> {
  const result: Walk = { fragments: [], tokens: [], pageSizes: [] };
  let token: string | undefined;
  for (let page = 0; ; page++) {
    const req: ListFragmentsCommandInput =
      token === undefined
        ? input
        : opts.resendSelector === false
          ? { ...input, FragmentSelector: undefined, NextToken: token }
          : { ...input, NextToken: token };
    const out = await am.send(new ListFragmentsCommand(req));
    assert.ok(Array.isArray(out.Fragments), 'Fragments is a list');
    result.fragments.push(...out.Fragments!);
    result.pageSizes.push(out.Fragments!.length);
    if (out.NextToken === undefined) return result;
    result.tokens.push(out.NextToken);
    token = out.NextToken;
    await opts.between?.(page);
  }
}

// ---------------------------------------------------------------------------------------------------
// Raw HTTP

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** POST /listFragments with exactly this body (a value is JSON-encoded; a string is sent as is). */
export async function rawList(url: string, body: unknown): Promise<RawResponse> {
  const res = await fetch(`${url}/listFragments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A raw page's fragments as plain numbers: timestamps in epoch ms. */
export interface RawFragment {
  n: string;
  p: number;
  s: number;
  size: number;
  len: number;
}
export function rawFragments(json: any): RawFragment[] {
  return (json.Fragments as any[]).map((f) => ({
    n: f.FragmentNumber,
    p: Math.round(f.ProducerTimestamp * 1000),
    s: Math.round(f.ServerTimestamp * 1000),
    size: f.FragmentSizeInBytes,
    len: f.FragmentLengthInMilliseconds,
  }));
}

/** Walks a listing over raw HTTP (cheap enough for 2,500 one-fragment pages), checking each page's shape. */
export async function rawWalk(
  url: string,
  body: Record<string, unknown>,
  maxResults: number,
): Promise<{ fragments: RawFragment[]; tokens: string[]; pageSizes: number[] }> {
  const out = { fragments: [] as RawFragment[], tokens: [] as string[], pageSizes: [] as number[] };
  let token: string | undefined;
  for (;;) {
    const r = await rawList(url, { ...body, MaxResults: maxResults, ...(token !== undefined && { NextToken: token }) });
    assert.equal(r.status, 200, r.text);
    const page = rawFragments(r.json);
    out.fragments.push(...page);
    out.pageSizes.push(page.length);
    if (!('NextToken' in r.json)) return out;
    assert.equal(typeof r.json.NextToken, 'string');
    assert.match(r.json.NextToken, /^[a-zA-Z0-9+/]+={0,2}$/);
    assert.ok(r.json.NextToken.length <= 4096);
    out.tokens.push(r.json.NextToken);
    token = r.json.NextToken;
  }
}

/** Checks an error in the wire shape the seed documents and the SDKs read. Returns the message. */
export function assertWireError(r: RawResponse, status: number, code: string): string {
  assert.equal(r.status, status, `status for ${code}: ${r.text}`);
  assert.equal(r.headers.get('x-amzn-errortype'), code, 'x-amzn-errortype');
  assert.equal(r.headers.get('x-amz-errortype'), code, 'x-amz-errortype');
  const id = r.headers.get('x-amzn-requestid');
  assert.ok(id && id.length > 0, 'x-amzn-requestid');
  assert.equal(r.headers.get('x-amz-requestid'), id, 'x-amz-requestid');
  assert.equal(r.json?.__type, code, `body __type: ${r.text}`);
  assert.equal(typeof r.json.message, 'string');
  assert.ok(r.json.message.length > 0);
  return r.json.message as string;
}

// ---------------------------------------------------------------------------------------------------
// Ordering

/** (timestamp, fragment number) ascending, strictly: also proves there are no duplicates. */
export function assertAscending(list: { ts: number; n: string }[], what: string) {
  for (let i = 1; i < list.length; i++) {
    const a = list[i - 1]!,
      b = list[i]!;
    assert.ok(
      a.ts < b.ts || (a.ts === b.ts && a.n.length === b.n.length && a.n < b.n),
      `${what}: entry ${i} (${b.ts}, ${b.n}) does not come after (${a.ts}, ${a.n})`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// PutMedia

export async function putMedia(url: string, input: PutMediaInput): Promise<PutMediaAck[]> {
  const client = new PutMediaClient({ endpoint: url, region: 'us-east-1', credentials: clientConfig(url).credentials });
  const acks: PutMediaAck[] = [];
  for await (const ack of client.putMedia(input)) acks.push(ack);
  return acks;
}

/** An MKV file cut at its clusters (mkvinfo's offsets): the first chunk carries the header and the first cluster. */
export async function clusterChunks(file: string): Promise<{ chunks: Buffer[]; clusters: MkvinfoCluster[] }> {
  const [bytes, clusters] = await Promise.all([readFile(file), mkvinfoClusters(file)]);
  const cuts = [0, ...clusters.slice(1).map((c) => c.offset), bytes.length];
  return { chunks: cuts.slice(0, -1).map((from, i) => bytes.subarray(from, cuts[i + 1])), clusters };
}

/**
 * Yields each chunk, pausing between consecutive ones (not after the last): distinct arrival times, so distinct
 * server timestamps. (putMedia.ts's `paced` pauses after every chunk.)
 */
export async function* pausedBetween(chunks: Buffer[], pauseMs: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0) await sleep(pauseMs);
    yield chunks[i]!;
  }
}

// ---------------------------------------------------------------------------------------------------
// AWS CLI v2 and boto3

/** `aws kinesis-video-archived-media list-fragments ... --endpoint-url URL --output json`. */
export function awsListFragments(url: string, args: string[]): Promise<Run> {
  return run(
    AWS,
    ['kinesis-video-archived-media', 'list-fragments', ...args, '--endpoint-url', url, '--output', 'json'],
    { env: awsEnv() },
  );
}

export async function awsListJson(url: string, args: string[]): Promise<{ Fragments: any[]; NextToken?: string }> {
  const r = await awsListFragments(url, args);
  assert.equal(r.code, 0, `aws list-fragments ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** CLI v2 prints timestamps as ISO-8601 with an offset (and microseconds when there are any). */
export const isoMs = (iso: string) => {
  const t = Date.parse(iso);
  assert.ok(Number.isFinite(t), `not an ISO timestamp: ${iso}`);
  return t;
};

/** --fragment-selector JSON with epoch-second numbers, as a CLI user writes it. */
export const cliSelector = (kind: string, startS: number, endS: number) =>
  JSON.stringify({ FragmentSelectorType: kind, TimestampRange: { StartTimestamp: startS, EndTimestamp: endS } });

/** A boto3 call: ListFragments params (timestamps given as epoch seconds, passed to boto3 as datetimes), optionally paginated. */
export interface BotoCall {
  params: Record<string, unknown>;
  paginate?: Record<string, unknown>;
}
export type BotoFragment = {
  FragmentNumber: string;
  FragmentSizeInBytes: number;
  ProducerTimestamp: number;
  ServerTimestamp: number;
  FragmentLengthInMilliseconds: number;
  keys: string[];
};
export type BotoResult =
  | { ok: { Fragments: BotoFragment[]; NextToken?: string; RequestId: string } }
  | { pages: { Fragments: BotoFragment[]; NextToken?: string }[] }
  | { error: { Code: string; Message: string }; status: number; requestId: string; modelled: boolean };

const BOTO_SCRIPT = String.raw`
import sys, json, boto3, botocore.config, botocore.exceptions
from datetime import datetime, timezone
req = json.load(sys.stdin)
c = boto3.client('kinesis-video-archived-media', endpoint_url=req['url'], region_name='us-east-1',
                 config=botocore.config.Config(retries={'max_attempts': 1, 'mode': 'standard'}))
def to_dt(x):
    return datetime.fromtimestamp(x, tz=timezone.utc)
def params(p):
    p = dict(p)
    sel = p.get('FragmentSelector')
    if sel is not None:
        tr = sel['TimestampRange']
        p['FragmentSelector'] = {'FragmentSelectorType': sel['FragmentSelectorType'],
            'TimestampRange': {'StartTimestamp': to_dt(tr['StartTimestamp']), 'EndTimestamp': to_dt(tr['EndTimestamp'])}}
    return p
def frag(f):
    return {'FragmentNumber': f['FragmentNumber'], 'FragmentSizeInBytes': f['FragmentSizeInBytes'],
            'ProducerTimestamp': round(f['ProducerTimestamp'].timestamp() * 1000),
            'ServerTimestamp': round(f['ServerTimestamp'].timestamp() * 1000),
            'FragmentLengthInMilliseconds': f['FragmentLengthInMilliseconds'], 'keys': sorted(f.keys())}
out = []
for call in req['calls']:
    try:
        if call.get('paginate') is not None:
            pages = c.get_paginator('list_fragments').paginate(**params(call['params']), PaginationConfig=call['paginate'])
            out.append({'pages': [{'Fragments': [frag(f) for f in pg['Fragments']], 'NextToken': pg.get('NextToken')} for pg in pages]})
        else:
            r = c.list_fragments(**params(call['params']))
            ok = {'Fragments': [frag(f) for f in r['Fragments']], 'RequestId': r['ResponseMetadata']['RequestId']}
            if 'NextToken' in r:
                ok['NextToken'] = r['NextToken']
            out.append({'ok': ok})
    except botocore.exceptions.ClientError as e:
        modelled = isinstance(e, (c.exceptions.InvalidArgumentException, c.exceptions.ResourceNotFoundException))
        out.append({'error': e.response['Error'], 'status': e.response['ResponseMetadata']['HTTPStatusCode'],
                    'requestId': e.response['ResponseMetadata'].get('RequestId', ''), 'modelled': modelled})
print(json.dumps(out))
`;

/** Runs the calls in one /usr/bin/python3 process (boto3 costs ~0.5 s to load). */
export async function boto(url: string, calls: BotoCall[]): Promise<BotoResult[]> {
  const r = await run(PYTHON, ['-c', BOTO_SCRIPT], { stdin: JSON.stringify({ url, calls }), env: awsEnv() });
  assert.equal(r.code, 0, `boto3 script failed: ${r.stderr}`);
  const results = JSON.parse(r.stdout) as BotoResult[];
  assert.equal(results.length, calls.length);
  return results;
}

export function botoOk(r: BotoResult | undefined) {
  assert.ok(r && 'ok' in r, `boto3 call failed: ${JSON.stringify(r)}`);
  return r.ok;
}
