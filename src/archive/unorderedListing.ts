/**
 * `--mode aws`: ListFragments unordered, as AWS documents it: "Results are in no specific order, even
 * across pages." The walk still returns every matching fragment exactly once: at the first call the selected
 * time range is cut into up to SLICES sub-ranges (evenly between the first matching fragment and the
 * stream's latest one), each walked with the catalog's keyset cursor; the page token (sealed, like kvsd's
 * other tokens) carries one cursor per unfinished sub-range. Each page takes random runs from random
 * sub-ranges, then is shuffled. So pages are unordered, and a later page often holds fragments older than an
 * earlier one, while nothing repeats or goes missing (the same guarantee as the sorted walk: every fragment
 * persisted when the first page was served is listed once). Fragments still hidden by the visibility gate
 * (visibility.ts; --mode aws delays 0-1000 ms by default) are left out.
 */
import { randomInt } from 'node:crypto';
import type { Catalog, ListedFragment, StreamRecord } from '../storage/catalog.js';
import { EMPTY_PAGE, joinRows, type FragmentListing, type FragmentPage, type Selector } from './fragmentListing.js';
import { openCursor, sealCursor, type CursorBase } from './listingCursor.js';
import { retentionHorizon } from './retention.js';
import type { TokenSealer } from './tokens.js';
import type { VisibilityGate } from './visibility.js';

/** How many sub-ranges a listing is cut into. */
const SLICES = 8;
const TOKEN_KIND = 'ListFragmentsUnordered';

interface SliceCursor {
  /** Last (timestamp, seq) returned from the slice (or its start, seq 0), and its inclusive end. */
  t: number;
  q: number;
  e: number;
}

interface Cursor extends CursorBase {
  /** One [t, q, e] per unfinished slice. */
  c: [number, number, number][];
}

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export class UnorderedListing implements FragmentListing {
  constructor(
    private readonly catalog: Catalog,
    private readonly tokens: TokenSealer,
    private readonly gate?: VisibilityGate,
  ) {}

  async list(
    stream: StreamRecord,
    selector: Selector | undefined,
    nextToken: string | undefined,
    limit: number,
    now = Date.now(),
  ): Promise<FragmentPage> {
    const gate = this.gate;
    const { selector: sel, cursor } = openCursor<Cursor>(this.tokens, TOKEN_KIND, stream, selector, nextToken);
    if (stream.retentionHours === 0) return EMPTY_PAGE;
    const slices: SliceCursor[] = cursor
      ? cursor.c.map(([t, q, e]) => ({ t, q, e }))
      : await this.slice(stream, sel, now);

    const minServerMs = retentionHorizon(stream, now);
    const out: ListedFragment[] = [];
    let need = limit;
    while (need > 0 && slices.length > 0) {
      for (const slice of shuffle([...slices])) {
        if (need === 0) break;
        const take = Math.min(need, 1 + randomInt(Math.max(1, Math.ceil((2 * limit) / slices.length))));
        const rows = await this.catalog.listFragments({
          streamId: stream.id,
          kind: sel.kind,
          afterMs: slice.t,
          afterSeq: slice.q,
          endMs: slice.e,
          minServerMs,
          limit: take + 1,
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
    const c = slices.map((s): [number, number, number] => [s.t, s.q, s.e]);
    return { ...page, nextToken: sealCursor<Cursor>(this.tokens, TOKEN_KIND, stream, sel, { c }) };
  }

  /** Cuts [start, end] into sub-ranges that partition it exactly; evenly where the fragments are. */
  private async slice(stream: StreamRecord, sel: Selector, now: number): Promise<SliceCursor[]> {
    const minServerMs = retentionHorizon(stream, now);
    const [first] = await this.catalog.listFragments({
      streamId: stream.id,
      kind: sel.kind,
      afterMs: sel.startMs,
      afterSeq: 0,
      endMs: sel.endMs,
      minServerMs,
      limit: 1,
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
