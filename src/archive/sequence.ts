/**
 * Hands out fragment sequence numbers. Blocks are reserved durably in the catalog, so a number once
 * handed out (even in a BUFFERING ack of a fragment that never persisted) is never handed out again,
 * across crashes and, with a shared catalog, across processes.
 */
import type { Catalog } from '../storage/catalog.js';

const BLOCK = 1000;

export class SequenceAllocator {
  private next = 0;
  private end = 0;
  private refill?: Promise<void>;

  constructor(private readonly catalog: Catalog) {}

  async take(): Promise<number> {
    while (this.next >= this.end) {
      this.refill ??= this.catalog
        .reserveSequence(BLOCK)
        .then((first) => {
          this.next = first;
          this.end = first + BLOCK;
        })
        .finally(() => {
          this.refill = undefined;
        });
      await this.refill;
    }
    return this.next++;
  }
}
