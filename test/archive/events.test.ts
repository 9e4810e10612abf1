/**
 * The archive's typed events and follow(), against an in-memory fragment reader: order, nothing missed
 * between the start read and the subscription (late fragments of concurrent sessions included), the end
 * on deletion and on abort, and a lost event costing only a poll.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessArchiveEvents, type ArchiveEvents } from '../../src/archive/events.js';
import { follow } from '../../src/archive/follow.js';
import type { FragmentReader, ServedFragment } from '../../src/archive/fragmentReader.js';
import type { FragmentRecord, StreamRecord } from '../../src/storage/catalog.js';

const stream = {
  id: 7,
  name: 'followed',
  arn: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/followed/1',
} as StreamRecord;

/** Fragments by seq, readable as FragmentReader reads them; land() adds one and announces it. */
class Store implements Pick<FragmentReader, 'after' | 'bySeq'> {
  readonly seqs = new Set<number>();
  reads = 0;
  constructor(readonly events: ArchiveEvents) {}

  private served(seq: number): ServedFragment {
    return { seq, number: String(seq), serverMs: seq, producerMs: seq } as ServedFragment;
  }

  async after(_s: StreamRecord, afterSeq: number, limit: number) {
    this.reads++;
    const seqs = [...this.seqs]
      .filter((q) => q > afterSeq)
      .sort((a, b) => a - b)
      .slice(0, limit);
    const fragments = seqs.map((q) => this.served(q));
    return { fragments, next: fragments.length ? fragments[fragments.length - 1]!.seq : afterSeq };
  }

  async bySeq(_s: StreamRecord, seq: number) {
    return this.seqs.has(seq) ? this.served(seq) : undefined;
  }

  /** Adds without an event (a lost one); land() also announces it. */
  add(seq: number) {
    this.seqs.add(seq);
  }

  land(seq: number) {
    this.add(seq);
    this.events.publish('fragmentPersisted', { stream, fragment: { streamId: stream.id, seq } as FragmentRecord });
  }
}

/** Counts live subscriptions, to check that a follow that ended left none. */
class CountingEvents extends InProcessArchiveEvents {
  live = 0;
  override subscribe: ArchiveEvents['subscribe'] = (type, listener, streamId) => {
    this.live++;
    const off = super.subscribe(type, listener, streamId);
    return () => {
      this.live--;
      off();
    };
  };
}

function setup(opts: { pollMs?: number } = {}) {
  const events = new CountingEvents();
  const store = new Store(events);
  return { events, store, following: follow(store, events, stream, { pollMs: opts.pollMs ?? 60_000, batch: 2 }) };
}

/** The next `n` seqs of the iterator (it must give them within a second). */
async function take(it: AsyncIterator<ServedFragment>, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only [${seqs.join(',')}] within 1 s`)), 1000);
    });
    const next = await Promise.race([it.next(), late]).finally(() => clearTimeout(timer));
    assert.equal(next.done, false, `ended after [${seqs.join(',')}]`);
    seqs.push(next.value!.seq);
  }
  return seqs;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('archive events', () => {
  it('deliver to the stream they name, and stop at unsubscribe', () => {
    const events = new InProcessArchiveEvents();
    const seen: string[] = [];
    const offOne = events.subscribe('fragmentBuffered', ({ seq }) => seen.push(`7:${seq}`), 7);
    const offAll = events.subscribe('fragmentBuffered', ({ streamId, seq }) => seen.push(`*:${streamId}:${seq}`));
    events.publish('fragmentBuffered', { streamId: 7, seq: 1 });
    events.publish('fragmentBuffered', { streamId: 8, seq: 2 });
    offOne();
    events.publish('fragmentBuffered', { streamId: 7, seq: 3 });
    offAll();
    events.publish('fragmentBuffered', { streamId: 7, seq: 4 });
    assert.deepEqual(seen, ['*:7:1', '7:1', '*:8:2', '*:7:3']);
  });
});

describe('follow()', () => {
  it('yields what is stored after the cursor, then new fragments as they land, in seq order', async () => {
    const { store, following } = setup();
    for (const seq of [1, 2, 3, 4, 5]) store.add(seq);
    const it = following.fragmentsAfter(2);
    assert.deepEqual(await take(it, 3), [3, 4, 5]);
    const waiting = take(it, 2);
    await tick();
    store.land(6);
    store.land(7);
    assert.deepEqual(await waiting, [6, 7]);
    await it.return();
  });

  it('misses nothing that lands between the subscription and the first read, late seqs included', async () => {
    const { store, following } = setup();
    store.add(1);
    store.add(3);
    // The caller reads its cursor after follow() subscribed: GetMedia NOW starts after the newest, 3.
    const cursor = 3;
    // Meanwhile a concurrent session's fragment 2 (its seq taken before 3) and a new one land.
    store.land(2);
    store.land(4);
    const it = following.fragmentsAfter(cursor);
    assert.deepEqual(await take(it, 2), [2, 4]);
    // A late fragment while the follower waits is sent too.
    const waiting = take(it, 1);
    await tick();
    store.land(0.5);
    assert.deepEqual(await waiting, [0.5]);
    await it.return();
  });

  it('ends when the stream is deleted, and unsubscribes', async () => {
    const { events, store, following } = setup();
    store.add(1);
    const it = following.fragmentsAfter(0);
    assert.deepEqual(await take(it, 1), [1]);
    const ended = it.next();
    await tick();
    events.publish('streamDeleted', { stream });
    assert.deepEqual(await ended, { done: true, value: undefined });
    assert.equal(events.live, 0);
    const reads = store.reads;
    store.land(2);
    await tick();
    assert.equal(store.reads, reads, 'no read after the end');
  });

  it('ends when its signal aborts, while waiting or before it starts', async () => {
    const { events, following } = setup();
    const stop = new AbortController();
    const it = following.fragmentsAfter(0, stop.signal);
    const ended = it.next();
    await tick();
    stop.abort();
    assert.deepEqual(await ended, { done: true, value: undefined });
    assert.equal(events.live, 0);

    const again = setup();
    again.store.add(1);
    const aborted = AbortSignal.abort();
    assert.deepEqual(await again.following.fragmentsAfter(0, aborted).next(), { done: true, value: undefined });
    assert.equal(again.events.live, 0);
  });

  it('close() unsubscribes a follow that never started (its start could not be read)', () => {
    const { events, following } = setup();
    assert.equal(events.live, 3);
    following.close();
    following.close();
    assert.equal(events.live, 0);
  });

  it('finds a fragment whose event was lost at the next poll', async () => {
    const { store, following } = setup({ pollMs: 20 });
    const it = following.fragmentsAfter(0);
    const waiting = take(it, 1);
    await tick();
    store.add(1);
    assert.deepEqual(await waiting, [1]);
    await it.return();
  });
});
