/**
 * The pieces on their own: auth-file validation and glob rules, the SigV4 verifier on requests the HTTP
 * tests do not produce (query strings, odd header spacing, signed user-agent), quota-file merging and token
 * buckets, the visibility gate.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthConfigError, Principal, parseAuthConfig } from '../../src/auth/policy.js';
import { AWS_QUOTAS, QuotaConfigError, QuotaEnforcer, parseQuotaConfig } from '../../src/auth/quotas.js';
import { TokenBucket } from '../../src/protocol/tokenBucket.js';
import { streamNameFromArn, streamsOf } from '../../src/auth/access.js';
import { SigV4Verifier } from '../../src/protocol/sigv4.js';
import { NodeSha256 } from '../../src/protocol/sha256.js';
import { ApiError } from '../../src/protocol/errors.js';
import { VisibilityGate, parseDelaySpec } from '../../src/archive/visibility.js';

const KEY = { accessKeyId: 'AKIDUNIT', secretAccessKey: 'unit/secret+key=' };

describe('auth file', () => {
  const principal = (allow: unknown) =>
    new Principal(parseAuthConfig({ principals: [{ name: 'p', ...KEY, allow }] }).principals[0]!);

  it('matches actions case-insensitively and stream globs literally, with * and ?', () => {
    const p = principal([
      { actions: ['kinesisvideo:Get*', 'KinesisVideo:listfragments'], streams: ['cam-?', 'lobby.*'] },
    ]);
    assert.ok(p.allows('GetMedia', ['cam-1']));
    assert.ok(p.allows('GetMediaForFragmentList', ['lobby.east']));
    assert.ok(p.allows('ListFragments', ['cam-9']));
    assert.ok(!p.allows('GetMedia', ['cam-10']), '? is one character');
    assert.ok(!p.allows('GetMedia', ['lobbyXeast']), '. is literal');
    assert.ok(!p.allows('PutMedia', ['cam-1']));
    assert.ok(!p.allows('GetMedia', ['cam-1', 'cam-22']), 'every stream named must be allowed');
    assert.ok(!p.allows('ListStreams', []), 'stream-less operations need streams "*"');
    assert.ok(principal([{ actions: ['kinesisvideo:List*'] }]).allows('ListStreams', []), 'streams defaults to "*"');
  });

  it('refuses malformed files with a message naming the place, never the secret', () => {
    const bad: [unknown, RegExp][] = [
      [[], /must be a JSON object/],
      [{ principals: [] }, /empty/],
      [
        {
          principals: [
            { name: 'a', ...KEY, allow: [] },
            { name: 'b', ...KEY, allow: [] },
          ],
        },
        /principal "b": accessKeyId AKIDUNIT is used by another principal/,
      ],
      [
        { principals: [{ name: 'a', ...KEY, allow: [{ actions: ['s3:GetObject'] }] }] },
        /must start with "kinesisvideo:"/,
      ],
      [
        { principals: [{ name: 'a', ...KEY, allow: [{ actions: ['kinesisvideo:*'], stream: ['x'] }] }] },
        /unknown key "stream"/,
      ],
      [{ principals: [{ name: 'a', accessKeyId: 'AK', secretAccessKey: '', allow: [] }] }, /secretAccessKey/],
      [{ principals: [{ name: 'a', accessKeyId: 'has space', secretAccessKey: 'x', allow: [] }] }, /accessKeyId/],
    ];
    for (const [value, message] of bad) {
      assert.throws(
        () => parseAuthConfig(value),
        (err: unknown) => {
          assert.ok(err instanceof AuthConfigError);
          assert.match(err.message, message);
          assert.ok(!err.message.includes(KEY.secretAccessKey));
          return true;
        },
      );
    }
  });

  it('keeps the secret out of JSON', () => {
    const p = principal([]);
    assert.equal(p.secretAccessKey, KEY.secretAccessKey);
    assert.ok(!JSON.stringify(p).includes(KEY.secretAccessKey));
    assert.ok(!JSON.stringify({ ...p }).includes(KEY.secretAccessKey));
  });

  it('finds the streams a request names', () => {
    assert.equal(streamNameFromArn('arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam-1/1700000000000'), 'cam-1');
    assert.deepEqual(streamsOf({ StreamName: 'a', StreamARN: 'arn:aws:kinesisvideo:r:1:stream/b/1' }, {}, false), [
      'a',
      'b',
    ]);
    assert.deepEqual(streamsOf({}, { 'x-amzn-stream-name': 'cam' }, true), ['cam']);
    assert.deepEqual(streamsOf({ MaxResults: 1 }, {}, false), []);
  });
});

describe('SigV4Verifier', () => {
  const verifier = new SigV4Verifier({ lookup: (id) => (id === KEY.accessKeyId ? KEY : undefined) });
  async function signed(opts: {
    query?: Record<string, string | string[]>;
    headers?: Record<string, string>;
    body?: string;
  }) {
    const signer = new SignatureV4({
      service: 'kinesisvideo',
      region: 'eu-central-1',
      credentials: KEY,
      sha256: NodeSha256,
      applyChecksum: false,
    });
    const body = opts.body ?? '{}';
    const out = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: 'kvs.local',
        path: '/listStreams',
        query: opts.query ?? {},
        headers: { host: 'kvs.local:4568', 'content-type': 'application/json', ...opts.headers },
        body,
      },
      { signableHeaders: new Set(['user-agent']) },
    );
    const qs = new URLSearchParams(
      Object.entries(opts.query ?? {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
    ).toString();
    const headers = Object.fromEntries(Object.entries(out.headers).map(([k, v]) => [k.toLowerCase(), v]));
    return { method: 'POST', url: `/listStreams${qs ? `?${qs}` : ''}`, headers, body: Buffer.from(body) };
  }
  const check = async (r: Awaited<ReturnType<typeof signed>>) => verifier.finish(verifier.begin(r), r, r.body);

  it('verifies query strings (repeated keys too), any region, and headers the SDKs never sign', async () => {
    const r = await signed({
      query: { b: '2', a: ['1', 'x y'] },
      headers: { 'user-agent': 'odd   spacing  agent', 'x-custom': ' padded ' },
    });
    assert.equal(await check(r), KEY);
    await assert.rejects(
      check({ ...r, url: r.url.replace('b=2', 'b=3') }),
      (e: unknown) => e instanceof ApiError && e.code === 'InvalidSignatureException',
    );
    await assert.rejects(
      check({ ...r, headers: { ...r.headers, 'user-agent': 'other' } }),
      (e: unknown) => e instanceof ApiError && e.code === 'InvalidSignatureException',
    );
    // An unsigned header may change freely.
    assert.equal(await check({ ...r, headers: { ...r.headers, 'x-unsigned': 'anything' } }), KEY);
  });

  it('treats the streaming payload hashes as PutMedia sends them', async () => {
    for (const declared of ['UNSIGNED-PAYLOAD', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', undefined]) {
      const r = await signed({ headers: declared ? { 'x-amz-content-sha256': declared } : {}, body: '' });
      const pending = verifier.begin(r);
      assert.equal(await verifier.finish(pending, r, undefined), KEY, `payload hash ${declared}`);
    }
  });
});

describe('quotas', () => {
  it('merges a file over what it extends; null removes a limit; bad values are errors', () => {
    const q = parseQuotaConfig({
      extends: 'aws',
      operations: { ListFragments: { tpsPerStream: 20 }, CreateStream: { tpsPerAccount: null } },
    });
    assert.equal(q.operations.ListFragments!.tpsPerStream, 20);
    assert.equal(q.operations.CreateStream!.tpsPerAccount, null);
    assert.deepEqual(q.operations.GetMedia, AWS_QUOTAS.operations.GetMedia);
    assert.equal(AWS_QUOTAS.operations.ListFragments!.tpsPerStream, 5, 'the AWS preset is not modified');
    assert.deepEqual(parseQuotaConfig({ operations: { PutMedia: { connectionsPerStream: 2 } } }).operations, {
      PutMedia: { connectionsPerStream: 2 },
    });
    for (const bad of [
      { extends: 'gcp' },
      { operations: { ListFragments: { tps: 1 } } },
      { operations: { ListFragments: { tpsPerStream: -1 } } },
      { operations: { PutMedia: { onConnectionLimit: 'queue' } } },
      { operations: { PutMedia: { connectionsPerStream: 1.5 } } },
    ]) {
      assert.throws(() => parseQuotaConfig(bad), QuotaConfigError);
    }
  });

  it('token buckets: a burst, then the rate; debt measured in time', () => {
    let now = 0;
    const b = new TokenBucket(5, 5, () => now);
    for (let i = 0; i < 5; i++) assert.ok(b.tryTake());
    assert.ok(!b.tryTake());
    now += 200;
    assert.ok(b.tryTake());
    assert.ok(!b.tryTake());
    const bytes = new TokenBucket(1000, 1000, () => now);
    assert.equal(bytes.consume(1000), 0);
    assert.equal(bytes.consume(500), 500);
  });

  it('takes from every bucket or none, and evicts the oldest connection under "replace-oldest"', () => {
    let now = 0;
    const q = new QuotaEnforcer(
      parseQuotaConfig({
        operations: {
          DescribeStream: { tpsPerStream: 2, tpsPerAccount: 3 },
          PutMedia: { connectionsPerStream: 2, onConnectionLimit: 'replace-oldest' },
          GetMedia: { connectionsPerStream: 1 },
        },
      }),
      () => now,
    );
    q.admit('DescribeStream', 'a');
    q.admit('DescribeStream', 'a');
    assert.throws(() => q.admit('DescribeStream', 'a'), /on stream a exceeds the limit of 2/);
    q.admit('DescribeStream', 'b');
    assert.throws(() => q.admit('DescribeStream', 'c'), /in this account exceeds the limit of 3/);
    now += 1000;
    q.admit('DescribeStream', 'c');

    const evicted: number[] = [];
    const slots = [1, 2, 3].map((i) => {
      now += 1;
      return q.admit('PutMedia', 'cam', { streaming: true, evict: () => evicted.push(i) });
    });
    assert.deepEqual(evicted, [1]);
    assert.equal(q.connections('PutMedia', 'cam'), 2);
    slots[0]!.release(); // the evicted one's own release is harmless
    assert.equal(q.connections('PutMedia', 'cam'), 2);
    slots[1]!.release();
    assert.equal(q.connections('PutMedia', 'cam'), 1);

    const g = q.admit('GetMedia', 'cam', { streaming: true });
    assert.throws(
      () => q.admit('GetMedia', 'cam', { streaming: true }),
      (e: unknown) => e instanceof ApiError && e.code === 'ConnectionLimitExceededException',
    );
    g.release();
    q.admit('GetMedia', 'cam', { streaming: true });
  });
});

describe('visibility', () => {
  it('hides a fragment for the delay after PERSISTED', () => {
    let now = 1000;
    const gate = new VisibilityGate({ min: 500, max: 500 }, () => now);
    gate.persisted(1, 7);
    assert.deepEqual(gate.filter(1, [{ seq: 6 }, { seq: 7 }]), [{ seq: 6 }]);
    assert.deepEqual(gate.filter(2, [{ seq: 7 }]), [{ seq: 7 }], 'per stream');
    now += 499;
    assert.ok(!gate.isVisible(1, 7));
    now += 1;
    assert.ok(gate.isVisible(1, 7));
  });

  it('parses fixed and random delays', () => {
    assert.deepEqual(parseDelaySpec('1500'), { min: 1500, max: 1500 });
    assert.deepEqual(parseDelaySpec('0-1000'), { min: 0, max: 1000 });
    for (const bad of ['', '-5', '10-5', 'abc', '1.5']) assert.equal(parseDelaySpec(bad), undefined, bad);
  });
});
