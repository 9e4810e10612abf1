/**
 * Readers and the server's resources: clients that disconnect in the middle of a response (a large
 * GetMediaForFragmentList, a live GetMedia) must leave no open file behind (counted in /proc/<pid>/fd of the
 * kvsd process) and a healthy server; a slow reader of ~200 MB must not grow the server's memory (VmRSS,
 * backpressure all the way to the media store); a GetMedia consumer that reads nothing must not slow ingest.
 * The 1 MB fragments come from `kvsd seed --frame-bytes 1000000` (the real ingest path) into the data
 * directory of the running server.
 *
 * Decided here: "no leak" = the fd count returns to within ±2 of the count before the disconnects, after up to
 * 3 s to settle, for 5 disconnects of each kind (so a leak of one fd per response would show); "flat memory" =
 * VmRSS never more than 50 MB above its value before the 200 MB response.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { Readable } from 'node:stream';
import type { Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile } from '../helpers/media.js';
import { seed } from '../helpers/listing.js';
import {
  fdCount,
  fdTargets,
  fragmentList,
  getMedia,
  ingest,
  inputOf,
  documentNumbers,
  openFragmentList,
  parseDocuments,
  rssBytes,
  tag,
} from '../helpers/readers.js';
import { createStream, listAll } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';

const BIG = 'res-big';
const FRAGMENTS = 200;
const FRAME_BYTES = 1_000_000;

let kvsd: KvsdProcess;
let listed: Fragment[];
let numbers: string[];

before(async () => {
  // Seeded straight into the data directory before the server starts (a running server holds its lock).
  kvsd = await startKvsd({
    prepare: (dir) =>
      seed(dir, BIG, {
        fragments: FRAGMENTS,
        frameBytes: FRAME_BYTES,
        startMs: Date.now() - FRAGMENTS * 1000,
        intervalMs: 1000,
        create: true,
      }),
  });
  listed = await listAll(kvsd.url, BIG);
  assert.equal(listed.length, FRAGMENTS);
  numbers = listed.map((f) => f.FragmentNumber!);
  // Warm up every path measured below (catalog statements, media files, header cache), then let sockets close.
  await fragmentList(kvsd.url, { StreamName: BIG, Fragments: numbers.slice(0, 2) });
  const g = await getMedia(kvsd.url, { StreamName: BIG, StartSelector: { StartSelectorType: 'EARLIEST' } });
  await g.waitFor(1);
  g.destroy();
  await sleep(300);
});

after(async () => {
  await kvsd?.dispose();
});

/**
 * Reads `bytes` bytes (at least) from a payload, then stops reading (the stream stays open) and waits a
 * little: the server has filled the connection's buffers and is blocked on backpressure when the client
 * then disconnects, the case where a handler that misses the disconnect would hang on to its file.
 */
async function readSomeThenStall(payload: Readable, bytes: number): Promise<number> {
  let got = 0;
  await new Promise<void>((resolveRead, reject) => {
    const onData = (chunk: Buffer) => {
      got += chunk.length;
      if (got >= bytes) {
        payload.off('data', onData);
        payload.pause();
        resolveRead();
      }
    };
    payload.on('data', onData);
    payload.once('error', reject);
  });
  await sleep(150);
  return got;
}

/** GET /health on a connection of its own that closes (no keep-alive socket left on the server). */
function health(): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    get(`${kvsd.url}/health`, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

/** The server answers /health and a small GetMediaForFragmentList correctly. */
async function assertServing() {
  assert.equal(await health(), 200);
  const r = await fragmentList(kvsd.url, { StreamName: BIG, Fragments: [numbers[7]!, numbers[3]!] });
  const docs = parseDocuments(r.bytes);
  assert.deepEqual(documentNumbers(docs), [numbers[7], numbers[3]]);
  docs.forEach((d, k) => assert.equal(d.cluster?.length, listed[k === 0 ? 7 : 3]!.FragmentSizeInBytes));
}

/** Waits up to 3 s for the server's fd count to come back to the baseline (±2), and asserts it. */
async function assertFdsBack(baseline: string[], t: { diagnostic(m: string): void }, what: string) {
  let now = fdTargets(kvsd.pid);
  const ok = () => Math.abs(now.length - baseline.length) <= 2;
  const deadline = Date.now() + 3000;
  while (!ok() && Date.now() < deadline) {
    await sleep(100);
    now = fdTargets(kvsd.pid);
  }
  const left = [...baseline];
  const extra = now.filter((f) => {
    const i = left.indexOf(f);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
  t.diagnostic(
    `${what}: server fds baseline ${baseline.length}, after ${now.length}${extra.length ? ` (new: ${extra.join(', ')})` : ''}`,
  );
  assert.ok(
    ok(),
    `${what}: the server has ${now.length} open fds, ${baseline.length} before; new: ${extra.join(', ')}`,
  );
}

describe('client disconnects', { timeout: 120_000 }, () => {
  it('mid GetMediaForFragmentList of 200 MB: no fd left open, server healthy', async (t) => {
    const baseline = fdTargets(kvsd.pid);
    let during = 0;
    for (let i = 0; i < 5; i++) {
      const r = await openFragmentList(kvsd.url, { StreamName: BIG, Fragments: numbers });
      assert.equal(r.contentType, 'video/webm');
      const got = await readSomeThenStall(r.payload, (2 + i) * FRAME_BYTES);
      assert.ok(got < (FRAGMENTS * FRAME_BYTES) / 2, 'disconnected in the middle');
      during = Math.max(during, fdCount(kvsd.pid));
      r.close();
    }
    t.diagnostic(`server fds while responding: up to ${during}`);
    assert.ok(during > baseline.length, 'the responses held files (and sockets) open while running');
    await assertServing();
    await assertFdsBack(baseline, t, 'after 5 GetMediaForFragmentList disconnects');
  });

  it('mid GetMedia (catching up through 1 MB fragments, and waiting at the live edge): no fd left open, server healthy', async (t) => {
    const baseline = fdTargets(kvsd.pid);
    for (let i = 0; i < 5; i++) {
      const catchingUp = await getMedia(
        kvsd.url,
        { StreamName: BIG, StartSelector: { StartSelectorType: 'EARLIEST' } },
        { paused: true },
      );
      await readSomeThenStall(catchingUp.payload, (1 + i) * FRAME_BYTES);
      const waiting = await getMedia(kvsd.url, { StreamName: BIG, StartSelector: { StartSelectorType: 'NOW' } });
      await sleep(50);
      catchingUp.destroy();
      waiting.destroy();
    }
    await assertServing();
    // A live GetMedia still works after all that, and sees a new fragment.
    const stream = 'res-live';
    await createStream(kvsd.url, stream);
    const file = await inputOf(await ffmpegMkvFile({ seconds: 3, gop: 5 }));
    const c = await getMedia(kvsd.url, { StreamName: stream, StartSelector: { StartSelectorType: 'NOW' } });
    const run = await ingest(
      kvsd.url,
      stream,
      { head: file.head, clusters: file.clusters.slice(0, 2) },
      { producerStartMs: 1_700_000_000_000 },
    );
    assert.deepEqual(documentNumbers(await c.waitFor(2)), run.persisted);
    c.destroy();
    await assertFdsBack(baseline, t, 'after 10 GetMedia disconnects');
  });
});

describe('memory and backpressure', { timeout: 120_000 }, () => {
  it('a slowly read GetMediaForFragmentList of ~200 MB keeps the server RSS flat', async (t) => {
    // Every document has the same prefix length (47-digit number, 10-digit seconds): measure it once.
    const [one] = parseDocuments((await fragmentList(kvsd.url, { StreamName: BIG, Fragments: [numbers[0]!] })).bytes);
    const prefix = one!.bytes.length - one!.cluster!.length;
    const expectedBytes = listed.reduce((s, f) => s + f.FragmentSizeInBytes! + prefix, 0);
    assert.ok(expectedBytes > 200_000_000, `~200 MB in the response (${expectedBytes})`);

    // Warm the server up with a smaller response read in full, so that the baseline includes what any
    // response needs once (heap, buffers), then measure.
    const warm = await openFragmentList(kvsd.url, { StreamName: BIG, Fragments: numbers.slice(0, 30) });
    for await (const _ of warm.payload as AsyncIterable<Buffer>) {
      /* drain */
    }
    warm.close();
    await sleep(200);
    const baseline = rssBytes(kvsd.pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes(kvsd.pid));
    }, 25);
    const started = Date.now();
    let got = 0;
    try {
      const r = await openFragmentList(kvsd.url, { StreamName: BIG, Fragments: numbers });
      try {
        // Read nothing for a while (a server without backpressure would read everything into memory now)...
        await sleep(1500);
        // ...then slowly: 20 ms pause after every 2 MB (about 100 MB/s at most, well below the disk).
        let sincePause = 0;
        for await (const chunk of r.payload as AsyncIterable<Buffer>) {
          got += chunk.length;
          sincePause += chunk.length;
          if (sincePause >= 2_000_000) {
            sincePause = 0;
            await sleep(20);
          }
        }
      } finally {
        r.close();
      }
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssBytes(kvsd.pid));
    const growth = peak - baseline;
    t.diagnostic(
      `200 MB response read in ${Date.now() - started} ms; server VmRSS baseline ${(baseline / 1e6).toFixed(1)} MB, peak ${(peak / 1e6).toFixed(1)} MB, growth ${(growth / 1e6).toFixed(1)} MB`,
    );
    assert.equal(got, expectedBytes, 'the whole response arrived');
    assert.ok(growth < 50 * 1024 * 1024, `server RSS grew by ${(growth / 1e6).toFixed(1)} MB while serving 200 MB`);
  });

  it('a GetMedia consumer that reads nothing does not slow PutMedia down', async (t) => {
    const stalled = await getMedia(
      kvsd.url,
      { StreamName: BIG, StartSelector: { StartSelectorType: 'EARLIEST' } },
      { paused: true },
    );
    try {
      await sleep(300); // let the server fill the socket and block on it
      const file = await inputOf(await ffmpegMkvFile({ gop: 25 }));
      const t0 = Date.now();
      const receivedAt = new Map<string, number>();
      const run = await ingest(kvsd.url, BIG, file, {
        producerStartMs: Date.now() - 60_000,
        onAck: (a, at) => {
          if (a.EventType === 'RECEIVED') receivedAt.set(a.FragmentNumber!, at);
        },
      });
      const total = Date.now() - t0;
      const waits = run.persisted.map((n, k) => run.persistedAt[k]! - receivedAt.get(n)!);
      t.diagnostic(
        `PutMedia of ${file.clusters.length} clusters with a stalled GetMedia: ${total} ms; RECEIVED→PERSISTED ms: ${waits.join(', ')}`,
      );
      assert.deepEqual(run.persisted, run.received, 'every fragment PERSISTED, in order');
      waits.forEach((w, k) => assert.ok(w < 1000, `fragment ${k} PERSISTED ${w} ms after RECEIVED`));
      assert.ok(total < 5000, `the whole upload took ${total} ms`);
      assert.ok(stalled.bytes === 0 && stalled.docs.length === 0, 'the consumer had read nothing');
      // The stalled consumer was alive all along: reading now, it gets everything, the new fragments last.
      stalled.resume();
      const docs = await stalled.waitFor(FRAGMENTS + run.persisted.length, 30_000);
      assert.deepEqual(documentNumbers(docs), [...numbers, ...run.persisted]);
      assert.equal(tag(docs.at(-1)!.trailer, 'AWS_KINESISVIDEO_CONTINUATION_TOKEN'), run.persisted.at(-1));
    } finally {
      stalled.destroy();
    }
  });
});
