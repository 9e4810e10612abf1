/**
 * The media store holds fragment bytes. Each PutMedia session appends the clusters it receives to a
 * segment of its own (so concurrent sessions on one stream never interleave bytes); the catalog records
 * each fragment's (segment, offset, size), and readers fetch exactly those bytes back.
 */
import type { Readable } from 'node:stream';

export interface SegmentWriter {
  readonly segment: number;
  /** Bytes written so far: the offset the next append lands at. */
  readonly position: number;
  /**
   * Appends bytes. After any write or sync of the writer failed, this rejects: the writer's content past
   * its last good sync is unknown, so nothing more may be stored in it (the caller starts a new segment).
   */
  append(bytes: Buffer): Promise<void>;
  /**
   * Makes everything appended so far durable (fsync). Rejects if any write of those bytes, or any earlier
   * write or sync of the writer, failed: a resolved sync means every appended byte is on disk.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface MediaStore {
  createSegment(streamId: number, segment: number): Promise<SegmentWriter>;
  /**
   * Streams `length` bytes at `offset` of a segment, with backpressure. Resolves only once all of those
   * bytes are known to be there; rejects with MediaUnavailableError if they are not (a missing or short
   * segment), so that a reader can say so before it has written anything of the fragment.
   */
  read(streamId: number, segment: number, offset: number, length: number): Promise<Readable>;
  removeSegments(streamId: number, segments: number[]): Promise<void>;
  removeStream(streamId: number): Promise<void>;
  close(): Promise<void>;
}

/** The bytes a catalog row points at are not in the media store. */
export class MediaUnavailableError extends Error {}
