/**
 * Which fragments a playback session (HLS, DASH) lists at a given moment, as KVS defines its modes:
 *
 * - ON_DEMAND: the oldest `max` fragments whose selected timestamp lies in [start, end]; fixed.
 * - LIVE: the newest `max` fragments, sliding as ingest goes on; never a fragment older than the session's
 *   first window (gaps are not back-filled).
 * - LIVE_REPLAY: from `start`, the fragments whose timestamp the session has "reached", advancing at real
 *   time from its creation, up to `end` when given; the newest `max` of them.
 *
 * Players need each segment's media sequence number to stay the same across playlist reloads: it is the
 * fragment's position in the session's ordered list (from the session's anchor), counted in the catalog
 * and remembered per session, so a reload costs only the fragments added since the last one.
 */
import type { Catalog, FragmentRecord, ListedFragment, StreamRecord, TimestampKind } from '../storage/catalog.js';
import { retentionHorizon } from './retention.js';

export type PlaybackMode = 'LIVE' | 'LIVE_REPLAY' | 'ON_DEMAND';

/** What a session token carries about its selection. */
export interface SessionSelection {
  mode: PlaybackMode;
  kind: TimestampKind;
  /** Inclusive bounds of the selected timestamp (LIVE: start is the first window's first fragment). */
  startMs: number;
  endMs?: number;
  /** The fragments per playlist (MaxMediaPlaylistFragmentResults / MaxManifestFragmentResults). */
  max: number;
  /** When the session was created (LIVE_REPLAY paces from it). */
  createdMs: number;
  /** LIVE: the seq of the first window's first fragment (with startMs, the anchor of numbering). */
  anchorSeq?: number;
}

export interface PlaylistWindow {
  fragments: FragmentRecord[];
  /** Media sequence number of fragments[0]: its index in the session's whole list. */
  firstIndex: number;
  /** No fragment will ever be added (ON_DEMAND; LIVE_REPLAY past its end). */
  complete: boolean;
}

const PAGE = 1000;
/** How far back LIVE looks for its newest fragments on the first try; doubled until it finds `max`. */
const LIVE_LOOKBACK_MS = 60_000;
/** LIVE needs a fragment this recent to start a session (AWS: nothing in the last 30 s is ResourceNotFound). */
export const LIVE_RECENT_MS = 30_000;
/** Sessions whose count and last window are remembered. */
const SESSION_CACHE_MAX = 10_000;
/** Sessions whose last window is remembered: fewer, a window holds up to 5000 fragment records. */
const WINDOW_CACHE_MAX = 256;
const LIVE_SCAN = 5000;

const ts = (f: FragmentRecord, kind: TimestampKind) => keyOf(f, kind).ms;

export class PlaybackSelector {
  /** Per session: the last counted position, so that counting resumes there. */
  private readonly counted = new Map<string, Key & { index: number }>();
  /** Per session: its last window, where segment requests by number (DASH's `$Number$`) find their fragment. */
  private readonly windows = new Map<string, PlaylistWindow>();

  constructor(private readonly catalog: Catalog) {}

  /** Fragments in (afterMs, afterSeq) < (ts, seq), ts <= endMs, in listing order; full records. */
  private async range(
    stream: StreamRecord,
    kind: TimestampKind,
    after: Key,
    endMs: number,
    limit: number,
    now: number,
  ) {
    return this.records(stream, await this.catalog.listFragments(this.query(stream, kind, after, endMs, limit, now)));
  }

  /** The first fragments of a would-be session: for the session call to refuse an empty one. */
  async first(
    stream: StreamRecord,
    sel: Omit<SessionSelection, 'createdMs'>,
    now = Date.now(),
  ): Promise<FragmentRecord[]> {
    if (sel.mode === 'LIVE') return this.newest(stream, sel.kind, sel.max, now, now - LIVE_RECENT_MS);
    const end = sel.mode === 'LIVE_REPLAY' ? Math.min(sel.endMs ?? now, now) : sel.endMs!;
    return this.range(stream, sel.kind, { ms: sel.startMs - 1, seq: Number.MAX_SAFE_INTEGER }, end, 1, now);
  }

  /** The newest `max` fragments (server timestamps) no older than `notBeforeMs`, oldest first. */
  async newest(stream: StreamRecord, kind: TimestampKind, max: number, now: number, notBeforeMs: number) {
    const last = await this.catalog.lastFragment(stream.id);
    if (!last || ts(last, kind) < notBeforeMs) return [];
    for (let back = LIVE_LOOKBACK_MS; ; back *= 2) {
      const from = Math.max(notBeforeMs, ts(last, kind) - back);
      const after = { ms: from - 1, seq: Number.MAX_SAFE_INTEGER };
      const rows = await this.catalog.listFragments(
        this.query(stream, kind, after, Number.MAX_SAFE_INTEGER, LIVE_SCAN, now),
      );
      // Enough, or nothing older to look at. (A LIVE window of more than LIVE_SCAN fragments is cut to it.)
      if (rows.length >= max || from === notBeforeMs || rows.length === LIVE_SCAN)
        return this.records(stream, rows.slice(-max));
    }
  }

  /** What the session lists now. `sessionId` keys the remembered count. */
  async window(
    stream: StreamRecord,
    sessionId: string,
    sel: SessionSelection,
    now = Date.now(),
  ): Promise<PlaylistWindow> {
    const window = await this.compute(stream, sessionId, sel, now);
    remember(this.windows, sessionId, window, WINDOW_CACHE_MAX);
    return window;
  }

  /**
   * The fragment at position `index` (from 0) of the session's list: from its last window when it is
   * there, else counted in the catalog from the session's anchor (or from its last counted position).
   */
  async fragmentAt(
    stream: StreamRecord,
    sessionId: string,
    sel: SessionSelection,
    index: number,
    now = Date.now(),
  ): Promise<FragmentRecord | undefined> {
    const last = this.windows.get(sessionId);
    if (last && index >= last.firstIndex && index < last.firstIndex + last.fragments.length) {
      return last.fragments[index - last.firstIndex];
    }
    if (sel.mode === 'ON_DEMAND' && index >= sel.max) return undefined;
    const known = this.counted.get(sessionId);
    let cursor = known && known.index <= index ? { ms: known.ms, seq: known.seq - 1 } : anchorOf(sel);
    let skip = known && known.index <= index ? index - known.index : index;
    const end = sel.mode === 'LIVE' ? Number.MAX_SAFE_INTEGER : this.reached(sel, now).end;
    for (;;) {
      const limit = Math.min(PAGE, skip + 1);
      const rows = await this.catalog.listFragments(this.query(stream, sel.kind, cursor, end, limit, now));
      if (rows.length > skip) return (await this.records(stream, [rows[skip]!]))[0];
      if (rows.length < limit) return undefined;
      skip -= rows.length;
      cursor = keyOf(rows[rows.length - 1]!, sel.kind);
    }
  }

  /** ON_DEMAND and LIVE_REPLAY: the last selected timestamp the session lists now, and whether it is final. */
  private reached(sel: SessionSelection, now: number) {
    if (sel.mode === 'ON_DEMAND') return { end: sel.endMs!, complete: true };
    const reached = sel.startMs + (now - sel.createdMs);
    return {
      end: Math.min(reached, sel.endMs ?? Number.MAX_SAFE_INTEGER, now),
      complete: sel.endMs !== undefined && reached >= sel.endMs,
    };
  }

  private async compute(stream: StreamRecord, sessionId: string, sel: SessionSelection, now: number) {
    const anchor = anchorOf(sel);
    if (sel.mode === 'ON_DEMAND') {
      const fragments = await this.range(stream, sel.kind, anchor, sel.endMs!, sel.max, now);
      return { fragments, firstIndex: 0, complete: true };
    }
    let fragments: FragmentRecord[];
    let complete = false;
    if (sel.mode === 'LIVE') {
      const newest = await this.newest(stream, sel.kind, sel.max, now, sel.startMs);
      fragments = newest.filter((f) => compare(keyOf(f, sel.kind), anchor) > 0);
    } else {
      const reached = this.reached(sel, now);
      complete = reached.complete;
      fragments = await this.tail(stream, sessionId, sel, anchor, reached.end, now);
    }
    if (fragments.length === 0) return { fragments, firstIndex: 0, complete };
    const firstIndex = await this.indexOf(stream, sessionId, sel.kind, anchor, fragments[0]!, now);
    return { fragments, firstIndex, complete };
  }

  /** LIVE_REPLAY: the last `max` fragments up to `end`, reading on from this session's previous window. */
  private async tail(
    stream: StreamRecord,
    sessionId: string,
    sel: SessionSelection,
    from: Key,
    end: number,
    now: number,
  ) {
    const known = this.counted.get(sessionId);
    // The previous window's first fragment is in the list; everything before it is not in this window.
    let cursor = known && known.ms <= end ? { ms: known.ms, seq: known.seq - 1 } : from;
    let last: ListedFragment[] = [];
    for (;;) {
      const rows = await this.catalog.listFragments(this.query(stream, sel.kind, cursor, end, PAGE, now));
      last = [...last, ...rows].slice(-sel.max);
      if (rows.length < PAGE) break;
      cursor = keyOf(rows[rows.length - 1]!, sel.kind);
    }
    return this.records(stream, last);
  }

  /** The position of `f` in the session's list (the fragments after `anchor`), counted from the last count. */
  private async indexOf(
    stream: StreamRecord,
    sessionId: string,
    kind: TimestampKind,
    anchor: Key,
    f: FragmentRecord,
    now: number,
  ) {
    const target = keyOf(f, kind);
    const known = this.counted.get(sessionId);
    let from = anchor;
    let index = 0;
    if (known && compare(known, target) <= 0) {
      if (compare(known, target) === 0) return known.index;
      from = known;
      index = known.index + 1;
    }
    // Count the fragments strictly between `from` and the target, a page at a time.
    for (;;) {
      const rows = await this.catalog.listFragments(this.query(stream, kind, from, target.ms, PAGE, now));
      const lower = rows.filter((r) => compare(keyOf(r, kind), target) < 0);
      index += lower.length;
      if (rows.length < PAGE || lower.length < rows.length) break;
      from = keyOf(rows[rows.length - 1]!, kind);
    }
    remember(this.counted, sessionId, { ...target, index });
    return index;
  }

  private query(stream: StreamRecord, kind: TimestampKind, after: Key, endMs: number, limit: number, now: number) {
    return {
      streamId: stream.id,
      kind,
      afterMs: after.ms,
      afterSeq: after.seq,
      endMs,
      minServerMs: retentionHorizon(stream, now),
      limit,
    };
  }

  private async records(stream: StreamRecord, rows: Pick<ListedFragment, 'seq'>[]): Promise<FragmentRecord[]> {
    const full = await Promise.all(rows.map((r) => this.catalog.getFragment(stream.id, r.seq)));
    return full.filter((f): f is FragmentRecord => f !== undefined);
  }
}

/** Keeps `value` for the session in a bounded map (the oldest session's entry goes first). */
function remember<V>(map: Map<string, V>, sessionId: string, value: V, max = SESSION_CACHE_MAX) {
  map.delete(sessionId);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(sessionId, value);
}

/**
 * The exclusive listing cursor just before the session's first fragment: LIVE's anchor fragment, or
 * anything at or after StartTimestamp.
 */
function anchorOf(sel: SessionSelection): Key {
  return sel.mode === 'LIVE'
    ? { ms: sel.startMs, seq: (sel.anchorSeq ?? 0) - 1 }
    : { ms: sel.startMs - 1, seq: Number.MAX_SAFE_INTEGER };
}

/** A listing position: (selected timestamp, seq), the catalog's keyset order. */
interface Key {
  ms: number;
  seq: number;
}

const keyOf = (f: Pick<FragmentRecord, 'producerMs' | 'serverMs' | 'seq'>, kind: TimestampKind): Key => ({
  ms: kind === 'producer' ? f.producerMs : f.serverMs,
  seq: f.seq,
});
const compare = (a: Key, b: Key) => a.ms - b.ms || a.seq - b.seq;
