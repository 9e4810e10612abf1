/**
 * Listing fragments: a keyset walk over the catalog's (stream, timestamp, seq) index.
 * kvsd returns fragments in ascending order of the selected timestamp, ties broken by fragment number,
 * within and across pages (AWS promises no order; this is kvsd's own guarantee). A page token is the
 * last (timestamp, seq) returned, sealed with the stream's ARN and the selector: pages never repeat or
 * skip a fragment that was persisted when the first page was served, even while ingest goes on.
 */
import { invalidArgument } from '../protocol/errors.js';
import type { Catalog, FragmentRange, ListedFragment, StreamRecord, TimestampKind } from '../storage/catalog.js';
import { dropLastEntry, lastEntryKey } from './listingEntry.js';
import type { TokenSealer } from './tokens.js';

export interface Selector { kind: TimestampKind; startMs: number; endMs: number }

interface Cursor {
  /** Stream ARN: a token never opens on another stream, nor on a re-created stream of the same name. */
  a: string;
  k: 'p' | 's';
  s: number;
  e: number;
  /** Last (timestamp, seq) returned. */
  t: number;
  q: number;
}

const TOKEN_KIND = 'ListFragments';
const BAD_TOKEN = 'NextToken is not a token ListFragments issued, or it was altered.';

/** A page: the listing entries of its fragments (src/protocol/fragmentEntry.ts) joined by ',', in order. */
export interface FragmentPage { entries: Buffer; count: number; nextToken?: string }

/** Joins the entries of listing rows into a page body, as the catalog's joinFragmentEntries does (UTF-8). */
export function joinRows(rows: ListedFragment[]): Buffer {
  return Buffer.from(rows.map((r) => r.entry).join(','));
}

export const EMPTY_PAGE: FragmentPage = { entries: Buffer.alloc(0), count: 0 };

export class FragmentLister {
  constructor(private readonly catalog: Catalog, private readonly tokens: TokenSealer) {}

  /**
   * `visible`, when given, drops rows from the page after the cursor has passed them (fragments not yet
   * visible in --visibility-delay-ms); the page is then built from rows instead of joined by the catalog.
   */
  async list(stream: StreamRecord, selector: Selector | undefined, nextToken: string | undefined, limit: number, now = Date.now(),
    visible?: (streamId: number, rows: ListedFragment[]) => ListedFragment[]): Promise<FragmentPage> {
    let after: { ms: number; seq: number };
    if (nextToken !== undefined) {
      const c = this.tokens.open<Cursor>(TOKEN_KIND, nextToken);
      if (!c) throw invalidArgument(BAD_TOKEN);
      if (c.a !== stream.arn) throw invalidArgument('NextToken was issued for a different stream.');
      const fromToken: Selector = { kind: c.k === 'p' ? 'producer' : 'server', startMs: c.s, endMs: c.e };
      if (selector && (selector.kind !== fromToken.kind || selector.startMs !== fromToken.startMs || selector.endMs !== fromToken.endMs)) {
        throw invalidArgument('FragmentSelector differs from the one NextToken was issued for.');
      }
      selector = fromToken;
      after = { ms: c.t, seq: c.q };
    } else {
      if (!selector) throw invalidArgument('FragmentSelector is required when NextToken is not given.');
      // seq starts at 1, so (startMs, 0) includes fragments exactly at StartTimestamp.
      after = { ms: selector.startMs, seq: 0 };
    }
    if (selector.startMs > selector.endMs) {
      throw invalidArgument('The FragmentSelector TimestampRange StartTimestamp must not be after its EndTimestamp.');
    }
    // A stream that retains nothing archives nothing.
    if (stream.retentionHours === 0) return EMPTY_PAGE;

    const range: FragmentRange = {
      streamId: stream.id, kind: selector.kind, afterMs: after.ms, afterSeq: after.seq, endMs: selector.endMs,
      minServerMs: now - stream.retentionHours * 3_600_000, limit: limit + 1,
    };
    if (visible) {
      const rows = await this.catalog.listFragments(range);
      const page = rows.slice(0, limit);
      const shown = visible(stream.id, page);
      const entries = joinRows(shown);
      if (rows.length <= limit) return { entries, count: shown.length };
      const l = page[page.length - 1]!;
      return this.withToken(stream, selector, { entries, count: shown.length }, selector.kind === 'producer' ? l.producerMs : l.serverMs, l.seq);
    }
    // The hot path: SQLite joins limit + 1 entries; the extra one only says that more follow.
    const joined = await this.catalog.joinFragmentEntries(range);
    if (joined.count <= limit) return { entries: joined.joined, count: joined.count };
    const entries = dropLastEntry(joined.joined);
    const last = lastEntryKey(entries, selector.kind);
    return this.withToken(stream, selector, { entries, count: limit }, last.ms, last.seq);
  }

  /** The page with a token that resumes after (ms, seq), its last fragment. */
  private withToken(stream: StreamRecord, selector: Selector, page: FragmentPage, ms: number, seq: number): FragmentPage {
    const cursor: Cursor = {
      a: stream.arn, k: selector.kind === 'producer' ? 'p' : 's', s: selector.startMs, e: selector.endMs, t: ms, q: seq,
    };
    return { ...page, nextToken: this.tokens.seal(TOKEN_KIND, cursor) };
  }
}
