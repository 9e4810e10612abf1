/**
 * The default ListFragments listing: a keyset walk over the catalog's (stream, timestamp, seq) index.
 * kvsd returns fragments in ascending order of the selected timestamp, ties broken by fragment number,
 * within and across pages (AWS promises no order; this is kvsd's own guarantee). A page token is the
 * last (timestamp, seq) returned, sealed with the stream's ARN and the selector: pages never repeat or
 * skip a fragment that was persisted when the first page was served, even while ingest goes on.
 */
import type { Catalog, FragmentRange, ListedFragment, StreamRecord } from '../storage/catalog.js';
import { EMPTY_PAGE, joinRows, type FragmentListing, type FragmentPage, type Selector } from './fragmentListing.js';
import { openCursor, sealCursor, type CursorBase } from './listingCursor.js';
import { dropLastEntry, lastEntryKey } from './listingEntry.js';
import { retentionHorizon } from './retention.js';
import type { TokenSealer } from './tokens.js';

interface Cursor extends CursorBase {
  /** Last (timestamp, seq) returned. */
  t: number;
  q: number;
}

const TOKEN_KIND = 'ListFragments';

/** Drops rows a listing may not show yet (see visibility.ts). */
export type VisibleFilter = (streamId: number, rows: ListedFragment[]) => ListedFragment[];

export class SortedListing implements FragmentListing {
  constructor(
    private readonly catalog: Catalog,
    private readonly tokens: TokenSealer,
  ) {}

  /**
   * `visible`, when given, drops rows from the page after the cursor has passed them (fragments not yet
   * visible in --visibility-delay-ms); the page is then built from rows instead of joined by the catalog.
   */
  async list(
    stream: StreamRecord,
    selector: Selector | undefined,
    nextToken: string | undefined,
    limit: number,
    now = Date.now(),
    visible?: VisibleFilter,
  ): Promise<FragmentPage> {
    const opened = openCursor<Cursor>(this.tokens, TOKEN_KIND, stream, selector, nextToken);
    selector = opened.selector;
    // seq starts at 1, so (startMs, 0) includes fragments exactly at StartTimestamp.
    const after = opened.cursor ? { ms: opened.cursor.t, seq: opened.cursor.q } : { ms: selector.startMs, seq: 0 };
    // A stream that retains nothing archives nothing.
    if (stream.retentionHours === 0) return EMPTY_PAGE;

    const range: FragmentRange = {
      streamId: stream.id,
      kind: selector.kind,
      afterMs: after.ms,
      afterSeq: after.seq,
      endMs: selector.endMs,
      minServerMs: retentionHorizon(stream, now),
      limit: limit + 1,
    };
    if (visible) {
      const rows = await this.catalog.listFragments(range);
      const page = rows.slice(0, limit);
      const shown = visible(stream.id, page);
      const entries = joinRows(shown);
      if (rows.length <= limit) return { entries, count: shown.length };
      const l = page[page.length - 1]!;
      return this.withToken(
        stream,
        selector,
        { entries, count: shown.length },
        selector.kind === 'producer' ? l.producerMs : l.serverMs,
        l.seq,
      );
    }
    // The hot path: SQLite joins limit + 1 entries; the extra one only says that more follow.
    const joined = await this.catalog.joinFragmentEntries(range);
    if (joined.count <= limit) return { entries: joined.joined, count: joined.count };
    const entries = dropLastEntry(joined.joined);
    const last = lastEntryKey(entries, selector.kind);
    return this.withToken(stream, selector, { entries, count: limit }, last.ms, last.seq);
  }

  /** The page with a token that resumes after (ms, seq), its last fragment. */
  private withToken(
    stream: StreamRecord,
    selector: Selector,
    page: FragmentPage,
    ms: number,
    seq: number,
  ): FragmentPage {
    return { ...page, nextToken: sealCursor<Cursor>(this.tokens, TOKEN_KIND, stream, selector, { t: ms, q: seq }) };
  }
}
