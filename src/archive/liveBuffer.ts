/**
 * The host buffer of streams that retain nothing (DataRetentionInHours 0): GetMedia can still read the
 * last few minutes of such a stream (spec §5: 5 minutes, 200 MB per stream). Fragments live here in
 * memory only, and are never listed or persisted.
 */
export interface BufferedFragment {
  seq: number;
  nonce: number;
  serverMs: number;
  producerMs: number;
  header: Buffer;
  cluster: Buffer;
}

export const LIVE_BUFFER = { maxAgeMs: 5 * 60_000, maxBytes: 200 * 1024 * 1024 };

export class LiveBuffer {
  private readonly streams = new Map<number, { fragments: BufferedFragment[]; bytes: number }>();

  add(streamId: number, f: BufferedFragment, now = Date.now()) {
    let s = this.streams.get(streamId);
    if (!s) this.streams.set(streamId, (s = { fragments: [], bytes: 0 }));
    // Kept in fragment-number (seq) order, which readers page through: concurrent PutMedia sessions on one
    // stream can complete fragments out of that order (a fragment's seq is taken when its cluster starts).
    let i = s.fragments.length;
    while (i > 0 && s.fragments[i - 1]!.seq > f.seq) i--;
    s.fragments.splice(i, 0, f);
    s.bytes += f.cluster.length;
    this.evict(s, now);
  }

  private evict(s: { fragments: BufferedFragment[]; bytes: number }, now: number) {
    while (s.fragments.length > 0 && (s.bytes > LIVE_BUFFER.maxBytes || now - s.fragments[0]!.serverMs > LIVE_BUFFER.maxAgeMs)) {
      s.bytes -= s.fragments.shift()!.cluster.length;
    }
  }

  /** Buffered fragments with seq > afterSeq, in seq order. */
  after(streamId: number, afterSeq: number, limit: number, now = Date.now()): BufferedFragment[] {
    const s = this.streams.get(streamId);
    if (!s) return [];
    this.evict(s, now);
    return s.fragments.filter((f) => f.seq > afterSeq).slice(0, limit);
  }

  last(streamId: number): BufferedFragment | undefined {
    const s = this.streams.get(streamId);
    return s?.fragments[s.fragments.length - 1];
  }

  drop(streamId: number) { this.streams.delete(streamId); }
}
