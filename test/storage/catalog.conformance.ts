/**
 * The Catalog conformance suite: every implementation of src/storage/catalog.ts (SQLite today, PostgreSQL
 * for scale-out later) must pass it unchanged. Call it from a *.test.ts file:
 *
 *   catalogConformance('SqliteCatalog', async () => new SqliteCatalog(tempFile()));
 *
 * Contract details the suite pins down (an implementation must follow them, they are not incidental):
 * - `make()` returns a fresh, empty catalog for every test; the suite closes it after the test.
 * - Stream names are ordered by code point (byte order for the ASCII names the API allows), i.e. what
 *   PostgreSQL calls COLLATE "C"; the name prefix of listStreams is literal ('_' and '.' are no wildcards).
 * - Unset optional stream fields (deviceName, mediaType) come back absent, not null.
 * - Ids of streams and segments are never handed out twice, even after purge / dropEmptySegments (media
 *   files and open readers are keyed by them).
 * - listFragments returns exactly the ListedFragment fields; joinFragmentEntries returns the same rows'
 *   entries, byte for byte, joined by ','. Entries are opaque strings to the catalog.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  NameTakenError,
  TooManyTagsError,
  type Catalog,
  type FragmentRecord,
  type FragmentRange,
  type ListedFragment,
  type NewStream,
  type TimestampKind,
} from '../../src/storage/catalog.js';
import { countStreams } from './storageReads.js';

let streamCounter = 0;

/** A NewStream with plausible values; `overrides` wins. */
export function newStream(overrides: Partial<NewStream> = {}): NewStream {
  const name = overrides.name ?? `stream-${++streamCounter}`;
  const creationMs = overrides.creationMs ?? 1_705_489_836_421 + streamCounter;
  return {
    name,
    arn: `arn:aws:kinesisvideo:us-east-1:000000000000:stream/${name}/${creationMs}`,
    kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo',
    version: 'AAAAAAAAAAAAAAAAAAA1',
    status: 'ACTIVE',
    creationMs,
    retentionHours: 0,
    storageTier: 'HOT',
    tags: {},
    ...overrides,
  };
}

/** The node id segments are written under in these tests. */
const WRITER = 'node-under-test';

const summary = (f: FragmentRecord): ListedFragment => ({
  seq: f.seq,
  producerMs: f.producerMs,
  serverMs: f.serverMs,
  entry: f.entry,
});

export function catalogConformance(name: string, make: () => Promise<Catalog>) {
  describe(`Catalog conformance: ${name}`, () => {
    let catalog: Catalog;
    beforeEach(async () => {
      catalog = await make();
    });
    afterEach(async () => {
      await catalog.close();
    });

    const create = (o: Partial<NewStream> = {}) => catalog.createStream(newStream(o));

    /** A fragment row of `stream`; segment/header are created on demand by the caller. */
    let nonceCounter = 0;
    const frag = (
      streamId: number,
      seq: number,
      producerMs: number,
      serverMs: number,
      o: Partial<FragmentRecord> = {},
    ): FragmentRecord => ({
      streamId,
      seq,
      producerMs,
      serverMs,
      lengthMs: 2000,
      size: 1000 + seq,
      nonce: (++nonceCounter * 7919) % (1 << 28),
      headerId: 1,
      segment: 1,
      offset: seq * 1000,
      entry: `{"s":${streamId},"q":${seq},"x":"é,{"}`,
      ...o,
    });

    /** listFragments, checking that joinFragmentEntries gives the same rows' entries. */
    async function list(range: FragmentRange): Promise<ListedFragment[]> {
      const rows = await catalog.listFragments(range);
      const joined = await catalog.joinFragmentEntries(range);
      assert.ok(Buffer.isBuffer(joined.joined), 'joined entries are a Buffer');
      assert.equal(joined.count, rows.length, 'joinFragmentEntries counts the same rows');
      assert.equal(
        joined.joined.toString('utf8'),
        rows.map((r) => r.entry).join(','),
        'joinFragmentEntries joins the same entries',
      );
      return rows;
    }

    /** A segment of the stream, written and sealed (an open one is never dropped). */
    async function sealedSegment(streamId: number) {
      const segment = await catalog.newSegment(streamId, WRITER);
      await catalog.sealSegment(segment, 0);
      return segment;
    }

    /** A stream with a header and a sealed segment, ready for fragments. */
    async function streamWithSegment(o: Partial<NewStream> = {}) {
      const s = await create(o);
      const headerId = await catalog.addTrackHeader(s.id, Buffer.from('header'));
      const segment = await sealedSegment(s.id);
      return { s, headerId, segment };
    }

    /** Inserts fragments given as [producerMs, serverMs] with fresh sequence numbers; returns them. */
    async function insert(streamId: number, times: [number, number][], segment: number, headerId: number) {
      const first = await catalog.reserveSequence(times.length);
      const rows = times.map(([p, sv], i) => frag(streamId, first + i, p, sv, { segment, headerId }));
      await catalog.insertFragments(rows);
      return rows;
    }

    /** Every fragment of a range, read page by page with the keyset cursor. */
    async function listAll(
      streamId: number,
      kind: TimestampKind,
      startMs: number,
      endMs: number,
      pageSize: number,
      minServerMs = 0,
    ) {
      const all: ListedFragment[] = [];
      let afterMs = startMs - 1; // (startMs - 1, +inf) < (startMs, any seq): start is inclusive
      let afterSeq = Number.MAX_SAFE_INTEGER;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await list({ streamId, kind, afterMs, afterSeq, endMs, minServerMs, limit: pageSize });
        assert.ok(page.length <= pageSize, 'a page never exceeds the limit');
        all.push(...page);
        if (page.length < pageSize) return all;
        const last = page[page.length - 1]!;
        afterMs = kind === 'producer' ? last.producerMs : last.serverMs;
        afterSeq = last.seq;
      }
      assert.fail('pagination did not terminate');
    }

    describe('streams', () => {
      it('createStream returns the record with an id, and every lookup returns the same record', async () => {
        const input = newStream({
          deviceName: 'cam-1',
          mediaType: 'video/h264',
          retentionHours: 24,
          storageTier: 'WARM',
          tags: { a: '1' },
        });
        const s = await catalog.createStream(input);
        assert.equal(typeof s.id, 'number');
        assert.ok(Number.isSafeInteger(s.id));
        const { tags: _t, ...expected } = input;
        assert.deepEqual(s, { id: s.id, ...expected });
        assert.deepEqual(await catalog.getStream(s.id), s);
        assert.deepEqual(await catalog.findStreamByName(input.name), s);
        assert.deepEqual(await catalog.findStreamByArn(input.arn), s);
      });

      it('leaves unset optional fields absent (not null)', async () => {
        const s = await create();
        const back = await catalog.getStream(s.id);
        assert.ok(back);
        assert.equal('deviceName' in back, false);
        assert.equal('mediaType' in back, false);
      });

      it('answers undefined for unknown ids, names and ARNs', async () => {
        await create({ name: 'known' });
        assert.equal(await catalog.getStream(987654), undefined);
        assert.equal(await catalog.findStreamByName('unknown'), undefined);
        assert.equal(await catalog.findStreamByName('KNOWN'), undefined, 'names are case-sensitive');
        assert.equal(
          await catalog.findStreamByArn('arn:aws:kinesisvideo:us-east-1:000000000000:stream/known/1'),
          undefined,
        );
      });

      it('refuses a second live stream of the same name with NameTakenError', async () => {
        const first = await create({ name: 'dup' });
        await assert.rejects(create({ name: 'dup', creationMs: first.creationMs + 1 }), NameTakenError);
        assert.equal(await countStreams(catalog), 1);
      });

      it('frees the name when the stream is marked deleted; the old record is gone from every lookup', async () => {
        const old = await create({ name: 'reuse', creationMs: 1000 });
        assert.equal(await catalog.markDeleted(old.id), true);
        assert.equal(await catalog.markDeleted(old.id), false, 'a second markDeleted reports nothing to do');
        assert.equal(await catalog.getStream(old.id), undefined);
        assert.equal(await catalog.findStreamByName('reuse'), undefined);
        assert.equal(await catalog.findStreamByArn(old.arn), undefined);
        const again = await create({ name: 'reuse', creationMs: 2000 });
        assert.notEqual(again.id, old.id);
        assert.deepEqual(await catalog.findStreamByName('reuse'), again);
        assert.equal(await catalog.findStreamByArn(old.arn), undefined, 'the old ARN never names the new stream');
        assert.deepEqual(await catalog.listDeletedStreams(), [old.id]);
      });

      it('lists live streams in code-point name order, after a name, with a literal prefix and a limit', async () => {
        const names = ['b', 'a_b', 'axb', 'a.c', 'aZ', 'B', 'a', 'a-', 'c_1', 'a_'];
        for (const n of names) await create({ name: n });
        const gone = await create({ name: 'a_deleted' });
        await catalog.markDeleted(gone.id);
        const sorted = [...names].sort(); // JS sort = UTF-16 order = byte order for ASCII
        const list = async (o: { prefix?: string; afterName?: string; limit: number }) =>
          (await catalog.listStreams(o)).map((s) => s.name);
        assert.deepEqual(await list({ limit: 100 }), sorted);
        assert.deepEqual(await list({ prefix: '', afterName: '', limit: 100 }), sorted);
        assert.deepEqual(await list({ limit: 3 }), sorted.slice(0, 3));
        assert.deepEqual(
          await list({ afterName: 'a_', limit: 100 }),
          sorted.filter((n) => n > 'a_'),
        );
        assert.deepEqual(await list({ prefix: 'a_', limit: 100 }), ['a_', 'a_b'], "'_' is no wildcard");
        assert.deepEqual(await list({ prefix: 'a.', limit: 100 }), ['a.c'], "'.' is no wildcard");
        assert.deepEqual(
          await list({ prefix: 'a', limit: 100 }),
          sorted.filter((n) => n.startsWith('a')),
          'prefix is case-sensitive',
        );
        assert.deepEqual(
          await list({ prefix: 'a', afterName: 'a.c', limit: 2 }),
          sorted.filter((n) => n.startsWith('a') && n > 'a.c').slice(0, 2),
        );
        assert.deepEqual(await list({ prefix: 'zzz', limit: 100 }), []);
        // Keyset paging by name visits every live stream exactly once.
        const paged: string[] = [];
        for (let after = ''; ; ) {
          const page = await list({ afterName: after, limit: 4 });
          paged.push(...page);
          if (page.length < 4) break;
          after = page[page.length - 1]!;
        }
        assert.deepEqual(paged, sorted);
        assert.equal(await countStreams(catalog), names.length);
      });

      it('returns full records from listStreams', async () => {
        const s = await create({ name: 'full', deviceName: 'd', mediaType: 'video/h265', retentionHours: 5 });
        assert.deepEqual(await catalog.listStreams({ limit: 10 }), [s]);
      });

      it('updateStream applies a patch only at the expected version of a live stream', async () => {
        const s = await create({ deviceName: 'dev', mediaType: 'video/h264', version: 'v1' });
        assert.equal(
          await catalog.updateStream(s.id, 'v0', { version: 'v2', deviceName: 'other' }),
          false,
          'wrong version',
        );
        assert.deepEqual(await catalog.getStream(s.id), s, 'a refused update changes nothing');
        assert.equal(await catalog.updateStream(s.id, 'v1', { version: 'v2', mediaType: 'video/h265' }), true);
        assert.deepEqual(
          await catalog.getStream(s.id),
          { ...s, version: 'v2', mediaType: 'video/h265' },
          'absent patch members keep their values',
        );
        assert.equal(
          await catalog.updateStream(s.id, 'v2', { version: 'v3', retentionHours: 48, deviceName: 'dev2' }),
          true,
        );
        assert.deepEqual(await catalog.getStream(s.id), {
          ...s,
          version: 'v3',
          mediaType: 'video/h265',
          deviceName: 'dev2',
          retentionHours: 48,
        });
        assert.equal(
          await catalog.updateStream(s.id, 'v3', { version: 'v4', retentionHours: 0 }),
          true,
          'retention can go back to 0',
        );
        assert.equal((await catalog.getStream(s.id))?.retentionHours, 0);
        assert.equal(await catalog.updateStream(s.id, 'v3', { version: 'v5' }), false, 'the old version is stale now');
        assert.equal(await catalog.updateStream(987654, 'v4', { version: 'v5' }), false, 'unknown id');
        await catalog.markDeleted(s.id);
        assert.equal(await catalog.updateStream(s.id, 'v4', { version: 'v5' }), false, 'deleted stream');
      });

      it('purgeStream removes every trace of a deleted stream and nothing of the others', async () => {
        const a = await streamWithSegment({ tags: { t: '1' } });
        const b = await streamWithSegment({ tags: { t: '2' } });
        const fa = await insert(
          a.s.id,
          [
            [1000, 1000],
            [2000, 2000],
          ],
          a.segment,
          a.headerId,
        );
        const fb = await insert(b.s.id, [[1000, 1000]], b.segment, b.headerId);
        await catalog.markDeleted(a.s.id);
        assert.deepEqual(await catalog.listDeletedStreams(), [a.s.id]);
        await catalog.purgeStream(a.s.id);
        assert.deepEqual(await catalog.listDeletedStreams(), []);
        assert.deepEqual(await catalog.getTags(a.s.id), {});
        assert.equal(await catalog.getTrackHeader(a.headerId), undefined);
        assert.equal(await catalog.getFragment(a.s.id, fa[0]!.seq), undefined);
        assert.equal(await catalog.lastFragment(a.s.id), undefined);
        assert.deepEqual(await catalog.fragmentsAfter(a.s.id, 0, 10), []);
        assert.deepEqual(await catalog.dropEmptySegments(a.s.id), [], 'its segments are forgotten too');
        // The other stream is untouched.
        assert.deepEqual(await catalog.getTags(b.s.id), { t: '2' });
        assert.ok(await catalog.getTrackHeader(b.headerId));
        assert.deepEqual(await catalog.getFragment(b.s.id, fb[0]!.seq), fb[0]);
        assert.equal(await countStreams(catalog), 1);
      });

      it('never hands out a stream id twice, even after the stream was purged', async () => {
        const ids = new Set<number>();
        for (let i = 0; i < 3; i++) {
          const s = await create({ name: `cycle`, creationMs: 1000 + i });
          assert.ok(!ids.has(s.id), `stream id ${s.id} was handed out again after a purge`);
          ids.add(s.id);
          await catalog.markDeleted(s.id);
          await catalog.purgeStream(s.id);
        }
      });
    });

    describe('tags', () => {
      it('stores the tags given at creation and answers {} for a stream without tags', async () => {
        const s = await create({ tags: { env: 'prod', clé: 'été', empty: '' } });
        assert.deepEqual(await catalog.getTags(s.id), { env: 'prod', clé: 'été', empty: '' });
        const bare = await create();
        assert.deepEqual(await catalog.getTags(bare.id), {});
      });

      it('putTags adds and overwrites; removeTags removes and ignores unknown keys', async () => {
        const s = await create({ tags: { a: '1', b: '2' } });
        await catalog.putTags(s.id, { b: '20', c: '3' }, 50);
        assert.deepEqual(await catalog.getTags(s.id), { a: '1', b: '20', c: '3' });
        await catalog.removeTags(s.id, ['a', 'nope']);
        assert.deepEqual(await catalog.getTags(s.id), { b: '20', c: '3' });
        await catalog.removeTags(s.id, []);
        assert.deepEqual(await catalog.getTags(s.id), { b: '20', c: '3' });
      });

      it('enforces the maximum atomically: nothing of a refused batch is applied', async () => {
        const s = await create();
        const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, `v${i}`]));
        await catalog.putTags(s.id, fifty, 50);
        await assert.rejects(catalog.putTags(s.id, { k0: 'changed', extra: 'x' }, 50), TooManyTagsError);
        assert.deepEqual(await catalog.getTags(s.id), fifty, 'the overwrite in the refused batch was rolled back');
        await catalog.putTags(s.id, { k0: 'changed' }, 50); // overwriting at the maximum is fine
        assert.equal((await catalog.getTags(s.id)).k0, 'changed');
        await assert.rejects(
          catalog.putTags(s.id, { x: '1', y: '2' }, 3),
          TooManyTagsError,
          'the max argument is honoured',
        );
      });

      it("keeps each stream's tags apart", async () => {
        const a = await create({ tags: { k: 'a' } });
        const b = await create({ tags: { k: 'b' } });
        await catalog.removeTags(a.id, ['k']);
        assert.deepEqual(await catalog.getTags(a.id), {});
        assert.deepEqual(await catalog.getTags(b.id), { k: 'b' });
      });

      it('round-trips any legal tag key, "__proto__" included', async () => {
        const s = await create();
        const tags = JSON.parse('{"__proto__":"p","constructor":"c","toString":"t"}') as Record<string, string>;
        await catalog.putTags(s.id, tags, 50);
        const back = await catalog.getTags(s.id);
        assert.deepEqual(Object.entries(back).sort(), [
          ['__proto__', 'p'],
          ['constructor', 'c'],
          ['toString', 't'],
        ]);
      });
    });

    describe('track headers, sequence numbers, segments, settings', () => {
      it('stores track headers byte for byte under distinct ids', async () => {
        const s = await create();
        const big = Buffer.alloc(256 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
        const blobs = [Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x00, 0xff]), big, Buffer.alloc(0)];
        const ids: number[] = [];
        for (const b of blobs) ids.push(await catalog.addTrackHeader(s.id, b));
        assert.equal(new Set(ids).size, ids.length);
        for (const [i, id] of ids.entries()) {
          const back = await catalog.getTrackHeader(id);
          assert.ok(Buffer.isBuffer(back), 'a Buffer comes back');
          assert.ok(back.equals(blobs[i]!), `header ${i} is unchanged`);
        }
        assert.equal(await catalog.getTrackHeader(987654), undefined);
      });

      it('getTrackHeader with a stream id answers only a header of that stream', async () => {
        const a = await create({ name: 'headers-a' });
        const b = await create({ name: 'headers-b' });
        const id = await catalog.addTrackHeader(a.id, Buffer.from('a header'));
        assert.deepEqual(await catalog.getTrackHeader(id, a.id), Buffer.from('a header'));
        assert.equal(await catalog.getTrackHeader(id, b.id), undefined, 'not through another stream');
      });

      it('reserveSequence hands out consecutive, increasing, never overlapping ranges', async () => {
        let prevEnd = -Infinity;
        for (const count of [1, 5, 1000, 1, 3]) {
          const first = await catalog.reserveSequence(count);
          assert.ok(Number.isSafeInteger(first) && first > 0, `positive integer, got ${first}`);
          assert.ok(first > prevEnd, `range starting at ${first} overlaps the previous one ending at ${prevEnd}`);
          prevEnd = first + count - 1;
        }
      });

      it('reserveSequence never repeats under concurrent callers', async () => {
        const firsts = await Promise.all(Array.from({ length: 20 }, () => catalog.reserveSequence(10)));
        const seen = new Set<number>();
        for (const f of firsts)
          for (let i = 0; i < 10; i++) {
            assert.ok(!seen.has(f + i), `sequence ${f + i} handed out twice`);
            seen.add(f + i);
          }
      });

      it('newSegment hands out distinct ids, never reused after dropEmptySegments', async () => {
        const a = await create();
        const b = await create();
        const ids = [await sealedSegment(a.id), await sealedSegment(b.id), await sealedSegment(a.id)];
        assert.equal(new Set(ids).size, 3);
        const dropped = await catalog.dropEmptySegments(a.id);
        assert.deepEqual(
          [...dropped].sort((x, y) => x - y),
          [ids[0]!, ids[2]!].sort((x, y) => x - y),
        );
        const next = await catalog.newSegment(a.id, WRITER);
        assert.ok(!ids.includes(next), `segment id ${next} was handed out again after it was dropped`);
      });

      it('keeps settings, overwrites them, answers undefined for unknown keys', async () => {
        assert.equal(await catalog.getSetting('conformance.unknown'), undefined);
        await catalog.setSetting('conformance.key', 'one');
        assert.equal(await catalog.getSetting('conformance.key'), 'one');
        await catalog.setSetting('conformance.key', 'two');
        assert.equal(await catalog.getSetting('conformance.key'), 'two');
        await catalog.setSetting('conformance.empty', '');
        assert.equal(await catalog.getSetting('conformance.empty'), '');
      });

      it('initSetting stores a value only where there is none, and every racing caller gets the stored one', async () => {
        assert.equal(await catalog.initSetting('conformance.once', 'first'), 'first');
        assert.equal(await catalog.initSetting('conformance.once', 'second'), 'first');
        assert.equal(await catalog.getSetting('conformance.once'), 'first');
        const raced = await Promise.all(
          Array.from({ length: 8 }, (_, i) => catalog.initSetting('conformance.race', `v${i}`)),
        );
        assert.equal(new Set(raced).size, 1, `one value for all: ${raced.join(' ')}`);
        assert.equal(await catalog.getSetting('conformance.race'), raced[0]);
      });

      it('close() resolves and may be called twice', async () => {
        const c = await make();
        await c.createStream(newStream());
        await c.close();
        await c.close();
      });
    });

    describe('fragments', () => {
      it('insertFragments stores every field; getFragment returns the record', async () => {
        const { s, headerId, segment } = await streamWithSegment();
        const seq = await catalog.reserveSequence(1);
        const row: FragmentRecord = {
          streamId: s.id,
          seq,
          producerMs: 1_705_489_836_421,
          serverMs: 1_705_489_837_000,
          lengthMs: 1999,
          size: 5_000_000,
          nonce: (1 << 28) - 1,
          headerId,
          segment,
          offset: 2 ** 40 + 3, // offsets beyond 32 bits
          entry: '{"FragmentNumber":"1","ServerTimestamp":1705489837}',
        };
        await catalog.insertFragments([row]);
        assert.deepEqual(await catalog.getFragment(s.id, row.seq), row);
        assert.equal(await catalog.getFragment(s.id, row.seq + 1), undefined);
        const other = await create();
        assert.equal(await catalog.getFragment(other.id, row.seq), undefined, 'a fragment belongs to its stream');
      });

      it('insertFragments refuses a fragment without a listing entry, and stores nothing of the batch', async () => {
        const { s, headerId, segment } = await streamWithSegment();
        const first = await catalog.reserveSequence(2);
        await assert.rejects(
          catalog.insertFragments([
            frag(s.id, first, 1000, 1000, { segment, headerId }),
            frag(s.id, first + 1, 2000, 2000, { segment, headerId, entry: '' }),
          ]),
        );
        assert.equal(await catalog.getFragment(s.id, first), undefined);
      });

      it('insertFragments is atomic: a batch with a duplicate stores nothing', async () => {
        const { s, headerId, segment } = await streamWithSegment();
        const [f1] = await insert(s.id, [[1000, 1000]], segment, headerId);
        const fresh = frag(s.id, await catalog.reserveSequence(1), 2000, 2000, { segment, headerId });
        await assert.rejects(catalog.insertFragments([fresh, { ...f1!, producerMs: 5 }]));
        assert.equal(
          await catalog.getFragment(s.id, fresh.seq),
          undefined,
          'the good row of the failed batch was rolled back',
        );
        assert.deepEqual(await catalog.getFragment(s.id, f1!.seq), f1, 'the existing row is unchanged');
        await catalog.insertFragments([]);
      });

      for (const kind of ['producer', 'server'] as const) {
        const ts = (f: ListedFragment | FragmentRecord) => (kind === 'producer' ? f.producerMs : f.serverMs);
        /** [producerMs, serverMs] so that the selected timestamp has ties and is not in ingestion order. */
        const layout = (t: number[]): [number, number][] =>
          t.map((v, i) => (kind === 'producer' ? [v, 50_000 + i] : [90_000 - i, v]));

        it(`listFragments by ${kind} timestamp: ordered by (timestamp, seq), exactly the listing fields`, async () => {
          const { s, headerId, segment } = await streamWithSegment();
          const rows = await insert(s.id, layout([3000, 1000, 2000, 2000, 1000, 5000]), segment, headerId);
          const got = await list({
            streamId: s.id,
            kind,
            afterMs: -1,
            afterSeq: 0,
            endMs: 10_000,
            minServerMs: 0,
            limit: 100,
          });
          const expected = [...rows].sort((a, b) => ts(a) - ts(b) || a.seq - b.seq).map(summary);
          assert.deepEqual(got, expected);
          for (const g of got) assert.deepEqual(Object.keys(g).sort(), ['entry', 'producerMs', 'seq', 'serverMs']);
        });

        it(`listFragments by ${kind} timestamp: keyset pages split ties by seq, never repeat or skip`, async () => {
          const { s, headerId, segment } = await streamWithSegment();
          // Many ties: 4 fragments at each of 5 timestamps, inserted in a shuffled order.
          const times = [4, 2, 0, 3, 1, 2, 4, 0, 1, 3, 3, 0, 2, 4, 1, 1, 4, 2, 0, 3].map((k) => 1000 + k * 500);
          const rows = await insert(s.id, layout(times), segment, headerId);
          const expected = [...rows].sort((a, b) => ts(a) - ts(b) || a.seq - b.seq).map(summary);
          for (const pageSize of [1, 3, 4, 7, 20, 21]) {
            assert.deepEqual(await listAll(s.id, kind, 0, 1_000_000, pageSize), expected, `page size ${pageSize}`);
          }
          // A cursor in the middle of a tie: strictly after (ts, seq).
          const mid = expected[6]!;
          const rest = await list({
            streamId: s.id,
            kind,
            afterMs: ts(mid),
            afterSeq: mid.seq,
            endMs: 1_000_000,
            minServerMs: 0,
            limit: 100,
          });
          assert.deepEqual(rest, expected.slice(7));
        });

        it(`listFragments by ${kind} timestamp: inclusive start and end bounds`, async () => {
          const { s, headerId, segment } = await streamWithSegment();
          // The documented example: fragments at 0, 2, 4, 6 s; range 1..4 s returns 2 and 4.
          const rows = await insert(s.id, layout([10_000, 12_000, 14_000, 16_000]), segment, headerId);
          const pick = (...i: number[]) => i.map((k) => summary(rows[k]!));
          assert.deepEqual(await listAll(s.id, kind, 11_000, 14_000, 10), pick(1, 2));
          assert.deepEqual(
            await listAll(s.id, kind, 12_000, 14_000, 10),
            pick(1, 2),
            'a fragment exactly at the start is included',
          );
          assert.deepEqual(
            await listAll(s.id, kind, 12_000, 13_999, 10),
            pick(1),
            'one ms before a fragment excludes it',
          );
          assert.deepEqual(await listAll(s.id, kind, 16_000, 16_000, 10), pick(3), 'a one-instant range');
          assert.deepEqual(await listAll(s.id, kind, 16_001, 99_999, 10), []);
          assert.deepEqual(await listAll(s.id, kind, 0, 9_999, 10), []);
        });

        it(`listFragments by ${kind} timestamp: the minServerMs horizon hides expired fragments`, async () => {
          const { s, headerId, segment } = await streamWithSegment();
          const rows = await insert(
            s.id,
            [
              [100, 1000],
              [200, 2000],
              [300, 3000],
              [400, 4000],
            ],
            segment,
            headerId,
          );
          const got = await listAll(s.id, kind, 0, 1_000_000, 10, 2000);
          assert.deepEqual(got, rows.slice(1).map(summary), 'server timestamp >= horizon is kept, older is hidden');
          assert.deepEqual(await listAll(s.id, kind, 0, 1_000_000, 10, 4001), []);
        });

        it(`listFragments by ${kind} timestamp: only the requested stream, respecting the limit`, async () => {
          const a = await streamWithSegment();
          const b = await streamWithSegment();
          const ra = await insert(a.s.id, layout([1000, 2000, 3000]), a.segment, a.headerId);
          await insert(b.s.id, layout([1000, 2000, 3000]), b.segment, b.headerId);
          const page = await list({
            streamId: a.s.id,
            kind,
            afterMs: -1,
            afterSeq: 0,
            endMs: 1e13,
            minServerMs: 0,
            limit: 2,
          });
          assert.deepEqual(
            page,
            [...ra]
              .sort((x, y) => ts(x) - ts(y) || x.seq - y.seq)
              .slice(0, 2)
              .map(summary),
          );
          assert.deepEqual(
            await list({ streamId: 987654, kind, afterMs: -1, afterSeq: 0, endMs: 1e13, minServerMs: 0, limit: 10 }),
            [],
          );
        });

        it(`firstFragmentAt(${kind}) / lastFragmentAtOrBefore(${kind}): index seeks by timestamp, ties by seq`, async () => {
          const { s, headerId, segment } = await streamWithSegment();
          // Not monotonic: 1000, 3000, 2000, 4000, 2000 in ingestion order.
          const rows = await insert(s.id, layout([1000, 3000, 2000, 4000, 2000]), segment, headerId);
          assert.deepEqual(await catalog.firstFragmentAt(s.id, kind, 0), rows[0]);
          assert.deepEqual(await catalog.firstFragmentAt(s.id, kind, 1000), rows[0], 'inclusive');
          assert.deepEqual(await catalog.firstFragmentAt(s.id, kind, 1500), rows[2], 'timestamp order, then seq');
          assert.deepEqual(await catalog.firstFragmentAt(s.id, kind, 3500), rows[3]);
          assert.equal(await catalog.firstFragmentAt(s.id, kind, 4001), undefined);
          assert.equal(await catalog.lastFragmentAtOrBefore(s.id, kind, 999), undefined);
          assert.deepEqual(await catalog.lastFragmentAtOrBefore(s.id, kind, 1000), rows[0], 'inclusive');
          assert.deepEqual(
            await catalog.lastFragmentAtOrBefore(s.id, kind, 2999),
            rows[4],
            'greatest timestamp, then greatest seq',
          );
          assert.deepEqual(await catalog.lastFragmentAtOrBefore(s.id, kind, 1e13), rows[3]);
          const other = await create();
          assert.equal(await catalog.firstFragmentAt(other.id, kind, 0), undefined);
          assert.equal(await catalog.lastFragmentAtOrBefore(other.id, kind, 1e13), undefined);
        });
      }

      it('fragmentsAfter returns full records in ingestion order after a seq, with a limit', async () => {
        const { s, headerId, segment } = await streamWithSegment();
        const other = await streamWithSegment();
        const rows = await insert(
          s.id,
          [
            [5000, 1000],
            [1000, 2000],
            [3000, 3000],
            [2000, 4000],
          ],
          segment,
          headerId,
        );
        await insert(other.s.id, [[1, 1]], other.segment, other.headerId); // interleaved seq of another stream
        const more = await insert(s.id, [[9000, 5000]], segment, headerId);
        const all = [...rows, ...more];
        assert.deepEqual(await catalog.fragmentsAfter(s.id, 0, 100), all);
        assert.deepEqual(await catalog.fragmentsAfter(s.id, rows[1]!.seq, 2), all.slice(2, 4));
        assert.deepEqual(await catalog.fragmentsAfter(s.id, more[0]!.seq, 10), []);
      });

      it('lastFragment is the highest seq of the stream, undefined when empty', async () => {
        const { s, headerId, segment } = await streamWithSegment();
        assert.equal(await catalog.lastFragment(s.id), undefined);
        const rows = await insert(
          s.id,
          [
            [9000, 9000],
            [1000, 1000],
          ],
          segment,
          headerId,
        );
        const other = await streamWithSegment();
        await insert(other.s.id, [[1, 1]], other.segment, other.headerId);
        assert.deepEqual(await catalog.lastFragment(s.id), rows[1], 'highest seq, not highest timestamp');
      });

      it('expireFragments deletes strictly older server timestamps of that stream and counts them', async () => {
        const a = await streamWithSegment();
        const b = await streamWithSegment();
        const ra = await insert(
          a.s.id,
          [
            [1, 1000],
            [2, 2000],
            [3, 3000],
            [4, 4000],
          ],
          a.segment,
          a.headerId,
        );
        const rb = await insert(b.s.id, [[1, 1000]], b.segment, b.headerId);
        assert.equal(await catalog.expireFragments(a.s.id, 3000), 2);
        assert.equal(await catalog.getFragment(a.s.id, ra[0]!.seq), undefined);
        assert.equal(await catalog.getFragment(a.s.id, ra[1]!.seq), undefined);
        assert.deepEqual(await catalog.getFragment(a.s.id, ra[2]!.seq), ra[2], 'exactly at the horizon is kept');
        assert.deepEqual(await catalog.fragmentsAfter(a.s.id, 0, 10), ra.slice(2));
        assert.deepEqual(await listAll(a.s.id, 'server', 0, 1e13, 10), ra.slice(2).map(summary));
        assert.deepEqual(await catalog.getFragment(b.s.id, rb[0]!.seq), rb[0], 'other streams keep theirs');
        assert.equal(await catalog.expireFragments(a.s.id, 3000), 0);
        assert.equal(await catalog.expireFragments(a.s.id, 1e13), 2);
        assert.equal(await catalog.lastFragment(a.s.id), undefined);
      });

      it('dropEmptySegments forgets sealed segments without fragments, never an open one', async () => {
        const { s, headerId } = await streamWithSegment(); // its first segment stays empty
        const [empty] = (await catalog.dropEmptySegments(s.id)) as [number];
        const used = await catalog.newSegment(s.id, WRITER);
        const writing = await catalog.newSegment(s.id, WRITER);
        const spare = await sealedSegment(s.id);
        const other = await streamWithSegment(); // another stream's empty segment
        await insert(
          s.id,
          [
            [1000, 1000],
            [2000, 2000],
          ],
          used,
          headerId,
        );
        await catalog.sealSegment(used, 100);
        assert.ok(empty !== undefined);
        const dropped = await catalog.dropEmptySegments(s.id);
        assert.deepEqual(dropped, [spare], 'the used and the open segment stay');
        assert.deepEqual(await catalog.dropEmptySegments(s.id), [], 'nothing left to drop');
        await catalog.sealSegment(writing, 0);
        assert.deepEqual(await catalog.dropEmptySegments(s.id), [writing], 'sealed, so dropped');
        await catalog.expireFragments(s.id, 1e13);
        assert.deepEqual(await catalog.dropEmptySegments(s.id), [used], 'empty once its fragments expired');
        assert.deepEqual(await catalog.dropEmptySegments(other.s.id), [other.segment]);
      });

      it('listSegments gives each segment of the stream with its state, writer, size and server-time span', async () => {
        const before = Date.now();
        const s = await create();
        const headerId = await catalog.addTrackHeader(s.id, Buffer.from('h'));
        const sealed = await catalog.newSegment(s.id, WRITER);
        const open = await catalog.newSegment(s.id, WRITER);
        const abandoned = await catalog.newSegment(s.id, 'node-that-died');
        const empty = await catalog.newSegment(s.id, WRITER);
        const other = await streamWithSegment();
        await insert(
          s.id,
          [
            [10, 5000],
            [20, 3000],
            [30, 4000],
          ],
          sealed,
          headerId,
        );
        await insert(
          s.id,
          [
            [40, 7000],
            [50, 6000],
          ],
          open,
          headerId,
        );
        await insert(s.id, [[60, 9000]], abandoned, headerId);
        await catalog.sealSegment(sealed, 1234);
        await catalog.sealSegment(empty, 0);
        await catalog.sealAbandonedSegments(WRITER);
        const after = Date.now();

        const got = await catalog.listSegments(s.id);
        assert.deepEqual(
          got.map((g) => g.id),
          [sealed, open, abandoned, empty],
          "the stream's own, in id order",
        );
        for (const g of got) {
          assert.equal(g.streamId, s.id);
          assert.ok(g.openedMs! >= before && g.openedMs! <= after, `opened at ${g.openedMs}`);
          if (g.state === 'sealed')
            assert.ok(g.sealedMs! >= g.openedMs! && g.sealedMs! <= after, `sealed at ${g.sealedMs}`);
        }
        const [a, b, c, d] = got.map(({ openedMs: _o, sealedMs: _s, ...rest }) => rest);
        assert.deepEqual(a, {
          id: sealed,
          streamId: s.id,
          state: 'sealed',
          owner: WRITER,
          bytes: 1234,
          firstServerMs: 3000,
          lastServerMs: 5000,
        });
        assert.deepEqual(b, {
          id: open,
          streamId: s.id,
          state: 'open',
          owner: WRITER,
          firstServerMs: 6000,
          lastServerMs: 7000,
        });
        assert.ok(!('sealedMs' in got[1]!), 'an open segment has no seal time');
        assert.deepEqual(c, {
          id: abandoned,
          streamId: s.id,
          state: 'sealed',
          owner: 'node-that-died',
          firstServerMs: 9000,
          lastServerMs: 9000,
        });
        assert.deepEqual(
          d,
          { id: empty, streamId: s.id, state: 'sealed', owner: WRITER, bytes: 0 },
          'no span without fragments',
        );
        assert.deepEqual(
          (await catalog.listSegments(other.s.id)).map((g) => g.id),
          [other.segment],
        );
        assert.deepEqual(await catalog.listSegments(987654), []);
      });

      it("sealAbandonedSegments seals the open segments of every other owner, not the live one's", async () => {
        const s = await create();
        const mine = await catalog.newSegment(s.id, WRITER);
        const crashed = await catalog.newSegment(s.id, 'node-that-died');
        const alsoCrashed = await catalog.newSegment(s.id, 'another-that-died');
        assert.equal(await catalog.sealAbandonedSegments(WRITER), 2);
        assert.equal(await catalog.sealAbandonedSegments(WRITER), 0, 'already sealed');
        assert.deepEqual(
          [...(await catalog.dropEmptySegments(s.id))].sort((x, y) => x - y),
          [crashed, alsoCrashed].sort((x, y) => x - y),
        );
        await catalog.sealSegment(mine, 0);
        assert.deepEqual(await catalog.dropEmptySegments(s.id), [mine]);
      });
    });
  });
}
