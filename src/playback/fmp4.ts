/**
 * Fragmented MP4 (CMAF-style) for one track per file, as KVS's GetMP4InitFragment and GetMP4MediaFragment
 * serve HLS and DASH: an init segment that depends on the track alone (so every fragment of a stream yields
 * the same bytes and players can cache it) and one moof + mdat per fragment, whose tfdt is the first
 * sample's decode time in absolute epoch milliseconds (timescale 1000, 64-bit), so a player's timeline is
 * the producer's clock and consecutive fragments line up without any state kept between requests.
 */
import { box, fullBox, ftyp, mvhd, trak, u32 } from './isobmff.js';
import type { Sample, Track, TrackMedia } from './media.js';

/** Track ID inside the files: 1, each HLS resource holding one track (KVS's TrackNumber parameter). */
export const DEFAULT_TRACK_ID = 1;

// 14496-12 sample_flags: sample_depends_on (2 bits at 24), sample_is_non_sync_sample (bit 16).
const SYNC_FLAGS = 0x02000000; // depends on no other sample
const NON_SYNC_FLAGS = 0x01010000; // depends on others, not a sync sample

/**
 * ftyp moov(mvhd trak mvex(trex)): the sample tables are empty, the samples come in the fragments, whose
 * times are in the trak's timescale, 1000 (isobmff.ts TIMESCALE): the samples' milliseconds as they are.
 */
export function initSegment(track: Track, trackId: number = DEFAULT_TRACK_ID): Buffer {
  const emptyTables = [
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  ];
  // trex defaults are never used (every trun gives duration, size and flags), but the box is mandatory.
  const trex = fullBox('trex', 0, 0, u32(trackId), u32(1), u32(0), u32(0), u32(0));
  const moov = box(
    'moov',
    mvhd(0, trackId + 1),
    trak(track, { trackId, durationMs: 0, mediaDurationMs: 0, sampleTables: emptyTables }),
    box('mvex', trex),
  );
  return Buffer.concat([ftyp('iso6', 0, ['iso6', 'mp41', 'dash', 'cmfc']), moov]);
}

/** Flags of a sample: audio (AAC) frames are all sync samples, whatever the MKV key flag said. */
function sampleFlags(track: Track, sample: Sample): number {
  return sample.key || track.kind === 'audio' ? SYNC_FLAGS : NON_SYNC_FLAGS;
}

/**
 * moof(mfhd traf(tfhd tfdt trun)) mdat for one track's samples of one fragment. `sequenceNumber` goes in
 * mfhd (KVS uses the fragment's position in the session; it must increase from fragment to fragment).
 *
 * An empty sample list throws a RangeError: a moof has no decode time to put in tfdt without a sample, and
 * an empty fragment would make players stall rather than skip; the caller knows whether to leave the
 * fragment out of the playlist or to answer with an error.
 */
export function mediaSegment(media: TrackMedia, sequenceNumber: number, trackId: number = DEFAULT_TRACK_ID): Buffer {
  const { track, samples } = media;
  if (samples.length === 0) {
    throw new RangeError(`track ${track.number} has no samples in this fragment: no media segment to write`);
  }
  if (!Number.isInteger(sequenceNumber) || sequenceNumber < 0 || sequenceNumber > 0xffffffff) {
    throw new RangeError(`sequence number ${sequenceNumber} does not fit mfhd's 32 bits`);
  }
  const n = samples.length;
  let dataSize = 0;
  for (const s of samples) dataSize += s.data.length;
  // Written in place into one buffer: a 2 s 1080p fragment is megabytes, copied once.
  const trunSize = 8 + 4 + 4 + 4 + 16 * n;
  const trafSize = 8 + 16 + 20 + trunSize;
  const moofSize = 8 + 16 + trafSize;
  const mdatSize = 8 + dataSize;
  if (mdatSize > 0xffffffff) throw new RangeError('fragment larger than 4 GB');
  const out = Buffer.allocUnsafe(moofSize + mdatSize);
  let p = 0;
  const w32 = (v: number) => {
    out.writeUInt32BE(v >>> 0, p);
    p += 4;
  };
  const type = (t: string) => {
    out.write(t, p, 4, 'latin1');
    p += 4;
  };
  w32(moofSize);
  type('moof');
  w32(16);
  type('mfhd');
  w32(0);
  w32(sequenceNumber);
  w32(trafSize);
  type('traf');
  w32(16);
  type('tfhd');
  w32(0x020000); // version 0, flags default-base-is-moof: offsets count from this moof
  w32(trackId);
  w32(20);
  type('tfdt');
  w32(0x01000000); // version 1: 64-bit baseMediaDecodeTime
  const base = samples[0]!.dts;
  w32(Math.floor(base / 2 ** 32));
  w32(base % 2 ** 32);
  w32(trunSize);
  type('trun');
  // Version 1 (signed composition offsets); data-offset, duration, size, flags, composition offset.
  w32(0x01000000 | 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800);
  w32(n);
  w32(moofSize + 8); // data offset: the first byte of mdat's payload
  for (const s of samples) {
    w32(s.duration);
    w32(s.data.length);
    w32(sampleFlags(track, s));
    out.writeInt32BE(s.pts - s.dts, p);
    p += 4;
  }
  w32(mdatSize);
  type('mdat');
  for (const s of samples) p += s.data.copy(out, p);
  return out;
}
