/**
 * ListFragments page tokens: a cursor sealed with the stream's ARN and the selector. Both listings
 * (sorted and unordered) open and check their tokens here, so that they answer a bad token alike.
 */
import { invalidArgument } from '../protocol/errors.js';
import type { StreamRecord } from '../storage/catalog.js';
import type { Selector } from './fragmentListing.js';
import type { TokenSealer } from './tokens.js';

/** What every listing cursor holds; each listing adds where it stopped. */
export interface CursorBase {
  /** Stream ARN: a token never opens on another stream, nor on a re-created stream of the same name. */
  a: string;
  k: 'p' | 's';
  s: number;
  e: number;
}

/**
 * The selector a ListFragments call walks, and the cursor its token carries (undefined on a first call).
 * Throws InvalidArgumentException for a token that was not issued (or was altered), was issued for another
 * stream or another selector, and for a missing or inverted selector.
 */
export function openCursor<C extends CursorBase>(
  tokens: TokenSealer,
  tokenKind: string,
  stream: StreamRecord,
  selector: Selector | undefined,
  nextToken: string | undefined,
): { selector: Selector; cursor?: C } {
  let cursor: C | undefined;
  if (nextToken !== undefined) {
    cursor = tokens.open<C>(tokenKind, nextToken);
    if (!cursor) throw invalidArgument('NextToken is not a token ListFragments issued, or it was altered.');
    if (cursor.a !== stream.arn) throw invalidArgument('NextToken was issued for a different stream.');
    const fromToken: Selector = { kind: cursor.k === 'p' ? 'producer' : 'server', startMs: cursor.s, endMs: cursor.e };
    if (
      selector &&
      (selector.kind !== fromToken.kind || selector.startMs !== fromToken.startMs || selector.endMs !== fromToken.endMs)
    ) {
      throw invalidArgument('FragmentSelector differs from the one NextToken was issued for.');
    }
    selector = fromToken;
  } else if (!selector) {
    throw invalidArgument('FragmentSelector is required when NextToken is not given.');
  }
  if (selector.startMs > selector.endMs) {
    throw invalidArgument('The FragmentSelector TimestampRange StartTimestamp must not be after its EndTimestamp.');
  }
  return { selector, ...(cursor && { cursor }) };
}

/** Seals a cursor for the stream and selector, with the listing's own position `at`. */
export function sealCursor<C extends CursorBase>(
  tokens: TokenSealer,
  tokenKind: string,
  stream: StreamRecord,
  selector: Selector,
  at: Omit<C, keyof CursorBase>,
): string {
  const base: CursorBase = {
    a: stream.arn,
    k: selector.kind === 'producer' ? 'p' : 's',
    s: selector.startMs,
    e: selector.endMs,
  };
  return tokens.seal(tokenKind, { ...base, ...at });
}
