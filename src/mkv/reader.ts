// Incremental Matroska push parser for live ingest (PutMedia).
//
// Clusters are never buffered: their bytes are handed out as `clusterData` as soon as they arrive, and only
// the few bytes needed for events (element headers, the Cluster Timecode, the first bytes of each block) are
// looked at. Everything outside clusters is small (bounded by maxHeaderElementBytes) and parsed whole.
// Both known-size and unknown-size ("live") Segments and Clusters are supported.

import {
  ID,
  MkvError,
  UNKNOWN,
  children,
  hex,
  readId,
  readSize,
  readUint,
  vintWidth,
  type ElementHeader,
} from './ebml.js';
import type { FrameEvent, MkvEvent, TrackEntryInfo, TrackHeader } from './mkvEvents.js';

export { MkvError } from './ebml.js';

const LEVEL1_SKIPPED = new Set<number>([ID.SeekHead, ID.Cues, ID.Chapters, ID.Attachments, ID.Void, ID.CRC32]);
const CLUSTER_CHILDREN = new Set<number>([
  ID.Timecode,
  ID.SilentTracks,
  ID.Position,
  ID.PrevSize,
  ID.SimpleBlock,
  ID.BlockGroup,
  ID.EncryptedBlock,
  ID.Void,
  ID.CRC32,
]);
/**
 * Every Cluster child has a 1- or 2-byte ID, while the EBML header and all level-1 elements have 4-byte IDs.
 * So the first byte of an ID already tells whether an unknown-size Cluster ends there, which lets end()
 * report a truncated header of the next element instead of counting its bytes as cluster data.
 */
const MAX_CLUSTER_CHILD_ID_WIDTH = 2;
/** Longest element header: 4-byte ID + 8-byte size. */
const MAX_HEADER_LENGTH = 12;

interface Segment {
  kind: 'segment';
  end: number | undefined;
}
interface Cluster {
  kind: 'cluster';
  start: number;
  end: number | undefined;
}
interface BlockGroup {
  kind: 'blockGroup';
  end: number;
  block?: FrameEvent;
  referenced: boolean;
}
type Container = Segment | Cluster | BlockGroup;

type State =
  /** At the start of an element (or at the end of the input). */
  | { kind: 'element' }
  /** Buffering a whole level-0/1 element (header included) before parsing it. */
  | { kind: 'capture'; id: number; headerLength: number; size: number }
  /** Payload bytes to pass on as clusterData (inside a cluster) or to discard (outside). */
  | { kind: 'body'; remaining: number }
  /** A Cluster Timecode payload. */
  | { kind: 'timecode'; size: number }
  /** A SimpleBlock or Block payload; its first bytes give the frame event. */
  | { kind: 'block'; size: number; group: BlockGroup | undefined };

const AT_ELEMENT: State = { kind: 'element' };

export class MkvReader {
  private readonly maxHeaderElementBytes: number;
  private readonly queue = new ChunkQueue();
  private consumed = 0;
  private events: MkvEvent[] = [];
  private state: State = AT_ELEMENT;
  private readonly stack: Container[] = [];
  /** The open Cluster, if any (also in `stack`). */
  private cluster: Cluster | undefined;
  private failure: MkvError | undefined;
  private ended = false;
  /**
   * After end(): whether the input stopped inside an element of the unknown-size Cluster it closed (a cut
   * frame). The cluster is still reported whole; a caller that stores clusters should not keep this one.
   */
  endedInsideElement = false;

  private ebmlHeader: Buffer | undefined;
  private info: { raw: Buffer; timecodeScaleNs: number } | undefined;
  private tracks: { raw: Buffer; entries: TrackEntryInfo[] } | undefined;
  /** Info or Tracks were received since the last header event. */
  private headerChanged = false;

  constructor(opts: { maxHeaderElementBytes?: number } = {}) {
    this.maxHeaderElementBytes = opts.maxHeaderElementBytes ?? 1024 * 1024;
  }

  /** Bytes consumed so far (bytes of an incomplete element header or small element are not yet counted). */
  get offset(): number {
    return this.consumed;
  }

  /** Feeds the next bytes; returns the events they complete. Throws MkvError on invalid input. */
  push(chunk: Buffer): MkvEvent[] {
    this.checkUsable();
    this.queue.append(chunk);
    this.guard(() => {
      while (this.step());
    });
    return this.takeEvents();
  }

  /**
   * Ends the input: closes an open unknown-size Cluster (and Segment). Throws MkvError if a known-size
   * element or an element header is incomplete.
   */
  end(): MkvEvent[] {
    this.checkUsable();
    this.ended = true;
    this.guard(() => this.finish());
    return this.takeEvents();
  }

  private checkUsable(): void {
    if (this.failure) throw new MkvError(`reader stopped after an earlier error: ${this.failure.message}`);
    if (this.ended) throw new MkvError('reader already ended');
  }

  private guard(parse: () => void): void {
    try {
      parse();
    } catch (err) {
      this.failure = err instanceof MkvError ? err : new MkvError(String(err));
      // The events completed before the error are not lost with it.
      if (err instanceof MkvError) err.events = this.takeEvents();
      throw err;
    }
  }

  private takeEvents(): MkvEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** Makes one step of progress; false when more input is needed. */
  private step(): boolean {
    const s = this.state;
    switch (s.kind) {
      case 'element':
        return this.readElement();
      case 'body': {
        const n = Math.min(s.remaining, this.queue.length);
        this.advance(n);
        s.remaining -= n;
        if (s.remaining > 0) return false;
        this.state = AT_ELEMENT;
        return true;
      }
      case 'capture': {
        if (this.queue.length < s.size) return false;
        const offset = this.consumed;
        const raw = this.queue.take(s.size);
        this.consumed += s.size;
        this.captured(s.id, raw, s.headerLength, offset);
        this.state = AT_ELEMENT;
        return true;
      }
      case 'timecode':
        if (this.queue.length < s.size) return false;
        this.events.push({ kind: 'clusterTimecode', timecode: readUint(this.queue.peek(s.size)) });
        this.state = { kind: 'body', remaining: s.size };
        return true;
      case 'block':
        return this.readBlockHeader(s.size, s.group);
    }
  }

  private readElement(): boolean {
    this.closeEndedContainers();
    if (this.queue.length === 0) return false;
    const offset = this.consumed;
    const parent = this.stack.at(-1);
    const head = this.queue.peek(Math.min(this.queue.length, MAX_HEADER_LENGTH));
    if (parent?.kind === 'cluster' && parent.end === undefined && vintWidth(head[0]) > MAX_CLUSTER_CHILD_ID_WIDTH) {
      this.closeContainer(); // an unknown-size Cluster ends where a non-child begins
      return true;
    }
    const id = readId(head, 0, offset);
    if (!id) return false;
    const size = readSize(head, id.length, offset);
    if (!size) return false;
    const header: ElementHeader = { id: id.value, size: size.value, length: id.length + size.length };

    if (header.size === UNKNOWN) {
      const liveSegment = header.id === ID.Segment && parent === undefined;
      const liveCluster = header.id === ID.Cluster && parent?.kind === 'segment';
      if (!liveSegment && !liveCluster)
        throw new MkvError(`unknown size not supported for ${describe(header.id, offset)}`);
    } else {
      const limit = this.innermostEnd();
      if (limit !== undefined && offset + header.length + header.size > limit) {
        throw new MkvError(`${describe(header.id, offset)} overruns its parent (ends at ${limit})`);
      }
    }

    switch (parent?.kind) {
      case undefined:
        this.topLevelElement(header, offset);
        break;
      case 'segment':
        this.segmentChild(parent, header, offset);
        break;
      case 'cluster':
        this.clusterChild(header, offset);
        break;
      case 'blockGroup':
        this.blockGroupChild(parent, header);
        break;
    }
    return true;
  }

  private topLevelElement(header: ElementHeader, offset: number): void {
    switch (header.id) {
      case ID.EBML:
        this.beginCapture(header, offset);
        return;
      case ID.Segment:
        if (!this.ebmlHeader) throw new MkvError(`Segment without EBML header at offset ${offset}`);
        this.info = undefined;
        this.tracks = undefined;
        this.stack.push({ kind: 'segment', end: endOf(header, offset) });
        this.advance(header.length);
        return;
      case ID.Void:
      case ID.CRC32:
        this.beginSkip(header, offset);
        return;
      default:
        throw new MkvError(`unexpected ${describe(header.id, offset)} at top level`);
    }
  }

  private segmentChild(segment: Segment, header: ElementHeader, offset: number): void {
    if (header.id === ID.Cluster) {
      this.openCluster(header, offset);
    } else if (header.id === ID.Info || header.id === ID.Tracks || header.id === ID.Tags) {
      this.beginCapture(header, offset);
    } else if (LEVEL1_SKIPPED.has(header.id)) {
      this.beginSkip(header, offset);
    } else if (header.id === ID.EBML && segment.end === undefined) {
      this.closeContainer(); // a new document ends an unknown-size Segment
    } else {
      throw new MkvError(`unexpected ${describe(header.id, offset)} in Segment`);
    }
  }

  private clusterChild(header: ElementHeader, offset: number): void {
    if (!CLUSTER_CHILDREN.has(header.id)) throw new MkvError(`unexpected ${describe(header.id, offset)} in Cluster`);
    this.advance(header.length);
    switch (header.id) {
      case ID.Timecode:
        if (header.size > 8) throw new MkvError(`Cluster Timecode of ${header.size} bytes at offset ${offset}`);
        this.state = { kind: 'timecode', size: header.size };
        return;
      case ID.SimpleBlock:
        this.state = { kind: 'block', size: header.size, group: undefined };
        return;
      case ID.BlockGroup:
        this.stack.push({ kind: 'blockGroup', end: offset + header.length + header.size, referenced: false });
        return;
      default:
        this.state = { kind: 'body', remaining: header.size };
    }
  }

  private blockGroupChild(group: BlockGroup, header: ElementHeader): void {
    this.advance(header.length);
    if (header.id === ID.Block) {
      this.state = { kind: 'block', size: header.size, group };
      return;
    }
    if (header.id === ID.ReferenceBlock) group.referenced = true;
    this.state = { kind: 'body', remaining: header.size };
  }

  /** Parses track number, relative timecode and flags at the start of a (Simple)Block payload. */
  private readBlockHeader(size: number, group: BlockGroup | undefined): boolean {
    if (this.queue.length === 0) return false;
    const offset = this.consumed;
    const trackWidth = vintWidth(this.queue.peek(1)[0]);
    const headerLength = trackWidth + 3;
    if (trackWidth > 8 || headerLength > size) throw new MkvError(`invalid block header at offset ${offset}`);
    if (this.queue.length < headerLength) return false;
    const head = this.queue.peek(headerLength);
    const track = readSize(head, 0, offset)?.value ?? UNKNOWN;
    if (track === UNKNOWN) throw new MkvError(`invalid block track number at offset ${offset}`);
    const frame: FrameEvent = {
      kind: 'frame',
      track,
      relativeTimecode: head.readInt16BE(trackWidth),
      keyframe: (head[trackWidth + 2] & 0x80) !== 0,
      size: size - headerLength,
    };
    // A Block's keyframe status depends on the rest of its BlockGroup: the event waits for the group's end.
    if (group) group.block = frame;
    else this.events.push(frame);
    this.state = { kind: 'body', remaining: size };
    return true;
  }

  private openCluster(header: ElementHeader, offset: number): void {
    if (!this.tracks) throw new MkvError(`Cluster before Tracks at offset ${offset}`);
    if (!this.info) throw new MkvError(`Cluster before Info at offset ${offset}`);
    if (this.headerChanged) {
      this.headerChanged = false;
      const header: TrackHeader = {
        ebmlHeader: this.ebmlHeader!, // a Segment only opens after an EBML header
        info: this.info.raw,
        tracks: this.tracks.raw,
        timecodeScaleNs: this.info.timecodeScaleNs,
        trackEntries: this.tracks.entries,
      };
      this.events.push({ kind: 'header', header });
    }
    this.events.push({ kind: 'clusterStart', offset });
    this.cluster = { kind: 'cluster', start: offset, end: endOf(header, offset) };
    this.stack.push(this.cluster);
    this.advance(header.length);
  }

  private beginCapture(header: ElementHeader, offset: number): void {
    this.checkHeaderElementSize(header, offset);
    this.state = { kind: 'capture', id: header.id, headerLength: header.length, size: header.length + header.size };
  }

  private beginSkip(header: ElementHeader, offset: number): void {
    this.checkHeaderElementSize(header, offset);
    this.advance(header.length);
    this.state = { kind: 'body', remaining: header.size };
  }

  private checkHeaderElementSize(header: ElementHeader, offset: number): void {
    if (header.length + header.size > this.maxHeaderElementBytes) {
      throw new MkvError(
        `${describe(header.id, offset)} of ${header.length + header.size} bytes exceeds the ${this.maxHeaderElementBytes}-byte limit`,
      );
    }
  }

  /** Handles a whole element outside clusters. */
  private captured(id: number, raw: Buffer, headerLength: number, offset: number): void {
    const payload = raw.subarray(headerLength);
    const payloadOffset = offset + headerLength;
    switch (id) {
      case ID.EBML:
        this.ebmlHeader = raw;
        return;
      case ID.Info:
        this.info = { raw, timecodeScaleNs: parseTimecodeScale(payload, payloadOffset) };
        this.headerChanged = true;
        return;
      case ID.Tracks:
        this.tracks = { raw, entries: parseTracks(payload, payloadOffset) };
        this.headerChanged = true;
        return;
      case ID.Tags:
        this.events.push({ kind: 'tags', simpleTags: parseTags(payload, payloadOffset) });
        return;
    }
  }

  /** Consumes n queued bytes: as clusterData inside a cluster, discarded outside. */
  private advance(n: number): void {
    this.consumed += n;
    this.queue.read(n, this.cluster ? this.emitClusterData : undefined);
  }

  private readonly emitClusterData = (bytes: Buffer): void => {
    const last = this.events.at(-1);
    // Consecutive views of one chunk are merged, so a chunk yields one clusterData event, not one per block.
    if (
      last?.kind === 'clusterData' &&
      last.bytes.buffer === bytes.buffer &&
      last.bytes.byteOffset + last.bytes.length === bytes.byteOffset
    ) {
      last.bytes = Buffer.from(bytes.buffer, last.bytes.byteOffset, last.bytes.length + bytes.length);
    } else {
      this.events.push({ kind: 'clusterData', bytes });
    }
  };

  /** The nearest end offset among the open known-size containers. */
  private innermostEnd(): number | undefined {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const end = this.stack[i].end;
      if (end !== undefined) return end;
    }
    return undefined;
  }

  /** Closes every container whose known end has been reached, with the unknown-size ones inside it. */
  private closeEndedContainers(): void {
    const ended = this.stack.findIndex((c) => c.end === this.consumed);
    if (ended < 0) return;
    while (this.stack.length > ended) this.closeContainer();
  }

  private closeContainer(): void {
    const container = this.stack.pop();
    if (container?.kind === 'cluster') {
      this.cluster = undefined;
      this.events.push({ kind: 'clusterEnd', offset: container.start, size: this.consumed - container.start });
    } else if (container?.kind === 'blockGroup' && container.block) {
      this.events.push({ ...container.block, keyframe: !container.referenced });
    }
  }

  private finish(): void {
    if (this.cluster && this.cluster.end === undefined) {
      // An unknown-size Cluster ends with the input: the rest of its last child, however cut, belongs to it.
      this.endedInsideElement =
        this.queue.length > 0 || this.state.kind !== 'element' || this.stack.at(-1)?.kind === 'blockGroup';
      this.advance(this.queue.length);
      while (this.cluster) this.closeContainer();
      this.state = AT_ELEMENT;
    }
    if (this.queue.length > 0 || this.state.kind !== 'element' || this.innermostEnd() !== undefined) {
      throw new MkvError(`input ends inside an element (at offset ${this.consumed + this.queue.length})`);
    }
  }
}

function endOf(header: ElementHeader, offset: number): number | undefined {
  return header.size === UNKNOWN ? undefined : offset + header.length + header.size;
}

function describe(id: number, offset: number): string {
  const name = Object.entries(ID).find(([, value]) => value === id)?.[0];
  return `${name ?? 'element'} 0x${hex(id)} at offset ${offset}`;
}

function parseString(data: Buffer): string {
  // EBML strings may be padded with trailing zero bytes.
  return data.toString('utf8').replace(/\0+$/, '');
}

function parseTimecodeScale(info: Buffer, offset: number): number {
  for (const child of children(info, offset)) {
    if (child.id === ID.TimecodeScale) return readUint(child.data);
  }
  return 1_000_000;
}

function parseTracks(tracks: Buffer, offset: number): TrackEntryInfo[] {
  const entries: TrackEntryInfo[] = [];
  for (const entry of children(tracks, offset)) {
    if (entry.id !== ID.TrackEntry) continue;
    const info: Partial<TrackEntryInfo> = {};
    for (const field of children(entry.data, entry.dataOffset)) {
      if (field.id === ID.TrackNumber) info.number = readUint(field.data);
      else if (field.id === ID.TrackType) info.type = readUint(field.data);
      else if (field.id === ID.CodecID) info.codecId = parseString(field.data);
      else if (field.id === ID.CodecPrivate) info.codecPrivate = field.data;
    }
    if (info.number === undefined) throw new MkvError(`TrackEntry without TrackNumber at offset ${entry.offset}`);
    entries.push({ ...info, number: info.number });
  }
  return entries;
}

/**
 * How deep SimpleTags may nest. Matroska allows nesting without a limit, and a 1 MiB Tags element can nest
 * 100,000 deep: the recursion below must end with MkvError (4006), not with the stack (RangeError, 5000).
 * Real producers nest one or two levels.
 */
export const MAX_SIMPLE_TAG_DEPTH = 64;

function parseTags(tags: Buffer, offset: number): { name: string; value: string }[] {
  const simpleTags: { name: string; value: string }[] = [];
  const visit = (simpleTag: Buffer, at: number, depth: number): void => {
    if (depth > MAX_SIMPLE_TAG_DEPTH)
      throw new MkvError(`SimpleTag nested deeper than ${MAX_SIMPLE_TAG_DEPTH} levels at offset ${at}`);
    let name: string | undefined;
    let value = '';
    for (const field of children(simpleTag, at)) {
      if (field.id === ID.TagName) name = parseString(field.data);
      else if (field.id === ID.TagString) value = parseString(field.data);
      else if (field.id === ID.SimpleTag) visit(field.data, field.dataOffset, depth + 1); // nested tags come after their parent
    }
    if (name !== undefined) simpleTags.push({ name, value });
  };
  for (const tag of children(tags, offset)) {
    if (tag.id !== ID.Tag) continue;
    for (const child of children(tag.data, tag.dataOffset)) {
      if (child.id === ID.SimpleTag) visit(child.data, child.dataOffset, 1);
    }
  }
  return simpleTags;
}

/** A FIFO of pushed chunks that hands out views and copies only when a small read straddles chunks. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private first = 0;
  private pos = 0;
  /** Unread bytes. */
  length = 0;

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next n bytes without consuming them (n <= length). */
  peek(n: number): Buffer {
    const head = this.chunks[this.first];
    if (n === 0 || this.pos + n <= head.length) return head.subarray(this.pos, this.pos + n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (let i = this.first, start = this.pos; filled < n; i++, start = 0) {
      filled += this.chunks[i].copy(out, filled, start, Math.min(this.chunks[i].length, start + n - filled));
    }
    return out;
  }

  /** Consumes n bytes (n <= length), handing them to `sink` as views of the chunks. */
  read(n: number, sink?: (bytes: Buffer) => void): void {
    this.length -= n;
    while (n > 0) {
      const head = this.chunks[this.first];
      const k = Math.min(n, head.length - this.pos);
      sink?.(head.subarray(this.pos, this.pos + k));
      this.pos += k;
      n -= k;
      if (this.pos === head.length) this.dropFirst();
    }
  }

  /** Consumes n bytes (n <= length) into a new buffer. */
  take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    this.read(n, (bytes) => {
      filled += bytes.copy(out, filled);
    });
    return out;
  }

  private dropFirst(): void {
    this.first++;
    this.pos = 0;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 1024 && this.first * 2 >= this.chunks.length) {
      // Compact now and then, so that a long wait for a big element doesn't keep every consumed chunk.
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}
