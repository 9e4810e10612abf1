/**
 * An ordinary (non-fragmented) MP4 of some fragments' samples, as GetClip answers: ftyp, then moov, then
 * mdat ("faststart"), so a player can start as soon as the moov has arrived and play while the rest
 * downloads; the samples are interleaved in half-second chunks for the same reason.
 *
 * Time: MP4 sample tables always start a track's decode timeline at 0, so a track keeps its position on the
 * common timeline through its edit list. The clip's time zero is the earliest presentation time of any
 * track: an empty edit delays each track by how much later its first shown sample is, and the media edit
 * starts at that sample's composition time (a B-frame stream's first decode time is earlier than its first
 * presentation time). A sample's movie time is then exactly its pts (and dts) minus the clip's zero, for
 * every track: audio and video keep the sync they had in the stream, and the first frame is at 0.
 */
import { box, fullBox, ftyp, i32, mvhd, trak, u16, u32, u64 } from './isobmff.js';
import { MediaError, type Sample, type Track } from './media.js';

/** Decode-time span of a chunk: the interleaving granularity (ffmpeg's default is 1 s, Apple's 0.5 s). */
const CHUNK_MS = 500;

/** One track laid out: its decode timeline fixed up, its chunks and its timing on the movie timeline. */
interface Layout {
  track: Track;
  samples: Sample[];
  /** Decode times made strictly increasing (see decodeTimes). */
  dts: number[];
  /** Sample durations in the media timescale: the steps between decode times. */
  deltas: number[];
  /** First sample index of each chunk. */
  chunks: number[];
  /** Movie-time delay before the track's first shown sample (the empty edit). */
  delay: number;
  /** Composition time, in the media, of that sample (the media edit's media_time). */
  mediaStart: number;
  /** Sum of deltas: the media duration, also the presented duration. */
  mediaDuration: number;
}

/**
 * Decode times the tables can hold: strictly increasing. Fragments are demuxed one by one, so at a
 * boundary the next fragment's first derived dts may not be after the last one's (a deeper B-frame
 * pyramid, a producer's clock step); such a sample is decoded 1 ms after its predecessor instead and its
 * composition offset absorbs the difference, leaving every presentation time exact. A gap between
 * fragments becomes a longer last sample, so later samples keep their times too.
 */
function decodeTimes(samples: Sample[]): number[] {
  const dts: number[] = [];
  for (const [i, s] of samples.entries()) dts.push(i === 0 ? s.dts : Math.max(s.dts, dts[i - 1]! + 1));
  return dts;
}

function layout(track: Track, samples: Sample[]): Omit<Layout, 'delay'> & { firstPts: number } {
  const dts = decodeTimes(samples);
  const deltas = dts.map((t, i) => (i + 1 < dts.length ? dts[i + 1]! - t : Math.max(1, samples[i]!.duration)));
  const chunks: number[] = [0];
  for (let i = 1; i < samples.length; i++) if (dts[i]! - dts[chunks.at(-1)!]! >= CHUNK_MS) chunks.push(i);
  let firstPts = Number.POSITIVE_INFINITY;
  for (const s of samples) firstPts = Math.min(firstPts, s.pts);
  const mediaStart = firstPts - dts[0]!;
  if (mediaStart < 0) {
    throw new MediaError('InvalidMediaFrame', `track ${track.number} shows a sample before it decodes the first`);
  }
  const mediaDuration = deltas.reduce((a, b) => a + b, 0);
  return { track, samples, dts, deltas, chunks, mediaStart, mediaDuration, firstPts };
}

/** Run-length (count, value) pairs of a sequence: stts, ctts. */
function runs(values: number[]): [count: number, value: number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    const last = out.at(-1);
    if (last && last[1] === v) last[0]++;
    else out.push([1, v]);
  }
  return out;
}

function sampleTables(l: Layout, chunkOffsets: number[], co64: boolean): Buffer[] {
  const n = l.samples.length;
  const tables: Buffer[] = [];
  const stts = runs(l.deltas);
  tables.push(fullBox('stts', 0, 0, u32(stts.length), ...stts.flatMap(([c, d]) => [u32(c), u32(d)])));
  const offsets = l.samples.map((s, i) => s.pts - l.dts[i]!);
  if (offsets.some((o) => o !== 0)) {
    // Version 0 (unsigned) when it can: older parsers know only that one.
    const signed = offsets.some((o) => o < 0);
    const ctts = runs(offsets);
    const entries = ctts.flatMap(([c, o]) => [u32(c), signed ? i32(o) : u32(o)]);
    tables.push(fullBox('ctts', signed ? 1 : 0, 0, u32(ctts.length), ...entries));
  }
  if (l.track.kind === 'video') {
    const sync = l.samples.flatMap((s, i) => (s.key ? [u32(i + 1)] : []));
    tables.push(fullBox('stss', 0, 0, u32(sync.length), ...sync));
  }
  const sizes = l.samples.map((s) => s.data.length);
  const uniform = sizes.every((s) => s === sizes[0]);
  tables.push(
    uniform ? fullBox('stsz', 0, 0, u32(sizes[0]!), u32(n)) : fullBox('stsz', 0, 0, u32(0), u32(n), ...sizes.map(u32)),
  );
  const perChunk = l.chunks.map((first, c) => (l.chunks[c + 1] ?? n) - first);
  const stsc: Buffer[] = [];
  let entries = 0;
  for (const [c, count] of perChunk.entries()) {
    if (c > 0 && count === perChunk[c - 1]) continue;
    stsc.push(u32(c + 1), u32(count), u32(1));
    entries++;
  }
  tables.push(fullBox('stsc', 0, 0, u32(entries), ...stsc));
  tables.push(
    co64
      ? fullBox('co64', 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map(u64))
      : fullBox('stco', 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map(u32)),
  );
  return tables;
}

/** edts: an empty edit for the delay, then the media from its first shown sample; none when both are 0. */
function edts(l: Layout): Buffer | undefined {
  if (l.delay === 0 && l.mediaStart === 0) return undefined;
  const big = Math.max(l.delay, l.mediaDuration, l.mediaStart) > 0x7fffffff;
  const entry = (duration: number, mediaTime: number) =>
    big ? [u64(duration), mediaTime === -1 ? Buffer.alloc(8, 0xff) : u64(mediaTime)] : [u32(duration), i32(mediaTime)];
  const rate = [u16(1), u16(0)]; // media_rate 1.0
  const list = [...(l.delay > 0 ? [...entry(l.delay, -1), ...rate] : []), ...entry(l.mediaDuration, l.mediaStart)];
  return box('edts', fullBox('elst', big ? 1 : 0, 0, u32(l.delay > 0 ? 2 : 1), ...list, ...rate));
}

/**
 * A playable MP4 of the tracks' samples (decode order, as fragmentSamples gives them, fragments
 * concatenated). Tracks without samples are left out, the others get track IDs 1, 2... in the given order.
 */
export function clipMp4(tracks: Track[], perTrackSamples: Sample[][]): Buffer {
  if (tracks.length !== perTrackSamples.length) throw new RangeError('one sample list per track');
  const laid = tracks.flatMap((t, i) => (perTrackSamples[i]!.length > 0 ? [layout(t, perTrackSamples[i]!)] : []));
  if (laid.length === 0) throw new RangeError('no samples: no clip to write');
  const zero = Math.min(...laid.map((l) => l.firstPts));
  const layouts: Layout[] = laid.map((l) => ({ ...l, delay: l.firstPts - zero }));

  // mdat order: every track's chunks by decode time (ties: track order), so the file reads front to back.
  const order = layouts
    .flatMap((l, t) => l.chunks.map((first, c) => ({ t, c, first, time: l.dts[first]! })))
    .sort((a, b) => a.time - b.time || a.t - b.t);
  const relative = layouts.map((l) => new Array<number>(l.chunks.length));
  let dataSize = 0;
  for (const { t, c, first } of order) {
    relative[t]![c] = dataSize;
    const l = layouts[t]!;
    const end = l.chunks[c + 1] ?? l.samples.length;
    for (let i = first; i < end; i++) dataSize += l.samples[i]!.data.length;
  }

  const head = ftyp('isom', 0x200, ['isom', 'iso2', 'mp41']);
  const mdatHeaderSize = dataSize + 8 > 0xffffffff ? 16 : 8;
  const movieDuration = Math.max(...layouts.map((l) => l.delay + l.mediaDuration));
  const moov = (base: number, co64: boolean) =>
    box(
      'moov',
      mvhd(movieDuration, layouts.length + 1),
      ...layouts.map((l, t) =>
        trak(l.track, {
          trackId: t + 1,
          durationMs: l.delay + l.mediaDuration,
          mediaDurationMs: l.mediaDuration,
          sampleTables: sampleTables(
            l,
            relative[t]!.map((r) => base + r),
            co64,
          ),
          edts: edts(l),
        }),
      ),
    );
  // The offsets depend on moov's size, which depends only on the offsets' width: measure, then write.
  let co64 = false;
  let moovSize = moov(0, false).length;
  if (head.length + moovSize + mdatHeaderSize + dataSize > 0xffffffff) {
    co64 = true;
    moovSize = moov(0, true).length;
  }
  const base = head.length + moovSize + mdatHeaderSize;
  const movie = moov(base, co64);

  const out = Buffer.allocUnsafe(base + dataSize);
  let p = head.copy(out, 0);
  p += movie.copy(out, p);
  if (mdatHeaderSize === 8) {
    out.writeUInt32BE(dataSize + 8, p);
    out.write('mdat', p + 4, 'latin1');
  } else {
    out.writeUInt32BE(1, p);
    out.write('mdat', p + 4, 'latin1');
    u64(dataSize + 16).copy(out, p + 8);
  }
  p += mdatHeaderSize;
  for (const { t, c, first } of order) {
    const l = layouts[t]!;
    const end = l.chunks[c + 1] ?? l.samples.length;
    for (let i = first; i < end; i++) p += l.samples[i]!.data.copy(out, p);
  }
  return out;
}
