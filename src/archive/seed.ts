/**
 * Bulk seeding for tests and benchmarks: many fragments in little time. It writes exactly what ingest
 * writes, because it *is* ingest: a synthetic MKV stream (one small H.264-labelled track, one cluster per
 * fragment, ABSOLUTE timecodes) is fed through the same IngestSession PutMedia uses, minus HTTP. The same
 * MKV (seedMkv) is what `kvsd seed --endpoint` sends to a running server's PutMedia.
 */
import { element, matroskaEbmlHeader, stringElement, uintElement, UNKNOWN_SIZE_SEGMENT_HEADER } from '../mkv/index.js';
import { ID } from '../mkv/ebml.js';
import type { StreamRecord } from '../storage/catalog.js';
import type { Archive } from './archive.js';

/** The synthetic input: how many fragments, their producer timestamps and size. */
export interface SeedMkvOptions {
  fragments: number;
  /** Producer timestamp of the first fragment, epoch ms. */
  startMs: number;
  /** Spacing of producer timestamps, ms. */
  intervalMs: number;
  /** Payload bytes of the one frame in each fragment. */
  frameBytes: number;
}

export interface SeedOptions extends SeedMkvOptions {
  onProgress?: (done: number) => void;
}

export interface SeedResult {
  persisted: number;
  errors: number;
}

const CLUSTERS_PER_CHUNK = 1000;
/** Pause feeding while this many fragments wait for their commit, to bound memory. */
const MAX_IN_FLIGHT = 20_000;

/** EBML header, unknown-size Segment, Info (TimecodeScale 1 ms) and one H.264-labelled video track. */
export function seedHeader(): Buffer {
  const ebml = matroskaEbmlHeader();
  const info = element(
    ID.Info,
    Buffer.concat([uintElement(ID.TimecodeScale, 1_000_000), stringElement(ID.MuxingApp, 'kvsd-seed')]),
  );
  const tracks = element(
    ID.Tracks,
    element(
      ID.TrackEntry,
      Buffer.concat([
        uintElement(ID.TrackNumber, 1),
        uintElement(ID.TrackType, 1),
        stringElement(ID.CodecID, 'V_MPEG4/ISO/AVC'),
      ]),
    ),
  );
  return Buffer.concat([ebml, UNKNOWN_SIZE_SEGMENT_HEADER, info, tracks]);
}

/** One fragment: a Cluster at `timecodeMs` holding one keyframe. */
export function seedCluster(timecodeMs: number, frame: Buffer): Buffer {
  // SimpleBlock: track 1 (vint 0x81), relative timecode 0, keyframe flag.
  const block = element(ID.SimpleBlock, Buffer.concat([Buffer.from([0x81, 0x00, 0x00, 0x80]), frame]));
  return element(ID.Cluster, Buffer.concat([uintElement(ID.Timecode, timecodeMs), block]));
}

/** The whole synthetic MKV, in chunks: the header, then CLUSTERS_PER_CHUNK clusters at a time. */
export function* seedMkv(opts: SeedMkvOptions): Generator<Buffer> {
  const frame = Buffer.alloc(opts.frameBytes, 0x42);
  yield seedHeader();
  for (let i = 0; i < opts.fragments; i += CLUSTERS_PER_CHUNK) {
    const n = Math.min(CLUSTERS_PER_CHUNK, opts.fragments - i);
    const parts: Buffer[] = [];
    for (let j = 0; j < n; j++) parts.push(seedCluster(opts.startMs + (i + j) * opts.intervalMs, frame));
    yield Buffer.concat(parts);
  }
}

/** The summary line both ways of seeding print: what was stored, and how fast. */
export function seedSummary(stream: string, result: SeedResult, seconds: number): string {
  return JSON.stringify({ stream, ...result, seconds, fragmentsPerSecond: Math.round(result.persisted / seconds) });
}

export async function seedFragments(archive: Archive, stream: StreamRecord, opts: SeedOptions): Promise<SeedResult> {
  const result: SeedResult = { persisted: 0, errors: 0 };
  const { session, done } = archive.openIngest({ stream, timecodeType: 'ABSOLUTE' }, (ack) => {
    if (ack.EventType === 'PERSISTED') result.persisted++;
    else if (ack.EventType === 'ERROR') result.errors++;
  });
  try {
    let chunks = 0;
    for (const chunk of seedMkv(opts)) {
      if (session.closed) break;
      await session.push(chunk, Date.now());
      const fed = Math.min(opts.fragments, chunks++ * CLUSTERS_PER_CHUNK); // chunk 0 is the header
      if (fed === 0) continue;
      while (fed - result.persisted - result.errors > MAX_IN_FLIGHT) await new Promise((r) => setTimeout(r, 5));
      opts.onProgress?.(fed);
    }
    await session.finish();
  } finally {
    done();
  }
  return result;
}
