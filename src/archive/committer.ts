/**
 * Group commit. A fragment is PERSISTED only when its bytes are fsynced and its catalog row is committed.
 * Fragments that complete while a commit is in flight wait for the next one, which then syncs every
 * segment they touched once and inserts all their rows in one transaction: with many producers,
 * durability costs one round of fsyncs per batch, not one per fragment.
 *
 * A batch mixes fragments of every stream and session, so a failure must stay with the fragments it
 * concerns: a segment whose sync fails fails only the fragments in that segment, and a transaction that
 * fails is retried in halves, so that a row the catalog refuses fails alone and the rest commit.
 */
import type { Catalog, FragmentRecord } from '../storage/catalog.js';
import type { SegmentWriter } from '../storage/mediaStore.js';

interface Pending {
  writer: SegmentWriter;
  row: FragmentRecord;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Committer {
  private queue: Pending[] = [];
  private running = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(private readonly catalog: Catalog) {}

  /** Resolves when the fragment is durable: its bytes synced and its row committed. */
  commit(writer: SegmentWriter, row: FragmentRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ writer, row, resolve, reject });
      if (!this.running) this.run();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  drained(): Promise<void> {
    return this.running ? this.idle : Promise.resolve();
  }

  private run() {
    this.running = true;
    this.idle = new Promise((resolve) => {
      this.markIdle = resolve;
    });
    void (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        const synced = await this.syncSegments(batch);
        await this.insert(synced);
      }
      this.running = false;
      this.markIdle();
    })();
  }

  /** Syncs each segment of the batch once; rejects the fragments of the segments that failed, returns the rest. */
  private async syncSegments(batch: Pending[]): Promise<Pending[]> {
    const writers = [...new Set(batch.map((p) => p.writer))];
    const outcomes = await Promise.allSettled(writers.map((w) => w.sync()));
    const failures = new Map<SegmentWriter, unknown>();
    outcomes.forEach((o, i) => {
      if (o.status === 'rejected') failures.set(writers[i]!, o.reason);
    });
    if (failures.size === 0) return batch;
    const synced: Pending[] = [];
    for (const p of batch) {
      if (failures.has(p.writer)) p.reject(failures.get(p.writer));
      else synced.push(p);
    }
    return synced;
  }

  /** Inserts the rows in one transaction; if it fails, each half again, down to the row that fails alone. */
  private async insert(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      await this.catalog.insertFragments(batch.map((p) => p.row));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      const half = Math.ceil(batch.length / 2);
      await this.insert(batch.slice(0, half));
      await this.insert(batch.slice(half));
      return;
    }
    for (const p of batch) p.resolve();
  }
}
