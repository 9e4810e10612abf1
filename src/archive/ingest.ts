/**
 * PutMedia ingest, free of HTTP: MKV bytes in, fragments and acknowledgements out.
 * Each Cluster is one fragment. Its bytes are appended to the session's segment as they arrive (never
 * held whole in memory); when the cluster ends it is RECEIVED, and once the group committer has synced
 * its bytes and committed its row it is PERSISTED (only on streams that retain data).
 *
 * A failed write or commit (disk full, I/O error) is ERROR 5001 ARCHIVAL_ERROR and ends the session, as AWS
 * does: the segment's content is unknown from then on, so every fragment of the session not yet PERSISTED
 * gets 5001 and nothing more is stored in that segment; the producer reconnects for a new one. 5000
 * INTERNAL_ERROR is left for kvsd's own bugs; what the producer got wrong is a 4xxx.
 */
import { randomInt } from 'node:crypto';
import { MkvError, MkvReader, type MkvEvent, type TrackHeader } from '../mkv/index.js';
import { renderEntry } from '../protocol/fragmentEntry.js';
import type { Catalog, FragmentRecord, StreamRecord } from '../storage/catalog.js';
import type { MediaStore, SegmentWriter } from '../storage/mediaStore.js';
import type { Committer } from './committer.js';
import { formatFragmentNumber } from '../protocol/fragmentNumbers.js';
import type { SequenceAllocator } from './sequence.js';
import { encodeTrackHeader } from './trackHeaders.js';
import type { BufferedFragment, LiveReservation } from './liveBuffer.js';
import { FragmentMemory } from './fragmentMemory.js';
import { TIMESTAMP_RANGE_TEXT, checkTrackHeader, isStorableTimestamp } from './producerInput.js';

/** ErrorId → ErrorCode of PutMedia's ERROR acknowledgements (docs/kvs-wire.md "PutMedia"). */
export const ACK_ERRORS = {
  4001: 'MAX_FRAGMENT_SIZE_REACHED',
  4002: 'MAX_FRAGMENT_DURATION_REACHED',
  4003: 'MAX_CONNECTION_DURATION_REACHED',
  4004: 'FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS',
  4006: 'INVALID_MKV_DATA',
  4007: 'INVALID_PRODUCER_TIMESTAMP',
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
  /** This process's id in the catalog: the owner of the segments its sessions write. */
  nodeId: string;
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
  /** Where the fragment's bytes go; none on a stream that retains nothing (the bytes go to `memory`). */
  writer?: SegmentWriter;
  seq: number;
  nonce: number;
  number: string;
  serverMs: number;
  offset: number;
  size: number;
  timecode?: number;
  producerMs?: number;
  firstFrameMs?: number;
  lastFrameMs?: number;
  tracksSeen: Set<number>;
  /** An ERROR was sent for this fragment: its remaining bytes are dropped. */
  failed: boolean;
  /** On streams that retain nothing: the cluster's bytes, kept for the host buffer. */
  memory?: FragmentMemory;
}

class FatalIngestError extends Error {
  constructor(
    readonly errorId: AckErrorId,
    message: string,
  ) {
    super(message);
  }
}

export class IngestSession {
  private readonly reader = new MkvReader();
  /** The stream as last told (UpdateDataRetention mid-session takes effect from the next fragment). */
  private stream: StreamRecord;
  /** `id`: the header's row in the catalog, once stored (only streams that retain data store it). */
  private header?: { info: TrackHeader; id?: number; bytes: Buffer };
  private writer?: SegmentWriter;
  private fragment?: OpenFragment;
  private previousLastFrameMs = -Infinity;
  private readonly commits = new Set<Promise<void>>();
  private fatal = false;

  constructor(
    private readonly deps: IngestDeps,
    private readonly opts: SessionOptions,
    private readonly ack: (a: Ack) => void,
  ) {
    this.stream = opts.stream;
  }

  /** True once a fatal error was acknowledged: the caller stops reading and ends the response. */
  get closed() {
    return this.fatal;
  }

  /** The stream was updated (e.g. its retention): fragments from the next one on follow the new record. */
  streamUpdated(stream: StreamRecord) {
    if (stream.id === this.stream.id) this.stream = stream;
  }

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
    err.events = events.slice(
      0,
      events.findLastIndex((e) => e.kind === 'clusterEnd'),
    );
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
    // Sealed, retention may drop the segment once it holds no fragment. If sealing fails it stays open, which
    // only keeps an empty file until the next start seals it.
    await this.deps.catalog.sealSegment(w.segment, w.position).catch(() => undefined);
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
      level: 'warn',
      msg: 'PutMedia ERROR acknowledgement',
      stream: this.opts.stream.name,
      errorId,
      fragmentNumber: f?.number ?? '',
      detail: message,
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
      case 'header':
        return this.onHeader(ev.header);
      case 'clusterStart':
        return this.onClusterStart(arrivalMs);
      case 'clusterTimecode':
        return this.onTimecode(ev.timecode);
      case 'frame':
        return this.onFrame(ev.track, ev.relativeTimecode);
      case 'clusterData':
        return this.onData(ev.bytes);
      case 'clusterEnd':
        return this.onClusterEnd();
      case 'tags':
        return; // producer metadata between clusters: accepted, not stored
    }
  }

  /**
   * Runs a storage operation (media store or catalog). Its failure is the session's ARCHIVAL_ERROR: the
   * disk is full or failing, not the producer's input nor a kvsd bug.
   */
  private async stored<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw new FatalIngestError(5001, `failed to persist: ${String(err)}`);
    }
  }

  /**
   * A commit failed: that fragment is not PERSISTED (5001), and neither is any fragment after it. The
   * session ends: the fragment being received gets 5001 too; commits already in flight report their own
   * outcome (those of the failed segment cannot sync any more, so they get 5001; a fragment whose bytes
   * and row were durable before the failure is PERSISTED).
   */
  private commitFailed(f: OpenFragment, err: unknown) {
    this.sendError(5001, f, `failed to persist: ${String(err)}`);
    if (this.fatal) return;
    const open = this.fragment;
    if (open && !open.failed) this.sendError(5001, open, 'the session ended after a failure to persist');
    this.fatal = true;
  }

  private async onHeader(info: TrackHeader) {
    if (info.trackEntries.length > LIMITS.maxTracks) {
      throw new FatalIngestError(4012, `${info.trackEntries.length} tracks; at most ${LIMITS.maxTracks} are allowed`);
    }
    checkTrackHeader(info);
    const bytes = encodeTrackHeader(info.ebmlHeader, info.info, info.tracks);
    if (this.header?.bytes.equals(bytes)) return;
    this.header = { info, bytes };
  }

  private async onClusterStart(arrivalMs: number) {
    const header = this.header;
    if (!header) throw new MkvError('a Cluster arrived before the Tracks header');
    const persist = this.stream.retentionHours > 0;
    if (persist) {
      header.id ??= await this.stored(() => this.deps.catalog.addTrackHeader(this.stream.id, header.bytes));
      await this.stored(() => this.ensureWriter());
    } else if (this.writer) {
      await this.close(); // the retention went to 0: this session's segment is finished
    }
    const seq = await this.stored(() => this.deps.sequence.take());
    const nonce = randomInt(1 << 28);
    this.fragment = {
      seq,
      nonce,
      number: formatFragmentNumber({ seq, serverMs: arrivalMs, nonce }),
      serverMs: arrivalMs,
      offset: this.writer?.position ?? 0,
      size: 0,
      tracksSeen: new Set(),
      failed: false,
      ...(persist
        ? { writer: this.writer! }
        : { memory: new FragmentMemory(this.deps.reserveLive(), LIMITS.maxFragmentBytes) }),
    };
  }

  private async ensureWriter() {
    if (this.writer && this.writer.position < LIMITS.segmentBytes) return;
    await this.close(); // rotate: a session starts a new segment past LIMITS.segmentBytes
    const { stream } = this.opts;
    const segment = await this.deps.catalog.newSegment(stream.id, this.deps.nodeId);
    this.writer = await this.deps.media.createSegment(stream.id, segment);
  }

  private onTimecode(timecode: number) {
    const f = this.fragment!;
    f.timecode = timecode;
    this.ack({ EventType: 'BUFFERING', FragmentTimecode: timecode, FragmentNumber: f.number });
    const { timecodeType, producerStartMs } = this.opts;
    const producerMs = (timecodeType === 'RELATIVE' ? producerStartMs! : 0) + this.toMs(timecode);
    // Never stored: boto3 and the CLI could not list the stream any more (year 10000), the JS SDK would read
    // Invalid Date.
    if (!isStorableTimestamp(producerMs)) {
      return this.sendError(4007, f, `producer timestamp ${producerMs} ms is not ${TIMESTAMP_RANGE_TEXT}`);
    }
    f.producerMs = producerMs;
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
    if (!isStorableTimestamp(ms)) {
      return this.sendError(4007, f, `frame timestamp ${ms} ms is not ${TIMESTAMP_RANGE_TEXT}`);
    }
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
    if (f.size > LIMITS.maxFragmentBytes)
      return this.sendError(4001, f, `fragment larger than ${LIMITS.maxFragmentBytes} bytes`);
    const { writer } = f;
    if (writer) await this.stored(() => writer.append(bytes));
    else if (f.memory && !f.memory.push(bytes)) {
      // Fragments in progress fill the host buffer's cap: this one is still RECEIVED, but not buffered.
      this.deps.log({
        level: 'warn',
        msg: 'live buffer full: a fragment is not buffered',
        stream: this.opts.stream.name,
        fragmentNumber: f.number,
      });
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
    if (f.firstFrameMs === undefined || f.lastFrameMs === undefined || f.producerMs === undefined) {
      return this.sendError(4011, f, 'a Cluster without frames');
    }
    const missing = this.header!.info.trackEntries.find((t) => !f.tracksSeen.has(t.number));
    if (missing) return this.sendError(4011, f, `no frame for track ${missing.number}`);
    const { stream } = this;
    const { producerMs } = f;
    const fields = {
      seq: f.seq,
      producerMs,
      serverMs: f.serverMs,
      lengthMs: f.lastFrameMs - f.firstFrameMs,
      size: f.size,
      nonce: f.nonce,
    };
    // Every number was checked as it arrived; this is the last line before a row: never NaN in the catalog.
    const bad = Object.entries(fields).find(([, v]) => !Number.isSafeInteger(v) || v < 0);
    if (bad) return this.sendError(4006, f, `the fragment's ${bad[0]} would be ${bad[1]}`);
    this.previousLastFrameMs = f.lastFrameMs;
    this.ack({ EventType: 'RECEIVED', FragmentTimecode: f.timecode, FragmentNumber: f.number });
    const { writer } = f;
    if (!writer) {
      if (cluster) {
        this.deps.onBuffered(stream, {
          seq: f.seq,
          nonce: f.nonce,
          serverMs: f.serverMs,
          producerMs,
          header: this.header!.bytes,
          cluster,
          size: f.size,
        });
      }
      return;
    }

    const row: FragmentRecord = {
      streamId: stream.id,
      ...fields,
      headerId: this.header!.id!,
      segment: writer.segment,
      offset: f.offset,
      entry: renderEntry(fields, f.number),
    };
    const commit = this.deps.committer
      .commit(writer, row)
      .then(
        () => {
          this.ack({ EventType: 'PERSISTED', FragmentTimecode: f.timecode!, FragmentNumber: f.number });
          this.deps.onPersisted(stream, row);
        },
        (err: unknown) => this.commitFailed(f, err),
      )
      .finally(() => this.commits.delete(commit));
    this.commits.add(commit);
  }
}
