/**
 * What ListFragments lists through, whichever listing serves it (sortedListing.ts, the default;
 * unorderedListing.ts for --mode aws; visibility.ts for --visibility-delay-ms), and the page they return.
 */
import type { ListedFragment, StreamRecord, TimestampKind } from '../storage/catalog.js';

export interface Selector {
  kind: TimestampKind;
  startMs: number;
  endMs: number;
}

/** A page: the listing entries of its fragments (src/protocol/fragmentEntry.ts) joined by ',', in order. */
export interface FragmentPage {
  entries: Buffer;
  count: number;
  nextToken?: string;
}

export interface FragmentListing {
  list(
    stream: StreamRecord,
    selector: Selector | undefined,
    nextToken: string | undefined,
    limit: number,
    now?: number,
  ): Promise<FragmentPage>;
}

/** Joins the entries of listing rows into a page body, as the catalog's joinFragmentEntries does (UTF-8). */
export function joinRows(rows: ListedFragment[]): Buffer {
  return Buffer.from(rows.map((r) => r.entry).join(','));
}

export const EMPTY_PAGE: FragmentPage = { entries: Buffer.alloc(0), count: 0 };
