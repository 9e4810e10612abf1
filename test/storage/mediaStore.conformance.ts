/**
 * The MediaStore conformance suite: every implementation of src/storage/mediaStore.ts (the local file
 * system today, an object store later) must pass it unchanged. It uses the MediaStore interface only, so
 * it checks what the contract in mediaStore.ts promises and nothing the local store happens to do. Call it
 * from a *.test.ts file:
 *
 *   mediaStoreConformance('LocalMediaStore', async () => ({ store: new LocalMediaStore(dir), reopen, cleanup }));
 *
 * `open()` gives a fresh, empty store per test; `reopen()` a new store object on the same place (what a
 * restarted process opens); `cleanup()` removes the place. The suite closes every writer and store it made
 * before cleanup. What a crash does cannot be shown through the interface: "survives" here means a new
 * store object sees the synced bytes, also of a writer that was never closed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type MediaStore, MediaUnavailableError, type SegmentWriter } from '../../src/storage/mediaStore.js';

export interface OpenedMediaStore {
  store: MediaStore;
  /** A new store object on the same place (directory, bucket prefix); without it the reopen tests skip. */
  reopen?: () => Promise<MediaStore>;
  /** Removes the place, once the suite closed everything it opened there. */
  cleanup?: () => Promise<void>;
}

/** Every chunk a read yields, checked to be bytes, joined. */
async function collect(readable: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of readable) {
    assert.ok(Buffer.isBuffer(chunk), 'a read yields Buffers');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Compares without printing megabytes: the lengths and the first differing offset. */
function sameBytes(got: Buffer, expected: Buffer, what: string) {
  if (got.equals(expected)) return;
  let i = 0;
  while (i < got.length && i < expected.length && got[i] === expected[i]) i++;
  assert.fail(`${what}: got ${got.length} bytes, expected ${expected.length}; first difference at ${i}`);
}

/** A small deterministic generator, so that a failing range is the same on every run. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return (below: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % below;
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function mediaStoreConformance(name: string, open: () => Promise<OpenedMediaStore>) {
  describe(`MediaStore conformance: ${name}`, () => {
    let opened: OpenedMediaStore;
    let store: MediaStore;
    let writers: SegmentWriter[];
    let stores: MediaStore[];

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      writers = [];
      stores = [store];
    });

    afterEach(async () => {
      // Writers a failing test left open, then every store, then the place they were in.
      await Promise.allSettled(writers.map((w) => w.close()));
      await Promise.allSettled(stores.map((s) => s.close()));
      await opened.cleanup?.();
    });

    async function create(streamId: number, segment: number, on = store) {
      const w = await on.createSegment(streamId, segment);
      writers.push(w);
      return w;
    }

    /** A segment holding `chunks`, appended one by one, synced and closed; returns its bytes. */
    async function written(streamId: number, segment: number, chunks: Buffer[]) {
      const w = await create(streamId, segment);
      for (const c of chunks) await w.append(c);
      await w.sync();
      await w.close();
      return Buffer.concat(chunks);
    }

    const read = async (streamId: number, segment: number, offset: number, length: number, from = store) =>
      collect(await from.read(streamId, segment, offset, length));

    /** The read rejects with MediaUnavailableError: it never resolved, so no byte was yielded. */
    const unavailable = (streamId: number, segment: number, offset: number, length: number, from = store) =>
      assert.rejects(from.read(streamId, segment, offset, length), MediaUnavailableError);

    describe('writing and reading', () => {
      it('a new segment starts at position 0; each append advances it by its length, an empty one not at all', async () => {
        const w = await create(1, 7);
        assert.equal(w.segment, 7);
        assert.equal(w.position, 0);
        let expected = 0;
        for (const n of [1, 0, 4096, 3, 0, 300_000, 17]) {
          await w.append(randomBytes(n));
          expected += n;
          assert.equal(w.position, expected, `after an append of ${n}`);
        }
        await w.sync();
        assert.equal(w.position, expected, 'sync does not move the position');
      });

      it('after sync, any range reads back exactly the bytes appended there', async () => {
        const chunks = [1, 7, 4096, 300_000, 1, 65_536, 1_000_000, 262_144, 5].map((n) => randomBytes(n));
        const all = await written(1, 1, chunks);
        const ranges: [number, number][] = [
          [0, all.length],
          [0, 1],
          [all.length - 1, 1],
          [1, 7],
          [8, 4096],
        ];
        const random = prng(42);
        for (let i = 0; i < 40; i++) {
          const offset = random(all.length);
          ranges.push([offset, 1 + random(all.length - offset)]);
        }
        for (const [offset, length] of ranges) {
          sameBytes(await read(1, 1, offset, length), all.subarray(offset, offset + length), `${length} at ${offset}`);
        }
      });

      it('reads back a synced range before the writer is closed, and after', async () => {
        const w = await create(1, 1);
        const bytes = randomBytes(10_000);
        await w.append(bytes);
        await w.sync();
        sameBytes(await read(1, 1, 0, bytes.length), bytes, 'before close');
        await w.close();
        sameBytes(await read(1, 1, 0, bytes.length), bytes, 'after close');
      });

      it('keeps segments and streams apart, also when they have the same ids', async () => {
        const content = new Map<string, Buffer>();
        for (const streamId of [1, 2]) {
          for (const segment of [1, 2])
            content.set(`${streamId}/${segment}`, await written(streamId, segment, [randomBytes(5000)]));
        }
        for (const [key, bytes] of content) {
          const [streamId, segment] = key.split('/').map(Number) as [number, number];
          sameBytes(await read(streamId, segment, 0, bytes.length), bytes, `segment ${key}`);
        }
        await written(1, 3, [randomBytes(10)]);
        await unavailable(2, 3, 0, 10);
      });

      it('concurrent writers on different segments of one stream never mix their bytes', async () => {
        const ws = await Promise.all([1, 2, 3, 4].map((segment) => create(5, segment)));
        const expected: Buffer[][] = ws.map(() => []);
        const random = prng(7);
        for (let round = 0; round < 20; round++) {
          // Every writer appends (and some sync) in the same turn, so their writes overlap.
          await Promise.all(
            ws.map(async (w, i) => {
              const b = randomBytes(1 + random(100_000));
              expected[i]!.push(b);
              await w.append(b);
              if (random(3) === 0) await w.sync();
            }),
          );
        }
        await Promise.all(ws.map((w) => w.sync()));
        for (const [i, w] of ws.entries()) {
          const bytes = Buffer.concat(expected[i]!);
          assert.equal(w.position, bytes.length);
          sameBytes(await read(5, w.segment, 0, bytes.length), bytes, `segment ${w.segment}`);
        }
      });

      it('while a writer appends, its synced prefix reads back; unsynced bytes read back exactly or not at all', async () => {
        const w = await create(1, 1);
        const a = randomBytes(70_000);
        await w.append(a);
        await w.sync();
        const b = randomBytes(50_000);
        await w.append(b);
        sameBytes(await read(1, 1, 0, a.length), a, 'the synced prefix');
        const ab = Buffer.concat([a, b]);
        for (const [offset, length] of [
          [0, ab.length],
          [a.length, b.length],
          [a.length - 10, 20],
        ] as const) {
          const got = await read(1, 1, offset, length).catch((err: unknown) => {
            assert.ok(err instanceof MediaUnavailableError, `an unsynced range is readable or unavailable, not ${err}`);
            return undefined;
          });
          if (got) sameBytes(got, ab.subarray(offset, offset + length), `unsynced ${length} at ${offset}`);
        }
        // An append during a sync is not covered by it, but what came before is.
        const c = randomBytes(30_000);
        await w.append(c);
        const syncing = w.sync();
        await w.append(randomBytes(1000));
        await syncing;
        const abc = Buffer.concat([ab, c]);
        sameBytes(await read(1, 1, 0, abc.length), abc, 'what the sync covered');
      });
    });

    describe('what is not there', () => {
      it('a missing stream or segment is MediaUnavailableError', async () => {
        await unavailable(9, 1, 0, 1);
        await written(1, 1, [randomBytes(100)]);
        await unavailable(1, 2, 0, 1);
        await unavailable(2, 1, 0, 1);
      });

      it('a range reaching past the end of the segment is MediaUnavailableError, however little is missing', async () => {
        const bytes = await written(1, 1, [randomBytes(1000)]);
        sameBytes(await read(1, 1, 999, 1), bytes.subarray(999), 'the last byte');
        await unavailable(1, 1, 999, 2);
        await unavailable(1, 1, 0, 1001);
        await unavailable(1, 1, 1000, 1);
        await unavailable(1, 1, 5000, 10);
      });

      it('invalid read arguments reject with RangeError, before the segment is looked up', async () => {
        const bytes = await written(1, 1, [randomBytes(100)]);
        const bad: [number, number, number, number][] = [
          [1, 1, 0, 0],
          [1, 1, 0, -1],
          [1, 1, 0, 1.5],
          [1, 1, 0, Number.NaN],
          [1, 1, 0, Number.POSITIVE_INFINITY],
          [1, 1, -1, 10],
          [1, 1, 0.5, 10],
          [1, 1, Number.NaN, 10],
          [1, 1, Number.MAX_SAFE_INTEGER, 10],
          [-1, 1, 0, 10],
          [1.5, 1, 0, 10],
          [1, -1, 0, 10],
          [1, Number.NaN, 0, 10],
        ];
        for (const args of bad) {
          await assert.rejects(store.read(...args), RangeError, `read(${args.join(', ')}) of a segment that exists`);
          // Segment 2 was never written (when the bad argument is not the segment number itself).
          const absent = args[1] === 1 ? 2 : args[1];
          await assert.rejects(store.read(args[0], absent, args[2], args[3]), RangeError, 'and of one that does not');
        }
        sameBytes(await read(1, 1, 0, 100), bytes, 'the store still reads');
      });
    });

    describe('removal', () => {
      it('removeSegments: the removed segments are unavailable; the others, and other streams, are untouched', async () => {
        const keep = await written(1, 2, [randomBytes(3000)]);
        const other = await written(2, 1, [randomBytes(3000)]);
        await written(1, 1, [randomBytes(3000)]);
        await written(1, 3, [randomBytes(3000)]);
        await store.removeSegments(1, [1, 3]);
        await unavailable(1, 1, 0, 1);
        await unavailable(1, 3, 0, 1);
        sameBytes(await read(1, 2, 0, keep.length), keep, 'the segment kept');
        sameBytes(await read(2, 1, 0, other.length), other, 'the same segment id in another stream');
      });

      it('removeSegments is idempotent: repeats, absent segments, absent streams and no segments are no error', async () => {
        const keep = await written(1, 2, [randomBytes(100)]);
        await written(1, 1, [randomBytes(100)]);
        await store.removeSegments(1, [1]);
        await store.removeSegments(1, [1]);
        await store.removeSegments(1, [1, 99]);
        await store.removeSegments(42, [1, 2]);
        await store.removeSegments(1, []);
        await unavailable(1, 1, 0, 1);
        sameBytes(await read(1, 2, 0, keep.length), keep, 'the segment kept');
      });

      it('removeStream: every segment of the stream is unavailable; other streams are untouched', async () => {
        for (const segment of [1, 2, 3]) await written(1, segment, [randomBytes(2000)]);
        const other = await written(2, 1, [randomBytes(2000)]);
        await store.removeStream(1);
        for (const segment of [1, 2, 3]) await unavailable(1, segment, 0, 1);
        sameBytes(await read(2, 1, 0, other.length), other, 'the other stream');
      });

      it('removeStream is idempotent: a removed or never-used stream is no error', async () => {
        await written(1, 1, [randomBytes(100)]);
        await store.removeStream(1);
        await store.removeStream(1);
        await store.removeStream(77);
        await unavailable(1, 1, 0, 1);
      });
    });

    describe('durability', () => {
      it('synced bytes and removals survive closing the store and opening a new one on the same place', async (t) => {
        if (!opened.reopen) return t.skip('the backend gives no way to reopen its place');
        const one = await written(1, 1, [randomBytes(100_000), randomBytes(5)]);
        const two = await written(2, 4, [randomBytes(1234)]);
        await written(1, 2, [randomBytes(10)]);
        await store.removeSegments(1, [2]);
        await store.close();
        const again = await opened.reopen();
        stores.push(again);
        sameBytes(await read(1, 1, 0, one.length, again), one, 'stream 1 segment 1');
        sameBytes(await read(2, 4, 1000, 234, again), two.subarray(1000), 'stream 2 segment 4');
        await unavailable(1, 2, 0, 1, again);
      });

      it('a new store object reads what a writer that was never closed (a crash) had synced', async (t) => {
        if (!opened.reopen) return t.skip('the backend gives no way to reopen its place');
        const w = await create(3, 1);
        const synced = randomBytes(300_000);
        await w.append(synced);
        await w.sync();
        await w.append(randomBytes(1000)); // appended, never synced: promised nothing
        // The first store and its writer stay open and unclosed, as a killed process leaves them.
        const again = await opened.reopen();
        stores.push(again);
        sameBytes(await read(3, 1, 0, synced.length, again), synced, 'the synced bytes');
      });
      // A failed append makes the writer refuse every later call: that needs a failing disk, so it is attacked
      // in test/storage/localMediaStore.test.ts (a full tmpfs) rather than here.
    });

    describe('backpressure', () => {
      it('a large range read by a slow consumer is not buffered whole: the stream holds about its highWaterMark', async () => {
        const total = 8 * 1024 * 1024;
        const chunks = Array.from({ length: 8 }, () => randomBytes(total / 8));
        const all = await written(1, 1, chunks);
        const stream = await store.read(1, 1, 0, total);
        assert.equal(stream.readableObjectMode, false, 'a byte stream');
        const hwm = stream.readableHighWaterMark;
        assert.ok(hwm > 0 && hwm * 4 <= total, `highWaterMark ${hwm} is well below the ${total}-byte range`);
        const got: Buffer[] = [];
        let consumed = 0;
        let mostBuffered = 0;
        for await (const chunk of stream) {
          got.push(chunk as Buffer);
          consumed += (chunk as Buffer).length;
          // A slow consumer: let the stream read ahead as far as it will, which for a stream that honours
          // backpressure is its highWaterMark (or the rest of the range). No clock: it waits for the state.
          while (!stream.errored && stream.readableLength < Math.min(hwm, total - consumed)) await nextTurn();
          mostBuffered = Math.max(mostBuffered, stream.readableLength);
          assert.ok(
            stream.readableLength <= 2 * hwm,
            `buffered ${stream.readableLength} bytes ahead of the consumer (highWaterMark ${hwm}) after ${consumed}`,
          );
        }
        assert.ok(mostBuffered > 0, 'the stream did read ahead');
        sameBytes(Buffer.concat(got), all, 'the whole range');
      });
    });
  });
}
