/**
 * UpdateDataRetention in the middle of a PutMedia session (issue 11, F). As on AWS, the session acknowledges
 * as a stream with the new retention does, from the next fragment on:
 * - to 0: RECEIVED only, no PERSISTED; the fragments go to the live buffer (GetMedia serves them) and are
 *   never listed; before the fix the session went on acknowledging PERSISTED fragments nothing listed;
 * - from 0 to more: PERSISTED again, listed, and readable with GetMediaForFragmentList (the session's track
 *   header is stored in the catalog then).
 * The producer is kvsd's PutMediaClient; the retention changes through the JS SDK.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisVideoClient, DescribeStreamCommand, UpdateDataRetentionCommand } from '@aws-sdk/client-kinesis-video';
import { craftCluster, craftHeader, frames, sendWithClient, type Ack } from '../helpers/putMedia.js';
import { clientConfig, createStream, listAll } from '../helpers/sdk.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { fragmentList, getMedia, parseDocuments, tag } from '../helpers/readers.js';
import { eventually } from '../helpers/time.js';

let kvsd: KvsdProcess;
before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
});
after(async () => {
  await kvsd?.dispose();
});

async function changeRetention(
  stream: string,
  operation: 'INCREASE_DATA_RETENTION' | 'DECREASE_DATA_RETENTION',
  hours: number,
) {
  const kv = new KinesisVideoClient(clientConfig(kvsd.url));
  try {
    const { StreamInfo } = await kv.send(new DescribeStreamCommand({ StreamName: stream }));
    await kv.send(
      new UpdateDataRetentionCommand({
        StreamName: stream,
        CurrentVersion: StreamInfo!.Version!,
        Operation: operation,
        DataRetentionChangeInHours: hours,
      }),
    );
  } finally {
    kv.destroy();
  }
}

/**
 * One session whose clusters go out in stages: stage i's clusters are sent once `before[i]` (run after the
 * previous stage's last cluster was RECEIVED) has resolved. Returns the session's acks.
 */
async function stagedSession(
  stream: string,
  stages: number[][],
  between: ((acks: Ack[]) => Promise<void>)[],
): Promise<Ack[]> {
  const acks: Ack[] = [];
  const cluster = (timecode: number) => craftCluster({ timecode, frames: frames() });
  const received = (tc: number) =>
    eventually(() => assert.ok(acks.some((a) => a.EventType === 'RECEIVED' && a.FragmentTimecode === tc)), 10_000);
  async function* body() {
    yield craftHeader(1);
    for (const [i, stage] of stages.entries()) {
      if (i > 0) {
        await received(stages[i - 1]!.at(-1)!);
        await between[i - 1]!(acks);
      }
      for (const tc of stage) yield cluster(tc);
    }
  }
  const r = await sendWithClient(
    kvsd.url,
    { streamName: stream, timecodeType: 'RELATIVE', producerStartTimestamp: 1_700_000_000_000, body: body() },
    (ack) => acks.push(ack),
  );
  assert.equal(r.error, undefined, JSON.stringify(r.acks));
  assert.deepEqual(
    r.acks.filter((a) => a.EventType === 'ERROR'),
    [],
  );
  return r.acks;
}

const eventsOf = (acks: Ack[], tc: number) => acks.filter((a) => a.FragmentTimecode === tc).map((a) => a.EventType);
const numberOf = (acks: Ack[], tc: number) =>
  acks.find((a) => a.EventType === 'BUFFERING' && a.FragmentTimecode === tc)!.FragmentNumber!;

describe('retention changed mid-session', () => {
  it('24 h → 0 → 1 h: PERSISTED, then RECEIVED only (live buffer), then PERSISTED again', async () => {
    const stream = `retention-${process.pid}-a`;
    await createStream(kvsd.url, stream, 24);
    const liveNumbers: (string | undefined)[] = [];
    const acks = await stagedSession(
      stream,
      [
        [0, 1000],
        [2000, 3000],
        [4000, 5000],
      ],
      [
        async (acks) => {
          await eventually(() => assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 2), 10_000);
          await changeRetention(stream, 'DECREASE_DATA_RETENTION', 24);
        },
        async () => {
          // Retention 0: GetMedia serves the fragments from the live buffer.
          const media = await getMedia(kvsd.url, {
            StreamName: stream,
            StartSelector: { StartSelectorType: 'EARLIEST' },
          });
          try {
            liveNumbers.push(...(await media.waitFor(2)).map((d) => tag(d.tags, 'AWS_KINESISVIDEO_FRAGMENT_NUMBER')));
          } finally {
            media.destroy();
          }
          await changeRetention(stream, 'INCREASE_DATA_RETENTION', 1);
        },
      ],
    );
    for (const tc of [0, 1000, 4000, 5000])
      assert.deepEqual(eventsOf(acks, tc), ['BUFFERING', 'RECEIVED', 'PERSISTED'], `cluster ${tc}`);
    for (const tc of [2000, 3000])
      assert.deepEqual(eventsOf(acks, tc), ['BUFFERING', 'RECEIVED'], `cluster ${tc}: retention 0, RECEIVED only`);
    assert.deepEqual(
      liveNumbers,
      [numberOf(acks, 2000), numberOf(acks, 3000)],
      'GetMedia served the retention-0 fragments',
    );
    const listed = (await listAll(kvsd.url, stream, { pageSize: 7 })).map((f) => f.FragmentNumber).sort();
    assert.deepEqual(
      listed,
      [0, 1000, 4000, 5000].map((tc) => numberOf(acks, tc)).sort(),
      'what was PERSISTED is listed, nothing else',
    );
  });

  it('0 → 1 h: fragments from then on are PERSISTED, listed and readable with their track header', async () => {
    const stream = `retention-${process.pid}-b`;
    await createStream(kvsd.url, stream, 0);
    const acks = await stagedSession(
      stream,
      [
        [0, 1000],
        [2000, 3000],
      ],
      [() => changeRetention(stream, 'INCREASE_DATA_RETENTION', 1)],
    );
    for (const tc of [0, 1000])
      assert.deepEqual(eventsOf(acks, tc), ['BUFFERING', 'RECEIVED'], `cluster ${tc}: retention 0`);
    for (const tc of [2000, 3000])
      assert.deepEqual(eventsOf(acks, tc), ['BUFFERING', 'RECEIVED', 'PERSISTED'], `cluster ${tc}: retention 1 h`);
    const listed = (await listAll(kvsd.url, stream, { pageSize: 7 })).map((f) => f.FragmentNumber!);
    assert.deepEqual(listed.sort(), [numberOf(acks, 2000), numberOf(acks, 3000)].sort());
    const { bytes } = await fragmentList(kvsd.url, { StreamName: stream, Fragments: listed });
    const docs = parseDocuments(bytes);
    assert.equal(docs.length, 2);
    const header = craftHeader(1);
    for (const d of docs) {
      assert.ok(d.cluster, 'a Cluster');
      assert.ok(
        d.header.every((e) => header.includes(e.bytes)),
        "the producer's Info and Tracks precede it",
      );
    }
  });
});
