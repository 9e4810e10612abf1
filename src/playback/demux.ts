/**
 * From the MKV kvsd stores to samples: the producer's Tracks element gives the tracks, one fragment's
 * Cluster gives each track's frames. Blocks come in decode order with presentation timecodes (MKV stores
 * no decode time), so a decode time is derived per track: the presentation times sorted, shifted back just
 * enough that no frame is decoded after it is shown (B-frames then get a composition offset, as in MP4).
 */
import { children, ID, MkvError, readElementHeader, readSize, readUint, UNKNOWN } from '../mkv/index.js';
import { CODEC_IDS, codecString, parseAudioSpecificConfig } from './codecs.js';
import { MediaError, type Sample, type Track, type TrackMedia } from './media.js';

/** The playable tracks of a stream's track header, and its timecode scale. */
export interface TrackSet {
  tracks: Track[];
  timecodeScaleNs: number;
}

const TRACK_VIDEO = 1;
const TRACK_AUDIO = 2;

function readFloat(b: Buffer): number {
  if (b.length === 4) return b.readFloatBE(0);
  if (b.length === 8) return b.readDoubleBE(0);
  return 0;
}

/**
 * The tracks of an Info ‖ Tracks pair (as the archive stores them). Track 1 must be H.264 or H.265 video,
 * or AAC audio when the stream has no video; other tracks are kept only if AAC audio. Errors are AWS's
 * playback errors: UnsupportedStreamMediaType, MissingCodecPrivateData, InvalidCodecPrivateData.
 */
export function parseTracks(infoAndTracks: Buffer): TrackSet {
  let timecodeScaleNs = 1_000_000;
  const entries: { number: number; type: number; codecId: string; codecPrivate?: Buffer; child: Buffer }[] = [];
  for (const top of children(infoAndTracks, 0)) {
    if (top.id === ID.Info) {
      for (const c of children(top.data, top.dataOffset))
        if (c.id === ID.TimecodeScale) timecodeScaleNs = readUint(c.data);
    } else if (top.id === ID.Tracks) {
      for (const entry of children(top.data, top.dataOffset)) {
        if (entry.id !== ID.TrackEntry) continue;
        const e = { number: 0, type: 0, codecId: '', codecPrivate: undefined as Buffer | undefined, child: entry.data };
        for (const c of children(entry.data, entry.dataOffset)) {
          if (c.id === ID.TrackNumber) e.number = readUint(c.data);
          else if (c.id === ID.TrackType) e.type = readUint(c.data);
          else if (c.id === ID.CodecID) e.codecId = c.data.toString('latin1').replace(/\0+$/, '');
          else if (c.id === ID.CodecPrivate) e.codecPrivate = c.data;
        }
        entries.push(e);
      }
    }
  }
  const first = entries.find((e) => e.number === 1) ?? entries[0];
  if (!first) throw new MediaError('UnsupportedStreamMediaType', 'the stream has no track');
  const firstCodec = CODEC_IDS[first.codecId];
  const hasVideo = firstCodec === 'avc' || firstCodec === 'hevc';
  if (!hasVideo && firstCodec !== 'aac') {
    throw new MediaError(
      'UnsupportedStreamMediaType',
      `the codec of track ${first.number} (${first.codecId || 'none'}) is not H.264, H.265 or AAC`,
    );
  }
  const tracks: Track[] = [];
  for (const e of entries) {
    const codec = CODEC_IDS[e.codecId];
    if (e !== first && codec !== 'aac') continue; // a second video, subtitles...: not played, as AWS
    if (!codec) continue;
    if (!e.codecPrivate || e.codecPrivate.length === 0) {
      throw new MediaError('MissingCodecPrivateData', `track ${e.number} (${e.codecId}) has no codec private data`);
    }
    const track: Track = {
      number: e.number,
      kind: codec === 'aac' ? 'audio' : 'video',
      codecId: e.codecId,
      codec,
      codecPrivate: e.codecPrivate,
      codecString: codecString(codec, e.codecPrivate),
    };
    for (const c of children(e.child, 0)) {
      if (c.id === ID.DefaultDuration) track.defaultDurationMs = readUint(c.data) / 1e6;
      else if (c.id === ID.Video && e.type === TRACK_VIDEO) {
        for (const v of children(c.data, 0)) {
          if (v.id === ID.PixelWidth) track.width = readUint(v.data);
          else if (v.id === ID.PixelHeight) track.height = readUint(v.data);
        }
      } else if (c.id === ID.Audio && e.type === TRACK_AUDIO) {
        for (const a of children(c.data, 0)) {
          if (a.id === ID.SamplingFrequency) track.sampleRate = readFloat(a.data);
          else if (a.id === ID.Channels) track.channels = readUint(a.data);
        }
      }
    }
    if (codec === 'aac') {
      const asc = parseAudioSpecificConfig(e.codecPrivate);
      track.sampleRate ??= asc.sampleRate;
      track.channels ??= asc.channels || 2;
    }
    tracks.push(track);
  }
  return { tracks, timecodeScaleNs };
}

interface Frame {
  track: number;
  pts: number;
  key: boolean;
  data: Buffer;
  durationMs?: number;
}

/** Splits a block's frame data by its lacing (none, Xiph, fixed, EBML). */
function unlace(data: Buffer, lacing: number, where: number): Buffer[] {
  if (lacing === 0) return [data];
  const count = data[0]! + 1;
  let pos = 1;
  const sizes: number[] = [];
  if (lacing === 2) {
    const each = (data.length - 1) / count;
    if (!Number.isInteger(each)) throw new MkvError(`fixed lacing does not divide the block at ${where}`);
    for (let i = 0; i < count; i++) sizes.push(each);
  } else if (lacing === 1) {
    for (let i = 0; i < count - 1; i++) {
      let n = 0;
      let b: number;
      do {
        b = data[pos++]!;
        n += b;
      } while (b === 255 && pos < data.length);
      sizes.push(n);
    }
  } else {
    const firstSize = readSize(data, pos, where);
    if (!firstSize) throw new MkvError(`truncated EBML lacing at ${where}`);
    pos += firstSize.length;
    sizes.push(firstSize.value);
    for (let i = 1; i < count - 1; i++) {
      const v = readSize(data, pos, where);
      if (!v) throw new MkvError(`truncated EBML lacing at ${where}`);
      pos += v.length;
      const bias = 2 ** (7 * v.length - 1) - 1; // signed vint: value minus half its range
      sizes.push(sizes[i - 1]! + v.value - bias);
    }
  }
  if (lacing !== 2) sizes.push(data.length - pos - sizes.reduce((a, b) => a + b, 0));
  const out: Buffer[] = [];
  for (const n of sizes) {
    if (n < 0 || pos + n > data.length) throw new MkvError(`laced frames overrun the block at ${where}`);
    out.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

function parseBlock(block: Buffer, where: number, clusterTime: number, scaleMs: number, simple: boolean) {
  const trackNumber = readSize(block, 0, where);
  if (!trackNumber || block.length < trackNumber.length + 3) throw new MkvError(`truncated block at ${where}`);
  const rel = block.readInt16BE(trackNumber.length);
  const flags = block[trackNumber.length + 2]!;
  return {
    track: trackNumber.value,
    pts: (clusterTime + rel) * scaleMs,
    key: simple ? (flags & 0x80) !== 0 : true,
    frames: unlace(block.subarray(trackNumber.length + 3), (flags >> 1) & 3, where),
  };
}

/** The frames of a Cluster (known or unknown size), in stored (decode) order. */
function clusterFrames(cluster: Buffer, timecodeScaleNs: number): Frame[] {
  const header = readElementHeader(cluster, 0, 0);
  if (!header || header.id !== ID.Cluster) throw new MkvError('a fragment does not start with a Cluster');
  const end = header.size === UNKNOWN ? cluster.length : Math.min(cluster.length, header.length + header.size);
  const payload = cluster.subarray(header.length, end);
  const scaleMs = timecodeScaleNs / 1e6;
  let clusterTime = 0;
  const frames: Frame[] = [];
  const push = (b: ReturnType<typeof parseBlock>, durationMs?: number) => {
    const each = durationMs !== undefined ? durationMs / b.frames.length : undefined;
    for (const [i, data] of b.frames.entries()) {
      frames.push({ track: b.track, pts: b.pts + (each ?? 0) * i, key: b.key && i === 0, data, durationMs: each });
    }
  };
  for (const c of children(payload, header.length)) {
    if (c.id === ID.Timecode) clusterTime = readUint(c.data);
    else if (c.id === ID.SimpleBlock) push(parseBlock(c.data, c.dataOffset, clusterTime, scaleMs, true));
    else if (c.id === ID.BlockGroup) {
      let block: ReturnType<typeof parseBlock> | undefined;
      let referenced = false;
      let duration: number | undefined;
      for (const g of children(c.data, c.dataOffset)) {
        if (g.id === ID.Block) block = parseBlock(g.data, g.dataOffset, clusterTime, scaleMs, false);
        else if (g.id === ID.ReferenceBlock) referenced = true;
        else if (g.id === ID.BlockDuration) duration = readUint(g.data) * scaleMs;
      }
      if (block) push({ ...block, key: !referenced }, duration);
    }
  }
  return frames;
}

/**
 * One fragment's samples per track (tracks without frames in it included, with no samples). `endMs`, the
 * presentation start of the next fragment when known, sets the last sample's duration exactly.
 */
export function fragmentSamples(cluster: Buffer, set: TrackSet, endMs?: number): TrackMedia[] {
  let frames: Frame[];
  try {
    frames = clusterFrames(cluster, set.timecodeScaleNs);
  } catch (err) {
    if (err instanceof MkvError) throw new MediaError('InvalidMediaFrame', err.message);
    throw err;
  }
  return set.tracks.map((track) => {
    const own = frames.filter((f) => f.track === track.number);
    const pts = own.map((f) => Math.round(f.pts));
    const sorted = [...pts].sort((a, b) => a - b);
    let shift = 0;
    for (let i = 0; i < sorted.length; i++) shift = Math.max(shift, sorted[i]! - pts[i]!);
    const dts = sorted.map((t) => t - shift);
    const samples: Sample[] = own.map((f, i) => {
      const next = i + 1 < own.length ? dts[i + 1]! : undefined;
      let duration = next !== undefined ? next - dts[i]! : 0;
      if (next === undefined) {
        const fromEnd = endMs !== undefined ? Math.round(endMs) - shift - dts[i]! : 0;
        const typical = f.durationMs ?? track.defaultDurationMs ?? (i > 0 ? dts[i]! - dts[i - 1]! : undefined);
        duration = fromEnd > 0 ? fromEnd : Math.round(typical ?? (track.kind === 'audio' ? 21 : 33));
      }
      // Durations add up to the next decode time exactly (players derive decode times from them).
      return {
        dts: dts[i]!,
        pts: pts[i]!,
        duration: next !== undefined ? duration : Math.max(1, duration),
        key: f.key,
        data: f.data,
      };
    });
    return { track, samples };
  });
}

/**
 * Whether two track sets decode alike: the same tracks with the same codec data. Each PutMedia connection
 * stores its own track header, so a producer that reconnects has a new header with, usually, the same codec data.
 */
export function sameCodecData(a: TrackSet, b: TrackSet): boolean {
  return (
    a.tracks.length === b.tracks.length &&
    a.tracks.every((t, i) => {
      const u = b.tracks[i]!;
      return t.number === u.number && t.codecId === u.codecId && t.codecPrivate.equals(u.codecPrivate);
    })
  );
}
