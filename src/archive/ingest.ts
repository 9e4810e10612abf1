/**
 * PutMedia ingest, free of HTTP: MKV bytes in, fragments and acknowledgements out.
 * Each Cluster is one fragment. Its bytes are appended to the session's segment as they arrive (never
 * held whole in memory); when the cluster ends it is RECEIVED, and once the group committer has synced
 * its bytes and committed its row it is PERSISTED (only on streams that retain data).
 */
import { randomInt } from 'node:crypto';
import { MkvError, MkvReader, type MkvEvent, type TrackHeader } from '../mkv/index.js';
import { renderEntry } from './listingEntry.js';
import type { Catalog, FragmentRecord, StreamRecord } from '../storage/catalog.js';
import type { MediaStore, SegmentWriter } from '../storage/mediaStore.js';
import type { Committer } from './committer.js';
import { formatFragmentNumber } from './fragmentNumbers.js';
import type { SequenceAllocator } from './sequence.js';
import { encodeTrackHeader } from './trackHeaders.js';
import type { BufferedFragment, LiveReservation } from './liveBuffer.js';
import { FragmentMemory } from './fragmentMemory.js';

/** ErrorId → ErrorCode of PutMedia's ERROR acknowledgements (spec §6.3). */
export const ACK_ERRORS = {
  4001: 'MAX_FRAGMENT_SIZE_REACHED',
  4002: 'MAX_FRAGMENT_DURATION_REACHED',
  4003: 'MAX_CONNECTION_DURATION_REACHED',
  4004: 'FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS',
  4006: 'INVALID_MKV_DATA',
  4008: 'STREAM_NOT_ACTIVE',
  4010: 'TRACK_NUMBER_MISMATCH',
  4011: 'FRAMES_MISSING_FOR_TRACK',
  4012: 'MORE_THAN_ALLOWED_TRACKS_FOUND',
  5000: 'INTERNAL_ERROR',
  5001: 'ARCHIVAL_ERROR',
} as const;
export type AckErrorId = keyof typeof ACK_ERRORS;

export type Ack =
  | { EventType: 'BUFFERING' | 'RECEIVED' | 'PERSISTED'; FragmentTimecode: number; FragmentNumber: string }
  | { EventType: 'ERROR'; FragmentTimecode: number; FragmentNumber: string; ErrorId: AckErrorId; ErrorCode: string }
  | { EventType: 'IDLE' };

export const LIMITS = {
  maxFragmentBytes: 50 * 1024 * 1024,
  maxFragmentMs: 10_000,
  maxTracks: 3,
  /** A session starts a new segment file past this size, at a fragment boundary. */
  segmentBytes: 256 * 1024 * 1024,
};

export interface IngestDeps {
  catalog: Catalog;
  media: MediaStore;
  committer: Committer;
  sequence: SequenceAllocator;
  activeSegments: Set<number>;
  /** Told of each persisted fragment (live readers follow the stream with it). */
  onPersisted(stream: StreamRecord, fragment: FragmentRecord): void;
  /** Told of each received fragment of a stream that retains nothing, with its bytes (GetMedia's host buffer). */
  onBuffered(stream: StreamRecord, fragment: BufferedFragment): void;
  /** Holds the bytes of a fragment being received for the host buffer against its global cap. */
  reserveLive(): LiveReservation;
  /** The server log: an ERROR acknowledgement carries only a code, the log says what was wrong. */
  log(event: Record<string, unknown>): void;
}

export interface SessionOptions {
  stream: StreamRecord;
  timecodeType: 'ABSOLUTE' | 'RELATIVE';
  /** Required for RELATIVE: producer timestamp = start + cluster timecode. */
  producerStartMs?: number;
}

interface OpenFragment {
  seq: number;
  nonce: number;
  number: string;
  serverMs: number;
  offset: number;
  size: number;
  timecode?: number;
  firstFrameMs?: number;
  lastFrameMs?: number;
  tracksSeen: Set<number>;
  /** An ERROR was sent for this fragment: its remaining bytes are dropped. */
  failed: boolean;
  /** On streams that retain nothing: the cluster's bytes, kept for the host buffer. */
  memory?: FragmentMemory;
}

class FatalIngestError extends Error {
  constructor(readonly errorId: AckErrorId, message: string) { super(message); }
}

export class IngestSession {
  private readonly reader = new MkvReader();
  private readonly persist: boolean;
  private header?: { info: TrackHeader; id: number; bytes: Buffer };
  private writer?: SegmentWriter;
  private fragment?: OpenFragment;
  private previousLastFrameMs = -Infinity;
  private readonly commits = new Set<Promise<void>>();
  private fatal = false;

  constructor(private readonly deps: IngestDeps, private readonly opts: SessionOptions, private readonly ack: (a: Ack) => void) {
    this.persist = opts.stream.retentionHours > 0;
  }

  /** True once a fatal error was acknowledged: the caller stops reading and ends the response. */
  get closed() { return this.fatal; }

  /** Feeds the next bytes of the body; `arrivalMs` is when they arrived (server timestamps). */
  async push(chunk: Buffer, arrivalMs: number): Promise<void> {
    if (this.fatal) return;
    await this.guard(() => this.handleAll(() => this.reader.push(chunk), arrivalMs));
  }

  /**
   * Handles the events `read` returns. If it throws MkvError, the events the input completed before the
   * invalid bytes are handled first (a cluster that ended just before garbage in the same chunk is still
   * a fragment), then the error goes on to guard() as 4006.
   */
  private async handleAll(read: () => MkvEvent[], arrivalMs: number) {
    let events: MkvEvent[];
    try {
      events = read();
    } catch (err) {
      if (err instanceof MkvError) await this.handleEach(err.events, arrivalMs);
      throw err;
    }
    await this.handleEach(events, arrivalMs);
  }

  /**
   * One chunk can hold many clusters, and handling them awaits (sequence numbers, segment writes): an abort
   * from outside (stream deleted, shutdown) can land in between. From then on nothing more is handled: no
   * acknowledgement after the ERROR, and no commit of a deleted stream's fragment racing its purge.
   */
  private async handleEach(events: MkvEvent[], arrivalMs: number) {
    for (const ev of events) {
      if (this.fatal) return;
      await this.handle(ev, arrivalMs);
    }
  }

  /** End of body: closes an open unknown-size cluster, then waits for every commit. */
  async finish(): Promise<void> {
    if (!this.fatal) {
      await this.guard(() => this.handleAll(() => this.endOfBody(), Date.now()));
    }
    await this.close();
  }

  /**
   * The reader's end of input. An unknown-size cluster cut inside a frame is not a fragment: storing it would
   * serve a truncated frame. It becomes a 4006 for that fragment, after the events before it.
   */
  private endOfBody(): MkvEvent[] {
    const events = this.reader.end();
    if (!this.reader.endedInsideElement) return events;
    const err = new MkvError('the body ends inside an element of the last (unknown-size) Cluster');
    err.events = events.slice(0, events.findLastIndex((e) => e.kind === 'clusterEnd'));
    throw err;
  }

  /** Ends the session from outside (stream deleted, server shutting down). */
  async abort(errorId?: AckErrorId, message = '') {
    if (errorId !== undefined && !this.fatal) this.sendError(errorId, this.fragment, message);
    this.fatal = true;
    await this.close();
  }

  /** Waits for every commit (a segment's fragments are durable before its file closes), then closes it. */
  private async close() {
    this.fragment?.memory?.giveUp();
    while (this.commits.size > 0) await Promise.allSettled([...this.commits]);
    const w = this.writer;
    if (!w) return;
    this.writer = undefined;
    await w.close().catch(() => undefined);
    this.deps.activeSegments.delete(w.segment);
  }

  private async guard(work: () => Promise<void>) {
    try {
      await work();
    } catch (err) {
      // Work that was in flight when the session was aborted may fail (its segment was closed): the abort's
      // ERROR already ended the session.
      if (this.fatal) return;
      if (err instanceof MkvError) this.sendError(4006, this.fragment, err.message);
      else if (err instanceof FatalIngestError) this.sendError(err.errorId, this.fragment, err.message);
      else this.sendError(5000, this.fragment, String(err));
      this.fatal = true;
    }
  }

  private sendError(errorId: AckErrorId, f: OpenFragment | undefined, message: string) {
    if (f) f.failed = true;
    this.deps.log({
      level: 'warn', msg: 'PutMedia ERROR acknowledgement', stream: this.opts.stream.name, errorId,
      fragmentNumber: f?.number ?? '', detail: message,
    });
    this.ack({
      EventType: 'ERROR',
      FragmentTimecode: f?.timecode ?? -1,
      FragmentNumber: f?.number ?? '',
      ErrorId: errorId,
      ErrorCode: ACK_ERRORS[errorId],
    });
  }

  private async handle(ev: MkvEvent, arrivalMs: number) {
    switch (ev.kind) {
      case 'header': return this.onHeader(ev.header);
      case 'clusterStart': return this.onClusterStart(arrivalMs);
      case 'clusterTimecode': return this.onTimecode(ev.timecode);
      case 'frame': return this.onFrame(ev.track, ev.relativeTimecode);
      case 'clusterData': return this.onData(ev.bytes);
      case 'clusterEnd': return this.onClusterEnd();
      case 'tags': return; // producer metadata between clusters: accepted, not stored
    }
  }

  private async onHeader(info: TrackHeader) {
    if (info.trackEntries.length > LIMITS.maxTracks) {
      throw new FatalIngestError(4012, `${info.trackEntries.length} tracks; at most ${LIMITS.maxTracks} are allowed`);
    }
    const bytes = encodeTrackHeader(info.ebmlHeader, info.info, info.tracks);
    if (this.header?.bytes.equals(bytes)) return;
    const id = this.persist ? await this.deps.catalog.addTrackHeader(this.opts.stream.id, bytes) : 0;
    this.header = { info, id, bytes };
  }

  private async onClusterStart(arrivalMs: number) {
    if (!this.header) throw new MkvError('a Cluster arrived before the Tracks header');
    if (this.persist) await this.ensureWriter();
    const seq = await this.deps.sequence.take();
    const nonce = randomInt(1 << 28);
    this.fragment = {
      seq, nonce, number: formatFragmentNumber({ seq, serverMs: arrivalMs, nonce }), serverMs: arrivalMs,
      offset: this.writer?.position ?? 0, size: 0, tracksSeen: new Set(), failed: false,
      ...(!this.persist && { memory: new FragmentMemory(this.deps.reserveLive(), LIMITS.maxFragmentBytes) }),
    };
  }

  private async ensureWriter() {
    if (this.writer && this.writer.position < LIMITS.segmentBytes) return;
    await this.close(); // rotate: a session starts a new segment past LIMITS.segmentBytes
    const { stream } = this.opts;
    const segment = await this.deps.catalog.newSegment(stream.id);
    this.deps.activeSegments.add(segment);
    this.writer = await this.deps.media.createSegment(stream.id, segment);
  }

  private onTimecode(timecode: number) {
    const f = this.fragment!;
    f.timecode = timecode;
    this.ack({ EventType: 'BUFFERING', FragmentTimecode: timecode, FragmentNumber: f.number });
  }

  private toMs(timecode: number) {
    return Math.round((timecode * this.header!.info.timecodeScaleNs) / 1e6);
  }

  private onFrame(track: number, relativeTimecode: number) {
    const f = this.fragment!;
    if (f.timecode === undefined) throw new MkvError('a frame arrived before the Cluster Timecode');
    if (f.failed) return;
    if (!this.header!.info.trackEntries.some((t) => t.number === track)) {
      return this.sendError(4010, f, `frame on track ${track}, which the Tracks header does not declare`);
    }
    const ms = this.toMs(f.timecode + relativeTimecode);
    if (f.firstFrameMs === undefined) {
      if (ms <= this.previousLastFrameMs) {
        return this.sendError(4004, f, `first frame at ${ms} ms is not after the previous fragment's last frame`);
      }
      f.firstFrameMs = ms;
    }
    if (ms - f.firstFrameMs > LIMITS.maxFragmentMs) {
      return this.sendError(4002, f, `fragment longer than ${LIMITS.maxFragmentMs} ms`);
    }
    f.lastFrameMs = Math.max(f.lastFrameMs ?? ms, ms);
    f.tracksSeen.add(track);
  }

  private async onData(bytes: Buffer) {
    const f = this.fragment!;
    f.size += bytes.length;
    if (f.failed) return;
    if (f.size > LIMITS.maxFragmentBytes) return this.sendError(4001, f, `fragment larger than ${LIMITS.maxFragmentBytes} bytes`);
    if (this.writer) await this.writer.append(bytes);
    else if (f.memory && !f.memory.push(bytes)) {
      // Fragments in progress fill the host buffer's cap: this one is still RECEIVED, but not buffered.
      this.deps.log({ level: 'warn', msg: 'live buffer full: a fragment is not buffered', stream: this.opts.stream.name, fragmentNumber: f.number });
      f.memory = undefined;
    }
  }

  private onClusterEnd() {
    const f = this.fragment!;
    this.fragment = undefined;
    // From here on its bytes are buffered (and counted there) or dropped.
    const cluster = f.memory?.finish();
    if (f.failed) return;
    if (f.timecode === undefined) throw new MkvError('a Cluster without a Timecode');
    const missing = this.header!.info.trackEntries.find((t) => !f.tracksSeen.has(t.number));
    if (missing) return this.sendError(4011, f, `no frame for track ${missing.number}`);
    this.previousLastFrameMs = f.lastFrameMs!;
    this.ack({ EventType: 'RECEIVED', FragmentTimecode: f.timecode, FragmentNumber: f.number });
    const { stream, timecodeType, producerStartMs } = this.opts;
    const timecodeMs = this.toMs(f.timecode);
    const producerMs = timecodeType === 'RELATIVE' ? producerStartMs! + timecodeMs : timecodeMs;
    if (!this.writer) {
      if (cluster) {
        this.deps.onBuffered(stream, {
          seq: f.seq, nonce: f.nonce, serverMs: f.serverMs, producerMs, header: this.header!.bytes, cluster, size: f.size,
        });
      }
      return;
    }

    const fields = {
      seq: f.seq, producerMs, serverMs: f.serverMs, lengthMs: f.lastFrameMs! - f.firstFrameMs!, size: f.size, nonce: f.nonce,
    };
    const row: FragmentRecord = {
      streamId: stream.id, ...fields, headerId: this.header!.id, segment: this.writer.segment, offset: f.offset,
      entry: renderEntry(fields, f.number),
    };
    const commit = this.deps.committer.commit(this.writer, row).then(
      () => {
        this.ack({ EventType: 'PERSISTED', FragmentTimecode: f.timecode!, FragmentNumber: f.number });
        this.deps.onPersisted(stream, row);
      },
      (err: unknown) => this.sendError(5001, { ...f, failed: false }, String(err)),
    ).finally(() => this.commits.delete(commit));
    this.commits.add(commit);
  }
}
