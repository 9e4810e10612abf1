/**
 * The synthetic PutMedia stream of the ingest benchmark, built with kvsd's own MKV writer: one H.264-
 * labelled video track, 2-second fragments of 60 frames (30 fps, keyframe first), 250,000 bytes per
 * cluster, ABSOLUTE timecodes in ms. The 60 SimpleBlocks of a cluster are the same bytes in every
 * cluster (their timecodes are relative), so a cluster is sent as a 22-byte prefix (Cluster ID, 8-byte
 * size, Timecode) followed by one shared body buffer: no per-fragment copying in the load generator.
 */
import { randomBytes } from 'node:crypto';
import {
  ID,
  encodeId,
  encodeSize,
  element,
  matroskaEbmlHeader,
  stringElement,
  uintElement,
  UNKNOWN_SIZE_SEGMENT_HEADER,
} from '../../src/mkv/index.js';

export const CLUSTER_BYTES = 250_000;
export const FRAMES_PER_CLUSTER = 60;
export const FRAME_MS = 33;
export const FRAGMENT_MS = 2000;
const PREFIX_BYTES = 4 + 8 + 2 + 8;

export function mkvHeader(): Buffer {
  const info = element(
    ID.Info,
    Buffer.concat([uintElement(ID.TimecodeScale, 1_000_000), stringElement(ID.MuxingApp, 'kvsd-bench')]),
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
  return Buffer.concat([matroskaEbmlHeader(), UNKNOWN_SIZE_SEGMENT_HEADER, info, tracks]);
}

function simpleBlock(relativeMs: number, keyframe: boolean, frame: Buffer): Buffer {
  const head = Buffer.from([0x81, (relativeMs >> 8) & 0xff, relativeMs & 0xff, keyframe ? 0x80 : 0x00]);
  return element(ID.SimpleBlock, Buffer.concat([head, frame]));
}

/** The shared cluster body (60 SimpleBlocks) sized so that prefix + body = CLUSTER_BYTES. */
function clusterBody(): Buffer {
  const overhead = 1 + 2 + 4; // SimpleBlock ID, 2-byte size, block header
  const payload = CLUSTER_BYTES - PREFIX_BYTES - FRAMES_PER_CLUSTER * overhead;
  const each = Math.floor(payload / FRAMES_PER_CLUSTER);
  const noise = randomBytes(2 * each + FRAMES_PER_CLUSTER);
  const blocks: Buffer[] = [];
  for (let i = 0; i < FRAMES_PER_CLUSTER; i++) {
    const size = i === FRAMES_PER_CLUSTER - 1 ? payload - each * (FRAMES_PER_CLUSTER - 1) : each;
    blocks.push(simpleBlock(i * FRAME_MS, i === 0, noise.subarray(i, i + size)));
  }
  const body = Buffer.concat(blocks);
  if (body.length + PREFIX_BYTES !== CLUSTER_BYTES) throw new Error(`cluster is ${body.length + PREFIX_BYTES} bytes`);
  return body;
}

export const CLUSTER_BODY = clusterBody();

/** Cluster ID, its 8-byte size, and an 8-byte Timecode element. */
export function clusterPrefix(timecodeMs: number): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES);
  encodeId(ID.Cluster).copy(out, 0);
  encodeSize(CLUSTER_BYTES - 12, 8).copy(out, 4);
  out[12] = ID.Timecode;
  out[13] = 0x88;
  out.writeBigUInt64BE(BigInt(timecodeMs), 14);
  return out;
}
