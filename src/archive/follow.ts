/**
 * Following a stream live: the fragments after a cursor, in seq order, as they become readable, for as
 * long as the reader wants them. GetMedia streams with it; a live HLS playlist can grow with it.
 *
 * follow() subscribes at once, before its caller reads anything (the start cursor, the first batch), so
 * that a fragment landing between a catalog read and the subscription is never missed. Events only wake
 * the follower: what it sends always comes from the reader, and it also looks again every `pollMs`, so a
 * lost event (possible with a networked ArchiveEvents) delays a fragment but never loses it.
 */
import type { StreamRecord } from '../storage/catalog.js';
import type { ArchiveEvents } from './events.js';
import type { FragmentReader, ServedFragment } from './fragmentReader.js';

export interface FollowOptions {
  /** Fragments read at a time (default 50). */
  batch?: number;
  /** How long an idle follower sleeps before looking again, should a wake-up be missed (default 1000 ms). */
  pollMs?: number;
}

export interface Following {
  /**
   * Fragments with seq > `after`, then each new one as it becomes readable. Ends when the stream is deleted
   * or `signal` aborts; ending it (or break in for-await) unsubscribes. Call once.
   */
  fragmentsAfter(after: number, signal?: AbortSignal): AsyncGenerator<ServedFragment, void, undefined>;
  /** Unsubscribes without iterating (e.g. the start cursor could not be found); idempotent. */
  close(): void;
}

const BATCH = 50;
const POLL_MS = 1000;

export function follow(
  reader: Pick<FragmentReader, 'after' | 'bySeq'>,
  events: ArchiveEvents,
  stream: StreamRecord,
  opts: FollowOptions = {},
): Following {
  const batch = opts.batch ?? BATCH;
  const pollMs = opts.pollMs ?? POLL_MS;
  // Fragments are read in seq order, but a seq is taken when a cluster starts: with concurrent PutMedia
  // sessions on one stream, a fragment can become readable after one with a higher seq was already sent.
  // Such late fragments are caught from the events: any whose seq a read may already have passed (a read
  // was in flight, or the cursor is not known yet, or the seq is at or below `after`) is remembered in
  // `late` and sent after the next read, unless that read returned it.
  const late = new Set<number>();
  let reading = true;
  let after = 0;
  let deleted = false;
  /** Something happened since the current read started: do not sleep. */
  let woken = false;
  let wake: (() => void) | undefined;
  const rouse = () => {
    woken = true;
    wake?.();
  };
  const onFragment = (seq: number) => {
    if (reading || seq <= after) late.add(seq);
    rouse();
  };
  const unsubscribes = [
    events.subscribe('fragmentPersisted', ({ fragment }) => onFragment(fragment.seq), stream.id),
    events.subscribe('fragmentBuffered', ({ seq }) => onFragment(seq), stream.id),
    events.subscribe(
      'streamDeleted',
      () => {
        deleted = true;
        rouse();
      },
      stream.id,
    ),
  ];
  const close = () => {
    for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
  };

  const idle = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      wake = done;
    });

  async function* fragments(signal?: AbortSignal): AsyncGenerator<ServedFragment, void, undefined> {
    signal?.addEventListener('abort', rouse);
    try {
      while (!deleted && !signal?.aborted) {
        woken = false;
        reading = true;
        let read: Awaited<ReturnType<typeof reader.after>>;
        try {
          read = await reader.after(stream, after, batch);
        } finally {
          reading = false;
        }
        const moved = read.next !== after;
        after = read.next;
        // Late seqs above `after` come with the next read; those this read returned are sent now.
        for (const seq of late) if (seq > after) late.delete(seq);
        for (const f of read.fragments) late.delete(f.seq);
        const lateSeqs = [...late].sort((a, b) => a - b);
        late.clear();
        const lateFragments = (await Promise.all(lateSeqs.map((seq) => reader.bySeq(stream, seq)))).filter(
          (f): f is ServedFragment => f !== undefined,
        );
        const all = lateFragments.length
          ? [...read.fragments, ...lateFragments].sort((a, b) => a.seq - b.seq)
          : read.fragments;
        yield* all;
        if (moved || all.length > 0) continue;
        if (!woken) await idle();
      }
    } finally {
      signal?.removeEventListener('abort', rouse);
      close();
    }
  }

  return {
    fragmentsAfter(start, signal) {
      // From here on, only seqs at or below the cursor (or passed by a read in flight) are late.
      after = start;
      reading = false;
      return fragments(signal);
    },
    close,
  };
}
