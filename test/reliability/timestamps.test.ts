/**
 * Producer timestamps the clients cannot represent are refused (issue 11, B6). A cluster at year 10000 used
 * to be PERSISTED, and from then on boto3 and the AWS CLI failed on every ListFragments page holding it
 * ("year 10000 is out of range"). Now:
 * - an ABSOLUTE cluster at year 10000 is ERROR 4007 INVALID_PRODUCER_TIMESTAMP, dropped, and the session
 *   goes on; a RELATIVE one whose start + timecode passes year 9999 likewise;
 * - a cluster at 9999-12-31 (the last second) is accepted, and boto3 and /usr/bin/aws list the stream;
 * - an x-amzn-producer-start-timestamp outside the range is an InvalidArgumentException before any ack.
 */
// needs: aws, boto3
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AWS, PYTHON, awsEnv, run } from '../helpers/cli.js';
import { KvsServiceError } from '../../src/client/putMediaClient.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { craftCluster, craftHeader, frames, sendWithClient, type Ack } from '../helpers/putMedia.js';
import { createStream, listAll } from '../helpers/sdk.js';

let kvsd: KvsdProcess;
before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
});
after(async () => {
  await kvsd?.dispose();
});

const YEAR_10000 = Date.UTC(10000, 0, 1);
const LAST_SECOND_OF_9999 = Date.UTC(9999, 11, 31, 23, 59, 59);
const cluster = (timecode: number) => craftCluster({ timecode, frames: frames() }); // frames span 360 ms

const outcome = (acks: Ack[], timecode: number) =>
  acks
    .filter((a) => a.FragmentTimecode === timecode && a.EventType !== 'BUFFERING')
    .map((a) => (a.EventType === 'ERROR' ? `${a.ErrorId} ${a.ErrorCode}` : a.EventType));

/** ProducerTimestamps of every fragment of the stream, as boto3 (Debian's, for /usr/bin/python3) parses them. */
async function listWithBoto3(stream: string) {
  const script = `
import boto3, datetime, json, sys
c = boto3.client('kinesis-video-archived-media', endpoint_url=sys.argv[1], region_name='us-east-1')
utc = datetime.timezone.utc
r = c.list_fragments(StreamName=sys.argv[2], FragmentSelector={'FragmentSelectorType': 'SERVER_TIMESTAMP',
    'TimestampRange': {'StartTimestamp': datetime.datetime(1970, 1, 2, tzinfo=utc), 'EndTimestamp': datetime.datetime(2200, 1, 1, tzinfo=utc)}})
print(json.dumps(sorted(f['ProducerTimestamp'].astimezone(utc).isoformat() for f in r['Fragments'])))
`;
  return run(PYTHON, ['-c', script, kvsd.url, stream], { env: awsEnv() });
}

async function listWithCli(stream: string) {
  return run(
    AWS,
    [
      'kinesis-video-archived-media',
      'list-fragments',
      '--endpoint-url',
      kvsd.url,
      '--stream-name',
      stream,
      '--output',
      'json',
      '--fragment-selector',
      'FragmentSelectorType=SERVER_TIMESTAMP,TimestampRange={StartTimestamp=86400,EndTimestamp=7258118400}',
    ],
    { env: awsEnv() },
  );
}

describe('producer timestamps clients cannot represent', () => {
  it('ABSOLUTE year 10000 is 4007 and not stored; 9999-12-31 is; boto3 and the CLI list the stream', async () => {
    const stream = `ts-absolute-${process.pid}`;
    await createStream(kvsd.url, stream);
    const timecodes = [1_700_000_000_000, YEAR_10000, LAST_SECOND_OF_9999];
    const r = await sendWithClient(kvsd.url, {
      streamName: stream,
      timecodeType: 'ABSOLUTE',
      body: Buffer.concat([craftHeader(1), ...timecodes.map(cluster)]),
    });
    assert.equal(r.error, undefined);
    assert.deepEqual(outcome(r.acks, YEAR_10000), ['4007 INVALID_PRODUCER_TIMESTAMP'], JSON.stringify(r.acks));
    assert.deepEqual(outcome(r.acks, 1_700_000_000_000), ['RECEIVED', 'PERSISTED'], 'before: stored');
    assert.deepEqual(
      outcome(r.acks, LAST_SECOND_OF_9999),
      ['RECEIVED', 'PERSISTED'],
      'after (the session went on): stored',
    );

    const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
    assert.deepEqual(
      listed.map((f) => f.ProducerTimestamp!.toISOString()).sort(),
      ['2023-11-14T22:13:20.000Z', '9999-12-31T23:59:59.000Z'],
      'the JS SDK lists both stored fragments, as valid Dates',
    );

    const boto = await listWithBoto3(stream);
    assert.equal(boto.code, 0, `boto3 lists the stream: ${boto.stderr}`);
    assert.deepEqual(JSON.parse(boto.stdout), ['2023-11-14T22:13:20+00:00', '9999-12-31T23:59:59+00:00']);

    const cli = await listWithCli(stream);
    assert.equal(cli.code, 0, `aws list-fragments works: ${cli.stderr}`);
    const fragments = (JSON.parse(cli.stdout) as { Fragments: { ProducerTimestamp: string }[] }).Fragments;
    assert.equal(fragments.length, 2);
    assert.ok(
      fragments.some((f) => f.ProducerTimestamp.startsWith('9999-12-31T23:59:59')),
      cli.stdout,
    );
  });

  it('RELATIVE: start + timecode past year 9999 is 4007; the earlier clusters are stored', async () => {
    const stream = `ts-relative-${process.pid}`;
    await createStream(kvsd.url, stream);
    const r = await sendWithClient(kvsd.url, {
      streamName: stream,
      timecodeType: 'RELATIVE',
      producerStartTimestamp: LAST_SECOND_OF_9999 - 2000,
      body: Buffer.concat([craftHeader(1), cluster(0), cluster(1000), cluster(3000)]),
    });
    assert.deepEqual(
      [0, 1000, 3000].map((tc) => outcome(r.acks, tc)),
      [['RECEIVED', 'PERSISTED'], ['RECEIVED', 'PERSISTED'], ['4007 INVALID_PRODUCER_TIMESTAMP']],
    );
    assert.equal((await listAll(kvsd.url, stream, { pageSize: 7 })).length, 2);
    const boto = await listWithBoto3(stream);
    assert.equal(boto.code, 0, boto.stderr);
  });

  it('an x-amzn-producer-start-timestamp outside the range is InvalidArgumentException', async () => {
    const stream = `ts-header-${process.pid}`;
    await createStream(kvsd.url, stream);
    for (const start of [YEAR_10000, 253_402_300_800_000 + 1000]) {
      const r = await sendWithClient(kvsd.url, {
        streamName: stream,
        timecodeType: 'RELATIVE',
        producerStartTimestamp: start,
        body: Buffer.concat([craftHeader(1), cluster(0)]),
      });
      assert.ok(r.error instanceof KvsServiceError, `refused: ${String(r.error)} ${JSON.stringify(r.acks)}`);
      assert.equal(r.error.code, 'InvalidArgumentException');
      assert.equal(r.error.statusCode, 400);
      assert.deepEqual(r.acks, []);
    }
  });
});
