/**
 * One producer's bad MKV must cost nobody else anything (issue 11, B3 and D).
 * - Two producers at once on two streams: one sends bad MKV (an empty Tracks element with clusters that hold
 *   only a Timecode, and variations), the other 400 good fragments. All 400 are PERSISTED and listed; the bad
 *   producer gets 4006/4011 acks, never 5001 (before the fix its NaN rows failed whole group commits, on
 *   every stream).
 * - The group commit isolates a row the catalog refuses: the rest of its batch commits.
 * - A SimpleTag nested 100,000 deep is 4006 INVALID_MKV_DATA, not 5000.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { checkAckSequence, craftCluster, craftHeader, frames, sendWithClient, type Ack } from '../helpers/putMedia.js';
import { createStream, listAll } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';
import {
  ID,
  MkvReader,
  MkvError,
  UNKNOWN_SIZE_SEGMENT_HEADER,
  element,
  encodeId,
  encodeSize,
  readElementHeader,
  stringElement,
  uintElement,
} from '../../src/mkv/index.js';
import { SqliteCatalog } from '../../src/storage/sqliteCatalog.js';
import { Committer } from '../../src/archive/committer.js';
import { LocalMediaStore } from '../../src/storage/localMediaStore.js';
import type { FragmentRecord } from '../../src/storage/catalog.js';

let kvsd: KvsdProcess;
before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
});
after(async () => {
  await kvsd?.dispose();
});

const craftedEbmlHeader = (() => {
  const h = craftHeader(1);
  return h.subarray(0, readElementHeader(h, 0, 0)!.length + readElementHeader(h, 0, 0)!.size);
})();

/** A header with the given Info and TrackEntry payloads. */
function header(opts: { timecodeScale?: number; trackNumbers: number[] }): Buffer {
  const info = element(
    ID.Info,
    Buffer.concat([uintElement(ID.TimecodeScale, opts.timecodeScale ?? 1_000_000), stringElement(0x4d80, 'bad')]),
  );
  const entries = opts.trackNumbers.map((n) =>
    element(
      ID.TrackEntry,
      Buffer.concat([
        uintElement(ID.TrackNumber, n),
        uintElement(ID.TrackType, 1),
        stringElement(ID.CodecID, 'V_MPEG4/ISO/AVC'),
      ]),
    ),
  );
  return Buffer.concat([
    craftedEbmlHeader,
    UNKNOWN_SIZE_SEGMENT_HEADER,
    info,
    element(ID.Tracks, Buffer.concat(entries)),
  ]);
}

/** A cluster holding only its Timecode. */
const timecodeOnly = (timecode: number) => craftCluster({ timecode, frames: [] });

/** The bad inputs, each with the ErrorIds it may get. */
const BAD: { name: string; header: Buffer; cluster: (tc: number) => Buffer; expect: number[] }[] = [
  { name: 'empty Tracks, Timecode-only clusters', header: craftHeader([]), cluster: timecodeOnly, expect: [4006] },
  { name: 'one track, Timecode-only clusters', header: craftHeader(1), cluster: timecodeOnly, expect: [4011] },
  {
    name: 'empty Tracks, clusters with frames',
    header: craftHeader([]),
    cluster: (tc) => craftCluster({ timecode: tc, frames: frames() }),
    expect: [4006],
  },
  {
    name: 'TimecodeScale 0',
    header: header({ timecodeScale: 0, trackNumbers: [1] }),
    cluster: (tc) => craftCluster({ timecode: tc, frames: frames() }),
    expect: [4006],
  },
  { name: 'TrackNumber 0', header: header({ trackNumbers: [0] }), cluster: timecodeOnly, expect: [4006] },
];

describe('a producer of bad MKV', () => {
  it('costs another stream nothing: 400 good fragments all PERSISTED and listed; the bad one gets 4006/4011', async () => {
    const goodStream = `good-${process.pid}`;
    const badStream = `bad-${process.pid}`;
    await createStream(kvsd.url, goodStream);
    await createStream(kvsd.url, badStream);

    let goodDone = false;
    const badSessions: { name: string; acks: Ack[]; expect: number[]; clusters: number }[] = [];
    const bad = (async () => {
      for (let i = 0; !goodDone; i++) {
        const variant = BAD[i % BAD.length]!;
        const base = 1_700_000_000_000 + i * 1_000_000;
        let clusters = 0;
        async function* body() {
          yield variant.header;
          for (let k = 0; k < 40 && !goodDone; k++) {
            clusters++;
            yield variant.cluster(base + k * 1000);
            await sleep(2);
          }
        }
        const run = await sendWithClient(kvsd.url, { streamName: badStream, timecodeType: 'ABSOLUTE', body: body() });
        badSessions.push({ name: variant.name, acks: run.acks, expect: variant.expect, clusters });
      }
    })();

    const timecodes = Array.from({ length: 400 }, (_, i) => 1_700_000_000_000 + i * 1000);
    async function* goodBody() {
      yield craftHeader(1);
      for (let i = 0; i < timecodes.length; i += 4) {
        yield Buffer.concat(
          timecodes
            .slice(i, i + 4)
            .map((timecode) => craftCluster({ timecode, frames: frames({ count: 5, size: 300 }) })),
        );
        await sleep(5);
      }
    }
    const good = await sendWithClient(kvsd.url, { streamName: goodStream, timecodeType: 'ABSOLUTE', body: goodBody() });
    goodDone = true;
    await bad;

    const errorIds = badSessions.flatMap((s) => s.acks.filter((a) => a.EventType === 'ERROR').map((a) => a.ErrorId));
    const good5001 = good.acks.filter((a) => a.EventType === 'ERROR').length;
    assert.equal(good.error, undefined);
    assert.equal(
      good5001,
      0,
      `the good producer got ${good5001} ERROR acks (bad producer: ${errorIds.length} errors, ids ${[...new Set(errorIds)]})`,
    );
    checkAckSequence(good.acks, timecodes);
    assert.equal((await listAll(kvsd.url, goodStream, { pageSize: 7 })).length, 400, 'all 400 good fragments listed');

    // The last session may start as the good producer finishes and send no cluster: judge those that sent one.
    const judged = badSessions.filter((s) => s.clusters > 0);
    assert.ok(
      judged.length >= BAD.length,
      `every bad variant ran while the good producer streamed (${judged.length} sessions)`,
    );
    for (const s of judged) {
      const ids = s.acks.filter((a) => a.EventType === 'ERROR').map((a) => a.ErrorId);
      assert.ok(ids.length > 0, `${s.name}: refused`);
      assert.deepEqual(
        ids.filter((id) => !s.expect.includes(id!)),
        [],
        `${s.name}: only ${s.expect} (got ${ids})`,
      );
      assert.deepEqual(
        s.acks.filter((a) => a.EventType === 'PERSISTED' || a.EventType === 'RECEIVED'),
        [],
        `${s.name}: nothing received or stored`,
      );
    }
    assert.deepEqual(await listAll(kvsd.url, badStream, { pageSize: 7 }), [], 'no bad fragment is listed');
  });

  it('a SimpleTag nested 100,000 deep is 4006 INVALID_MKV_DATA; what came before it stays PERSISTED', async () => {
    const stream = `deep-${process.pid}`;
    await createStream(kvsd.url, stream);
    const cluster = (timecode: number) => craftCluster({ timecode, frames: frames() });
    const run = await sendWithClient(kvsd.url, {
      streamName: stream,
      timecodeType: 'ABSOLUTE',
      body: Buffer.concat([craftHeader(1), cluster(1_700_000_000_000), deepTags(100_000), cluster(1_700_000_001_000)]),
    });
    const errors = run.acks.filter((a) => a.EventType === 'ERROR');
    assert.deepEqual(
      errors.map((a) => [a.ErrorId, a.ErrorCode]),
      [[4006, 'INVALID_MKV_DATA']],
      JSON.stringify(errors),
    );
    assert.equal(
      run.acks.filter((a) => a.EventType === 'PERSISTED').length,
      1,
      'the cluster before the Tags is PERSISTED',
    );
    const health = await fetch(new URL('/health', kvsd.url));
    assert.equal(health.status, 200);
  });

  it('the MKV reader refuses deep SimpleTag nesting with MkvError, and accepts a few levels', () => {
    const parse = (tags: Buffer) => new MkvReader().push(Buffer.concat([craftHeader(1), tags]));
    assert.throws(
      () => parse(deepTags(100_000)),
      (err) => err instanceof MkvError && /nested deeper/.test(err.message),
    );
    assert.throws(() => parse(deepTags(65)), MkvError);
    const events = parse(deepTags(3));
    assert.deepEqual(
      events.find((e) => e.kind === 'tags'),
      { kind: 'tags', simpleTags: [{ name: 'T', value: '' }] },
    );
  });
});

/**
 * Tags > Tag > SimpleTag nested `depth` deep, the innermost with a TagName. Built in one pass from the
 * inside out (concatenating level by level would copy O(depth²) bytes).
 */
function deepTags(depth: number): Buffer {
  const innermost = stringElement(ID.TagName, 'T');
  const heads: Buffer[] = [];
  let size = innermost.length;
  for (let i = 0; i < depth; i++) {
    const head = Buffer.concat([encodeId(ID.SimpleTag), encodeSize(size)]);
    heads.push(head);
    size += head.length;
  }
  const tag = Buffer.concat([...heads.reverse(), innermost]);
  return element(ID.Tags, element(ID.Tag, tag));
}

describe('the group commit isolates failures', () => {
  it('a row the catalog refuses fails alone; the rest of its batch commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvsd-committer-'));
    const catalog = new SqliteCatalog(join(dir, 'catalog.sqlite'), { readers: 0 });
    try {
      const media = new LocalMediaStore(join(dir, 'media'));
      const stream = await catalog.createStream({
        name: 's',
        arn: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/s/1',
        kmsKeyId: 'k',
        version: 'v',
        status: 'ACTIVE',
        creationMs: 1,
        retentionHours: 24,
        storageTier: 'HOT',
        tags: {},
      });
      const headerId = await catalog.addTrackHeader(stream.id, craftHeader(1));
      const segment = await catalog.newSegment(stream.id, 'test');
      const writer = await media.createSegment(stream.id, segment);
      await writer.append(Buffer.alloc(1000, 7));
      const committer = new Committer(catalog);
      const row = (seq: number, lengthMs: number): FragmentRecord => ({
        streamId: stream.id,
        seq,
        producerMs: 1000 + seq,
        serverMs: 2000 + seq,
        lengthMs,
        size: 10,
        nonce: seq,
        headerId,
        segment,
        offset: seq * 10,
        entry: `{"n":${seq}}`,
      });
      // One batch: all are queued before the first commit runs.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 9 }, (_, i) => committer.commit(writer, row(i + 1, i === 4 ? NaN : 40))),
      );
      assert.deepEqual(
        outcomes.map((o) => o.status),
        [
          'fulfilled',
          'fulfilled',
          'fulfilled',
          'fulfilled',
          'rejected',
          'fulfilled',
          'fulfilled',
          'fulfilled',
          'fulfilled',
        ],
      );
      for (const seq of [1, 2, 3, 4, 6, 7, 8, 9])
        assert.ok(await catalog.getFragment(stream.id, seq), `row ${seq} committed`);
      assert.equal(await catalog.getFragment(stream.id, 5), undefined, 'the refused row is not stored');
      await writer.close();
    } finally {
      await catalog.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
