/**
 * A small ISO-BMFF (MP4) box writer and the boxes that fragmented and plain MP4 share: ftyp, mvhd and one
 * track's trak with its sample entry. Hand-written rather than through a muxing library so that every byte
 * is ours to pin down: timescale 1000 (kvsd's timestamps are milliseconds), init segments that depend on
 * the track only, and the sample tables given by the caller (empty for fMP4, real ones for a clip).
 * References: ISO/IEC 14496-12 (boxes), 14496-15 (avcC, hvcC), 14496-14 and 14496-1 (esds descriptors).
 */
import { parseAudioSpecificConfig } from './codecs.js';
import type { Track } from './media.js';

/** Every track kvsd writes counts time in milliseconds, the unit of its samples' dts and pts. */
export const TIMESCALE = 1000;

export type Bytes = Buffer | Uint8Array;

export function u8(n: number): Buffer {
  return Buffer.of(n & 0xff);
}

export function u16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

export function u24(n: number): Buffer {
  const b = Buffer.allocUnsafe(3);
  b.writeUIntBE(n & 0xffffff, 0, 3);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function i32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
}

/** 64-bit unsigned from a JS number: epoch milliseconds (~2^41) are far inside the 2^53 safe range. */
export function u64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(n / 2 ** 32), 0);
  b.writeUInt32BE(n % 2 ** 32, 4);
  return b;
}

function fourcc(type: string): Buffer {
  const b = Buffer.from(type, 'latin1');
  if (b.length !== 4) throw new RangeError(`box type '${type}' is not four characters`);
  return b;
}

/** A box: 32-bit size, type, payload (largesize form only when the payload needs it). */
export function box(type: string, ...payload: Bytes[]): Buffer {
  const length = payload.reduce((n, p) => n + p.length, 0);
  if (length + 8 <= 0xffffffff) return Buffer.concat([u32(length + 8), fourcc(type), ...payload]);
  return Buffer.concat([u32(1), fourcc(type), u64(length + 16), ...payload]);
}

/** A full box: a box whose payload starts with a version byte and 24 bits of flags. */
export function fullBox(type: string, version: number, flags: number, ...payload: Bytes[]): Buffer {
  return box(type, u8(version), u24(flags), ...payload);
}

/** The unity transform of mvhd and tkhd (16.16 and 2.30 fixed point). */
const MATRIX = Buffer.concat([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(u32));

export function ftyp(major: string, minor: number, compatible: string[]): Buffer {
  return box('ftyp', fourcc(major), u32(minor), ...compatible.map(fourcc));
}

/** Version 1 (64-bit) only when a duration would not fit in 32 bits: the common case stays version 0. */
function timesVersion(duration: number): 0 | 1 {
  return duration > 0xffffffff ? 1 : 0;
}

/** Movie header; creation and modification times 0 (unknown), as the timestamps live in the tracks. */
export function mvhd(durationMs: number, nextTrackId: number): Buffer {
  const v = timesVersion(durationMs);
  const times = v
    ? [u64(0), u64(0), u32(TIMESCALE), u64(durationMs)]
    : [u32(0), u32(0), u32(TIMESCALE), u32(durationMs)];
  return fullBox(
    'mvhd',
    v,
    0,
    ...times,
    u32(0x00010000), // rate 1.0
    u16(0x0100), // volume 1.0
    Buffer.alloc(10), // reserved
    MATRIX,
    Buffer.alloc(24), // pre_defined
    u32(nextTrackId),
  );
}

/** What a trak needs besides the track: its id, its timing and the sample tables after stsd. */
export interface TrakOptions {
  trackId: number;
  /** In the movie timescale (ms): how long the track plays, edits included; 0 for fMP4. */
  durationMs: number;
  /** In the media timescale (ms): the sum of the sample durations; 0 for fMP4. */
  mediaDurationMs: number;
  /** stts, ctts, stss, stsz, stsc, stco/co64, in that order (empty ones for fMP4). */
  sampleTables: Buffer[];
  /** An edts box, when the track's presentation does not start at movie time 0 with media time 0. */
  edts?: Buffer;
}

function tkhd(track: Track, o: TrakOptions): Buffer {
  const v = timesVersion(o.durationMs);
  const times = v
    ? [u64(0), u64(0), u32(o.trackId), u32(0), u64(o.durationMs)]
    : [u32(0), u32(0), u32(o.trackId), u32(0), u32(o.durationMs)];
  const video = track.kind === 'video';
  return fullBox(
    'tkhd',
    v,
    0x3, // enabled, in movie (in preview is obsolete)
    ...times,
    Buffer.alloc(8), // reserved
    u16(0), // layer
    u16(0), // alternate group
    u16(video ? 0 : 0x0100), // volume: 1.0 for audio only
    u16(0),
    MATRIX,
    u32((video ? (track.width ?? 0) : 0) * 0x10000), // 16.16
    u32((video ? (track.height ?? 0) : 0) * 0x10000),
  );
}

/** 'und' packed as three 5-bit letters (ISO 639-2/T minus 0x60). */
const LANGUAGE_UND =
  (('u'.charCodeAt(0) - 0x60) << 10) | (('n'.charCodeAt(0) - 0x60) << 5) | ('d'.charCodeAt(0) - 0x60);

function mdhd(mediaDurationMs: number): Buffer {
  const v = timesVersion(mediaDurationMs);
  const times = v
    ? [u64(0), u64(0), u32(TIMESCALE), u64(mediaDurationMs)]
    : [u32(0), u32(0), u32(TIMESCALE), u32(mediaDurationMs)];
  return fullBox('mdhd', v, 0, ...times, u16(LANGUAGE_UND), u16(0));
}

function hdlr(track: Track): Buffer {
  const video = track.kind === 'video';
  const name = Buffer.from(video ? 'VideoHandler\0' : 'SoundHandler\0', 'latin1');
  return fullBox('hdlr', 0, 0, u32(0), fourcc(video ? 'vide' : 'soun'), Buffer.alloc(12), name);
}

/** Data in this same file: one self-contained url entry, as every player expects. */
const DINF = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));

function visualSampleEntry(type: string, track: Track, config: Buffer): Buffer {
  return box(
    type,
    Buffer.alloc(6), // reserved
    u16(1), // data_reference_index
    Buffer.alloc(16), // pre_defined, reserved
    u16(track.width ?? 0),
    u16(track.height ?? 0),
    u32(0x00480000), // 72 dpi
    u32(0x00480000),
    u32(0),
    u16(1), // frame_count
    Buffer.alloc(32), // compressorname
    u16(0x0018), // depth
    u16(0xffff), // pre_defined = -1
    config,
  );
}

/** An MPEG-4 descriptor: tag, then the size in 7-bit groups (as many as it needs), then the body. */
function descriptor(tag: number, ...body: Bytes[]): Buffer {
  const length = body.reduce((n, b) => n + b.length, 0);
  const size: number[] = [length & 0x7f];
  for (let n = length >> 7; n > 0; n >>= 7) size.unshift(0x80 | (n & 0x7f));
  return Buffer.concat([u8(tag), Buffer.from(size), ...body]);
}

/** esds: ES_Descriptor > DecoderConfigDescriptor (MPEG-4 audio) > DecoderSpecificInfo (the ASC) + SLConfig. */
function esds(asc: Buffer, trackId: number): Buffer {
  const decoderConfig = descriptor(
    0x04,
    u8(0x40), // objectTypeIndication: MPEG-4 Audio (ISO/IEC 14496-3)
    u8((0x05 << 2) | 1), // streamType audio, upStream 0, reserved 1
    u24(0), // bufferSizeDB: unknown
    u32(0), // maxBitrate: unknown
    u32(0), // avgBitrate: unknown (variable)
    descriptor(0x05, asc),
  );
  const es = descriptor(0x03, u16(trackId), u8(0), decoderConfig, descriptor(0x06, u8(0x02)));
  return fullBox('esds', 0, 0, es);
}

function audioSampleEntry(track: Track, trackId: number): Buffer {
  const asc = parseAudioSpecificConfig(track.codecPrivate);
  const rate = track.sampleRate ?? asc.sampleRate;
  return box(
    'mp4a',
    Buffer.alloc(6),
    u16(1), // data_reference_index
    Buffer.alloc(8), // reserved (version 0 sound description)
    u16(track.channels || asc.channels || 2),
    u16(16), // samplesize
    u32(0), // pre_defined, reserved
    // 16.16; rates above 65535 Hz do not fit: 0 then, decoders take the rate from the ASC (as ffmpeg does).
    u32(rate <= 0xffff ? Math.round(rate) * 0x10000 : 0),
    esds(track.codecPrivate, trackId),
  );
}

/** stsd with the one sample entry of the track; the codec record goes in byte for byte. */
export function stsd(track: Track, trackId: number): Buffer {
  let entry: Buffer;
  if (track.codec === 'avc') entry = visualSampleEntry('avc1', track, box('avcC', track.codecPrivate));
  // hvc1 (parameter sets in hvcC) rather than hev1: what Apple's HLS players require.
  else if (track.codec === 'hevc') entry = visualSampleEntry('hvc1', track, box('hvcC', track.codecPrivate));
  else entry = audioSampleEntry(track, trackId);
  return fullBox('stsd', 0, 0, u32(1), entry);
}

/** trak: tkhd, optional edts, mdia (mdhd, hdlr, minf (vmhd or smhd, dinf, stbl)). */
export function trak(track: Track, o: TrakOptions): Buffer {
  const mediaHeader =
    track.kind === 'video'
      ? fullBox('vmhd', 0, 1, u16(0), Buffer.alloc(6)) // flags 1, as the spec requires
      : fullBox('smhd', 0, 0, u16(0), u16(0));
  const stbl = box('stbl', stsd(track, o.trackId), ...o.sampleTables);
  const minf = box('minf', mediaHeader, DINF, stbl);
  const mdia = box('mdia', mdhd(o.mediaDurationMs), hdlr(track), minf);
  return box('trak', tkhd(track, o), ...(o.edts ? [o.edts] : []), mdia);
}
