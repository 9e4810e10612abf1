/**
 * Eventual consistency, as AWS documents it for ListFragments: "even if the producer receives an
 * acknowledgment that a fragment is persisted, the result might not be returned immediately". A fragment
 * becomes listable a delay after its PERSISTED acknowledgement (--visibility-delay-ms: a fixed delay, or
 * MIN-MAX for a random one; --mode aws defaults to 0-1000). A walk whose cursor passes a fragment while it
 * is still hidden does not list it (as on AWS, a listing that raced the fragment misses it); a new listing
 * does. The gate serves both modes: DelayedListing here for the sorted default, UnorderedListing for aws.
 */
import { randomInt } from 'node:crypto';
import type { StreamRecord } from '../storage/catalog.js';
import type { FragmentListing, FragmentPage, Selector } from './fragmentListing.js';
import type { SortedListing } from './sortedListing.js';

/** A delay in ms: fixed, or drawn uniformly from [min, max] for each fragment. */
export interface DelaySpec {
  min: number;
  max: number;
}

/** "1500" → {1500, 1500}; "0-1000" → {0, 1000}. */
export function parseDelaySpec(text: string): DelaySpec | undefined {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] !== undefined ? Number(m[2]) : min;
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min || max > 3_600_000) return undefined;
  return { min, max };
}

/** Fragments hidden from listings for a while after PERSISTED. */
export class VisibilityGate {
  /** streamId → seq → epoch ms when it becomes visible. */
  private readonly hidden = new Map<number, Map<number, number>>();
  private lastSweep = 0;

  constructor(
    private readonly delay: DelaySpec,
    private readonly now: () => number = Date.now,
  ) {}

  /** Called when a fragment is PERSISTED. */
  persisted(streamId: number, seq: number) {
    const d = this.delay.min === this.delay.max ? this.delay.min : randomInt(this.delay.min, this.delay.max + 1);
    if (d <= 0) return;
    const now = this.now();
    let m = this.hidden.get(streamId);
    if (!m) this.hidden.set(streamId, (m = new Map()));
    m.set(seq, now + d);
    if (now - this.lastSweep > 10_000) this.sweep(now);
  }

  isVisible(streamId: number, seq: number, now = this.now()): boolean {
    const m = this.hidden.get(streamId);
    const at = m?.get(seq);
    if (at === undefined) return true;
    if (now < at) return false;
    m!.delete(seq);
    if (m!.size === 0) this.hidden.delete(streamId);
    return true;
  }

  filter<T extends { seq: number }>(streamId: number, rows: T[], now = this.now()): T[] {
    return this.hidden.has(streamId) ? rows.filter((r) => this.isVisible(streamId, r.seq, now)) : rows;
  }

  private sweep(now: number) {
    this.lastSweep = now;
    for (const [id, m] of this.hidden) {
      for (const [seq, at] of m) if (at <= now) m.delete(seq);
      if (m.size === 0) this.hidden.delete(id);
    }
  }
}

/** The sorted listing with the visibility delay (--visibility-delay-ms in the default mode). */
export class DelayedListing implements FragmentListing {
  constructor(
    private readonly sorted: SortedListing,
    private readonly gate: VisibilityGate,
  ) {}

  list(
    stream: StreamRecord,
    selector: Selector | undefined,
    nextToken: string | undefined,
    limit: number,
    now = Date.now(),
  ): Promise<FragmentPage> {
    return this.sorted.list(stream, selector, nextToken, limit, now, (id, rows) => this.gate.filter(id, rows));
  }
}
