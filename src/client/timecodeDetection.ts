/**
 * Which timecode type an MKV input needs, read from its first bytes. Muxers such as ffmpeg and GStreamer
 * start cluster timecodes at 0; uploaded as ABSOLUTE those fragments land in 1970 and every "last hour"
 * query misses them. So `kvsd put` without --timecode-type reads the EBML header, Info's TimecodeScale and
 * the first Cluster's Timecode with the project's MKV reader, keeping only the chunks read so far, and
 * replays them before the rest of the input.
 */
import { MkvError, MkvReader, type MkvEvent } from '../mkv/index.js';

/** Cluster timecodes before this are media time, not epoch time: no live producer sends 1999. */
export const EPOCH_THRESHOLD_MS = Date.UTC(2000, 0, 1);

export interface InputStart {
  /** The first Cluster's Timecode in ms (TimecodeScale applied); undefined when the input has none or is not MKV. */
  firstClusterMs?: number;
  /** The whole input, the chunks read to find it first. */
  body: AsyncIterable<Buffer>;
}

export async function readInputStart(input: AsyncIterable<Buffer | Uint8Array>): Promise<InputStart> {
  const iterator = input[Symbol.asyncIterator]();
  const read: Buffer[] = [];
  const reader = new MkvReader();
  let scaleNs = 1_000_000;
  let firstClusterMs: number | undefined;
  let done = false;
  const look = (events: MkvEvent[]) => {
    for (const ev of events) {
      if (ev.kind === 'header') scaleNs = ev.header.timecodeScaleNs;
      if (ev.kind === 'clusterTimecode') {
        firstClusterMs = (ev.timecode * scaleNs) / 1e6;
        return;
      }
    }
  };
  try {
    while (firstClusterMs === undefined) {
      const next = await iterator.next();
      if (next.done) {
        done = true;
        break;
      }
      const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      read.push(chunk);
      look(reader.push(chunk));
    }
  } catch (err) {
    // Not MKV (or over the reader's header limit): the server will say what is wrong with it; only a failure
    // of the input itself (a read error) is this function's to report.
    if (!(err instanceof MkvError)) throw err;
  }
  async function* body() {
    yield* read;
    if (done) return;
    while (true) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  }
  return { ...(firstClusterMs !== undefined && { firstClusterMs }), body: body() };
}
