/**
 * Every control-plane operation through the unmodified AWS SDK for JavaScript v3, against the built kvsd.
 */
import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KinesisVideoClient,
  CreateStreamCommand,
  DescribeStreamCommand,
  ListStreamsCommand,
  DeleteStreamCommand,
  UpdateStreamCommand,
  UpdateDataRetentionCommand,
  TagStreamCommand,
  UntagStreamCommand,
  ListTagsForStreamCommand,
  GetDataEndpointCommand,
  paginateListStreams,
  ResourceNotFoundException,
  ResourceInUseException,
  VersionMismatchException,
  InvalidArgumentException,
  TagsPerResourceExceededLimitException,
  type StreamInfo,
  type APIName,
} from '@aws-sdk/client-kinesis-video';
import { clientConfig } from '../helpers/sdk.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { StreamRegistry } from '../../src/archive/streams.js';
import { SqliteCatalog } from '../../src/storage/sqliteCatalog.js';
import { ApiError } from '../../src/protocol/errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOT_FOUND = 'The requested stream is not found or not active.';
const API_NAMES: APIName[] = [
  'PUT_MEDIA',
  'GET_MEDIA',
  'LIST_FRAGMENTS',
  'GET_MEDIA_FOR_FRAGMENT_LIST',
  'GET_HLS_STREAMING_SESSION_URL',
  'GET_DASH_STREAMING_SESSION_URL',
  'GET_CLIP',
  'GET_IMAGES',
];

let kvsd: KvsdProcess;
let kv: KinesisVideoClient;

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  kv = new KinesisVideoClient(clientConfig(kvsd.url));
});
after(async () => {
  kv?.destroy();
  await kvsd?.dispose();
});

interface SdkError extends Error {
  $fault: string;
  $metadata: { httpStatusCode?: number; requestId?: string };
}

/** Awaits a rejection and checks what every kvsd error must carry; returns the error for more checks. */
async function expectError(
  p: Promise<unknown>,
  ctor: abstract new (...a: never[]) => Error,
  status: number,
  message?: string | RegExp,
): Promise<SdkError> {
  const err = await p.then(
    (v) => assert.fail(`expected ${ctor.name}, got success: ${JSON.stringify(v)}`),
    (e: unknown) => e as SdkError,
  );
  return checkError(err, ctor, status, message);
}

function checkError(
  e: unknown,
  ctor: abstract new (...a: never[]) => Error,
  status: number,
  message?: string | RegExp,
): SdkError {
  const err = e as SdkError;
  assert.ok(err instanceof ctor, `expected ${ctor.name}, got ${err.name}: ${err.message}`);
  assert.equal(err.name, ctor.name);
  assert.equal(err.$fault, 'client');
  assert.equal(err.$metadata.httpStatusCode, status);
  assert.match(err.$metadata.requestId ?? '', UUID, 'the request id travels in x-amzn-requestid');
  if (typeof message === 'string') assert.equal(err.message, message);
  else if (message) assert.match(err.message, message);
  return err;
}

const describeByName = async (name: string) =>
  (await kv.send(new DescribeStreamCommand({ StreamName: name }))).StreamInfo!;
const create = async (
  name: string,
  extra: Omit<ConstructorParameters<typeof CreateStreamCommand>[0], 'StreamName'> = {},
) => (await kv.send(new CreateStreamCommand({ StreamName: name, ...extra }))).StreamARN!;

/** What every StreamInfo must satisfy. */
function assertStreamInfo(info: StreamInfo, name: string) {
  assert.equal(info.StreamName, name);
  assert.ok(info.CreationTime instanceof Date);
  const m = /^arn:aws:kinesisvideo:us-east-1:000000000000:stream\/([a-zA-Z0-9_.-]+)\/(\d+)$/.exec(info.StreamARN ?? '');
  assert.ok(m, `ARN format: ${info.StreamARN}`);
  assert.equal(m[1], name);
  assert.equal(Number(m[2]), info.CreationTime.getTime(), 'the ARN suffix is CreationTime in ms');
  assert.match(info.Version ?? '', /^[a-zA-Z0-9]{20}$/);
  assert.equal(info.Status, 'ACTIVE');
}

describe('CreateStream and DescribeStream', () => {
  it('creates a stream with defaults and describes it by name, by ARN and by both', async () => {
    const before = Date.now();
    const arn = await create('sdk-defaults');
    const after = Date.now();
    const info = await describeByName('sdk-defaults');
    assertStreamInfo(info, 'sdk-defaults');
    assert.equal(info.StreamARN, arn);
    assert.ok(
      info.CreationTime!.getTime() >= before - 1 && info.CreationTime!.getTime() <= after + 1,
      'CreationTime is now',
    );
    assert.equal(info.KmsKeyId, 'arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo');
    assert.equal(info.DataRetentionInHours, 0);
    assert.equal(info.DeviceName, undefined);
    assert.equal(info.MediaType, undefined);
    assert.deepEqual((await kv.send(new DescribeStreamCommand({ StreamARN: arn }))).StreamInfo, info);
    assert.deepEqual(
      (await kv.send(new DescribeStreamCommand({ StreamARN: arn, StreamName: 'sdk-defaults' }))).StreamInfo,
      info,
    );
    assert.deepEqual((await kv.send(new ListTagsForStreamCommand({ StreamARN: arn }))).Tags ?? {}, {});
  });

  it('keeps every field given at creation', async () => {
    const arn = await create('sdk-full', {
      DeviceName: 'front-door.cam_1',
      MediaType: 'video/h264,audio/aac',
      DataRetentionInHours: 24,
      KmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      Tags: { site: 'berlin', floor: '2' },
    });
    const info = await describeByName('sdk-full');
    assertStreamInfo(info, 'sdk-full');
    assert.equal(info.StreamARN, arn);
    assert.equal(info.DeviceName, 'front-door.cam_1');
    assert.equal(info.MediaType, 'video/h264,audio/aac');
    assert.equal(info.DataRetentionInHours, 24);
    assert.equal(info.KmsKeyId, 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    assert.deepEqual((await kv.send(new ListTagsForStreamCommand({ StreamName: 'sdk-full' }))).Tags, {
      site: 'berlin',
      floor: '2',
    });
  });

  it('gives every stream its own Version and ARN', async () => {
    await create('sdk-unique-1');
    await create('sdk-unique-2');
    const [a, b] = [await describeByName('sdk-unique-1'), await describeByName('sdk-unique-2')];
    assert.notEqual(a.Version, b.Version);
    assert.notEqual(a.StreamARN, b.StreamARN);
  });

  it('refuses a duplicate name with ResourceInUseException and leaves the stream alone', async () => {
    await create('sdk-dup', { DataRetentionInHours: 2 });
    const before = await describeByName('sdk-dup');
    await expectError(
      kv.send(new CreateStreamCommand({ StreamName: 'sdk-dup' })),
      ResourceInUseException,
      400,
      /sdk-dup/,
    );
    assert.deepEqual(await describeByName('sdk-dup'), before);
  });

  it('answers ResourceNotFoundException (404, the AWS message) for an unknown stream, by name and by ARN', async () => {
    await expectError(
      kv.send(new DescribeStreamCommand({ StreamName: 'sdk-nope' })),
      ResourceNotFoundException,
      404,
      NOT_FOUND,
    );
    await expectError(
      kv.send(
        new DescribeStreamCommand({
          StreamARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/sdk-nope/1705489836421',
        }),
      ),
      ResourceNotFoundException,
      404,
      NOT_FOUND,
    );
  });

  it('answers ResourceNotFoundException from every operation on an unknown stream', async () => {
    const ref = { StreamName: 'sdk-nope' };
    const arn = 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/sdk-nope/1705489836421';
    const calls: Promise<unknown>[] = [
      kv.send(new UpdateStreamCommand({ ...ref, CurrentVersion: 'AAAAAAAAAAAAAAAAAAAA', MediaType: 'video/h264' })),
      kv.send(
        new UpdateDataRetentionCommand({
          ...ref,
          CurrentVersion: 'AAAAAAAAAAAAAAAAAAAA',
          Operation: 'INCREASE_DATA_RETENTION',
          DataRetentionChangeInHours: 1,
        }),
      ),
      kv.send(new TagStreamCommand({ ...ref, Tags: { a: 'b' } })),
      kv.send(new UntagStreamCommand({ ...ref, TagKeyList: ['a'] })),
      kv.send(new ListTagsForStreamCommand(ref)),
      kv.send(new GetDataEndpointCommand({ ...ref, APIName: 'GET_MEDIA' })),
      kv.send(new DeleteStreamCommand({ StreamARN: arn })),
      kv.send(new DeleteStreamCommand({ StreamARN: arn, CurrentVersion: 'AAAAAAAAAAAAAAAAAAAA' })),
    ];
    for (const call of calls) await expectError(call, ResourceNotFoundException, 404, NOT_FOUND);
  });

  it('refuses StreamName and StreamARN that name different streams with InvalidArgumentException', async () => {
    const arnA = await create('sdk-pair-a');
    await create('sdk-pair-b');
    const mixed = { StreamName: 'sdk-pair-b', StreamARN: arnA };
    const version = (await describeByName('sdk-pair-a')).Version!;
    for (const call of [
      kv.send(new DescribeStreamCommand(mixed)),
      kv.send(new UpdateStreamCommand({ ...mixed, CurrentVersion: version, MediaType: 'video/h264' })),
      kv.send(new TagStreamCommand({ ...mixed, Tags: { a: 'b' } })),
      kv.send(new ListTagsForStreamCommand(mixed)),
      kv.send(new GetDataEndpointCommand({ ...mixed, APIName: 'PUT_MEDIA' })),
    ]) {
      await expectError(call, InvalidArgumentException, 400, /StreamName/);
    }
    // Nothing was changed on either stream.
    assert.equal((await describeByName('sdk-pair-a')).Version, version);
    assert.deepEqual((await kv.send(new ListTagsForStreamCommand({ StreamARN: arnA }))).Tags ?? {}, {});
  });
});

describe('ListStreams', () => {
  const names = ['page-c', 'page-a', 'page-e', 'page-g', 'page-b', 'page-f', 'page-d'];
  before(async () => {
    for (const n of names) await create(n);
    await create('other-page-x');
  });

  it('lists everything in one page by default, in name order, with full StreamInfo', async () => {
    const out = await kv.send(new ListStreamsCommand({}));
    assert.equal(out.NextToken, undefined);
    const listed = out.StreamInfoList!.map((s) => s.StreamName!);
    assert.deepEqual(listed, [...listed].sort());
    for (const n of [...names, 'other-page-x']) assert.ok(listed.includes(n), `${n} is listed`);
    const a = out.StreamInfoList!.find((s) => s.StreamName === 'page-a')!;
    assertStreamInfo(a, 'page-a');
    assert.deepEqual(a, await describeByName('page-a'));
  });

  it('filters with StreamNameCondition BEGINS_WITH', async () => {
    const out = await kv.send(
      new ListStreamsCommand({ StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'page-' } }),
    );
    assert.deepEqual(
      out.StreamInfoList!.map((s) => s.StreamName),
      [...names].sort(),
    );
    const none = await kv.send(
      new ListStreamsCommand({
        StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'zzz-no-such' },
      }),
    );
    assert.deepEqual(none.StreamInfoList, []);
    assert.equal(none.NextToken, undefined);
  });

  it('pages with MaxResults and NextToken, each stream exactly once, the last page without a token', async () => {
    const condition = { ComparisonOperator: 'BEGINS_WITH' as const, ComparisonValue: 'page-' };
    const pages: string[][] = [];
    let token: string | undefined;
    do {
      const out = await kv.send(
        new ListStreamsCommand({ MaxResults: 3, StreamNameCondition: condition, NextToken: token }),
      );
      pages.push(out.StreamInfoList!.map((s) => s.StreamName!));
      token = out.NextToken;
      if (token !== undefined) assert.match(token, /^[a-zA-Z0-9+/=]{1,1024}$/, 'the model pattern of NextToken');
    } while (token && pages.length < 10);
    assert.deepEqual(pages, [['page-a', 'page-b', 'page-c'], ['page-d', 'page-e', 'page-f'], ['page-g']]);
    // Exactly MaxResults streams left: no token on a full last page either.
    const exact = await kv.send(new ListStreamsCommand({ MaxResults: 7, StreamNameCondition: condition }));
    assert.equal(exact.StreamInfoList!.length, 7);
    assert.equal(exact.NextToken, undefined);
  });

  it('works with the SDK paginator', async () => {
    const seen: string[] = [];
    let pageCount = 0;
    for await (const page of paginateListStreams(
      { client: kv, pageSize: 2 },
      { StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'page-' } },
    )) {
      pageCount++;
      seen.push(...page.StreamInfoList!.map((s) => s.StreamName!));
    }
    assert.deepEqual(seen, [...names].sort());
    assert.equal(pageCount, 4);
  });

  it('refuses a NextToken that was altered or issued for another condition', async () => {
    const first = await kv.send(
      new ListStreamsCommand({
        MaxResults: 1,
        StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'page-' },
      }),
    );
    const token = first.NextToken!;
    assert.ok(token);
    await expectError(
      kv.send(
        new ListStreamsCommand({
          MaxResults: 1,
          NextToken: token,
          StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'other' },
        }),
      ),
      InvalidArgumentException,
      400,
      /NextToken/,
    );
    const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
    await expectError(
      kv.send(
        new ListStreamsCommand({
          MaxResults: 1,
          NextToken: flipped,
          StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'page-' },
        }),
      ),
      InvalidArgumentException,
      400,
      /NextToken/,
    );
    await expectError(
      kv.send(new ListStreamsCommand({ NextToken: 'bm90LWEtdG9rZW4=' })),
      InvalidArgumentException,
      400,
      /NextToken/,
    );
  });

  it('no longer lists a deleted stream', async () => {
    const arn = await create('page-z-deleted');
    await kv.send(new DeleteStreamCommand({ StreamARN: arn }));
    const out = await kv.send(
      new ListStreamsCommand({ StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'page-' } }),
    );
    assert.deepEqual(
      out.StreamInfoList!.map((s) => s.StreamName),
      [...names].sort(),
    );
  });
});

describe('DeleteStream', () => {
  it('deletes without CurrentVersion; the stream is never served again, by name or by its old ARN', async () => {
    const arn = await create('sdk-del', { Tags: { a: 'b' } });
    assert.deepEqual(
      await kv.send(new DeleteStreamCommand({ StreamARN: arn })).then(({ $metadata: _m, ...rest }) => rest),
      {},
    );
    await expectError(
      kv.send(new DescribeStreamCommand({ StreamName: 'sdk-del' })),
      ResourceNotFoundException,
      404,
      NOT_FOUND,
    );
    await expectError(
      kv.send(new DescribeStreamCommand({ StreamARN: arn })),
      ResourceNotFoundException,
      404,
      NOT_FOUND,
    );
    await expectError(kv.send(new ListTagsForStreamCommand({ StreamARN: arn })), ResourceNotFoundException, 404);
    await expectError(
      kv.send(new GetDataEndpointCommand({ StreamARN: arn, APIName: 'PUT_MEDIA' })),
      ResourceNotFoundException,
      404,
    );
    await expectError(kv.send(new DeleteStreamCommand({ StreamARN: arn })), ResourceNotFoundException, 404, NOT_FOUND);

    // A new stream of the same name is a different stream: new ARN, new version, no old tags.
    const arn2 = await create('sdk-del');
    assert.notEqual(arn2, arn);
    const info = await describeByName('sdk-del');
    assert.equal(info.StreamARN, arn2);
    assert.deepEqual((await kv.send(new ListTagsForStreamCommand({ StreamName: 'sdk-del' }))).Tags ?? {}, {});
    await expectError(
      kv.send(new DescribeStreamCommand({ StreamARN: arn })),
      ResourceNotFoundException,
      404,
      NOT_FOUND,
    );
    await expectError(
      kv.send(new DescribeStreamCommand({ StreamARN: arn, StreamName: 'sdk-del' })),
      ResourceNotFoundException,
      404,
    );
    await expectError(kv.send(new DeleteStreamCommand({ StreamARN: arn })), ResourceNotFoundException, 404);
    assert.deepEqual(await describeByName('sdk-del'), info, 'deleting by the old ARN did not touch the new stream');
  });

  it('deletes with the current CurrentVersion; a stale one is a VersionMismatchException and the stream stays', async () => {
    const arn = await create('sdk-del-v');
    const v1 = (await describeByName('sdk-del-v')).Version!;
    await kv.send(new UpdateStreamCommand({ StreamARN: arn, CurrentVersion: v1, DeviceName: 'd' }));
    const v2 = (await describeByName('sdk-del-v')).Version!;
    await expectError(
      kv.send(new DeleteStreamCommand({ StreamARN: arn, CurrentVersion: v1 })),
      VersionMismatchException,
      400,
    );
    assert.equal((await describeByName('sdk-del-v')).Version, v2, 'still there, unchanged');
    await kv.send(new DeleteStreamCommand({ StreamARN: arn, CurrentVersion: v2 }));
    await expectError(kv.send(new DescribeStreamCommand({ StreamName: 'sdk-del-v' })), ResourceNotFoundException, 404);
  });

  it('gives a stream re-created within the same millisecond a new ARN (in-process, real catalog)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsd-registry-'));
    const catalog = new SqliteCatalog(join(dir, 'catalog.sqlite'));
    const now = mock.method(Date, 'now', () => 1_705_489_836_421);
    try {
      const registry = new StreamRegistry(catalog, { region: 'us-east-1', accountId: '000000000000' });
      const first = await registry.create({ StreamName: 'same-ms' });
      await registry.delete(first.arn);
      const second = await registry.create({ StreamName: 'same-ms' });
      assert.notEqual(second.arn, first.arn);
      assert.equal(second.arn, `arn:aws:kinesisvideo:us-east-1:000000000000:stream/same-ms/${second.creationMs}`);
      await assert.rejects(
        registry.resolve({ StreamARN: first.arn }),
        (e: unknown) => e instanceof ApiError && e.status === 404,
      );
      assert.equal((await registry.resolve({ StreamName: 'same-ms' })).arn, second.arn);
      // A live duplicate is still the caller's conflict.
      await assert.rejects(
        registry.create({ StreamName: 'same-ms' }),
        (e: unknown) => e instanceof ApiError && e.code === 'ResourceInUseException',
      );
    } finally {
      now.mock.restore();
      await catalog.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('UpdateStream', () => {
  it('changes DeviceName / MediaType and issues a new Version each time; a stale version is refused', async () => {
    const arn = await create('sdk-upd', { DeviceName: 'dev-1', MediaType: 'video/h264' });
    const versions = [(await describeByName('sdk-upd')).Version!];

    await kv.send(
      new UpdateStreamCommand({ StreamName: 'sdk-upd', CurrentVersion: versions[0], MediaType: 'video/h265' }),
    );
    let info = await describeByName('sdk-upd');
    assert.equal(info.MediaType, 'video/h265');
    assert.equal(info.DeviceName, 'dev-1', 'an absent member keeps its value');
    versions.push(info.Version!);

    await kv.send(new UpdateStreamCommand({ StreamARN: arn, CurrentVersion: versions[1], DeviceName: 'dev-2' }));
    info = await describeByName('sdk-upd');
    assert.equal(info.DeviceName, 'dev-2');
    assert.equal(info.MediaType, 'video/h265');
    versions.push(info.Version!);

    await kv.send(new UpdateStreamCommand({ StreamName: 'sdk-upd', StreamARN: arn, CurrentVersion: versions[2] }));
    info = await describeByName('sdk-upd');
    versions.push(info.Version!);

    for (const v of versions) assert.match(v, /^[a-zA-Z0-9]{20}$/);
    assert.equal(new Set(versions).size, versions.length, `a new Version on every update: ${versions.join(' ')}`);
    assertStreamInfo(info, 'sdk-upd');
    assert.equal(info.StreamARN, arn, 'the ARN never changes');

    for (const stale of versions.slice(0, -1)) {
      await expectError(
        kv.send(new UpdateStreamCommand({ StreamName: 'sdk-upd', CurrentVersion: stale, DeviceName: 'nope' })),
        VersionMismatchException,
        400,
      );
    }
    await expectError(
      kv.send(
        new UpdateStreamCommand({ StreamName: 'sdk-upd', CurrentVersion: 'AAAAAAAAAAAAAAAAAAAA', DeviceName: 'nope' }),
      ),
      VersionMismatchException,
      400,
    );
    assert.deepEqual(await describeByName('sdk-upd'), info, 'refused updates changed nothing');
  });
});

describe('UpdateDataRetention', () => {
  it('increases and decreases within 0..87600 hours, with a new Version each time', async () => {
    const arn = await create('sdk-ret');
    const retention = async () => {
      const i = await describeByName('sdk-ret');
      return { hours: i.DataRetentionInHours, version: i.Version! };
    };
    const change = async (
      op: 'INCREASE_DATA_RETENTION' | 'DECREASE_DATA_RETENTION',
      hours: number,
      version: string,
      byArn = false,
    ) =>
      kv.send(
        new UpdateDataRetentionCommand({
          ...(byArn ? { StreamARN: arn } : { StreamName: 'sdk-ret' }),
          CurrentVersion: version,
          Operation: op,
          DataRetentionChangeInHours: hours,
        }),
      );

    let r = await retention();
    assert.equal(r.hours, 0);
    const versions = [r.version];
    await change('INCREASE_DATA_RETENTION', 10, r.version);
    r = await retention();
    assert.equal(r.hours, 10);
    versions.push(r.version);
    await change('DECREASE_DATA_RETENTION', 4, r.version, true);
    r = await retention();
    assert.equal(r.hours, 6);
    versions.push(r.version);

    // Below 0: refused, nothing changes.
    await expectError(
      change('DECREASE_DATA_RETENTION', 7, r.version),
      InvalidArgumentException,
      400,
      /DataRetentionChangeInHours/,
    );
    assert.deepEqual(await retention(), r);

    await change('DECREASE_DATA_RETENTION', 6, r.version);
    r = await retention();
    assert.equal(r.hours, 0, 'down to exactly 0 is allowed');
    versions.push(r.version);

    await change('INCREASE_DATA_RETENTION', 87600, r.version);
    r = await retention();
    assert.equal(r.hours, 87600, 'up to exactly 87600 is allowed');
    versions.push(r.version);

    // Above 87600: refused, nothing changes.
    await expectError(change('INCREASE_DATA_RETENTION', 1, r.version), InvalidArgumentException, 400, /87600/);
    assert.deepEqual(await retention(), r);

    // A stale version.
    await expectError(change('DECREASE_DATA_RETENTION', 1, versions[0]!), VersionMismatchException, 400);
    assert.deepEqual(await retention(), r);
    assert.equal(new Set(versions).size, versions.length, 'a new Version on every change');
  });
});

describe('TagStream, UntagStream, ListTagsForStream', () => {
  it('adds, overwrites, lists and removes tags, by name and by ARN', async () => {
    const arn = await create('sdk-tags', { Tags: { keep: 'me' } });
    await kv.send(new TagStreamCommand({ StreamName: 'sdk-tags', Tags: { env: 'prod', team: 'video' } }));
    await kv.send(
      new TagStreamCommand({ StreamARN: arn, Tags: { env: 'staging', 'clé é': 'été:/=+-@_.', empty: '' } }),
    );
    const list = async () => (await kv.send(new ListTagsForStreamCommand({ StreamARN: arn }))).Tags ?? {};
    assert.deepEqual(await list(), { keep: 'me', env: 'staging', team: 'video', 'clé é': 'été:/=+-@_.', empty: '' });
    const out = await kv.send(new ListTagsForStreamCommand({ StreamName: 'sdk-tags' }));
    assert.equal(out.NextToken, undefined);
    await kv.send(new UntagStreamCommand({ StreamARN: arn, TagKeyList: ['team', 'not-there'] }));
    await kv.send(new UntagStreamCommand({ StreamName: 'sdk-tags', TagKeyList: ['clé é'] }));
    assert.deepEqual(await list(), { keep: 'me', env: 'staging', empty: '' });
  });

  it('allows 50 tags and refuses the 51st with TagsPerResourceExceededLimitException, changing nothing', async () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key-${i}`, `value-${i}`]));
    const arn = await create('sdk-tags-max', { Tags: Object.fromEntries(Object.entries(fifty).slice(0, 20)) });
    await kv.send(new TagStreamCommand({ StreamARN: arn, Tags: Object.fromEntries(Object.entries(fifty).slice(20)) }));
    const list = async () => (await kv.send(new ListTagsForStreamCommand({ StreamARN: arn }))).Tags ?? {};
    assert.deepEqual(await list(), fifty);
    await expectError(
      kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { 'key-51': 'x' } })),
      TagsPerResourceExceededLimitException,
      400,
      /50/,
    );
    await expectError(
      kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { 'key-0': 'changed', 'key-51': 'x' } })),
      TagsPerResourceExceededLimitException,
      400,
    );
    assert.deepEqual(await list(), fifty, 'the refused request applied nothing, not even its overwrite');
    await kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { 'key-0': 'changed' } }));
    assert.equal((await list())['key-0'], 'changed', 'overwriting at the limit is fine');
    await kv.send(new UntagStreamCommand({ StreamARN: arn, TagKeyList: ['key-1'] }));
    await kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { 'key-51': 'x' } }));
    assert.equal(Object.keys(await list()).length, 50, 'room again after an untag');
  });
});

describe('GetDataEndpoint', () => {
  it('returns the server URL for every APIName, by name and by ARN', async () => {
    const arn = await create('sdk-endpoint');
    for (const APIName of API_NAMES) {
      const byName = await kv.send(new GetDataEndpointCommand({ StreamName: 'sdk-endpoint', APIName }));
      assert.equal(byName.DataEndpoint, kvsd.url, APIName);
      const byArn = await kv.send(new GetDataEndpointCommand({ StreamARN: arn, APIName }));
      assert.equal(byArn.DataEndpoint, kvsd.url, APIName);
    }
    assert.match(kvsd.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'a base URL: no path, no trailing slash');
  });

  it('serves a data-plane client configured with the returned endpoint (control plane reachable there too)', async () => {
    await create('sdk-endpoint-2');
    const { DataEndpoint } = await kv.send(
      new GetDataEndpointCommand({ StreamName: 'sdk-endpoint-2', APIName: 'GET_MEDIA' }),
    );
    const client = new KinesisVideoClient(clientConfig(DataEndpoint!));
    try {
      assert.equal(
        (await client.send(new DescribeStreamCommand({ StreamName: 'sdk-endpoint-2' }))).StreamInfo?.StreamName,
        'sdk-endpoint-2',
      );
    } finally {
      client.destroy();
    }
  });
});

describe('concurrent writers', () => {
  const settled = async (ps: Promise<unknown>[]) => {
    const results = await Promise.allSettled(ps);
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    return { ok, errors };
  };

  it('creating one name ten times at once makes one stream; the rest are ResourceInUseException', async () => {
    const { ok, errors } = await settled(
      Array.from({ length: 10 }, () => kv.send(new CreateStreamCommand({ StreamName: 'race-create' }))),
    );
    assert.equal(ok, 1);
    assert.equal(errors.length, 9);
    for (const e of errors) checkError(e, ResourceInUseException, 400);
    const list = await kv.send(
      new ListStreamsCommand({
        StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'race-create' },
      }),
    );
    assert.equal(list.StreamInfoList!.length, 1);
  });

  it('ten updates with the same CurrentVersion: exactly one wins, the others are VersionMismatchException', async () => {
    await create('race-update');
    const version = (await describeByName('race-update')).Version!;
    const { ok, errors } = await settled(
      Array.from({ length: 10 }, (_, i) =>
        kv.send(
          new UpdateStreamCommand({ StreamName: 'race-update', CurrentVersion: version, DeviceName: `writer-${i}` }),
        ),
      ),
    );
    assert.equal(ok, 1);
    assert.equal(errors.length, 9);
    for (const e of errors) checkError(e, VersionMismatchException, 400);
    const after = await describeByName('race-update');
    assert.notEqual(after.Version, version);
    assert.match(after.DeviceName!, /^writer-\d$/);
  });

  it('concurrent TagStream calls never push a stream past 50 tags', async () => {
    const arn = await create('race-tags', {
      Tags: Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`base-${i}`, 'v'])),
    });
    const { ok, errors } = await settled(
      Array.from({ length: 10 }, (_, i) =>
        kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { [`extra-${i}`]: 'v' } })),
      ),
    );
    assert.equal(ok, 5);
    assert.equal(errors.length, 5);
    for (const e of errors) checkError(e, TagsPerResourceExceededLimitException, 400);
    assert.equal(Object.keys((await kv.send(new ListTagsForStreamCommand({ StreamARN: arn }))).Tags ?? {}).length, 50);
  });
});
