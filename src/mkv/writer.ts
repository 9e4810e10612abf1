// Building blocks for writing Matroska documents (GetMedia output) around stored clusters.

import { ID, encodeId, encodeSize } from './ebml.js';

/** An element with the shortest size field that fits (or `sizeWidth` bytes). */
export function element(id: number, payload: Buffer, sizeWidth?: number): Buffer {
  return Buffer.concat([encodeId(id), encodeSize(payload.length, sizeWidth), payload]);
}

/** An unsigned integer element, in the fewest bytes (at least one). */
export function uintElement(id: number, value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`invalid unsigned integer ${value}`);
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  return element(id, Buffer.from(bytes));
}

/** A UTF-8 string element. */
export function stringElement(id: number, value: string, sizeWidth?: number): Buffer {
  return element(id, Buffer.from(value, 'utf8'), sizeWidth);
}

/** Segment ID with the 8-byte unknown size: a live Segment whose clusters simply follow. */
export const UNKNOWN_SIZE_SEGMENT_HEADER: Buffer = Buffer.from([
  0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
]);

/** Kinesis Video writes the sizes of its Tags in 4 bytes (`10 00 00 xx`); we match its layout byte for byte. */
const KVS_TAG_SIZE_WIDTH = 4;

/** Tags → one Tag (no Targets) → one SimpleTag (TagName, TagString) per pair, as Kinesis Video writes them. */
export function kvsTags(tags: Array<[name: string, value: string]>): Buffer {
  const simpleTags = tags.map(([name, value]) =>
    element(
      ID.SimpleTag,
      Buffer.concat([
        stringElement(ID.TagName, name, KVS_TAG_SIZE_WIDTH),
        stringElement(ID.TagString, value, KVS_TAG_SIZE_WIDTH),
      ]),
      KVS_TAG_SIZE_WIDTH,
    ),
  );
  const tag = element(ID.Tag, Buffer.concat(simpleTags), KVS_TAG_SIZE_WIDTH);
  return element(ID.Tags, tag, KVS_TAG_SIZE_WIDTH);
}

/** A plain Matroska EBML header, for documents that carry no producer header (error chunks, seeding). */
export function matroskaEbmlHeader(): Buffer {
  return element(
    ID.EBML,
    Buffer.concat([
      stringElement(ID.DocType, 'matroska'),
      uintElement(ID.DocTypeVersion, 4),
      uintElement(ID.DocTypeReadVersion, 2),
    ]),
  );
}
