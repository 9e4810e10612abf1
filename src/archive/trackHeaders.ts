/**
 * A stream's track header as stored: the producer's EBML header and its Info + Tracks elements, kept
 * byte for byte because readers re-emit them in front of every fragment (docs/kvs-wire.md "GetMedia and GetMediaForFragmentList responses").
 * Layout: u32 length of the EBML header ‖ EBML header ‖ Info ‖ Tracks.
 */
export interface StoredTrackHeader {
  ebmlHeader: Buffer;
  infoAndTracks: Buffer;
}

export function encodeTrackHeader(ebmlHeader: Buffer, info: Buffer, tracks: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(ebmlHeader.length);
  return Buffer.concat([len, ebmlHeader, info, tracks]);
}

export function decodeTrackHeader(blob: Buffer): StoredTrackHeader {
  const n = blob.readUInt32BE(0);
  return { ebmlHeader: blob.subarray(4, 4 + n), infoAndTracks: blob.subarray(4 + n) };
}
