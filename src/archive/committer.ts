/**
 * Group commit. A fragment is PERSISTED only when its bytes are fsynced and its catalog row is committed.
 * Fragments that complete while a commit is in flight wait for the next one, which then syncs every
 * segment they touched once and inserts all their rows in one transaction: with many producers,
 * durability costs one round of fsyncs per batch, not one per fragment.
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
  drained(): Promise<void> { return this.running ? this.idle : Promise.resolve(); }

  private run() {
    this.running = true;
    this.idle = new Promise((resolve) => { this.markIdle = resolve; });
    void (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await Promise.all([...new Set(batch.map((p) => p.writer))].map((w) => w.sync()));
          await this.catalog.insertFragments(batch.map((p) => p.row));
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
      this.running = false;
      this.markIdle();
    })();
  }
}
