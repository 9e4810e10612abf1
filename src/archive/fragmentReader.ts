/**
 * Reading fragments back from the archive as AWS serves them (GetMedia, GetMediaForFragmentList): each fragment is a self-contained MKV document —
 * the producer's EBML header, a Segment of unknown size, the producer's Info and Tracks, a Tags element
 * with the fragment's number and timestamps, then the original Cluster byte for byte (GetMedia adds
 * trailing tags for MILLIS_BEHIND_NOW and CONTINUATION_TOKEN). Cluster bytes stream from the media
 * store by offset and length, so memory stays flat whatever the response size.
 */
import { Readable } from 'node:stream';
import { kvsTags, matroskaEbmlHeader, UNKNOWN_SIZE_SEGMENT_HEADER } from '../mkv/index.js';
import type { Catalog, FragmentRecord, StreamRecord, TimestampKind } from '../storage/catalog.js';
import { MediaUnavailableError, type MediaStore } from '../storage/mediaStore.js';

export { MediaUnavailableError };
import { formatFragmentNumber, parseFragmentNumber } from '../protocol/fragmentNumbers.js';
import type { BufferedFragment, LiveBuffer } from './liveBuffer.js';
import { retentionHorizon } from './retention.js';
import { decodeTrackHeader, type StoredTrackHeader } from './trackHeaders.js';

export interface ServedFragment {
  seq: number;
  number: string;
  serverMs: number;
  producerMs: number;
  header(): Promise<StoredTrackHeader>;
  /** The cluster's bytes, streamed; rejects with MediaUnavailableError if they are not all stored. */
  body(): Promise<Readable>;
}

const seconds3 = (ms: number) => (ms / 1000).toFixed(3);

/** Everything of a fragment's document before its Cluster. */
export function fragmentPrefix(header: StoredTrackHeader, f: ServedFragment): Buffer {
  return Buffer.concat([
    header.ebmlHeader,
    UNKNOWN_SIZE_SEGMENT_HEADER,
    header.infoAndTracks,
    kvsTags([
      ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', f.number],
      ['AWS_KINESISVIDEO_SERVER_TIMESTAMP', seconds3(f.serverMs)],
      ['AWS_KINESISVIDEO_PRODUCER_TIMESTAMP', seconds3(f.producerMs)],
    ]),
  ]);
}

/** GetMedia's tags after each Cluster. */
export function getMediaTrailer(f: ServedFragment, now = Date.now()): Buffer {
  return kvsTags([
    ['AWS_KINESISVIDEO_MILLIS_BEHIND_NOW', String(Math.max(0, now - f.serverMs))],
    ['AWS_KINESISVIDEO_CONTINUATION_TOKEN', f.number],
  ]);
}

/** The in-stream error AWS sends for a fragment it cannot serve (e.g. FRAGMENT_NOT_FOUND, 3000). */
export function errorDocument(fragmentNumber: string, code: string, id: number): Buffer {
  return Buffer.concat([
    matroskaEbmlHeader(),
    UNKNOWN_SIZE_SEGMENT_HEADER,
    kvsTags([
      ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', fragmentNumber],
      ['AWS_KINESISVIDEO_ERROR_CODE', code],
      ['AWS_KINESISVIDEO_ERROR_ID', String(id)],
    ]),
  ]);
}

const HEADER_CACHE_SIZE = 256;

/** The archive's reading side: fragments by number, by seq, after a seq or at a timestamp, skipping expired ones. */
export class FragmentReader {
  private readonly headers = new Map<number, StoredTrackHeader>();

  constructor(
    private readonly catalog: Catalog,
    private readonly media: MediaStore,
    private readonly live: LiveBuffer,
    private readonly log: (event: Record<string, unknown>) => void = () => {},
  ) {}

  private async header(id: number): Promise<StoredTrackHeader> {
    let h = this.headers.get(id);
    if (!h) {
      const blob = await this.catalog.getTrackHeader(id);
      if (!blob) throw new Error(`track header ${id} is missing from the catalog`);
      h = decodeTrackHeader(blob);
      if (this.headers.size >= HEADER_CACHE_SIZE) this.headers.delete(this.headers.keys().next().value!);
      this.headers.set(id, h);
    }
    return h;
  }

  private served(stream: StreamRecord, r: FragmentRecord): ServedFragment {
    return {
      seq: r.seq,
      serverMs: r.serverMs,
      producerMs: r.producerMs,
      number: formatFragmentNumber({ seq: r.seq, serverMs: r.serverMs, nonce: r.nonce }),
      header: () => this.header(r.headerId),
      body: () =>
        this.media.read(stream.id, r.segment, r.offset, r.size).catch((err: unknown) => {
          // A listed fragment without its bytes is kvsd's failure, never the client's: the operator must hear of it.
          if (err instanceof MediaUnavailableError) {
            this.log({
              level: 'error',
              msg: 'fragment bytes missing from the media store',
              stream: stream.name,
              seq: r.seq,
              detail: err.message,
            });
          }
          throw err;
        }),
    };
  }

  /** A fragment of this stream by its number, if it exists and has not expired. */
  async lookup(stream: StreamRecord, fragmentNumber: string, now = Date.now()): Promise<ServedFragment | undefined> {
    const p = parseFragmentNumber(fragmentNumber);
    if (!p) return undefined;
    // The seq finds the fragment; the whole number (server time and nonce too) must match it.
    const f = await this.bySeq(stream, p.seq, now);
    return f?.number === fragmentNumber ? f : undefined;
  }

  /** A fragment of this stream by its seq, if it is (still) readable. */
  async bySeq(stream: StreamRecord, seq: number, now = Date.now()): Promise<ServedFragment | undefined> {
    if (stream.retentionHours === 0) {
      const f = this.live.after(stream.id, seq - 1, 1, now)[0];
      return f && f.seq === seq ? this.buffered(f) : undefined;
    }
    const r = await this.catalog.getFragment(stream.id, seq);
    return r && r.serverMs >= retentionHorizon(stream, now) ? this.served(stream, r) : undefined;
  }

  /** Fragments with seq > afterSeq in ingestion order, skipping expired ones; `next` is where to go on. */
  async after(
    stream: StreamRecord,
    afterSeq: number,
    limit: number,
    now = Date.now(),
  ): Promise<{ fragments: ServedFragment[]; next: number }> {
    if (stream.retentionHours === 0) {
      const fs = this.live.after(stream.id, afterSeq, limit, now);
      return { fragments: fs.map((f) => this.buffered(f)), next: fs.length ? fs[fs.length - 1]!.seq : afterSeq };
    }
    const rows = await this.catalog.fragmentsAfter(stream.id, afterSeq, limit);
    const horizon = retentionHorizon(stream, now);
    return {
      fragments: rows.filter((r) => r.serverMs >= horizon).map((r) => this.served(stream, r)),
      next: rows.length ? rows[rows.length - 1]!.seq : afterSeq,
    };
  }

  /** The seq of the newest fragment (0 if none): GetMedia NOW starts after it. */
  async lastSeq(stream: StreamRecord): Promise<number> {
    if (stream.retentionHours === 0) return this.live.last(stream.id)?.seq ?? 0;
    return (await this.catalog.lastFragment(stream.id))?.seq ?? 0;
  }

  /**
   * The seq just before the fragment GetMedia starts with for a timestamp: the fragment containing it
   * (start <= ts <= start + length), else the first one starting after it; undefined if there is none.
   * Several fragments can share a start millisecond (any upload faster than real time shares server
   * timestamps): of those the FIRST in ingestion order is taken, so that asking for a fragment's own
   * timestamp never skips it (docs/reading.md).
   */
  async beforeTimestamp(stream: StreamRecord, kind: TimestampKind, atMs: number): Promise<number | undefined> {
    const ts = (f: { producerMs: number; serverMs: number }) => (kind === 'producer' ? f.producerMs : f.serverMs);
    if (stream.retentionHours === 0) {
      const buffered = this.live.after(stream.id, 0, Number.MAX_SAFE_INTEGER);
      // Buffered fragments carry no length: start with the last start at or before the timestamp (its first
      // fragment), else the first one after it.
      const latest = buffered.findLast((b) => ts(b) <= atMs);
      const at = latest ? buffered.find((b) => ts(b) === ts(latest)) : buffered.find((b) => ts(b) >= atMs);
      return at && at.seq - 1;
    }
    const horizon = retentionHorizon(stream, Date.now());
    const latest = await this.catalog.lastFragmentAtOrBefore(stream.id, kind, atMs);
    if (latest) {
      // The first fragment (smallest seq) starting at the same millisecond as the latest-starting one.
      const first = await this.catalog.firstFragmentAt(stream.id, kind, ts(latest));
      const contains = (f: FragmentRecord) => ts(f) + f.lengthMs >= atMs && f.serverMs >= horizon;
      if (first && ts(first) === ts(latest) && (contains(first) || contains(latest))) return first.seq - 1;
    }
    const r = await this.catalog.firstFragmentAt(stream.id, kind, atMs);
    return r && r.seq - 1;
  }

  private buffered(f: BufferedFragment): ServedFragment {
    return {
      seq: f.seq,
      serverMs: f.serverMs,
      producerMs: f.producerMs,
      number: formatFragmentNumber(f),
      header: async () => decodeTrackHeader(f.header),
      body: async () => Readable.from(f.cluster),
    };
  }
}
