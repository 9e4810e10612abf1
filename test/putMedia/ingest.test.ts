/**
 * PutMedia ingest of real muxer output: ffmpeg (known-size clusters with CRC-32) and GStreamer's streamable
 * matroskamux (unknown-size clusters), ABSOLUTE and RELATIVE timecodes, fed in random chunk sizes. Each cluster
 * must be acknowledged BUFFERING → RECEIVED → PERSISTED, listed by ListFragments with the right timestamps,
 * length and size, and stored byte for byte. Also: retention 0, IDLE acks, and a client that disconnects
 * in the middle of a cluster.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile, gstMkvFile, splitRandom } from '../helpers/media.js';
import {
  assertHealthy,
  checkAckSequence,
  checkAckShapes,
  clustersOf,
  craftCluster,
  craftHeader,
  ffmpegEpochMkvFile,
  frames,
  gstEpochMkvFile,
  rawPutMedia,
  type Ack,
  type TimedCluster,
  type RawResult,
} from '../helpers/putMedia.js';
import { storedFragments } from '../helpers/storedState.js';
import { createStream, listAll } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';
import { kvsTags } from '../../src/mkv/index.js';

/** Epoch ms of the first frame in the ABSOLUTE files (cluster timecodes are this + media time). */
const FFMPEG_START_MS = 1_700_000_000_250;
const GST_START_MS = 1_700_000_100_500;

let kvsd: KvsdProcess;
let counter = 0;
const newStream = async (retention = 24) => {
  const name = `ingest-${process.pid}-${++counter}`;
  await createStream(kvsd.url, name, retention);
  return name;
};

before(async () => {
  kvsd = await startKvsd();
});
after(async () => {
  await kvsd?.dispose();
});

/** The checks every successful PutMedia response must pass on the wire. */
function checkWire(res: RawResult) {
  assert.equal(res.status, 200, res.body);
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.ok(res.body.endsWith('\n'), 'every ack line ends with \\n');
  for (const line of res.lines) {
    assert.notEqual(line.trim(), '', 'no blank lines');
    assert.equal(line, JSON.stringify(JSON.parse(line)), 'one compact JSON object per line');
  }
  checkAckShapes(res.acks);
}

/**
 * Checks acks, ListFragments and the stored bytes of one session that sent `clusters` to `stream`.
 * `producerMs(c)` is the ProducerTimestamp the cluster must get; [t0, t1] brackets the upload.
 */
async function checkIngested(opts: {
  stream: string;
  clusters: TimedCluster[];
  acks: Ack[];
  ackAt: number[];
  t0: number;
  producerMs: (c: TimedCluster) => number;
}) {
  const { stream, clusters, acks, ackAt, t0, producerMs } = opts;
  const numbers = checkAckSequence(
    acks,
    clusters.map((c) => c.timecode),
  );
  const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
  assert.deepEqual(
    listed.map((f) => f.FragmentNumber),
    numbers,
    'ListFragments lists exactly the persisted fragments',
  );
  listed.forEach((f, i) => {
    const c = clusters[i]!;
    assert.equal(f.ProducerTimestamp!.getTime(), producerMs(c), `ProducerTimestamp of fragment ${i}`);
    assert.equal(
      f.FragmentLengthInMilliseconds,
      c.lastFrameMs - c.firstFrameMs,
      `FragmentLengthInMilliseconds of fragment ${i}`,
    );
    assert.equal(f.FragmentSizeInBytes, c.size, `FragmentSizeInBytes of fragment ${i} = cluster size`);
    // Stamped when the cluster's first bytes arrived: after the upload began, before its BUFFERING ack came back.
    const buffering = acks.findIndex((a) => a.EventType === 'BUFFERING' && a.FragmentNumber === f.FragmentNumber);
    const server = f.ServerTimestamp!.getTime();
    assert.ok(
      server >= t0 && server <= ackAt[buffering]!,
      `ServerTimestamp ${server} within [${t0}, ${ackAt[buffering]}]`,
    );
  });
  for (let i = 1; i < listed.length; i++) {
    assert.ok(
      listed[i]!.ServerTimestamp!.getTime() >= listed[i - 1]!.ServerTimestamp!.getTime(),
      'server timestamps follow arrival',
    );
  }
  const stored = await storedFragments(kvsd.dataDir, stream);
  assert.deepEqual(
    stored.map((s) => s.number),
    numbers,
    'one catalog row per persisted fragment',
  );
  stored.forEach((s, i) => {
    assert.equal(s.size, clusters[i]!.size);
    assert.ok(s.bytes.equals(clusters[i]!.bytes), `stored fragment ${i} is byte-identical to input cluster ${i}`);
  });
  return numbers;
}

const sources = [
  {
    muxer: 'ffmpeg (known-size clusters, CRC-32)',
    abs: () => ffmpegEpochMkvFile(FFMPEG_START_MS),
    rel: () => ffmpegMkvFile({ crc: true }),
  },
  { muxer: 'GStreamer (unknown-size clusters)', abs: () => gstEpochMkvFile(GST_START_MS), rel: () => gstMkvFile() },
] as const;

describe('PutMedia stores real muxer output as fragments', () => {
  for (const [si, src] of sources.entries()) {
    it(`${src.muxer}, ABSOLUTE timecodes, random chunks: ProducerTimestamp = cluster timecode`, async () => {
      const { input, clusters } = await clustersOf(await src.abs());
      assert.equal(clusters.length, 5);
      // 50 frames at 25 fps: FragmentLengthInMilliseconds must be last frame - first frame = 1960.
      assert.deepEqual(
        clusters.map((c) => [c.frames, c.lastFrameMs - c.firstFrameMs]),
        Array(5).fill([50, 1960]),
      );
      assert.ok(clusters[0]!.timecode >= 1_700_000_000_000, 'epoch-millisecond cluster timecodes');
      const stream = await newStream();
      const t0 = Date.now();
      const res = await rawPutMedia(
        kvsd.url,
        { 'x-amzn-stream-name': stream, 'x-amzn-fragment-timecode-type': 'ABSOLUTE' },
        { chunks: splitRandom(input, 11 + si, 4096) },
      );
      checkWire(res);
      await checkIngested({ stream, clusters, acks: res.acks, ackAt: res.at, t0, producerMs: (c) => c.timecode });
    });

    it(`${src.muxer}, RELATIVE timecodes, random chunks: ProducerTimestamp = start + cluster timecode`, async () => {
      const { input, clusters } = await clustersOf(await src.rel());
      assert.equal(clusters.length, 5);
      assert.deepEqual(
        clusters.map((c) => [c.frames, c.lastFrameMs - c.firstFrameMs]),
        Array(5).fill([50, 1960]),
      );
      assert.equal(clusters[0]!.timecode, 0);
      const stream = await newStream();
      const start = 1_690_000_000_123;
      const t0 = Date.now();
      const res = await rawPutMedia(
        kvsd.url,
        {
          'x-amzn-stream-name': stream,
          'x-amzn-fragment-timecode-type': 'RELATIVE',
          'x-amzn-producer-start-timestamp': '1690000000.123',
        },
        { chunks: splitRandom(input, 21 + si, 4096) },
      );
      checkWire(res);
      // FragmentTimecode is the raw cluster timecode (0, 2000, ...), not the producer timestamp.
      assert.deepEqual(
        res.acks.filter((a) => a.EventType === 'BUFFERING').map((a) => a.FragmentTimecode),
        [0, 2000, 4000, 6000, 8000],
      );
      await checkIngested({
        stream,
        clusters,
        acks: res.acks,
        ackAt: res.at,
        t0,
        producerMs: (c) => start + c.timecode,
      });
    });
  }

  it('tiny chunks (1..32 bytes) split every element header and the timecodes', async () => {
    const { input, clusters } = await clustersOf(await ffmpegEpochMkvFile(FFMPEG_START_MS));
    const stream = await newStream();
    const t0 = Date.now();
    const res = await rawPutMedia(
      kvsd.url,
      { 'x-amzn-stream-name': stream, 'x-amzn-fragment-timecode-type': 'ABSOLUTE' },
      { chunks: splitRandom(input.subarray(0, clusters[2]!.offset), 5, 32) },
    );
    checkWire(res);
    await checkIngested({
      stream,
      clusters: clusters.slice(0, 2),
      acks: res.acks,
      ackAt: res.at,
      t0,
      producerMs: (c) => c.timecode,
    });
  });

  it('ffmpeg with H.264 and AAC (2 tracks): length spans the frames of both tracks', async () => {
    const { input, clusters } = await clustersOf(await ffmpegMkvFile({ audio: true }));
    assert.equal(clusters.length, 5);
    assert.ok(
      clusters.some((c) => c.lastFrameMs - c.firstFrameMs !== 1960),
      'audio frames change the span',
    );
    const stream = await newStream();
    const t0 = Date.now();
    const res = await rawPutMedia(
      kvsd.url,
      {
        'x-amzn-stream-name': stream,
        'x-amzn-fragment-timecode-type': 'RELATIVE',
        'x-amzn-producer-start-timestamp': '1700000000',
      },
      { chunks: splitRandom(input, 31, 4096) },
    );
    checkWire(res);
    await checkIngested({
      stream,
      clusters,
      acks: res.acks,
      ackAt: res.at,
      t0,
      producerMs: (c) => 1_700_000_000_000 + c.timecode,
    });
  });

  it('the KVS producer SDK layout: 8-byte timecodes, Position, fragment-metadata Tags between clusters', async () => {
    const clusters = [0, 2000, 4000].map((timecode) =>
      craftCluster({ timecode, frames: frames({ count: 50, size: 500 }), producerSdk: true }),
    );
    const input = Buffer.concat([
      craftHeader(),
      clusters[0]!,
      kvsTags([['AWS_KINESISVIDEO_CUSTOM', 'value']]),
      clusters[1]!,
      kvsTags([['AWS_KINESISVIDEO_END_OF_FRAGMENT', '']]),
      clusters[2]!,
    ]);
    const stream = await newStream();
    const res = await rawPutMedia(
      kvsd.url,
      {
        'x-amzn-stream-name': stream,
        'x-amzn-fragment-timecode-type': 'RELATIVE',
        'x-amzn-producer-start-timestamp': '1700000000.5',
        'user-agent': 'AWS-SDK-KVS-CPP-CLIENT/3.4.2/1.5.3 GCC/12.2.0 Linux/6.1.0',
        'x-amzn-fragment-acknowledgment-required': '1',
        'content-type': 'application/json',
      },
      { chunks: splitRandom(input, 41, 1500) },
    );
    checkWire(res);
    const numbers = checkAckSequence(res.acks, [0, 2000, 4000]);
    const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
    assert.deepEqual(
      listed.map((f) => f.FragmentNumber),
      numbers,
    );
    // The C producers' start timestamp "1700000000.5" is 5 ms past the second.
    assert.deepEqual(
      listed.map((f) => f.ProducerTimestamp!.getTime()),
      [1_700_000_000_005, 1_700_000_002_005, 1_700_000_004_005],
    );
    assert.deepEqual(
      listed.map((f) => f.FragmentLengthInMilliseconds),
      [1960, 1960, 1960],
    );
    // A fragment is its cluster: the metadata Tags between clusters belong to none.
    assert.deepEqual(
      listed.map((f) => f.FragmentSizeInBytes),
      clusters.map((c) => c.length),
    );
    (await storedFragments(kvsd.dataDir, stream)).forEach((s, i) =>
      assert.ok(s.bytes.equals(clusters[i]!), `fragment ${i} stored byte for byte`),
    );
  });

  it('the stream ARN alone names the stream', async () => {
    const { input, clusters } = await clustersOf(await gstMkvFile());
    const name = `ingest-${process.pid}-${++counter}`;
    const arn = await createStream(kvsd.url, name);
    const t0 = Date.now();
    const res = await rawPutMedia(
      kvsd.url,
      {
        'x-amzn-stream-arn': arn,
        'x-amzn-fragment-timecode-type': 'RELATIVE',
        'x-amzn-producer-start-timestamp': '1700000000',
      },
      { chunks: splitRandom(input, 3, 8192) },
    );
    checkWire(res);
    await checkIngested({
      stream: name,
      clusters,
      acks: res.acks,
      ackAt: res.at,
      t0,
      producerMs: (c) => 1_700_000_000_000 + c.timecode,
    });
  });
});

describe('a stream with DataRetentionInHours 0', () => {
  it('acknowledges BUFFERING and RECEIVED but never PERSISTED, and lists nothing', async () => {
    for (const file of [await ffmpegMkvFile(), await gstMkvFile()]) {
      const { input, clusters } = await clustersOf(file);
      const stream = await newStream(0);
      const res = await rawPutMedia(
        kvsd.url,
        {
          'x-amzn-stream-name': stream,
          'x-amzn-fragment-timecode-type': 'RELATIVE',
          'x-amzn-producer-start-timestamp': '1700000000.000',
        },
        { chunks: splitRandom(input, 7, 4096) },
      );
      checkWire(res);
      checkAckSequence(
        res.acks,
        clusters.map((c) => c.timecode),
        false,
      );
      assert.deepEqual(await listAll(kvsd.url, stream, { pageSize: 7 }), []);
      assert.deepEqual(await storedFragments(kvsd.dataDir, stream), [], 'nothing in the catalog');
    }
  });
});

describe('IDLE acknowledgements', () => {
  it('arrive while the producer sends nothing; the session then ends normally', async () => {
    const { input, clusters } = await clustersOf(await gstMkvFile());
    const stream = await newStream();
    let lastSent = 0;
    let endedAt = 0;
    async function* body() {
      // Header and the whole first (unknown-size) cluster: it cannot be RECEIVED until the body ends.
      for (const c of splitRandom(input.subarray(0, clusters[1]!.offset), 9, 4096)) yield c;
      lastSent = Date.now();
      await sleep(4200);
      endedAt = Date.now();
    }
    const res = await rawPutMedia(
      kvsd.url,
      {
        'x-amzn-stream-name': stream,
        'x-amzn-fragment-timecode-type': 'RELATIVE',
        'x-amzn-producer-start-timestamp': '1700000000',
      },
      { chunks: body() },
    );
    checkWire(res);
    const idle = res.lines.map((l, i) => ({ l, at: res.at[i]! })).filter((x) => x.l.includes('IDLE'));
    assert.ok(idle.length >= 1, `an IDLE ack arrived during the pause: ${res.body}`);
    for (const { l, at } of idle) {
      assert.equal(l, '{"EventType":"IDLE"}');
      assert.ok(at - lastSent >= 2500, `IDLE only after a few idle seconds (${at - lastSent} ms)`);
      assert.ok(at <= endedAt + 50, 'IDLE before the body ended');
    }
    checkAckSequence(res.acks, [0]);
    const received = res.acks.findIndex((a) => a.EventType === 'RECEIVED');
    assert.ok(res.at[received]! >= endedAt, 'the unknown-size cluster is RECEIVED when the body ends');
    assert.equal((await listAll(kvsd.url, stream, { pageSize: 7 })).length, 1);
  });
});

describe('a client that disconnects in the middle of a cluster', () => {
  for (const kind of ['known-size (ffmpeg)', 'unknown-size (GStreamer)'] as const) {
    it(`${kind}: the partial fragment is never listed, earlier ones are, the server stays healthy`, async () => {
      const file = kind.startsWith('known') ? await ffmpegMkvFile() : await gstMkvFile();
      const { input, clusters } = await clustersOf(file);
      const stream = await newStream();
      const headers = {
        'x-amzn-stream-name': stream,
        'x-amzn-fragment-timecode-type': 'RELATIVE',
        'x-amzn-producer-start-timestamp': '1700000000',
      };
      // Known-size: clusters 0 and 1 complete; unknown-size: cluster 1 ends when cluster 2 starts, so only 0 is.
      const complete = kind.startsWith('known') ? 2 : 1;
      const cut = clusters[complete]!;
      let persistedAll!: () => void;
      const persisted = new Promise<void>((r) => {
        persistedAll = r;
      });
      let abort!: () => void;
      const abortWhen = new Promise<void>((r) => {
        abort = r;
      });
      let persistedCount = 0;
      async function* body() {
        // Up to the middle of the cut cluster (an unknown-size cluster is only complete once the next one starts).
        for (const c of splitRandom(input.subarray(0, cut.offset + Math.floor(cut.size / 2)), 13, 4096)) yield c;
        await persisted;
        await sleep(200);
        abort();
        await sleep(20);
      }
      const res = await rawPutMedia(kvsd.url, headers, {
        chunks: body(),
        abortWhen,
        onAck: (a) => {
          if (a.EventType === 'PERSISTED' && ++persistedCount === complete) persistedAll();
        },
      });
      assert.equal(res.status, 200);
      const cutNumber = res.acks.find(
        (a) => a.EventType === 'BUFFERING' && a.FragmentTimecode === cut.timecode,
      )?.FragmentNumber;
      assert.ok(cutNumber, 'the cut cluster was BUFFERING');

      await assertHealthy(kvsd.url);
      await sleep(500);
      const expected = res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber);
      assert.equal(expected.length, complete);
      const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
      assert.deepEqual(
        listed.map((f) => f.FragmentNumber),
        expected,
        'exactly the complete fragments are listed',
      );
      const before = await storedFragments(kvsd.dataDir, stream);
      assert.deepEqual(
        before.map((s) => s.number),
        expected,
        'no catalog row for the cut fragment',
      );
      before.forEach((s, i) =>
        assert.ok(s.bytes.equals(clusters[i]!.bytes), `stored fragment ${i} is input cluster ${i}`),
      );

      // The stream takes a new session at once; the cut fragment still never appears.
      const again = await rawPutMedia(kvsd.url, headers, { chunks: splitRandom(input, 14, 8192) });
      checkWire(again);
      checkAckSequence(
        again.acks,
        clusters.map((c) => c.timecode),
      );
      const after = await listAll(kvsd.url, stream, { pageSize: 7 });
      assert.equal(after.length, complete + clusters.length);
      assert.ok(!after.some((f) => f.FragmentNumber === cutNumber), 'the partial fragment is not listed');
      const stored = await storedFragments(kvsd.dataDir, stream);
      assert.equal(stored.length, complete + clusters.length);
      for (const s of stored)
        assert.ok(
          clusters.some((c) => c.bytes.equals(s.bytes)),
          'every stored fragment is a whole input cluster',
        );
    });
  }
});
