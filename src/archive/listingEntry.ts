/**
 * A fragment's listing entry: the JSON object ListFragments reports for it (the SDK model's Fragment
 * structure), rendered once when the fragment is stored and kept in the catalog's listing indexes.
 * Everything in it is fixed for the fragment's life, so a page of ListFragments is the stored entries
 * joined by commas: no per-request formatting of 47-digit fragment numbers, no per-row value extraction.
 * (That was 70 % of ListFragments' CPU time; see docs/benchmarks.md.)
 *
 * Entries are JSON objects without nested objects, so `,{` occurs only between two entries of a page.
 */
import { formatFragmentNumber, parseFragmentNumber } from './fragmentNumbers.js';
import { msToEpochSeconds } from '../protocol/timestamps.js';
import type { TimestampKind } from '../storage/catalog.js';

export interface EntryFields { seq: number; serverMs: number; nonce: number; producerMs: number; size: number; lengthMs: number }

const ENTRY_START = '{"FragmentNumber":"';
const BETWEEN_ENTRIES = Buffer.from(`,${ENTRY_START}`);
const ENTRY_START_BYTES = Buffer.from(ENTRY_START);
const PRODUCER = Buffer.from('"ProducerTimestamp":');
const SERVER = Buffer.from('"ServerTimestamp":');

/** Same text as JSON.stringify of the Fragment object would give, in the model's member order. */
export function renderEntry(f: EntryFields, fragmentNumber = formatFragmentNumber(f)): string {
  return `${ENTRY_START}${fragmentNumber}","FragmentSizeInBytes":${f.size},`
    + `"ProducerTimestamp":${msToEpochSeconds(f.producerMs)},"ServerTimestamp":${msToEpochSeconds(f.serverMs)},`
    + `"FragmentLengthInMilliseconds":${f.lengthMs}}`;
}

/** Joined entries without the last one (`count` > 1). */
export function dropLastEntry(joined: Buffer): Buffer {
  return joined.subarray(0, joined.lastIndexOf(BETWEEN_ENTRIES));
}

/**
 * The listing key (selected timestamp, seq) of the last entry of a non-empty joined run: what a page
 * token resumes after.
 */
export function lastEntryKey(joined: Buffer, kind: TimestampKind): { ms: number; seq: number } {
  const start = joined.lastIndexOf(ENTRY_START_BYTES);
  const numberStart = start + ENTRY_START_BYTES.length;
  const parts = parseFragmentNumber(joined.toString('latin1', numberStart, joined.indexOf(0x22 /* " */, numberStart)));
  const name = kind === 'producer' ? PRODUCER : SERVER;
  const valueStart = joined.indexOf(name, start) + name.length;
  let valueEnd = valueStart;
  while (valueEnd < joined.length && joined[valueEnd] !== 0x2c /* , */ && joined[valueEnd] !== 0x7d /* } */) valueEnd++;
  const seconds = Number(joined.toString('latin1', valueStart, valueEnd));
  if (!parts || start < 0 || valueStart < name.length || !Number.isFinite(seconds)) {
    throw new Error('listing entry is not in the stored format');
  }
  // The entry holds ms / 1000 in the shortest form that reads back as the same double, so this is exact.
  return { ms: Math.round(seconds * 1000), seq: parts.seq };
}
