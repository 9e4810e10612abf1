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
  append(bytes: Buffer): Promise<void>;
  /** Makes everything appended so far durable (fsync). */
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
  readBuffer(streamId: number, segment: number, offset: number, length: number): Promise<Buffer>;
  removeSegments(streamId: number, segments: number[]): Promise<void>;
  removeStream(streamId: number): Promise<void>;
  close(): Promise<void>;
}

/** The bytes a catalog row points at are not in the media store. */
export class MediaUnavailableError extends Error {}
