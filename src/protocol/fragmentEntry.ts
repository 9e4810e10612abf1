/**
 * A fragment's listing entry: the JSON object ListFragments reports for it (the SDK model's Fragment
 * structure), rendered once when the fragment is stored and kept in the catalog's listing indexes.
 * Everything in it is fixed for the fragment's life, so a page of ListFragments is the stored entries
 * joined by commas: no per-request formatting of 47-digit fragment numbers, no per-row value extraction.
 * (That was 70 % of ListFragments' CPU time; see docs/benchmarks.md.) A pure rendering function, here in
 * the protocol toolkit so that both the archive (new fragments) and a catalog's upgrade of fragments stored
 * without entries render them identically.
 *
 * Entries are JSON objects without nested objects, so `,{` occurs only between two entries of a page.
 */
import { formatFragmentNumber } from './fragmentNumbers.js';
import { msToEpochSeconds } from './timestamps.js';

export interface EntryFields {
  seq: number;
  serverMs: number;
  nonce: number;
  producerMs: number;
  size: number;
  lengthMs: number;
}

export const ENTRY_START = '{"FragmentNumber":"';

/** Same text as JSON.stringify of the Fragment object would give, in the model's member order. */
export function renderEntry(f: EntryFields, fragmentNumber = formatFragmentNumber(f)): string {
  return (
    `${ENTRY_START}${fragmentNumber}","FragmentSizeInBytes":${f.size},` +
    `"ProducerTimestamp":${msToEpochSeconds(f.producerMs)},"ServerTimestamp":${msToEpochSeconds(f.serverMs)},` +
    `"FragmentLengthInMilliseconds":${f.lengthMs}}`
  );
}
