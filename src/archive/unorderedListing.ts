/**
 * `--mode aws`: ListFragments as AWS documents it rather than as kvsd's friendly default.
 *
 * 1. No order. "Results are in no specific order, even across pages." The walk still returns every
 *    matching fragment exactly once: at the first call the selected time range is cut into up to
 *    SLICES sub-ranges (evenly between the first matching fragment and the stream's latest one), each
 *    walked with the catalog's keyset cursor; the page token (sealed, like kvsd's other tokens) carries
 *    one cursor per unfinished sub-range. Each page takes random runs from random sub-ranges, then is
 *    shuffled. So pages are unordered, and a later page often holds fragments older than an earlier one,
 *    while nothing repeats or goes missing (the same guarantee as the sorted walk: every fragment
 *    persisted when the first page was served is listed once).
 * 2. Eventual consistency. "Even if the producer receives an acknowledgment that a fragment is persisted,
 *    the result might not be returned immediately": a fragment becomes listable a delay after its
 *    PERSISTED acknowledgement (--visibility-delay-ms: a fixed delay, or MIN-MAX for a random one; AWS mode
 *    defaults to 0-1000). A walk whose cursor passes a fragment while it is still hidden does not list it
 *    (as on AWS, a listing that raced the fragment misses it); a new listing does.
 */
import { randomInt } from 'node:crypto';
import { invalidArgument } from '../protocol/errors.js';
import type { Catalog, ListedFragment, StreamRecord } from '../storage/catalog.js';
import { EMPTY_PAGE, joinRows, type FragmentLister, type FragmentPage, type Selector } from './sortedListing.js';
import type { TokenSealer } from './tokens.js';

/** How many sub-ranges a listing is cut into. */
const SLICES = 8;
const TOKEN_KIND = 'ListFragmentsUnordered';

/** A delay in ms: fixed, or drawn uniformly from [min, max] for each fragment. */
export interface DelaySpec { min: number; max: number }

/** "1500" → {1500, 1500}; "0-1000" → {0, 1000}. */
export function parseDelaySpec(text: string): DelaySpec | undefined {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] !== undefined ? Number(m[2]) : min;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min || max > 3_600_000) return undefined;
  return { min, max };
}

/** Fragments hidden from listings for a while after PERSISTED. */
export class VisibilityGate {
  /** streamId → seq → epoch ms when it becomes visible. */
  private readonly hidden = new Map<number, Map<number, number>>();
  private lastSweep = 0;

  constructor(private readonly delay: DelaySpec, private readonly now: () => number = Date.now) {}

  /** Called when a fragment is PERSISTED. */
  persisted(streamId: number, seq: number) {
    const d = this.delay.min === this.delay.max ? this.delay.min : randomInt(this.delay.min, this.delay.max + 1);
    if (d <= 0) return;
    const now = this.now();
    let m = this.hidden.get(streamId);
    if (!m) this.hidden.set(streamId, (m = new Map()));
    m.set(seq, now + d);
    if (now - this.lastSweep > 10_000) this.sweep(now);
  }

  isVisible(streamId: number, seq: number, now = this.now()): boolean {
    const m = this.hidden.get(streamId);
    const at = m?.get(seq);
    if (at === undefined) return true;
    if (now < at) return false;
    m!.delete(seq);
    if (m!.size === 0) this.hidden.delete(streamId);
    return true;
  }

  filter<T extends { seq: number }>(streamId: number, rows: T[], now = this.now()): T[] {
    return this.hidden.has(streamId) ? rows.filter((r) => this.isVisible(streamId, r.seq, now)) : rows;
  }

  private sweep(now: number) {
    this.lastSweep = now;
    for (const [id, m] of this.hidden) {
      for (const [seq, at] of m) if (at <= now) m.delete(seq);
      if (m.size === 0) this.hidden.delete(id);
    }
  }
}

/** What ListFragments needs from a lister (FragmentLister has this shape). */
export interface FragmentListing {
  list(stream: StreamRecord, selector: Selector | undefined, nextToken: string | undefined, limit: number, now?: number): Promise<FragmentPage>;
}

interface SliceCursor {
  /** Last (timestamp, seq) returned from the slice (or its start, seq 0), and its inclusive end. */
  t: number;
  q: number;
  e: number;
}

interface Cursor {
  a: string;
  k: 'p' | 's';
  s: number;
  e: number;
  c: [number, number, number][];
}

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export interface FaithfulListerOptions {
  /** Unordered pages (--mode aws). */
  unordered: boolean;
  visibility?: VisibilityGate;
}

/** The lister of --mode aws (and of --visibility-delay-ms in the default mode: sorted, delayed). */
export class FaithfulLister implements FragmentListing {
  constructor(
    private readonly catalog: Catalog,
    private readonly tokens: TokenSealer,
    private readonly sorted: FragmentLister,
    private readonly opts: FaithfulListerOptions,
  ) {}

  async list(stream: StreamRecord, selector: Selector | undefined, nextToken: string | undefined, limit: number, now = Date.now()):
    Promise<FragmentPage> {
    const gate = this.opts.visibility;
    if (!this.opts.unordered) {
      return this.sorted.list(stream, selector, nextToken, limit, now, gate && ((id, rows) => gate.filter(id, rows)));
    }
    let slices: SliceCursor[];
    let sel: Selector;
    if (nextToken !== undefined) {
      const c = this.tokens.open<Cursor>(TOKEN_KIND, nextToken);
      if (!c) throw invalidArgument('NextToken is not a token ListFragments issued, or it was altered.');
      if (c.a !== stream.arn) throw invalidArgument('NextToken was issued for a different stream.');
      sel = { kind: c.k === 'p' ? 'producer' : 'server', startMs: c.s, endMs: c.e };
      if (selector && (selector.kind !== sel.kind || selector.startMs !== sel.startMs || selector.endMs !== sel.endMs)) {
        throw invalidArgument('FragmentSelector differs from the one NextToken was issued for.');
      }
      slices = c.c.map(([t, q, e]) => ({ t, q, e }));
    } else {
      if (!selector) throw invalidArgument('FragmentSelector is required when NextToken is not given.');
      sel = selector;
      if (sel.startMs > sel.endMs) {
        throw invalidArgument('The FragmentSelector TimestampRange StartTimestamp must not be after its EndTimestamp.');
      }
      if (stream.retentionHours === 0) return EMPTY_PAGE;
      slices = await this.slice(stream, sel, now);
    }
    if (stream.retentionHours === 0) return EMPTY_PAGE;

    const minServerMs = now - stream.retentionHours * 3_600_000;
    const out: ListedFragment[] = [];
    let need = limit;
    while (need > 0 && slices.length > 0) {
      for (const slice of shuffle([...slices])) {
        if (need === 0) break;
        const take = Math.min(need, 1 + randomInt(Math.max(1, Math.ceil((2 * limit) / slices.length))));
        const rows = await this.catalog.listFragments({
          streamId: stream.id, kind: sel.kind, afterMs: slice.t, afterSeq: slice.q, endMs: slice.e, minServerMs, limit: take + 1,
        });
        const got = rows.slice(0, take);
        out.push(...got);
        need -= got.length;
        if (rows.length <= take) {
          slices.splice(slices.indexOf(slice), 1);
        } else {
          const last = got[got.length - 1]!;
          slice.t = sel.kind === 'producer' ? last.producerMs : last.serverMs;
          slice.q = last.seq;
        }
      }
    }
    const fragments = shuffle(gate ? gate.filter(stream.id, out) : out);
    const page = { entries: joinRows(fragments), count: fragments.length };
    if (slices.length === 0) return page;
    const cursor: Cursor = {
      a: stream.arn, k: sel.kind === 'producer' ? 'p' : 's', s: sel.startMs, e: sel.endMs, c: slices.map((s) => [s.t, s.q, s.e]),
    };
    return { ...page, nextToken: this.tokens.seal(TOKEN_KIND, cursor) };
  }

  /** Cuts [start, end] into sub-ranges that partition it exactly; evenly where the fragments are. */
  private async slice(stream: StreamRecord, sel: Selector, now: number): Promise<SliceCursor[]> {
    const minServerMs = now - stream.retentionHours * 3_600_000;
    const [first] = await this.catalog.listFragments({
      streamId: stream.id, kind: sel.kind, afterMs: sel.startMs, afterSeq: 0, endMs: sel.endMs, minServerMs, limit: 1,
    });
    // seq starts at 1, so a cursor (ms, 0) includes fragments exactly at ms.
    if (!first) return [{ t: sel.startMs, q: 0, e: sel.endMs }];
    const last = await this.catalog.lastFragment(stream.id);
    const lo = sel.kind === 'producer' ? first.producerMs : first.serverMs;
    const lastMs = last ? (sel.kind === 'producer' ? last.producerMs : last.serverMs) : lo;
    const hi = Math.min(sel.endMs, Math.max(lo, lastMs));
    const bounds = [sel.startMs];
    for (let j = 1; j < SLICES; j++) {
      const b = lo + Math.floor((j * (hi - lo + 1)) / SLICES);
      if (b > bounds[bounds.length - 1]! && b <= sel.endMs) bounds.push(b);
    }
    return bounds.map((b, j) => ({ t: b, q: 0, e: j + 1 < bounds.length ? bounds[j + 1]! - 1 : sel.endMs }));
  }
}
