/**
 * What happens in the archive, as typed events: the seam between what changes the archive (ingest, the
 * stream registry) and what waits for changes (GetMedia's live follow, the visibility delay of listings,
 * the stream-lookup cache of ListFragments).
 *
 * The in-process implementation below delivers synchronously, in publication order, to the listeners of
 * this process. A networked implementation (e.g. PostgreSQL LISTEN/NOTIFY, so that several nodes over one
 * catalog hear each other) must guarantee:
 * - at-least-once delivery to every subscriber that was subscribed when the event was published, and per
 *   stream in publication order; duplicates are harmless (followers drop seqs already sent, caches forget
 *   twice);
 * - that an event is published only after the change it announces is readable from the catalog (the
 *   commit happened), so a subscriber that re-reads the catalog on an event sees the change.
 * Subscribers never trust an event alone: they re-check the catalog (follow() reads fragments from it and
 * polls it, the stream cache expires its entries after a second), so a lost event only delays.
 */
import { EventEmitter } from 'node:events';
import type { FragmentRecord, StreamRecord } from '../storage/catalog.js';

export interface ArchiveEventMap {
  /** A fragment is durable and in the catalog (PERSISTED was or is about to be acknowledged). */
  fragmentPersisted: { stream: StreamRecord; fragment: FragmentRecord };
  /**
   * A fragment was received on a stream that retains nothing and sits in the live buffer: readable by
   * live readers (GetMedia) only, never persisted.
   */
  fragmentBuffered: { streamId: number; seq: number };
  /** A stream was created or its metadata changed (UpdateStream, UpdateDataRetention); the new record. */
  streamChanged: { stream: StreamRecord };
  /** A stream was deleted (its fragments go with the background purge); the record as it was. */
  streamDeleted: { stream: StreamRecord };
}

export type ArchiveEventType = keyof ArchiveEventMap;
export type Listener<K extends ArchiveEventType> = (event: ArchiveEventMap[K]) => void;

/** Every event concerns one stream; this is its id. */
export function streamIdOf<K extends ArchiveEventType>(type: K, event: ArchiveEventMap[K]): number {
  if (type === 'fragmentBuffered') return (event as ArchiveEventMap['fragmentBuffered']).streamId;
  return (event as { stream: StreamRecord }).stream.id;
}

export interface ArchiveEvents {
  publish<K extends ArchiveEventType>(type: K, event: ArchiveEventMap[K]): void;
  /**
   * Calls `listener` for each event of `type` (only those of stream `streamId` when given, without a cost
   * per other stream's event) until the returned function is called.
   */
  subscribe<K extends ArchiveEventType>(type: K, listener: Listener<K>, streamId?: number): () => void;
}

/** The events of one process: synchronous delivery, publication order. */
export class InProcessArchiveEvents implements ArchiveEvents {
  // Any number of GetMedia followers may listen to one stream.
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish<K extends ArchiveEventType>(type: K, event: ArchiveEventMap[K]): void {
    this.emitter.emit(type, event);
    this.emitter.emit(`${type}:${streamIdOf(type, event)}`, event);
  }

  subscribe<K extends ArchiveEventType>(type: K, listener: Listener<K>, streamId?: number): () => void {
    const name = streamId === undefined ? type : `${type}:${streamId}`;
    this.emitter.on(name, listener);
    return () => {
      this.emitter.off(name, listener);
    };
  }
}
