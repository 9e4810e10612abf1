/**
 * The host buffer of streams that retain nothing (DataRetentionInHours 0): GetMedia can still read the
 * last few minutes of such a stream (AWS: 5 minutes, 200 MB per stream; docs/kvs-wire.md). Fragments live here in
 * memory only, and are never listed or persisted.
 *
 * Memory is bounded three ways (docs/reliability.md, "Live buffer (retention 0)"):
 * - per stream: at most `streamMaxBytes` (200 MB, AWS's host buffer), oldest fragments go first;
 * - across all streams: at most `maxBytes` in all, counting the fragments still being received (their
 *   bytes are reserved as they arrive); the oldest buffered fragments, of any stream, go first;
 * - by age: a timer drops fragments older than `maxAgeMs`, whether or not anyone writes or reads again.
 */
import { MemoryReleaser } from './releaseMemory.js';

export interface BufferedFragment {
  seq: number;
  nonce: number;
  serverMs: number;
  producerMs: number;
  header: Buffer;
  /** The cluster's bytes, in one or more chunks. */
  cluster: Buffer[];
  /** Total bytes of `cluster`. */
  size: number;
}

export interface LiveBufferOptions {
  /** Most bytes buffered and being received across all streams. */
  maxBytes?: number;
  /** Fragments older than this (by server timestamp) are dropped. */
  maxAgeMs?: number;
  /** Most bytes buffered per stream. */
  streamMaxBytes?: number;
}

export const LIVE_BUFFER_DEFAULTS = {
  maxBytes: 256 * 1024 * 1024,
  maxAgeMs: 5 * 60_000,
  streamMaxBytes: 200 * 1024 * 1024,
} as const;

/** Bytes of a fragment being received, held against the global cap until it ends (or is given up). */
export interface LiveReservation {
  /** Reserves `n` more bytes; false if the cap cannot make room (the fragment is then not buffered). */
  grow(n: number): boolean;
  /** Returns what was reserved (idempotent). */
  release(): void;
}

interface Entry {
  streamId: number;
  /** Cleared when evicted: a dead entry can wait in the queue a while, its bytes must not. */
  fragment?: BufferedFragment;
}
interface StreamBuffer {
  entries: Entry[];
  bytes: number;
}

export class LiveBuffer {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly streamMaxBytes: number;
  private readonly streams = new Map<number, StreamBuffer>();
  /** Every buffered entry in the order it was added: the global eviction order (oldest first). */
  private queue: Entry[] = [];
  private queueHead = 0;
  /** Entries in the queue (from queueHead on) that were evicted already. */
  private dead = 0;
  private bufferedBytes = 0;
  private reservedBytes = 0;
  private timer?: NodeJS.Timeout;
  /** Only the age sweep releases memory while nothing else happens: it asks for a collection (releaseMemory.ts). */
  private readonly releaser: MemoryReleaser;

  constructor(opts: LiveBufferOptions = {}) {
    this.maxBytes = opts.maxBytes ?? LIVE_BUFFER_DEFAULTS.maxBytes;
    this.maxAgeMs = opts.maxAgeMs ?? LIVE_BUFFER_DEFAULTS.maxAgeMs;
    this.streamMaxBytes = opts.streamMaxBytes ?? LIVE_BUFFER_DEFAULTS.streamMaxBytes;
    this.releaser = new MemoryReleaser(Math.min(16 * 1024 * 1024, Math.max(1, this.maxBytes / 16)));
  }

  /** Bytes held now: buffered fragments plus those being received. */
  get bytes() {
    return this.bufferedBytes + this.reservedBytes;
  }

  /** Starts dropping fragments past the max age in the background (the timer does not keep the process alive). */
  startSweeping() {
    if (this.timer) return;
    // Often enough that nothing outlives the max age by more than a fifth of it (at least every 10 s).
    const every = Math.min(10_000, Math.max(100, Math.floor(this.maxAgeMs / 5)));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  stopSweeping() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Drops every fragment older than the max age, on every stream. */
  sweep(now = Date.now()) {
    const before = this.bufferedBytes;
    for (const [id, s] of this.streams) this.evictStream(id, s, now);
    // Called on every sweep, even one that freed nothing: a release held back by the interval is done later.
    this.releaser.released(before - this.bufferedBytes, now);
  }

  /** A reservation for the bytes of one fragment as it is received. */
  reserve(): LiveReservation {
    let held = 0;
    let refused = false;
    return {
      grow: (n) => {
        // Fragments in progress alone would exceed the cap: this one is given up, buffered ones are kept.
        if (refused || this.reservedBytes + n > this.maxBytes) {
          this.reservedBytes -= held;
          held = 0;
          refused = true;
          return false;
        }
        this.reservedBytes += n;
        held += n;
        this.evictOverCap();
        return true;
      },
      release: () => {
        this.reservedBytes -= held;
        held = 0;
      },
    };
  }

  add(streamId: number, f: BufferedFragment, now = Date.now()) {
    let s = this.streams.get(streamId);
    if (!s) this.streams.set(streamId, (s = { entries: [], bytes: 0 }));
    const entry: Entry = { streamId, fragment: f };
    // Kept in fragment-number (seq) order, which readers page through: concurrent PutMedia sessions on one
    // stream can complete fragments out of that order (a fragment's seq is taken when its cluster starts).
    let i = s.entries.length;
    while (i > 0 && s.entries[i - 1]!.fragment!.seq > f.seq) i--;
    s.entries.splice(i, 0, entry);
    s.bytes += f.size;
    this.bufferedBytes += f.size;
    this.queue.push(entry);
    this.evictStream(streamId, s, now);
    this.evictOverCap();
  }

  /** Buffered fragments with seq > afterSeq, in seq order. */
  after(streamId: number, afterSeq: number, limit: number, now = Date.now()): BufferedFragment[] {
    const s = this.streams.get(streamId);
    if (!s) return [];
    this.evictStream(streamId, s, now);
    const out: BufferedFragment[] = [];
    for (const { fragment } of s.entries) {
      if (out.length >= limit) break;
      if (fragment!.seq > afterSeq) out.push(fragment!);
    }
    return out;
  }

  last(streamId: number): BufferedFragment | undefined {
    return this.streams.get(streamId)?.entries.at(-1)?.fragment;
  }

  drop(streamId: number) {
    const s = this.streams.get(streamId);
    if (!s) return;
    for (const e of s.entries.splice(0)) this.forget(s, e);
    this.streams.delete(streamId);
    this.compactQueue();
  }

  /** Per stream: past its byte limit, or past the max age, the oldest (lowest seq) fragments go. */
  private evictStream(streamId: number, s: StreamBuffer, now: number) {
    while (
      s.entries.length > 0 &&
      (s.bytes > this.streamMaxBytes || now - s.entries[0]!.fragment!.serverMs > this.maxAgeMs)
    ) {
      this.forget(s, s.entries.shift()!);
    }
    if (s.entries.length === 0) this.streams.delete(streamId);
    this.compactQueue();
  }

  /** Across streams: while over the cap, the fragment buffered first goes, whichever stream it is on. */
  private evictOverCap() {
    while (this.bytes > this.maxBytes && this.queueHead < this.queue.length) {
      const e = this.queue[this.queueHead++]!;
      if (!e.fragment) {
        this.dead--;
        continue;
      }
      const s = this.streams.get(e.streamId)!;
      s.entries.splice(s.entries.indexOf(e), 1);
      this.forget(s, e);
      this.dead--; // it has left the queue too
      if (s.entries.length === 0) this.streams.delete(e.streamId);
    }
    this.compactQueue();
  }

  /** Takes an entry (already out of its stream's list) out of the accounting; it stays in the queue, dead. */
  private forget(s: StreamBuffer, e: Entry) {
    s.bytes -= e.fragment!.size;
    this.bufferedBytes -= e.fragment!.size;
    e.fragment = undefined;
    this.dead++;
  }

  /** Drops dead entries from the front of the queue, and rebuilds it once it is mostly dead. */
  private compactQueue() {
    while (this.queueHead < this.queue.length && !this.queue[this.queueHead]!.fragment) {
      this.queueHead++;
      this.dead--;
    }
    if (this.dead > 1024 && this.dead * 2 > this.queue.length - this.queueHead) {
      this.queue = this.queue.slice(this.queueHead).filter((e) => e.fragment);
      this.queueHead = 0;
      this.dead = 0;
    }
  }
}
