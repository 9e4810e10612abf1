/**
 * GetMedia: every start selector against a stream with two real PutMedia sessions (ffmpeg then GStreamer,
 * so two producer headers), the per-document trailer tags, CONTINUATION_TOKEN resumption, live following
 * (latency against the PERSISTED ack), the host buffer of a stream that retains nothing, the AWS CLI v2, and
 * the refused selectors.
 *
 * Behaviour the spec leaves open, as decided here (and asserted):
 * - The response never ends by itself: after the archived fragments it waits for new ones (the real service's
 *   long-lived connection); it ends when the client goes away, or when the stream is deleted (then cleanly,
 *   after the last whole document).
 * - FRAGMENT_NUMBER starts with the fragment *after* AfterFragmentNumber (docs/kvs-wire.md, Start selectors); a number that names no
 *   fragment of the stream → 404 ResourceNotFoundException.
 * - PRODUCER_TIMESTAMP / SERVER_TIMESTAMP start with the fragment *containing* StartTimestamp (timestamp <= T <=
 *   timestamp + FragmentLengthInMilliseconds; of several, the latest-starting one), else the first fragment
 *   starting after T (AWS: "the chunk containing a fragment with the specified timestamp", docs/kvs-wire.md; commit
 *   a0a593e); if there is none yet, the response follows the live edge. On a stream that retains nothing
 *   (fragments buffered without a length) it starts with the last fragment starting at or before T.
 * - CONTINUATION_TOKEN = the fragment number of the last document read; resuming starts with the next fragment.
 *   A token that is not a kvsd fragment number → 400 InvalidArgumentException.
 * - MILLIS_BEHIND_NOW = (time the document is written) - (fragment's server timestamp), a non-negative integer.
 * - A stream that retains nothing (DataRetentionInHours 0) is served from the host buffer (docs/kvs-wire.md, Data retention): NOW follows
 *   live fragments, EARLIEST replays what is buffered; its fragment numbers are those of the RECEIVED acks.
 * - Each GetMedia document carries the producer header of its own fragment (a stream may change producer).
 * - Concurrent PutMedia sessions on one stream (kvsd interleaves them; AWS allows one connection): a fragment
 *   that completes after one with a higher fragment number was sent is still sent to live consumers, once
 *   (late, so out of number order); reads of what is already there (EARLIEST, catch-up) are in number order.
 */
// needs: aws, ffmpeg
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { AWS, awsEnv } from '../helpers/cli.js';
import { fragmentNumberOf } from '../helpers/fragmentNumbers.js';
import { clientConfig, createStream, deleteStream, listAll } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';
import { PutMediaClient } from '../../src/client/putMediaClient.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile, gstMkvFile } from '../helpers/media.js';
import {
  assertDecodes,
  assertWireError,
  EID,
  ffprobeFrames,
  getMedia,
  ingest,
  inputOf,
  mkvinfoLevel1,
  documentNumbers,
  parseDocuments,
  producerHeader,
  rawPost,
  seconds3,
  tag,
  type IngestCluster,
  type KvsDocument,
  type MediaConsumer,
} from '../helpers/readers.js';

type Input = Awaited<ReturnType<typeof inputOf>>;

let kvsd: KvsdProcess;
let tmp: string;
let ff: Input;
let gst: Input;
let live: Input;
const P1 = 1_700_000_000_000;
const P2 = P1 + 60_000;
/** The main stream: ffmpeg's 10 clusters, then GStreamer's 5, each paced so that server timestamps differ. */
const MAIN = 'gm-main';
let listed: Fragment[];
/** For each listed fragment: its input (for header bytes) and cluster. */
let expected: { input: Input; cluster: IngestCluster }[];
const consumers: MediaConsumer[] = [];

async function open(input: Parameters<typeof getMedia>[1], opts?: { paused?: boolean }) {
  const c = await getMedia(kvsd.url, input, opts);
  consumers.push(c);
  return c;
}

before(async () => {
  kvsd = await startKvsd();
  tmp = mkdtempSync(join(tmpdir(), 'kvsd-getmedia-'));
  [ff, gst, live] = await Promise.all([
    ffmpegMkvFile({ gop: 25 }).then(inputOf),
    gstMkvFile().then(inputOf),
    ffmpegMkvFile({ seconds: 3, gop: 5 }).then(inputOf),
  ]);
  assert.ok(live.clusters.length >= 13, 'the live file has a cluster per 0.2 s');
  await createStream(kvsd.url, MAIN);
  await ingest(kvsd.url, MAIN, ff, { producerStartMs: P1, pauseMs: 25 });
  await ingest(kvsd.url, MAIN, gst, { producerStartMs: P2, pauseMs: 25 });
  listed = await listAll(kvsd.url, MAIN);
  assert.equal(listed.length, ff.clusters.length + gst.clusters.length);
  expected = [
    ...ff.clusters.map((cluster) => ({ input: ff, cluster })),
    ...gst.clusters.map((cluster) => ({ input: gst, cluster })),
  ];
  for (let i = 1; i < listed.length; i++) {
    assert.ok(
      listed[i]!.ServerTimestamp!.getTime() > listed[i - 1]!.ServerTimestamp!.getTime(),
      'distinct server timestamps',
    );
  }
});

after(async () => {
  for (const c of consumers) c.destroy();
  await kvsd?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * A GetMedia document of listed fragment `k`: the fragment's own producer header, the three tags, the
 * original cluster, then MILLIS_BEHIND_NOW and CONTINUATION_TOKEN. `requestedAt`: when the request was sent.
 */
function checkGetMediaDocument(
  doc: KvsDocument,
  f: Fragment,
  input: Input,
  cluster: IngestCluster,
  requestedAt: number,
  what: string,
) {
  const head = producerHeader(input.input);
  assert.ok(doc.ebmlHeader.equals(head.ebmlHeader), `${what}: the producer's EBML header`);
  assert.deepEqual(
    doc.header.map((e) => e.id),
    [EID.Info, EID.Tracks],
    `${what}: Info, Tracks`,
  );
  assert.ok(
    doc.header[0]!.bytes.equals(head.info) && doc.header[1]!.bytes.equals(head.tracks),
    `${what}: the producer's Info and Tracks`,
  );
  assert.deepEqual(
    doc.tags,
    [
      ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', f.FragmentNumber!],
      ['AWS_KINESISVIDEO_SERVER_TIMESTAMP', seconds3(f.ServerTimestamp!.getTime())],
      ['AWS_KINESISVIDEO_PRODUCER_TIMESTAMP', seconds3(f.ProducerTimestamp!.getTime())],
    ],
    `${what}: the three KVS tags`,
  );
  assert.ok(doc.cluster?.equals(cluster.bytes), `${what}: the original cluster, byte for byte`);
  assert.ok(doc.trailer, `${what}: trailing tags after the cluster`);
  assert.deepEqual(
    doc.trailer.map(([n]) => n),
    ['AWS_KINESISVIDEO_MILLIS_BEHIND_NOW', 'AWS_KINESISVIDEO_CONTINUATION_TOKEN'],
    `${what}: trailer tags`,
  );
  assert.equal(
    tag(doc.trailer, 'AWS_KINESISVIDEO_CONTINUATION_TOKEN'),
    f.FragmentNumber,
    `${what}: CONTINUATION_TOKEN = the fragment number`,
  );
  const behind = tag(doc.trailer, 'AWS_KINESISVIDEO_MILLIS_BEHIND_NOW')!;
  assert.match(behind, /^(0|[1-9]\d*)$/, `${what}: MILLIS_BEHIND_NOW is a non-negative integer`);
  const server = f.ServerTimestamp!.getTime();
  const receivedBy = doc.at ?? Date.now();
  assert.ok(
    Number(behind) >= requestedAt - server - 5 && Number(behind) <= receivedBy - server + 5,
    `${what}: MILLIS_BEHIND_NOW ${behind} is the age of the fragment when written (between ${requestedAt - server} and ${receivedBy - server})`,
  );
}

/** Opens GetMedia, waits for `count` documents, checks them against listed[from...], destroys the consumer. */
async function expectFrom(
  selector: Parameters<typeof getMedia>[1]['StartSelector'],
  from: number,
  count = listed.length - from,
) {
  const requestedAt = Date.now();
  const c = await open({ StreamName: MAIN, StartSelector: selector });
  try {
    assert.equal(c.contentType, 'video/webm');
    const docs = await c.waitFor(count);
    docs.forEach((d, j) =>
      checkGetMediaDocument(
        d,
        listed[from + j]!,
        expected[from + j]!.input,
        expected[from + j]!.cluster,
        requestedAt,
        `document ${j}`,
      ),
    );
    return c;
  } finally {
    c.destroy();
  }
}

describe('GetMedia: start selectors', { timeout: 120_000 }, () => {
  it('EARLIEST: every archived fragment in ingestion order, then the connection stays open', async () => {
    const requestedAt = Date.now();
    const c = await open({ StreamName: MAIN, StartSelector: { StartSelectorType: 'EARLIEST' } });
    assert.equal(c.contentType, 'video/webm');
    const docs = await c.waitFor(listed.length);
    docs.forEach((d, k) =>
      checkGetMediaDocument(d, listed[k]!, expected[k]!.input, expected[k]!.cluster, requestedAt, `document ${k}`),
    );
    await sleep(600);
    assert.equal(c.ended, false, 'the response stays open after the last archived fragment');
    assert.equal(c.error, undefined);
    assert.equal(c.docs.length, listed.length, 'nothing more until something is ingested');
    // Everything received is documents, nothing else.
    assert.equal(
      c.bytes,
      c.docs.reduce((s, d) => s + d.bytes.length, 0),
    );
    c.destroy();
  });

  it('FRAGMENT_NUMBER starts with the fragment after AfterFragmentNumber', async () => {
    await expectFrom({ StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: listed[4]!.FragmentNumber! }, 5);
    await expectFrom({ StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: listed[9]!.FragmentNumber! }, 10); // across sessions
    // After the last one: nothing yet, and the response stays open.
    const c = await open({
      StreamName: MAIN,
      StartSelector: { StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: listed.at(-1)!.FragmentNumber! },
    });
    await sleep(400);
    assert.deepEqual([c.docs.length, c.ended], [0, false]);
    c.destroy();
  });

  it('PRODUCER_TIMESTAMP starts with the fragment containing StartTimestamp, else the next one', async () => {
    const p = (k: number) => listed[k]!.ProducerTimestamp!.getTime();
    const len = (k: number) => listed[k]!.FragmentLengthInMilliseconds!;
    assert.ok(p(7) - p(6) > len(6) + 1, 'a gap between fragments 6 and 7 (last frame to next cluster)');
    await expectFrom({ StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(p(6)) }, 6, 3);
    await expectFrom({ StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(p(6) + 1) }, 6, 3);
    await expectFrom({ StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(p(6) + len(6)) }, 6, 3);
    await expectFrom({ StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(p(6) + len(6) + 1) }, 7, 3);
    await expectFrom({ StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(p(9) + len(9) + 1) }, 10, 3); // the gap between sessions
    await expectFrom({ StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(P1 - 3_600_000) }, 0, 3);
    const c = await open({
      StreamName: MAIN,
      StartSelector: { StartSelectorType: 'PRODUCER_TIMESTAMP', StartTimestamp: new Date(p(14) + len(14) + 1) },
    });
    await sleep(400);
    assert.deepEqual([c.docs.length, c.ended], [0, false], 'after every fragment: waits at the live edge');
    c.destroy();
  });

  it('SERVER_TIMESTAMP starts with the (latest-starting) fragment containing StartTimestamp, else the next one', async () => {
    const s = (k: number) => listed[k]!.ServerTimestamp!.getTime();
    const len = (k: number) => listed[k]!.FragmentLengthInMilliseconds!;
    await expectFrom({ StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: new Date(s(3)) }, 3, 3);
    await expectFrom({ StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: new Date(s(4) - 1) }, 3, 3);
    await expectFrom({ StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: new Date(s(4)) }, 4, 3);
    await expectFrom({ StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: new Date(s(12) - 1) }, 11);
    await expectFrom({ StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: new Date(0) }, 0, 2);
    const c = await open({
      StreamName: MAIN,
      StartSelector: { StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: new Date(s(14) + len(14) + 1) },
    });
    await sleep(400);
    assert.deepEqual([c.docs.length, c.ended], [0, false], 'after every fragment: waits at the live edge');
    c.destroy();
  });

  it('CONTINUATION_TOKEN resumes after the last document read: no gap, no duplicate', async () => {
    const full = documentNumbers(
      await (await expectFrom({ StartSelectorType: 'EARLIEST' }, 0)).docs.slice(0, listed.length),
    );
    assert.deepEqual(
      full,
      listed.map((f) => f.FragmentNumber),
    );
    const got: string[] = [];
    let selector: Parameters<typeof getMedia>[1]['StartSelector'] = { StartSelectorType: 'EARLIEST' };
    // Read 4, disconnect, resume; three times; then the rest.
    for (const take of [4, 4, 4, listed.length - 12]) {
      const c = await open({ StreamName: MAIN, StartSelector: selector });
      const docs = await c.waitFor(take);
      c.destroy();
      got.push(...(documentNumbers(docs) as string[]));
      const token = tag(docs.at(-1)!.trailer, 'AWS_KINESISVIDEO_CONTINUATION_TOKEN')!;
      assert.match(token, /^[a-zA-Z0-9_.-]{1,128}$/, 'a token GetMedia accepts');
      selector = { StartSelectorType: 'CONTINUATION_TOKEN', ContinuationToken: token };
    }
    assert.deepEqual(got, full, 'the resumed reads add up to the full sequence');
    // Resuming from the last token: nothing more (yet), the response waits.
    const c = await open({ StreamName: MAIN, StartSelector: selector });
    await sleep(400);
    assert.deepEqual([c.docs.length, c.ended], [0, false]);
    c.destroy();
  });
});

describe('GetMedia: refused requests', { timeout: 120_000 }, () => {
  const bad: [string, unknown][] = [
    ['FRAGMENT_NUMBER without AfterFragmentNumber', { StartSelectorType: 'FRAGMENT_NUMBER' }],
    ['PRODUCER_TIMESTAMP without StartTimestamp', { StartSelectorType: 'PRODUCER_TIMESTAMP' }],
    ['SERVER_TIMESTAMP without StartTimestamp', { StartSelectorType: 'SERVER_TIMESTAMP' }],
    ['CONTINUATION_TOKEN without ContinuationToken', { StartSelectorType: 'CONTINUATION_TOKEN' }],
    ['an unknown StartSelectorType', { StartSelectorType: 'LATEST' }],
    ['no StartSelectorType', {}],
    ['AfterFragmentNumber with letters', { StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: '12ab' }],
    [
      'a ContinuationToken kvsd never issued',
      { StartSelectorType: 'CONTINUATION_TOKEN', ContinuationToken: 'not-a-token' },
    ],
    ['a ContinuationToken outside its pattern', { StartSelectorType: 'CONTINUATION_TOKEN', ContinuationToken: 'a/b' }],
    [
      'a StartTimestamp that is not a timestamp',
      { StartSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: 'yesterday' },
    ],
  ];
  for (const [what, selector] of bad) {
    it(`${what} → 400 InvalidArgumentException`, async () => {
      assertWireError(
        await rawPost(kvsd.url, '/getMedia', { StreamName: MAIN, StartSelector: selector }),
        400,
        'InvalidArgumentException',
      );
    });
  }

  it('the SDK sees InvalidArgumentException (400) for a selector missing its value, and no StartSelector at all', async () => {
    await assert.rejects(
      getMedia(kvsd.url, { StreamName: MAIN, StartSelector: { StartSelectorType: 'FRAGMENT_NUMBER' } }),
      (err: any) => {
        assert.equal(err.name, 'InvalidArgumentException', String(err));
        assert.equal(err.$metadata?.httpStatusCode, 400);
        return true;
      },
    );
    assertWireError(await rawPost(kvsd.url, '/getMedia', { StreamName: MAIN }), 400, 'InvalidArgumentException');
  });

  it('an unknown AfterFragmentNumber → 404 ResourceNotFoundException', async () => {
    const unknown = fragmentNumberOf(2n ** 50n, 1_600_000_000_000, 5);
    await assert.rejects(
      getMedia(kvsd.url, {
        StreamName: MAIN,
        StartSelector: { StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: unknown },
      }),
      (err: any) => {
        assert.equal(err.name, 'ResourceNotFoundException', String(err));
        assert.equal(err.$metadata?.httpStatusCode, 404);
        return true;
      },
    );
  });

  it('an unknown or deleted stream → 404 ResourceNotFoundException', async () => {
    assertWireError(
      await rawPost(kvsd.url, '/getMedia', {
        StreamName: 'gm-no-such',
        StartSelector: { StartSelectorType: 'EARLIEST' },
      }),
      404,
      'ResourceNotFoundException',
    );
    const arn = await createStream(kvsd.url, 'gm-doomed');
    await deleteStream(kvsd.url, arn);
    await assert.rejects(
      getMedia(kvsd.url, { StreamARN: arn, StartSelector: { StartSelectorType: 'NOW' } }),
      (err: any) => {
        assert.equal(err.name, 'ResourceNotFoundException', String(err));
        assert.equal(err.$metadata?.httpStatusCode, 404);
        return true;
      },
    );
  });
});

describe('GetMedia: live', { timeout: 120_000 }, () => {
  it('NOW: fragments ingested afterwards arrive within 1 s of their PERSISTED ack (one cluster per ~300 ms)', async (t) => {
    const stream = 'gm-live';
    await createStream(kvsd.url, stream);
    // Fragments before NOW, which it must not send.
    const early = await ingest(
      kvsd.url,
      stream,
      { head: live.head, clusters: live.clusters.slice(0, 3) },
      { producerStartMs: P1 },
    );
    const c = await open({ StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } });
    await sleep(200);
    const clusters = live.clusters.slice(3, 13);
    const run = await ingest(
      kvsd.url,
      stream,
      { head: live.head, clusters },
      { producerStartMs: P1 + 10_000, pauseMs: 300 },
    );
    assert.equal(run.persisted.length, clusters.length);
    const docs = await c.waitFor(clusters.length, 3000);
    assert.deepEqual(documentNumbers(docs), run.persisted, 'exactly the fragments ingested after NOW, in order');
    assert.ok(!documentNumbers(docs).some((n) => early.persisted.includes(n!)));
    const latencies = docs.map((d, k) => d.at! - run.persistedAt[k]!);
    t.diagnostic(`GetMedia NOW latency after PERSISTED (ms): ${latencies.join(', ')}`);
    docs.forEach((d, k) => {
      assert.ok(latencies[k]! < 1000, `fragment ${k} arrived ${latencies[k]} ms after its PERSISTED ack`);
      assert.ok(d.cluster?.equals(clusters[k]!.bytes), `fragment ${k}: the original cluster`);
      const behind = Number(tag(d.trailer, 'AWS_KINESISVIDEO_MILLIS_BEHIND_NOW'));
      assert.ok(behind >= 0 && behind < 2000, `MILLIS_BEHIND_NOW ${behind} of a live fragment`);
    });
    await sleep(300);
    assert.equal(c.docs.length, clusters.length, 'no extra documents');
    c.destroy();
  });

  it('a stream that retains nothing: NOW follows live fragments from the host buffer, EARLIEST replays them', async (t) => {
    const stream = 'gm-zero';
    await createStream(kvsd.url, stream, 0);
    const now = await open({ StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } });
    await sleep(200);
    const clusters = live.clusters.slice(0, 8);
    const receivedAt: number[] = [];
    const run = await ingest(
      kvsd.url,
      stream,
      { head: live.head, clusters },
      {
        producerStartMs: P1,
        pauseMs: 150,
        onAck: (a, at) => {
          if (a.EventType === 'RECEIVED') receivedAt.push(at);
        },
      },
    );
    assert.equal(run.persisted.length, 0, 'nothing persisted');
    const docs = await now.waitFor(clusters.length, 3000);
    assert.deepEqual(documentNumbers(docs), run.received, 'the RECEIVED fragments, in order');
    const latencies = docs.map((d, k) => d.at! - receivedAt[k]!);
    t.diagnostic(`retention-0 GetMedia NOW latency after RECEIVED (ms): ${latencies.join(', ')}`);
    docs.forEach((d, k) => {
      assert.ok(latencies[k]! < 1000, `fragment ${k} arrived ${latencies[k]} ms after RECEIVED`);
      assert.ok(d.cluster?.equals(clusters[k]!.bytes), `fragment ${k}: the original cluster`);
      assert.equal(tag(d.trailer, 'AWS_KINESISVIDEO_CONTINUATION_TOKEN'), run.received[k]);
      assert.deepEqual(
        d.header.map((e) => e.bytes),
        [producerHeader(live.input).info, producerHeader(live.input).tracks],
      );
    });
    now.destroy();
    const earliest = await open({ StreamName: stream, StartSelector: { StartSelectorType: 'EARLIEST' } });
    const replay = await earliest.waitFor(clusters.length, 3000);
    assert.deepEqual(
      replay.map((d) => d.bytes.subarray(0, d.bytes.length - d.elements.at(-1)!.bytes.length)),
      docs.map((d) => d.bytes.subarray(0, d.bytes.length - d.elements.at(-1)!.bytes.length)),
      'EARLIEST replays the same documents (trailer aside)',
    );
    await sleep(300);
    assert.equal(earliest.docs.length, clusters.length);
    earliest.destroy();
    // FRAGMENT_NUMBER and CONTINUATION_TOKEN work on the buffer too.
    const resumed = await open({
      StreamName: stream,
      StartSelector: { StartSelectorType: 'CONTINUATION_TOKEN', ContinuationToken: run.received[4]! },
    });
    assert.deepEqual(documentNumbers(await resumed.waitFor(3)), run.received.slice(5));
    resumed.destroy();
    const after = await open({
      StreamName: stream,
      StartSelector: { StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: run.received[1]! },
    });
    assert.deepEqual(documentNumbers(await after.waitFor(6)), run.received.slice(2));
    after.destroy();
    const at = await open({
      StreamName: stream,
      StartSelector: {
        StartSelectorType: 'PRODUCER_TIMESTAMP',
        StartTimestamp: new Date(P1 + clusters[3]!.timecode + 1),
      },
    });
    assert.deepEqual(
      documentNumbers(await at.waitFor(5)),
      run.received.slice(3),
      'PRODUCER_TIMESTAMP: the last buffered fragment starting at or before it',
    );
    at.destroy();
  });

  for (const retention of [24, 0]) {
    it(`concurrent PutMedia sessions on one stream (retention ${retention}): a live consumer gets every fragment once, also one that completes out of sequence`, async () => {
      const stream = `gm-interleaved-${retention}`;
      await createStream(kvsd.url, stream, retention);
      const c = await open({ StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } });
      const ready = retention > 0 ? 'PERSISTED' : 'RECEIVED';
      // Session A starts its first cluster (so its fragment number comes first), then stalls in the middle of it.
      const [a0, a1] = [live.clusters[0]!.bytes, live.clusters[1]!.bytes];
      let release!: () => void;
      const released = new Promise<void>((r) => {
        release = r;
      });
      let aStarted!: () => void;
      const aBuffering = new Promise<void>((r) => {
        aStarted = r;
      });
      const client = new PutMediaClient({
        endpoint: kvsd.url,
        region: 'us-east-1',
        credentials: clientConfig(kvsd.url).credentials,
      });
      const aNumbers: string[] = [];
      const sessionA = (async () => {
        async function* body() {
          yield live.head;
          yield a0.subarray(0, a0.length >> 1);
          await released;
          yield a0.subarray(a0.length >> 1);
          yield a1;
        }
        for await (const ack of client.putMedia({
          streamName: stream,
          timecodeType: 'RELATIVE',
          producerStartTimestamp: P1,
          body: body(),
        })) {
          if (ack.EventType === 'BUFFERING') aStarted();
          if (ack.EventType === ready) aNumbers.push(ack.FragmentNumber!);
          assert.notEqual(ack.EventType, 'ERROR', JSON.stringify(ack));
        }
      })();
      await aBuffering;
      // Session B sends a whole cluster meanwhile: it completes first, with a later fragment number.
      const b = await ingest(
        kvsd.url,
        stream,
        { head: live.head, clusters: [live.clusters[5]!] },
        { producerStartMs: P2 },
      );
      const bNumber = retention > 0 ? b.persisted[0]! : b.received[0]!;
      assert.deepEqual(documentNumbers(await c.waitFor(1)), [bNumber], 'B first: it completed first');
      release();
      await sessionA;
      assert.equal(aNumbers.length, 2);
      assert.ok(
        aNumbers[0]! < bNumber && bNumber < aNumbers[1]!,
        "A's first fragment is numbered before B's, its second after",
      );
      const docs = await c.waitFor(3, 5000);
      assert.deepEqual([...documentNumbers(docs)].sort(), [...aNumbers, bNumber].sort(), 'every fragment, once');
      assert.ok(
        docs.find((d) => tag(d.tags, 'AWS_KINESISVIDEO_FRAGMENT_NUMBER') === aNumbers[0])?.cluster?.equals(a0),
        "A's first cluster, whole",
      );
      await sleep(300);
      assert.equal(c.docs.length, 3, 'no duplicates');
      c.destroy();
      // A consumer from EARLIEST gets them in fragment-number order.
      const e = await open({ StreamName: stream, StartSelector: { StartSelectorType: 'EARLIEST' } });
      assert.deepEqual(documentNumbers(await e.waitFor(3)), [aNumbers[0], bNumber, aNumbers[1]]);
      e.destroy();
    });
  }

  it('the AWS CLI v2 streams GetMedia to its outfile; deleting the stream ends the response cleanly', async () => {
    const stream = 'gm-cli';
    const arn = await createStream(kvsd.url, stream);
    await ingest(kvsd.url, stream, gst, { producerStartMs: P2 });
    const fragments = await listAll(kvsd.url, stream);
    const out = join(tmp, 'cli-getmedia.mkv');
    const requestedAt = Date.now();
    const cli = spawn(
      AWS,
      [
        'kinesis-video-media',
        'get-media',
        out,
        '--stream-name',
        stream,
        '--endpoint-url',
        kvsd.url,
        '--output',
        'json',
        '--start-selector',
        JSON.stringify({ StartSelectorType: 'EARLIEST' }),
      ],
      { env: awsEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(cli, 'exit');
    try {
      const sdk = await open({ StreamName: stream, StartSelector: { StartSelectorType: 'EARLIEST' } });
      await sdk.waitFor(fragments.length);
      // Wait until the CLI has written about as much (it reads and writes in blocks of 32 KB, so the last
      // one waits for the end of the response), so that deleting the stream does not cut it short.
      const size = () => (existsSync(out) ? statSync(out).size : 0);
      const deadline = Date.now() + 15_000;
      while (size() < sdk.bytes - 65_536 && Date.now() < deadline) await sleep(100);
      await sleep(300);
      await deleteStream(kvsd.url, arn);
      const [code] = await Promise.race([exited, sleep(10_000).then(() => ['timeout'])]);
      assert.equal(code, 0, `aws get-media exit ${code}: ${stderr}`);
      await sdk.closed;
      assert.equal(sdk.ended, true, 'the SDK consumer saw a clean end of the response');
      assert.equal(sdk.docs.length, fragments.length);
      assert.equal(JSON.parse(stdout).ContentType, 'video/webm');
      const docs = parseDocuments(readFileSync(out));
      assert.equal(docs.length, fragments.length, 'the CLI wrote every document');
      docs.forEach((d, k) =>
        checkGetMediaDocument(d, fragments[k]!, gst, gst.clusters[k]!, requestedAt, `CLI document ${k}`),
      );
      assert.equal(await ffprobeFrames(out), gst.frames, 'ffprobe counts every frame');
      await assertDecodes(out, docs.length);
      const info = await mkvinfoLevel1(out);
      assert.deepEqual(
        [info.clusters, info.tracks, info.tags],
        [docs.length, docs.length, 2 * docs.length],
        'mkvinfo: cluster, tracks, two Tags per document',
      );
    } finally {
      if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
    }
  });
});
