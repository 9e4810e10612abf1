/**
 * Working on joined listing entries (src/protocol/fragmentEntry.ts renders them): entries are JSON objects
 * without nested objects, so `,{"FragmentNumber":"` occurs only between two entries of a page.
 */
import { parseFragmentNumber } from '../protocol/fragmentNumbers.js';
import { ENTRY_START } from '../protocol/fragmentEntry.js';
import type { TimestampKind } from '../storage/catalog.js';

const BETWEEN_ENTRIES = Buffer.from(`,${ENTRY_START}`);
const ENTRY_START_BYTES = Buffer.from(ENTRY_START);
const PRODUCER = Buffer.from('"ProducerTimestamp":');
const SERVER = Buffer.from('"ServerTimestamp":');

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
