/**
 * The permission matrix of the --auth file in helpers.ts: a camera key that may only PutMedia (and
 * DescribeStream / GetDataEndpoint) on its own stream cam-1, and a viewer key that may only read
 * (ListFragments, GetMedia*, Describe*, List*, GetDataEndpoint). Every allowed call passes; every forbidden
 * one is 401 NotAuthorizedException — before existence is checked, as IAM does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamCommand,
  GetDataEndpointCommand,
  ListStreamsCommand,
  ListTagsForStreamCommand,
  TagStreamCommand,
  UntagStreamCommand,
  UpdateDataRetentionCommand,
  UpdateStreamCommand,
} from '@aws-sdk/client-kinesis-video';
import { GetMediaForFragmentListCommand, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { GetMediaCommand } from '@aws-sdk/client-kinesis-video-media';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import {
  ADMIN,
  archived,
  assertSdkError,
  authFile,
  CAMERA,
  controlPlane,
  createStream,
  type Key,
  media,
  mkv,
  putMedia,
  VIEWER,
} from './helpers.js';
import { KvsServiceError } from '../../src/client/putMediaClient.js';

let kvsd: KvsdProcess;
let cam1: string;
let cam2: string;
let version1: string;
before(async () => {
  kvsd = await startKvsd({ args: ['--auth', authFile(), '--quiet'] });
  [cam1, cam2] = await Promise.all([createStream(kvsd.url, 'cam-1'), createStream(kvsd.url, 'cam-2')]);
  version1 = (await controlPlane(kvsd.url, ADMIN).send(new DescribeStreamCommand({ StreamName: 'cam-1' }))).StreamInfo!
    .Version!;
  // A fragment in each stream, so that GetMedia (EARLIEST) answers at once.
  await Promise.all(['cam-1', 'cam-2'].map((s) => putMedia(kvsd.url, ADMIN, s, mkv(1, Date.now() - 60_000))));
});
after(async () => {
  await kvsd?.dispose();
});

const selector = {
  FragmentSelectorType: 'SERVER_TIMESTAMP' as const,
  TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 3_600_000) },
};

/** Every operation as `key`, on a stream given by name (the ARN where the operation takes only that). */
function calls(key: Key) {
  const kv = controlPlane(kvsd.url, key);
  const am = archived(kvsd.url, key);
  const md = media(kvsd.url, key);
  const arnOf = (stream: string) => (stream === 'cam-1' ? cam1 : cam2);
  return {
    DescribeStream: (s: string) => kv.send(new DescribeStreamCommand({ StreamName: s })),
    DescribeStreamByArn: (s: string) => kv.send(new DescribeStreamCommand({ StreamARN: arnOf(s) })),
    GetDataEndpoint: (s: string) => kv.send(new GetDataEndpointCommand({ StreamName: s, APIName: 'GET_MEDIA' })),
    ListStreams: () => kv.send(new ListStreamsCommand({})),
    ListTagsForStream: (s: string) => kv.send(new ListTagsForStreamCommand({ StreamName: s })),
    CreateStream: (s: string) => kv.send(new CreateStreamCommand({ StreamName: `${s}-new` })),
    DeleteStream: (s: string) => kv.send(new DeleteStreamCommand({ StreamARN: arnOf(s) })),
    UpdateStream: (s: string) =>
      kv.send(new UpdateStreamCommand({ StreamName: s, CurrentVersion: version1, DeviceName: 'x' })),
    UpdateDataRetention: (s: string) =>
      kv.send(
        new UpdateDataRetentionCommand({
          StreamName: s,
          CurrentVersion: version1,
          Operation: 'INCREASE_DATA_RETENTION',
          DataRetentionChangeInHours: 1,
        }),
      ),
    TagStream: (s: string) => kv.send(new TagStreamCommand({ StreamName: s, Tags: { a: 'b' } })),
    UntagStream: (s: string) => kv.send(new UntagStreamCommand({ StreamName: s, TagKeyList: ['a'] })),
    ListFragments: (s: string) => am.send(new ListFragmentsCommand({ StreamName: s, FragmentSelector: selector })),
    GetMediaForFragmentList: async (s: string) => {
      const out = await am.send(new GetMediaForFragmentListCommand({ StreamName: s, Fragments: ['1'] }));
      (out.Payload as Readable).destroy();
      return out;
    },
    GetMedia: async (s: string) => {
      const out = await md.send(
        new GetMediaCommand({ StreamName: s, StartSelector: { StartSelectorType: 'EARLIEST' } }),
      );
      // GetMedia then follows the live edge: the 200 is what counts; hang up.
      (out.Payload as Readable).destroy();
      return out;
    },
    PutMedia: (s: string) => putMedia(kvsd.url, key, s, mkv(1, Date.now() - 2_000)),
  };
}

type Op = keyof ReturnType<typeof calls>;

async function assertDenied(name: string, p: Promise<unknown>, who: string, op: string) {
  if (op === 'PutMedia') {
    await assert.rejects(
      p,
      (err: unknown) => {
        assert.ok(err instanceof KvsServiceError, String(err));
        assert.equal(err.code, 'NotAuthorizedException', `${who} ${name}`);
        assert.equal(err.statusCode, 401);
        return true;
      },
      `${who} ${name} must be denied`,
    );
    return;
  }
  const err = await assertSdkError(p, 'NotAuthorizedException', 401, undefined, `${who} ${name}`);
  assert.match(
    err.message,
    new RegExp(
      `^User: arn:aws:iam::000000000000:user/${who} is not authorized to perform: kinesisvideo:${op} on resource: `,
    ),
  );
}

describe('camera key (PutMedia, DescribeStream, GetDataEndpoint on cam-1)', () => {
  const allowed: [Op, string][] = [
    ['DescribeStream', 'cam-1'],
    ['DescribeStreamByArn', 'cam-1'],
    ['GetDataEndpoint', 'cam-1'],
    ['PutMedia', 'cam-1'],
  ];
  const denied: [Op, string][] = [
    ['DescribeStream', 'cam-2'],
    ['DescribeStreamByArn', 'cam-2'],
    ['DescribeStream', 'cam-9'],
    ['GetDataEndpoint', 'cam-2'],
    ['PutMedia', 'cam-2'],
    ['ListFragments', 'cam-1'],
    ['GetMedia', 'cam-1'],
    ['GetMediaForFragmentList', 'cam-1'],
    ['ListStreams', ''],
    ['ListTagsForStream', 'cam-1'],
    ['CreateStream', 'cam-1'],
    ['DeleteStream', 'cam-1'],
    ['UpdateStream', 'cam-1'],
    ['UpdateDataRetention', 'cam-1'],
    ['TagStream', 'cam-1'],
    ['UntagStream', 'cam-1'],
  ];
  it('may do what it is allowed to', async () => {
    const c = calls(CAMERA);
    for (const [op, stream] of allowed) await c[op](stream);
  });
  it('is refused everything else with 401 NotAuthorizedException', async () => {
    const c = calls(CAMERA);
    for (const [op, stream] of denied) {
      await assertDenied(`${op}(${stream})`, c[op](stream), 'camera-1', op.replace('ByArn', ''));
    }
  });
});

describe('viewer key (ListFragments, GetMedia*, Describe*, List*, GetDataEndpoint on every stream)', () => {
  it('may read', async () => {
    const c = calls(VIEWER);
    for (const stream of ['cam-1', 'cam-2']) {
      for (const op of [
        'DescribeStream',
        'DescribeStreamByArn',
        'GetDataEndpoint',
        'ListTagsForStream',
        'ListFragments',
        'GetMedia',
        'GetMediaForFragmentList',
      ] as Op[]) {
        await c[op](stream);
      }
    }
    const listed = await c.ListStreams();
    assert.deepEqual(
      listed.StreamInfoList?.map((s) => s.StreamName),
      ['cam-1', 'cam-2'],
    );
  });
  it('may not write', async () => {
    const c = calls(VIEWER);
    for (const op of [
      'PutMedia',
      'CreateStream',
      'DeleteStream',
      'UpdateStream',
      'UpdateDataRetention',
      'TagStream',
      'UntagStream',
    ] as Op[]) {
      await assertDenied(`${op}(cam-1)`, c[op]('cam-1'), 'viewer', op);
    }
  });
});

describe('admin key (kinesisvideo:* on *)', () => {
  it('may write, and what the others were refused did not happen', async () => {
    const c = calls(ADMIN);
    const tags = await c.ListTagsForStream('cam-1');
    assert.deepEqual(tags.Tags ?? {}, {}, 'no refused TagStream landed');
    await c.TagStream('cam-1');
    await c.UpdateStream('cam-1');
    const info = (await c.DescribeStream('cam-1')).StreamInfo!;
    assert.equal(info.DeviceName, 'x');
    assert.equal(info.DataRetentionInHours, 24, 'no refused UpdateDataRetention landed');
    const streams = (await c.ListStreams()).StreamInfoList!.map((s) => s.StreamName);
    assert.deepEqual(streams, ['cam-1', 'cam-2'], 'no refused CreateStream or DeleteStream landed');
  });
});
