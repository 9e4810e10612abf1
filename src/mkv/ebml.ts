// EBML primitives: variable-length integers, element headers and the Matroska IDs kvsd uses.
// Element IDs are kept with their marker bits (0x1A45DFA3, not 0x0A45DFA3), as the specs write them.

import type { MkvEvent } from './mkvEvents.js';

/** Invalid or unsupported Matroska input; the message says what and at which input offset. */
export class MkvError extends Error {
  override name = 'MkvError';
  /**
   * Set by MkvReader when push() or end() throws: the events that the same input completed before the
   * invalid bytes (a whole cluster may end in the chunk that also holds the garbage after it). They are
   * valid and still count; without them the outcome would depend on how the input happened to be chunked.
   */
  events: MkvEvent[] = [];
}

export const ID = {
  EBML: 0x1a45dfa3,
  // EBML header children (written by the seeder)
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  // Level 1 (children of Segment)
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  Tracks: 0x1654ae6b,
  Cluster: 0x1f43b675,
  Cues: 0x1c53bb6b,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
  Tags: 0x1254c367,
  // Info
  TimecodeScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  // Tracks
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  DefaultDuration: 0x23e383,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  // Cluster
  Timecode: 0xe7,
  SilentTracks: 0x5854,
  Position: 0xa7,
  PrevSize: 0xab,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  EncryptedBlock: 0xaf,
  Block: 0xa1,
  ReferenceBlock: 0xfb,
  BlockDuration: 0x9b,
  // Tags
  Tag: 0x7373,
  Targets: 0x63c0,
  SimpleTag: 0x67c8,
  TagName: 0x45a3,
  TagString: 0x4487,
  // Global: allowed anywhere
  CRC32: 0xbf,
  Void: 0xec,
} as const;

/** The size field value meaning "unknown size" (all value bits set), returned by readSize. */
export const UNKNOWN = -1;

export interface Vint {
  /** Element ID with marker bits, or data size without them (UNKNOWN for the all-ones size). */
  value: number;
  /** Bytes the vint occupies. */
  length: number;
}

export interface ElementHeader {
  id: number;
  /** Data size in bytes, or UNKNOWN. */
  size: number;
  /** Bytes of ID plus size field. */
  length: number;
}

/** Width of a vint from its first byte: the number of leading zero bits + 1; 9 for 0x00 (invalid). */
export function vintWidth(firstByte: number): number {
  return Math.clz32(firstByte & 0xff) - 23;
}

/**
 * Reads an element ID (1 to 4 bytes, marker kept) at buf[pos].
 * Returns undefined if buf ends before the ID does; `offset` is only used in error messages.
 */
export function readId(buf: Buffer, pos: number, offset: number): Vint | undefined {
  if (pos >= buf.length) return undefined;
  const length = vintWidth(buf[pos]);
  if (length > 4) throw new MkvError(`invalid element ID (first byte 0x${hex(buf[pos], 2)}) at offset ${offset}`);
  if (pos + length > buf.length) return undefined;
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + buf[pos + i];
  const payloadBits = value - 2 ** (7 * length);
  // All-zero and all-one value bits are reserved and never name an element.
  if (payloadBits === 0 || payloadBits === 2 ** (7 * length) - 1) {
    throw new MkvError(`reserved element ID 0x${hex(value, 2 * length)} at offset ${offset}`);
  }
  return { value, length };
}

/**
 * Reads a data size (1 to 8 bytes, marker removed) at buf[pos]; the all-ones value of any width is UNKNOWN.
 * Returns undefined if buf ends before the size does.
 */
export function readSize(buf: Buffer, pos: number, offset: number): Vint | undefined {
  if (pos >= buf.length) return undefined;
  const length = vintWidth(buf[pos]);
  if (length > 8) throw new MkvError(`invalid element size (first byte 0x00) at offset ${offset}`);
  if (pos + length > buf.length) return undefined;
  const mask = 0xff >> length;
  let value = buf[pos] & mask;
  let allOnes = value === mask;
  for (let i = 1; i < length; i++) {
    value = value * 256 + buf[pos + i];
    allOnes &&= buf[pos + i] === 0xff;
  }
  if (allOnes) return { value: UNKNOWN, length };
  if (value > Number.MAX_SAFE_INTEGER) throw new MkvError(`element size ${value} too large at offset ${offset}`);
  return { value, length };
}

/** Reads an ID and a size at buf[pos]; undefined if buf ends first. */
export function readElementHeader(buf: Buffer, pos: number, offset: number): ElementHeader | undefined {
  const id = readId(buf, pos, offset);
  if (!id) return undefined;
  const size = readSize(buf, pos + id.length, offset);
  if (!size) return undefined;
  return { id: id.value, size: size.value, length: id.length + size.length };
}

/** Big-endian unsigned integer of 0 to 8 bytes (values above 2^53 lose precision). */
export function readUint(buf: Buffer): number {
  let value = 0;
  for (const byte of buf) value = value * 256 + byte;
  return value;
}

export interface Child {
  id: number;
  data: Buffer;
  /** Input offset of the child's ID. */
  offset: number;
  /** Input offset of data[0]. */
  dataOffset: number;
}

/**
 * The children of a master element whose payload is entirely in memory.
 * `offset` is the input offset of payload[0], for error messages.
 */
export function* children(payload: Buffer, offset: number): Generator<Child> {
  let pos = 0;
  while (pos < payload.length) {
    const header = readElementHeader(payload, pos, offset + pos);
    if (!header) throw new MkvError(`truncated element header at offset ${offset + pos}`);
    if (header.size === UNKNOWN)
      throw new MkvError(`unexpected unknown-size element 0x${hex(header.id)} at offset ${offset + pos}`);
    const start = pos + header.length;
    const end = start + header.size;
    if (end > payload.length)
      throw new MkvError(`element 0x${hex(header.id)} overruns its parent at offset ${offset + pos}`);
    yield { id: header.id, data: payload.subarray(start, end), offset: offset + pos, dataOffset: offset + start };
    pos = end;
  }
}

/** Encodes an element ID (given with its marker bits) in 1 to 4 bytes. */
export function encodeId(id: number): Buffer {
  const length = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  if (
    !Number.isInteger(id) ||
    id <= 0 ||
    id > 0x1fffffff ||
    vintWidth(Math.floor(id / 2 ** (8 * (length - 1)))) !== length
  ) {
    throw new RangeError(`not an EBML ID: 0x${hex(id)}`);
  }
  const out = Buffer.alloc(length);
  out.writeUIntBE(id, 0, length);
  return out;
}

/**
 * Encodes a data size in `width` bytes (1 to 8), or in the fewest bytes that can hold it.
 * The all-ones value of a width is reserved for "unknown", so a width holds sizes up to 2^(7*width) - 2.
 */
export function encodeSize(size: number, width?: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid EBML size ${size}`);
  let length = width ?? 1;
  if (width === undefined) while (size > 2 ** (7 * length) - 2) length++;
  if (length < 1 || length > 8 || size > 2 ** (7 * length) - 2) {
    throw new RangeError(`EBML size ${size} does not fit in ${length} bytes`);
  }
  const out = Buffer.alloc(length);
  let rest = size;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out[0] |= 0x80 >> (length - 1);
  return out;
}

export function hex(value: number, digits = 0): string {
  return value.toString(16).toUpperCase().padStart(digits, '0');
}
