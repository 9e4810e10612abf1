/**
 * Media on the local file system: <root>/<streamId>/<segment>.seg, append-only. A crash can leave bytes
 * after the last fragment the catalog knows of; nothing points at them, so they are never served, and
 * they go with the segment when it is removed. Stream ids and segment ids are integers from the
 * catalog, so no client-supplied name ever becomes part of a path.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { MediaStore, SegmentWriter } from './mediaStore.js';

/** Appends are gathered into 256 KiB writes; every operation runs in order on one chain. */
const WRITE_BUFFER_BYTES = 256 * 1024;

class LocalSegmentWriter implements SegmentWriter {
  position = 0;
  private buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  private buffered = 0;
  private written = 0;
  private synced = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly segment: number, private readonly fh: FileHandle) {}

  private serial(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op);
    // A failure is reported to its caller; the chain itself goes on.
    this.chain = next.catch(() => undefined);
    return next;
  }

  append(bytes: Buffer): Promise<void> {
    this.position += bytes.length;
    return this.serial(async () => {
      if (this.buffered + bytes.length > WRITE_BUFFER_BYTES) await this.flush();
      if (bytes.length >= WRITE_BUFFER_BYTES) {
        await this.writeAll(bytes);
      } else {
        bytes.copy(this.buffer, this.buffered);
        this.buffered += bytes.length;
      }
    });
  }

  private async flush() {
    if (this.buffered === 0) return;
    const pending = this.buffered;
    this.buffered = 0;
    await this.writeAll(this.buffer.subarray(0, pending));
  }

  private async writeAll(bytes: Buffer) {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.written);
      done += bytesWritten;
      this.written += bytesWritten;
    }
  }

  sync(): Promise<void> {
    return this.serial(async () => {
      await this.flush();
      if (this.synced === this.written) return;
      const upTo = this.written;
      await this.fh.datasync();
      this.synced = upTo;
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      await this.flush();
      await this.fh.close();
    });
  }
}

export class LocalMediaStore implements MediaStore {
  private readonly madeDirs = new Set<number>();
  constructor(private readonly root: string) {}

  private dir(streamId: number) { return join(this.root, String(streamId)); }
  private file(streamId: number, segment: number) { return join(this.dir(streamId), `${segment}.seg`); }

  async createSegment(streamId: number, segment: number): Promise<SegmentWriter> {
    if (!this.madeDirs.has(streamId)) {
      await mkdir(this.dir(streamId), { recursive: true });
      this.madeDirs.add(streamId);
    }
    // 'wx': a segment id is never reused, so an existing file means something is badly wrong.
    const fh = await open(this.file(streamId, segment), 'wx');
    // The new directory entry must be durable too before any fragment in it is acknowledged.
    const dir = await open(this.dir(streamId), 'r');
    try { await dir.sync(); } finally { await dir.close(); }
    return new LocalSegmentWriter(segment, fh);
  }

  read(streamId: number, segment: number, offset: number, length: number): Readable {
    return createReadStream(this.file(streamId, segment), { start: offset, end: offset + length - 1, highWaterMark: 256 * 1024 });
  }

  async readBuffer(streamId: number, segment: number, offset: number, length: number) {
    const fh = await open(this.file(streamId, segment), 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`segment ${streamId}/${segment} is shorter than the catalog says`);
        done += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  async removeSegments(streamId: number, segments: number[]) {
    for (const s of segments) await unlink(this.file(streamId, s)).catch(() => undefined);
  }

  async removeStream(streamId: number) {
    this.madeDirs.delete(streamId);
    await rm(this.dir(streamId), { recursive: true, force: true });
  }

  async close() {}
}
