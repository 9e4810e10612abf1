/**
 * Media on the local file system: <root>/<streamId>/<segment>.seg, append-only. A crash can leave bytes
 * after the last fragment the catalog knows of; nothing points at them, so they are never served, and
 * they go with the segment when it is removed. Stream ids and segment ids are integers from the
 * catalog, so no client-supplied name ever becomes part of a path.
 */
import { mkdir, open, rm, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { checkReadRange, MediaUnavailableError, type MediaStore, type SegmentWriter } from './mediaStore.js';

/**
 * Appends are gathered into positional writes of at least 256 KiB, written with one pwritev of the
 * appended buffers themselves: no copy, no fresh 256 KiB buffer per write (at 1000 producers those copies
 * and allocations were most of ingest's garbage). Appended buffers must not change afterwards; PutMedia's
 * are views of the request's received chunks, which nothing writes to. Writes at distinct offsets need no
 * ordering, so an append never waits for a sync in progress: sync() hands off what is gathered, waits for
 * the writes issued so far, then fdatasyncs. Ingest keeps reading while the previous fragment is made durable.
 *
 * A failed write or fdatasync (ENOSPC, EIO) is sticky: the file's content past the last good sync is
 * unknown from then on (a failed write may hold the head of a fragment whose tail a later write would put
 * after a hole), so every later append and sync rejects with that failure, and close() writes nothing more.
 */
const WRITE_BUFFER_BYTES = 256 * 1024;

class LocalSegmentWriter implements SegmentWriter {
  position = 0;
  private gathered: Buffer[] = [];
  private buffered = 0;
  /** File offset where the first gathered byte goes. */
  private bufferStart = 0;
  private readonly writes = new Set<Promise<void>>();
  private syncing: Promise<void> = Promise.resolve();
  /** The first write or sync that failed: the writer is unusable from then on. */
  private failure: Error | undefined;

  constructor(
    readonly segment: number,
    private readonly fh: FileHandle,
  ) {}

  private fail(err: unknown): Error {
    this.failure ??= err instanceof Error ? err : new Error(String(err));
    return this.failure;
  }

  private checkUsable() {
    if (this.failure) throw new SegmentFailedError(this.segment, this.failure);
  }

  async append(bytes: Buffer): Promise<void> {
    this.checkUsable();
    if (bytes.length === 0) return;
    this.gathered.push(bytes);
    this.buffered += bytes.length;
    this.position += bytes.length;
    if (this.buffered >= WRITE_BUFFER_BYTES) await this.handOff();
  }

  /** Starts writing the gathered bytes; resolves when they are written. */
  private handOff(): Promise<void> {
    if (this.buffered === 0) return Promise.resolve();
    const data = this.gathered;
    const at = this.bufferStart;
    this.gathered = [];
    this.bufferStart += this.buffered;
    this.buffered = 0;
    return this.write(data, at);
  }

  private write(data: Buffer[], at: number): Promise<void> {
    const p = (async () => {
      this.checkUsable();
      let rest = data;
      let position = at;
      try {
        while (rest.length > 0) {
          const { bytesWritten } = await this.fh.writev(rest, position);
          if (bytesWritten === 0) throw new Error(`segment ${this.segment}: the file system wrote nothing`);
          position += bytesWritten;
          rest = skipBytes(rest, bytesWritten);
        }
      } catch (err) {
        throw this.fail(err);
      }
    })();
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p)).catch(() => undefined);
    return p;
  }

  sync(): Promise<void> {
    if (this.failure) return Promise.reject(new SegmentFailedError(this.segment, this.failure));
    void this.handOff().catch(() => undefined); // its failure is sticky: seen below
    const issued = [...this.writes];
    // One fdatasync at a time; each covers every write that completed before it started.
    const next = this.syncing
      .catch(() => undefined)
      .then(async () => {
        await Promise.all(issued);
        // A write that failed before this sync was asked for left the file with unknown content.
        this.checkUsable();
        try {
          await this.fh.datasync();
        } catch (err) {
          throw this.fail(err);
        }
      });
    this.syncing = next;
    return next;
  }

  async close(): Promise<void> {
    if (!this.failure) await this.handOff().catch(() => undefined);
    await Promise.allSettled([...this.writes, this.syncing]);
    await this.fh.close();
  }
}

/** Every use of a segment writer after one of its writes or syncs failed. */
export class SegmentFailedError extends Error {
  constructor(
    segment: number,
    readonly failure: Error,
  ) {
    super(`segment ${segment} is unusable after a failed write: ${failure.message}`);
  }
}

/** What is left of `chunks` after their first `n` bytes (a short write). */
export function skipBytes(chunks: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < chunks.length && n >= chunks[i]!.length) n -= chunks[i++]!.length;
  if (i === chunks.length) return [];
  return [chunks[i]!.subarray(n), ...chunks.slice(i + 1)];
}

/** fsyncs a directory, so that the entries created in it are durable. */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class LocalMediaStore implements MediaStore {
  private readonly madeDirs = new Set<number>();
  /** `syncDir` is replaceable so that a test can see which directories are synced, and when. */
  constructor(
    private readonly root: string,
    private readonly syncDir: (path: string) => Promise<void> = syncDirectory,
  ) {}

  private dir(streamId: number) {
    return join(this.root, String(streamId));
  }
  private file(streamId: number, segment: number) {
    return join(this.dir(streamId), `${segment}.seg`);
  }

  /**
   * mkdir -p, then an fsync of the parent of every directory it created (media/ in the data directory the
   * first time, <streamId>/ in media/): a new directory's entry is not durable until its parent is synced.
   * The stream directory's parent is synced even when the directory already existed: it may have been made
   * by a process that died (or whose sync failed) before syncing it. That is one fsync per stream and start.
   */
  private async makeDirectory(path: string) {
    const first = await mkdir(path, { recursive: true });
    const parents: string[] = [];
    if (first !== undefined) {
      for (let p = path; p !== first && dirname(p) !== p; p = dirname(p)) parents.unshift(dirname(p));
      parents.unshift(dirname(first));
    }
    if (parents.at(-1) !== dirname(path)) parents.push(dirname(path));
    for (const dir of parents) await this.syncDir(dir);
  }

  async createSegment(streamId: number, segment: number): Promise<SegmentWriter> {
    if (!this.madeDirs.has(streamId)) {
      await this.makeDirectory(this.dir(streamId));
      this.madeDirs.add(streamId);
    }
    // 'wx': a segment id is never reused, so an existing file means something is badly wrong.
    const fh = await open(this.file(streamId, segment), 'wx');
    try {
      // The new directory entry must be durable too before any fragment in it is acknowledged.
      await this.syncDir(this.dir(streamId));
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new LocalSegmentWriter(segment, fh);
  }

  async read(streamId: number, segment: number, offset: number, length: number): Promise<Readable> {
    // Before open: createReadStream would throw a RangeError for these only after the file was opened.
    checkReadRange(streamId, segment, offset, length);
    const where = `segment ${streamId}/${segment} bytes ${offset}..${offset + length}`;
    let fh: FileHandle;
    try {
      fh = await open(this.file(streamId, segment), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new MediaUnavailableError(`${where}: no such segment file`);
      throw err;
    }
    try {
      // Checked on the handle that is then read: once sized, the bytes stay readable even if the file is unlinked.
      const { size } = await fh.stat();
      if (size < offset + length) throw new MediaUnavailableError(`${where}: the file holds only ${size} bytes`);
      return fh.createReadStream({
        start: offset,
        end: offset + length - 1,
        highWaterMark: 256 * 1024,
        autoClose: true,
      });
    } catch (err) {
      // Until the stream owns the handle (autoClose), it is ours to close.
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  // No directory fsync after removing: a file that power loss brings back is one no catalog row points at
  // (mediaStore.ts says so), and a sync per removal would cost retention a disk flush per segment.
  async removeSegments(streamId: number, segments: number[]) {
    for (const s of segments) await unlink(this.file(streamId, s)).catch(() => undefined);
  }

  async removeStream(streamId: number) {
    this.madeDirs.delete(streamId);
    await rm(this.dir(streamId), { recursive: true, force: true });
  }

  async close() {}
}
