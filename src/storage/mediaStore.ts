/**
 * The media store holds fragment bytes. Each PutMedia session appends the clusters it receives to a
 * segment of its own (so concurrent sessions on one stream never interleave bytes); the catalog records
 * each fragment's (segment, offset, size), and readers fetch exactly those bytes back.
 *
 * The contract is written so that an object store (S3) can honour it as well as a file system; every
 * implementation must pass test/storage/mediaStore.conformance.ts unchanged.
 *
 * Durable means: once `SegmentWriter.sync()` has resolved, a crash of the process or the machine (kill -9,
 * power loss) loses nothing appended to that writer before the sync was called, and `read` returns those
 * bytes, exactly, from then on (in this process and in any later one that opens the same store), until
 * the segment is removed. Bytes appended but not yet covered by a resolved sync promise nothing: they may be
 * readable, lost after a crash, or unreadable (MediaUnavailableError) even while the process lives.
 * The catalog points only at synced bytes, so readers never ask for others.
 *
 * Ids are the catalog's: stream and segment ids are non-negative safe integers, and a segment id is never
 * created twice (the catalog never hands one out again, even after the segment was removed).
 */
import type { Readable } from 'node:stream';

export interface SegmentWriter {
  readonly segment: number;
  /** Bytes appended so far: the offset the next append lands at (0 for a new segment). */
  readonly position: number;
  /**
   * Appends bytes; `position` advances by `bytes.length` at once (an empty Buffer is allowed and is a no-op).
   * The store may keep the Buffer until the bytes are written, so the caller must not change it afterwards.
   * After any write or sync of the writer failed, this rejects: the writer's content past its last good
   * sync is unknown, so nothing more may be stored in it (the caller starts a new segment).
   */
  append(bytes: Buffer): Promise<void>;
  /**
   * Makes everything appended before this call durable (see above). Rejects if any write of those bytes,
   * or any earlier write or sync of the writer, failed: a resolved sync means every byte appended before
   * it survives a crash. Appends may go on while a sync is in progress; they are not covered by it.
   */
  sync(): Promise<void>;
  /**
   * Releases the writer; no append or sync may follow. Close is not a sync: it promises nothing about
   * bytes appended after the last resolved sync (the local store writes them if the writer is still
   * usable, without making them durable). It does not reject for an earlier write failure.
   */
  close(): Promise<void>;
}

export interface MediaStore {
  /** A writer for a new, empty segment. Rejects if the store cannot create it (and, locally, if it exists). */
  createSegment(streamId: number, segment: number): Promise<SegmentWriter>;
  /**
   * Streams `length` bytes at `offset` of a segment, with backpressure: a byte stream (not object mode) that
   * reads ahead about its highWaterMark, not the whole range, when its consumer is slow.
   *
   * Resolves only once all of those bytes are known to be there; rejects with MediaUnavailableError if they
   * are not (a missing segment or stream, or a segment shorter than offset + length), so that a reader can
   * say so before it has written anything of the fragment. A range that a resolved sync covered is always
   * there. Once resolved, the stream yields exactly those `length` bytes, or errors (an I/O failure); it
   * never ends short.
   *
   * Preconditions: streamId, segment and offset are integers >= 0, length is an integer > 0, and
   * offset + length is a safe integer. Otherwise read rejects with a RangeError before touching storage
   * (no file is opened): those are the caller's bugs, not missing media.
   */
  read(streamId: number, segment: number, offset: number, length: number): Promise<Readable>;
  /**
   * Removes segments of a stream; afterwards reading them rejects with MediaUnavailableError. Idempotent:
   * segments (or a stream) that are not there are no error. Retention never removes a segment a writer is
   * still writing; the contract says nothing about such a writer.
   *
   * Whether a removal survives power loss is the backend's to say. The local store's does not: it unlinks
   * without syncing the directory, so after a power loss a removed segment file may be back. No catalog
   * row points at it then, so it is never served; it takes space, and nothing removes it later.
   */
  removeSegments(streamId: number, segments: number[]): Promise<void>;
  /** Removes every segment of a stream, as removeSegments does (idempotent, same durability). */
  removeStream(streamId: number): Promise<void>;
  /** Releases the store; its writers are closed first by their owners. */
  close(): Promise<void>;
}

/** The bytes a catalog row points at are not in the media store. */
export class MediaUnavailableError extends Error {}

/** Checks read's preconditions (see MediaStore.read), so that a backend rejects before it opens anything. */
export function checkReadRange(streamId: number, segment: number, offset: number, length: number): void {
  const bad = (what: string, value: number, rule: string) =>
    new RangeError(`media read: ${what} must be an integer ${rule}, got ${value}`);
  if (!Number.isSafeInteger(streamId) || streamId < 0) throw bad('streamId', streamId, '>= 0');
  if (!Number.isSafeInteger(segment) || segment < 0) throw bad('segment', segment, '>= 0');
  if (!Number.isSafeInteger(offset) || offset < 0) throw bad('offset', offset, '>= 0');
  if (!Number.isSafeInteger(length) || length <= 0) throw bad('length', length, '> 0');
  if (!Number.isSafeInteger(offset + length)) throw bad('offset + length', offset + length, '<= 2^53 - 1');
}
