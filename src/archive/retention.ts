/**
 * The retention horizon: the one place that says which fragments a stream still keeps. Listings and
 * readers skip fragments older than it at once; the background sweep (Archive.expireAll) deletes them later.
 */
import type { StreamRecord } from '../storage/catalog.js';

const HOUR_MS = 3_600_000;

/**
 * The oldest server timestamp (epoch ms) a stream keeps at `now`: a fragment with serverMs below it has
 * expired. A stream that retains nothing (0 hours) keeps nothing in the catalog: its horizon is `now`.
 */
export function retentionHorizon(stream: Pick<StreamRecord, 'retentionHours'>, now: number): number {
  return now - stream.retentionHours * HOUR_MS;
}
