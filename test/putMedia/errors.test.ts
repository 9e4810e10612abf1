/**
 * PutMedia errors. ERROR acknowledgements from crafted MKV (one per ErrorId kvsd raises), and header problems
 * answered as ordinary JSON errors before any acknowledgement. Also the forms of x-amzn-producer-start-timestamp.
 *
 * What happens after each ERROR (kvsd's contract, checked below):
 * - fragment-level errors — 4001 MAX_FRAGMENT_SIZE_REACHED, 4002 MAX_FRAGMENT_DURATION_REACHED,
 *   4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS, 4010 TRACK_NUMBER_MISMATCH, 4011 FRAMES_MISSING_FOR_TRACK —
 *   drop that fragment (it was BUFFERING, it is never RECEIVED, PERSISTED or listed) and the session goes on:
 *   the next clusters become fragments as usual;
 * - 4006 INVALID_MKV_DATA (unparseable bytes, or the body ends inside a known-size cluster),
 *   4008 STREAM_NOT_ACTIVE (the stream was deleted) and 4012 MORE_THAN_ALLOWED_TRACKS_FOUND end the session:
 *   nothing after the error is read, the fragments completed before it are still PERSISTED, and the
 *   response ends.
 * In every case the fragments persisted before the error stay listed and byte-identical, and the server stays
 * healthy and takes new sessions.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisVideoClient, DeleteStreamCommand, DescribeStreamCommand } from '@aws-sdk/client-kinesis-video';
import {
  KinesisVideoArchivedMediaClient,
  ListFragmentsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clientConfig, createStream, listAll } from '../helpers/sdk.js';
import { KvsServiceError } from '../../src/client/putMediaClient.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import {
  assertHealthy,
  checkAckSequence,
  checkAckShapes,
  craftCluster,
  craftHeader,
  frames,
  hugeCluster,
  rawPutMedia,
  sendWithClient,
  type Ack,
  type CraftCluster,
} from '../helpers/putMedia.js';
import { fragmentRowCount, storedFragments, streamIdOf, streamRowExists } from '../helpers/storedState.js';
import { eventually, sleep } from '../helpers/time.js';

let kvsd: KvsdProcess;
let counter = 0;
const newName = () => `errors-${process.pid}-${++counter}`;
const newStream = async (retention = 24) => {
  const name = newName();
  await createStream(kvsd.url, name, retention);
  return name;
};

before(async () => {
  kvsd = await startKvsd();
});
after(async () => {
  await kvsd?.dispose();
});

const absolute = (stream: string) => ({ 'x-amzn-stream-name': stream, 'x-amzn-fragment-timecode-type': 'ABSOLUTE' });

/** A good 1-track cluster at `timecode`: 10 frames, 40 ms apart. */
const good = (timecode: number, tracks = [1]): CraftCluster => ({ timecode, frames: frames({ tracks }) });

interface Expectation {
  /** Timecodes of the clusters that must be persisted, in order. */
  persisted: number[];
  errorId: number;
  errorCode: string;
  /** Timecode of the failed fragment, or -1 when the error concerns no fragment. */
  errorTimecode: number;
}

/**
 * Checks one session's acks: the ERROR ack (exactly one), the failed fragment never RECEIVED/PERSISTED, and
 * every other cluster BUFFERING → RECEIVED → PERSISTED. Then checks ListFragments and the stored bytes.
 */
async function expectError(stream: string, acks: Ack[], clusters: Map<number, Buffer>, e: Expectation) {
  checkAckShapes(acks);
  const errors = acks.filter((a) => a.EventType === 'ERROR');
  assert.equal(errors.length, 1, `exactly one ERROR ack: ${JSON.stringify(acks)}`);
  const error = errors[0]!;
  assert.equal(error.ErrorId, e.errorId);
  assert.equal(error.ErrorCode, e.errorCode);
  assert.equal(error.FragmentTimecode, e.errorTimecode);
  if (e.errorTimecode === -1) {
    assert.equal(error.FragmentNumber, '');
  } else {
    const buffering = acks.find((a) => a.EventType === 'BUFFERING' && a.FragmentTimecode === e.errorTimecode);
    assert.ok(buffering, 'the failed fragment was BUFFERING');
    assert.equal(error.FragmentNumber, buffering.FragmentNumber, 'the ERROR names the failed fragment');
    assert.deepEqual(
      acks.filter((a) => a.FragmentNumber === error.FragmentNumber).map((a) => a.EventType),
      ['BUFFERING', 'ERROR'],
      'the failed fragment is never RECEIVED or PERSISTED',
    );
  }
  const rest = acks.filter((a) => a.EventType !== 'ERROR' && a.FragmentNumber !== error.FragmentNumber);
  const numbers = checkAckSequence(rest, e.persisted);
  const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
  assert.deepEqual(
    listed.map((f) => f.FragmentNumber),
    numbers,
    'exactly the good fragments are listed',
  );
  const stored = await storedFragments(kvsd.dataDir, stream);
  assert.deepEqual(
    stored.map((s) => s.number),
    numbers,
  );
  stored.forEach((s, i) =>
    assert.ok(s.bytes.equals(clusters.get(e.persisted[i]!)!), `fragment ${i} stored byte for byte`),
  );
  return numbers;
}

/** The server is healthy and the stream takes a new, good session. */
async function expectUsable(stream: string, tracks = [1]) {
  await assertHealthy(kvsd.url);
  const before = (await listAll(kvsd.url, stream, { pageSize: 7 })).length;
  const res = await rawPutMedia(kvsd.url, absolute(stream), {
    chunks: [craftHeader(tracks), craftCluster(good(100_000, tracks)), craftCluster(good(101_000, tracks))],
  });
  assert.equal(res.status, 200);
  checkAckSequence(res.acks, [100_000, 101_000]);
  assert.equal((await listAll(kvsd.url, stream, { pageSize: 7 })).length, before + 2);
}

describe('fragment-level ERROR acks drop the fragment; the session goes on', () => {
  it('4001 MAX_FRAGMENT_SIZE_REACHED: a 51 MiB cluster', async () => {
    const stream = await newStream();
    const c0 = craftCluster(good(0));
    const c2 = craftCluster(good(4000));
    const huge = hugeCluster(1000, 51 * 1024 * 1024);
    assert.ok(huge.size > 50 * 1024 * 1024);
    const res = await rawPutMedia(kvsd.url, absolute(stream), { chunks: [craftHeader(), c0, ...huge.parts, c2] });
    assert.equal(res.status, 200);
    await expectError(
      stream,
      res.acks,
      new Map([
        [0, c0],
        [4000, c2],
      ]),
      {
        persisted: [0, 4000],
        errorId: 4001,
        errorCode: 'MAX_FRAGMENT_SIZE_REACHED',
        errorTimecode: 1000,
      },
    );
    await expectUsable(stream);
  });

  it('4002 MAX_FRAGMENT_DURATION_REACHED: frames more than 10 s apart in one cluster (exactly 10 s is accepted)', async () => {
    const stream = await newStream();
    const c0 = craftCluster(good(0));
    const long = craftCluster({
      timecode: 1000,
      frames: [
        { track: 1, rel: 0, size: 100 },
        { track: 1, rel: 5000, size: 100 },
        { track: 1, rel: 10_001, size: 100 },
      ],
    });
    const tenSeconds = craftCluster({
      timecode: 20_000,
      frames: [
        { track: 1, rel: 0, size: 100 },
        { track: 1, rel: 10_000, size: 100 },
      ],
    });
    const res = await rawPutMedia(kvsd.url, absolute(stream), { chunks: [craftHeader(), c0, long, tenSeconds] });
    assert.equal(res.status, 200);
    await expectError(
      stream,
      res.acks,
      new Map([
        [0, c0],
        [20_000, tenSeconds],
      ]),
      {
        persisted: [0, 20_000],
        errorId: 4002,
        errorCode: 'MAX_FRAGMENT_DURATION_REACHED',
        errorTimecode: 1000,
      },
    );
    const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
    assert.equal(listed[1]!.FragmentLengthInMilliseconds, 10_000);
    await expectUsable(stream);
  });

  it("4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS: first frame not after the previous fragment's last frame", async () => {
    const stream = await newStream();
    const c0 = craftCluster(good(0)); // frames at 0..360 ms
    // Its first frame is at 360 ms, equal to the last frame of c0: not after it.
    const equal = craftCluster(good(360));
    // Its timecode is later, but its first frame (relative -700) lands before c0's last frame.
    const negative = craftCluster({
      timecode: 800,
      frames: [
        { track: 1, rel: -700, size: 100 },
        { track: 1, rel: 0, size: 100 },
      ],
    });
    const c3 = craftCluster(good(361)); // first frame 1 ms after c0's last: fine
    for (const [bad, tc] of [
      [equal, 360],
      [negative, 800],
    ] as const) {
      const s = bad === equal ? stream : await newStream();
      const res = await rawPutMedia(kvsd.url, absolute(s), { chunks: [craftHeader(), c0, bad, c3] });
      assert.equal(res.status, 200);
      await expectError(
        s,
        res.acks,
        new Map([
          [0, c0],
          [361, c3],
        ]),
        {
          persisted: [0, 361],
          errorId: 4004,
          errorCode: 'FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS',
          errorTimecode: tc,
        },
      );
    }
    await expectUsable(stream);
  });

  it('4010 TRACK_NUMBER_MISMATCH: a frame on a track the header does not declare', async () => {
    const stream = await newStream();
    const c0 = craftCluster(good(0));
    const bad = craftCluster({
      timecode: 1000,
      frames: [...frames({ count: 3 }), { track: 2, rel: 200, size: 100 }, ...frames({ count: 3, startRel: 240 })],
    });
    const c2 = craftCluster(good(2000));
    const res = await rawPutMedia(kvsd.url, absolute(stream), { chunks: [craftHeader(), c0, bad, c2] });
    assert.equal(res.status, 200);
    await expectError(
      stream,
      res.acks,
      new Map([
        [0, c0],
        [2000, c2],
      ]),
      {
        persisted: [0, 2000],
        errorId: 4010,
        errorCode: 'TRACK_NUMBER_MISMATCH',
        errorTimecode: 1000,
      },
    );
    await expectUsable(stream);
  });

  it('4011 FRAMES_MISSING_FOR_TRACK: a declared track without frames in a cluster', async () => {
    const stream = await newStream();
    const c0 = craftCluster(good(0, [1, 2]));
    const bad = craftCluster(good(1000, [1]));
    const c2 = craftCluster(good(2000, [1, 2]));
    const res = await rawPutMedia(kvsd.url, absolute(stream), { chunks: [craftHeader(2), c0, bad, c2] });
    assert.equal(res.status, 200);
    await expectError(
      stream,
      res.acks,
      new Map([
        [0, c0],
        [2000, c2],
      ]),
      {
        persisted: [0, 2000],
        errorId: 4011,
        errorCode: 'FRAMES_MISSING_FOR_TRACK',
        errorTimecode: 1000,
      },
    );
    await expectUsable(stream, [1, 2]);
  });
});

describe('session-ending ERROR acks', () => {
  it('4006 INVALID_MKV_DATA: garbage between clusters ends the session; nothing after it is read', async () => {
    for (const together of [false, true]) {
      const stream = await newStream();
      const c0 = craftCluster(good(0));
      const c1 = craftCluster(good(1000));
      const garbage = Buffer.from('\x00\x00this is not Matroska\r\n');
      const after = craftCluster(good(2000));
      // The garbage in a chunk of its own, or in the same chunk as the end of the cluster before it:
      // the outcome must not depend on the chunking.
      const chunks = together
        ? [craftHeader(), c0, c1.subarray(0, 100), Buffer.concat([c1.subarray(100), garbage]), after]
        : [craftHeader(), c0, c1, garbage, after];
      const res = await rawPutMedia(kvsd.url, absolute(stream), { chunks, pauseMs: 50 });
      assert.equal(res.status, 200);
      await expectError(
        stream,
        res.acks,
        new Map([
          [0, c0],
          [1000, c1],
        ]),
        {
          persisted: [0, 1000],
          errorId: 4006,
          errorCode: 'INVALID_MKV_DATA',
          errorTimecode: -1,
        },
      );
      await expectUsable(stream);
    }
  });

  it('4006 INVALID_MKV_DATA: the body ends inside a known-size cluster', async () => {
    const stream = await newStream();
    const c0 = craftCluster(good(0));
    const c1 = craftCluster(good(1000));
    const res = await rawPutMedia(kvsd.url, absolute(stream), {
      chunks: [craftHeader(), c0, c1.subarray(0, c1.length - 50)],
    });
    assert.equal(res.status, 200);
    await expectError(stream, res.acks, new Map([[0, c0]]), {
      persisted: [0],
      errorId: 4006,
      errorCode: 'INVALID_MKV_DATA',
      errorTimecode: 1000,
    });
    await expectUsable(stream);
  });

  it('4006 INVALID_MKV_DATA: the body ends inside a frame of an unknown-size cluster (at a frame boundary it is whole)', async () => {
    const c0 = craftCluster({ ...good(0), unknownSize: true });
    const c1 = craftCluster({ ...good(1000), unknownSize: true });
    // c1's last SimpleBlock (200 bytes of frame data) loses its last 50 bytes: storing it would keep a cut frame.
    const stream = await newStream();
    const res = await rawPutMedia(kvsd.url, absolute(stream), {
      chunks: [craftHeader(), c0, c1.subarray(0, c1.length - 50)],
    });
    assert.equal(res.status, 200);
    await expectError(stream, res.acks, new Map([[0, c0]]), {
      persisted: [0],
      errorId: 4006,
      errorCode: 'INVALID_MKV_DATA',
      errorTimecode: 1000,
    });
    await expectUsable(stream);
    // Cut right after c1's 9th frame instead: an unknown-size cluster may end at any frame boundary.
    const whole = await newStream();
    const ninth = c1.subarray(0, c1.length - (1 + 8 + 4 + 200)); // SimpleBlock: ID, 8-byte size, header, data
    const ok = await rawPutMedia(kvsd.url, absolute(whole), { chunks: [craftHeader(), c0, ninth] });
    checkAckSequence(ok.acks, [0, 1000]);
    const stored = await storedFragments(kvsd.dataDir, whole);
    assert.ok(stored[1]!.bytes.equals(ninth));
    assert.equal((await listAll(kvsd.url, whole, { pageSize: 7 }))[1]!.FragmentLengthInMilliseconds, 320);
  });

  it('4012 MORE_THAN_ALLOWED_TRACKS_FOUND: 4 tracks end the session (3 are fine)', async () => {
    const stream = await newStream();
    const three = craftCluster(good(0, [1, 2, 3]));
    const ok = await rawPutMedia(kvsd.url, absolute(stream), { chunks: [craftHeader(3), three] });
    checkAckSequence(ok.acks, [0]);

    const four = craftCluster(good(1000, [1, 2, 3, 4]));
    const res = await rawPutMedia(kvsd.url, absolute(stream), {
      chunks: [craftHeader(4), four, craftCluster(good(2000, [1, 2, 3, 4]))],
      pauseMs: 50,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.acks, [
      {
        EventType: 'ERROR',
        FragmentTimecode: -1,
        FragmentNumber: '',
        ErrorId: 4012,
        ErrorCode: 'MORE_THAN_ALLOWED_TRACKS_FOUND',
      },
    ]);
    // The earlier session's fragment is untouched.
    const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
    assert.deepEqual(
      listed.map((f) => f.FragmentNumber),
      ok.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber),
    );
    assert.ok((await storedFragments(kvsd.dataDir, stream))[0]!.bytes.equals(three));
    await expectUsable(stream, [1, 2, 3]);
  });

  it('4008 STREAM_NOT_ACTIVE: DeleteStream during a slow PutMedia ends it at once', async () => {
    const stream = newName();
    const arn = await createStream(kvsd.url, stream);
    const kv = new KinesisVideoClient(clientConfig(kvsd.url));
    const clusters = Array.from({ length: 20 }, (_, i) => craftCluster(good(i * 1000)));
    let firstPersisted!: () => void;
    const persisted = new Promise<void>((r) => {
      firstPersisted = r;
    });
    let deleteSentAt = 0;
    let deletedAt = 0;
    let errorAt = 0;
    let responseEnded!: () => void;
    const ended = new Promise<void>((r) => {
      responseEnded = r;
    });
    async function* body() {
      yield craftHeader();
      for (const [i, c] of clusters.entries()) {
        yield c;
        await sleep(100);
        if (i === 1) {
          await persisted;
          deleteSentAt = Date.now();
          await kv.send(new DeleteStreamCommand({ StreamARN: arn }));
          deletedAt = Date.now();
          // The producer now sends nothing for a long time: the server must not wait for it.
          await new Promise<void>((r) => {
            const timer = setTimeout(r, 6000);
            void ended.then(() => {
              clearTimeout(timer);
              r();
            });
          });
        }
      }
    }
    const t0 = Date.now();
    const res = await rawPutMedia(kvsd.url, absolute(stream), {
      chunks: body(),
      onAck: (a) => {
        if (a.EventType === 'PERSISTED') firstPersisted();
        if (a.EventType === 'ERROR') errorAt = Date.now();
      },
    });
    const endedAt = Date.now();
    responseEnded();
    assert.equal(res.status, 200);
    checkAckShapes(res.acks);
    const error = res.acks.find((a) => a.EventType === 'ERROR');
    assert.ok(error, `an ERROR ack: ${res.body}`);
    assert.equal(error.ErrorId, 4008);
    assert.equal(error.ErrorCode, 'STREAM_NOT_ACTIVE');
    assert.ok(errorAt >= deleteSentAt && errorAt - deletedAt < 1000, 'the ERROR comes right after the deletion');
    assert.ok(
      endedAt - deletedAt < 2000,
      `the response ends soon after (${endedAt - deletedAt} ms), not when the producer sends again`,
    );
    assert.ok(endedAt - t0 < 5000);
    assert.equal(res.acks.filter((a) => a.EventType === 'BUFFERING').length, 2, 'nothing after the deletion is read');
    assert.ok(
      !res.acks.slice(res.acks.indexOf(error)).some((a) => a.EventType === 'BUFFERING' || a.EventType === 'IDLE'),
    );

    // The stream is gone: listing it and sending to it are ResourceNotFound.
    const archived = new KinesisVideoArchivedMediaClient(clientConfig(kvsd.url));
    await assert.rejects(
      archived.send(
        new ListFragmentsCommand({
          StreamName: stream,
          FragmentSelector: {
            FragmentSelectorType: 'SERVER_TIMESTAMP',
            TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date() },
          },
        }),
      ),
      ResourceNotFoundException,
    );
    const refused = await rawPutMedia(kvsd.url, absolute(stream), { chunks: [craftHeader(), clusters[0]!] });
    assert.equal(refused.status, 404);
    assert.equal(refused.headers['x-amzn-errortype'], 'ResourceNotFoundException');

    // A new stream of the same name starts empty and works.
    await createStream(kvsd.url, stream);
    assert.deepEqual(await listAll(kvsd.url, stream, { pageSize: 7 }), []);
    await expectUsable(stream);
    assert.equal((await listAll(kvsd.url, stream, { pageSize: 7 })).length, 2);
    kv.destroy();
    archived.destroy();
  });
});

describe('4008 while one chunk of many clusters is being handled', () => {
  it('nothing after the ERROR but PERSISTED of fragments RECEIVED before it; the purge leaves no orphan', async () => {
    const stream = newName();
    const arn = await createStream(kvsd.url, stream);
    const id = (await streamIdOf(kvsd.dataDir, stream))!;
    const kv = new KinesisVideoClient(clientConfig(kvsd.url));
    // 1500 clusters in one chunk: the deletion lands while the server works through them.
    const many = Buffer.concat(
      Array.from({ length: 1500 }, (_, i) =>
        craftCluster({ timecode: i * 1000, frames: frames({ count: 2, size: 1000 }) }),
      ),
    );
    let deletion: Promise<unknown> | undefined;
    const res = await rawPutMedia(kvsd.url, absolute(stream), {
      chunks: [craftHeader(), many],
      onAck: (a) => {
        if (!deletion && a.EventType === 'BUFFERING') deletion = kv.send(new DeleteStreamCommand({ StreamARN: arn }));
      },
    });
    await deletion;
    checkAckShapes(res.acks);
    const at = res.acks.findIndex((a) => a.EventType === 'ERROR');
    assert.ok(at > 0, 'an ERROR ack');
    assert.equal(res.acks[at]!.ErrorId, 4008);
    assert.ok(
      res.acks.filter((a) => a.EventType === 'BUFFERING').length < 1500,
      'the deletion came before the last cluster',
    );
    const receivedBefore = new Set(
      res.acks
        .slice(0, at)
        .filter((a) => a.EventType === 'RECEIVED')
        .map((a) => a.FragmentNumber),
    );
    for (const a of res.acks.slice(at + 1)) {
      assert.equal(
        a.EventType,
        'PERSISTED',
        `after the ERROR only PERSISTED of earlier fragments, got ${JSON.stringify(a)}`,
      );
      assert.ok(receivedBefore.has(a.FragmentNumber), 'PERSISTED for a fragment RECEIVED before the ERROR');
    }
    // The purge removes the stream with every fragment row and file; nothing lands after it.
    await eventually(async () => assert.equal(await streamRowExists(kvsd.dataDir, id), false), 10_000);
    await sleep(300);
    assert.equal(await fragmentRowCount(kvsd.dataDir, id), 0, 'no orphan fragment rows');
    assert.equal(existsSync(join(kvsd.dataDir, 'media', String(id))), false, 'no media left');
    kv.destroy();
    await assertHealthy(kvsd.url);
  });
});

describe('header errors are JSON errors before any acknowledgement', () => {
  /** Sends a valid body with the given headers; expects an AWS-shaped JSON error and no ack. */
  async function expectRefused(headers: Record<string, string>, status: number, code: string, message?: RegExp) {
    const res = await rawPutMedia(kvsd.url, headers, { chunks: [craftHeader(), craftCluster(good(0))] });
    assert.equal(res.status, status, res.body);
    assert.equal(res.headers['x-amzn-errortype'], code);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(typeof res.headers['x-amzn-requestid'], 'string');
    const body = JSON.parse(res.body) as { __type?: string; message?: string };
    assert.equal(body.__type, code);
    assert.equal(typeof body.message, 'string');
    if (message) assert.match(body.message!, message);
    assert.ok(!res.body.includes('EventType'), 'no acknowledgement');
  }

  it('unknown stream (by name or ARN) → 404 ResourceNotFoundException', async () => {
    await expectRefused(absolute(`no-such-stream-${process.pid}`), 404, 'ResourceNotFoundException');
    // PutMediaClient turns it into a KvsServiceError, as the SDKs do; with a big body too, which must not race
    // the server closing the refused connection (that would surface as EPIPE/ECONNRESET instead).
    const big = Buffer.concat([craftHeader(), Buffer.alloc(8 * 1024 * 1024)]);
    for (const body of [craftHeader(), big, big, big, big]) {
      const run = await sendWithClient(kvsd.url, {
        streamName: `no-such-stream-${process.pid}`,
        timecodeType: 'ABSOLUTE',
        body,
      });
      assert.deepEqual(run.acks, []);
      assert.ok(run.error instanceof KvsServiceError, String(run.error));
      assert.equal(run.error.code, 'ResourceNotFoundException');
      assert.equal(run.error.statusCode, 404);
      assert.equal(run.error.message, 'The requested stream is not found or not active.');
    }
    await expectRefused(
      {
        'x-amzn-stream-arn': `arn:aws:kinesisvideo:us-east-1:000000000000:stream/no-such-${process.pid}/1700000000000`,
        'x-amzn-fragment-timecode-type': 'ABSOLUTE',
      },
      404,
      'ResourceNotFoundException',
    );
  });

  it('bad headers → 400 InvalidArgumentException, and nothing is ingested', async () => {
    const stream = await newStream();
    const other = await newStream();
    const otherArn = await listArn(other);
    const cases: Array<[string, Record<string, string>]> = [
      ['missing timecode type', { 'x-amzn-stream-name': stream }],
      ['invalid timecode type', { 'x-amzn-stream-name': stream, 'x-amzn-fragment-timecode-type': 'SOMETIMES' }],
      ['lower-case timecode type', { 'x-amzn-stream-name': stream, 'x-amzn-fragment-timecode-type': 'absolute' }],
      [
        'RELATIVE without producer start timestamp',
        { 'x-amzn-stream-name': stream, 'x-amzn-fragment-timecode-type': 'RELATIVE' },
      ],
      ...['yesterday', '1.2.3', '-5', '1700000000,5', '2023-13-45T99:99:99Z'].map(
        (v): [string, Record<string, string>] => [
          `unparseable start timestamp '${v}'`,
          {
            'x-amzn-stream-name': stream,
            'x-amzn-fragment-timecode-type': 'RELATIVE',
            'x-amzn-producer-start-timestamp': v,
          },
        ],
      ),
      [
        'name and ARN of different streams',
        { 'x-amzn-stream-name': stream, 'x-amzn-stream-arn': otherArn, 'x-amzn-fragment-timecode-type': 'ABSOLUTE' },
      ],
      ['neither name nor ARN', { 'x-amzn-fragment-timecode-type': 'ABSOLUTE' }],
    ];
    for (const [what, headers] of cases) {
      await assert.doesNotReject(expectRefused(headers, 400, 'InvalidArgumentException'), what);
    }
    assert.deepEqual(await listAll(kvsd.url, stream, { pageSize: 7 }), []);
    assert.deepEqual(await listAll(kvsd.url, other, { pageSize: 7 }), []);
    await assertHealthy(kvsd.url);
    // Name and ARN of the same stream are fine.
    const res = await rawPutMedia(
      kvsd.url,
      { 'x-amzn-stream-name': other, 'x-amzn-stream-arn': otherArn, 'x-amzn-fragment-timecode-type': 'ABSOLUTE' },
      { chunks: [craftHeader(), craftCluster(good(0))] },
    );
    checkAckSequence(res.acks, [0]);
  });

  async function listArn(name: string) {
    const kv = new KinesisVideoClient(clientConfig(kvsd.url));
    try {
      return (await kv.send(new DescribeStreamCommand({ StreamName: name }))).StreamInfo!.StreamARN!;
    } finally {
      kv.destroy();
    }
  }
});

describe('x-amzn-producer-start-timestamp forms (RELATIVE)', () => {
  const cases: Array<[value: string, userAgent: string, ms: number]> = [
    ['1700000000.25', 'kvsd-test', 1_700_000_000_250],
    ['1700000000', 'kvsd-test', 1_700_000_000_000],
    ['1690000000.1234567', 'python-requests/2.31', 1_690_000_000_123],
    ['2023-11-14T22:13:20.250Z', 'aws-sdk-java/1.12.0', 1_700_000_000_250],
    ['2023-11-14T23:13:20.250+01:00', 'aws-sdk-java/1.12.0', 1_700_000_000_250],
    // The C/C++ producers print "%llu.%llu": seconds, then milliseconds without zero padding.
    ['1700000000.5', 'AWS-SDK-KVS-CPP-CLIENT/3.4.2/1.5.3 GCC/12.2.0 Linux/6.1.0', 1_700_000_000_005],
    ['1700000000.50', 'AWS-SDK-KVS-CPP-CLIENT/3.4.2', 1_700_000_000_050],
    ['1700000000.500', 'AWS-SDK-KVS-CPP-CLIENT/3.4.2', 1_700_000_000_500],
    ['1700000000.5', 'aws-sdk-java/1.12.0', 1_700_000_000_500],
  ];
  it("decimal seconds, ISO-8601 and the C producers' unpadded milliseconds give ProducerTimestamp = start + timecode", async () => {
    for (const [value, userAgent, ms] of cases) {
      const stream = await newStream();
      const res = await rawPutMedia(
        kvsd.url,
        {
          'x-amzn-stream-name': stream,
          'x-amzn-fragment-timecode-type': 'RELATIVE',
          'x-amzn-producer-start-timestamp': value,
          'user-agent': userAgent,
        },
        { chunks: [craftHeader(), craftCluster(good(0)), craftCluster(good(2000))] },
      );
      assert.equal(res.status, 200, `${value} (${userAgent}): ${res.body}`);
      checkAckSequence(res.acks, [0, 2000]);
      const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
      assert.deepEqual(
        listed.map((f) => f.ProducerTimestamp!.getTime()),
        [ms, ms + 2000],
        `${value} with user agent ${userAgent}`,
      );
    }
  });
});
