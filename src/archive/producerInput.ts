/**
 * What kvsd refuses from a producer before anything is stored: a Tracks header it cannot use, and
 * timestamps the clients that read them back cannot represent. Both are the producer's fault (4xxx
 * acknowledgements), never an archival error.
 */
import { MkvError, type TrackHeader } from '../mkv/index.js';

/**
 * The producer timestamps kvsd stores: from the epoch to the last millisecond of year 9999. botocore (boto3,
 * the AWS CLI) parses response timestamps into Python datetimes, which end with year 9999 ("year 10000 is out
 * of range"); the JS SDK's Date would go further, but one stream is read by every client.
 */
export const MIN_PRODUCER_MS = 0;
export const MAX_PRODUCER_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isStorableTimestamp(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= MIN_PRODUCER_MS && ms <= MAX_PRODUCER_MS;
}

export const TIMESTAMP_RANGE_TEXT = `between ${new Date(MIN_PRODUCER_MS).toISOString()} and ${new Date(MAX_PRODUCER_MS).toISOString()}`;

/** Largest TimecodeScale accepted (1 s per tick); Matroska's default is 1 ms (1,000,000 ns). */
const MAX_TIMECODE_SCALE_NS = 1_000_000_000;

/**
 * Throws MkvError (4006 INVALID_MKV_DATA) for a header no fragment could be checked against: no track at
 * all (every cluster would pass the one-frame-per-track check empty, with no frame time to measure), a
 * TimecodeScale of zero or beyond reason, track numbers that are zero, huge or repeated.
 */
export function checkTrackHeader(header: TrackHeader): void {
  if (header.trackEntries.length === 0) throw new MkvError('the Tracks element declares no track');
  const scale = header.timecodeScaleNs;
  if (!Number.isSafeInteger(scale) || scale < 1 || scale > MAX_TIMECODE_SCALE_NS) {
    throw new MkvError(`TimecodeScale ${scale} is not between 1 and ${MAX_TIMECODE_SCALE_NS} ns`);
  }
  const seen = new Set<number>();
  for (const { number } of header.trackEntries) {
    if (!Number.isSafeInteger(number) || number < 1)
      throw new MkvError(`TrackNumber ${number} is not a positive integer`);
    if (seen.has(number)) throw new MkvError(`TrackNumber ${number} is declared twice`);
    seen.add(number);
  }
}
