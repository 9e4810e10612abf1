/**
 * Fragmented MP4 from real MKV (ffmpeg's H.264 with B-frames, H.265, AAC), checked by ffprobe and ffmpeg:
 * an init segment followed by the media segments of consecutive fragments is one playable track whose
 * packets have the samples' exact epoch-millisecond times and key flags; and by reading the boxes back.
 */
// needs: ffmpeg
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initSegment, mediaSegment } from '../../src/playback/fmp4.js';
import type { Sample, TrackMedia } from '../../src/playback/media.js';
import { parseTracks } from '../../src/playback/demux.js';
import {
  decodeErrors,
  ffprobe,
  findAll,
  findBox,
  mkvSource,
  parseBoxes,
  scratchFile,
  type Source,
} from './mkvSource.js';

/** init + the media segments of every fragment of track `t` (sequence numbers from 1), as a player gets. */
function trackFile(source: Source, t: number): { bytes: Buffer; samples: Sample[] } {
  const parts = [initSegment(source.set.tracks[t]!)];
  source.fragments.forEach((f, i) => parts.push(mediaSegment(f[t]!, i + 1)));
  return { bytes: Buffer.concat(parts), samples: source.fragments.flatMap((f) => f[t]!.samples) };
}

/** ffprobe's packets and decoded frames of a file, and everything ffprobe and ffmpeg complained about. */
async function probeAll(name: string, bytes: Buffer) {
  const file = scratchFile(name, bytes);
  const { json, stderr } = await ffprobe(file, ['-show_packets', '-show_frames', '-show_streams']);
  // Asked for both, ffprobe lists packets and frames in one array, in the order it read and decoded them.
  const both: any[] = json.packets_and_frames;
  const packets = both.filter((e) => e.type === 'packet');
  const frames = both.filter((e) => e.type === 'frame');
  return { file, json: { ...json, packets, frames }, errors: stderr + (await decodeErrors(file)) };
}

function assertPacketsAreSamples(packets: any[], samples: Sample[], kind: 'video' | 'audio') {
  assert.equal(packets.length, samples.length);
  packets.forEach((p, i) => {
    const s = samples[i]!;
    // Time base 1/1000: the numbers are the samples' epoch milliseconds, tfdt included.
    assert.deepEqual([p.dts, p.pts, p.size], [s.dts, s.pts, String(s.data.length)], `packet ${i}`);
    assert.equal(p.flags.startsWith('K'), kind === 'audio' || s.key, `key flag of packet ${i}`);
  });
}

describe('fMP4 segments of H.264 with B-frames and AAC', () => {
  let source: Source;
  before(async () => {
    source = await mkvSource({ codec: 'h264', audio: true, seconds: 4, bframes: 2 });
  });

  it('has the fragments the test means: 4 of 1 s, B-frames (pts ≠ dts), audio in each', () => {
    assert.equal(source.fragments.length, 4);
    for (const [video, audio] of source.fragments) {
      assert.equal(video!.samples.length, 25);
      assert.ok(video!.samples[0]!.key);
      assert.ok(video!.samples.some((s) => s.pts !== s.dts));
      assert.ok(audio!.samples.length > 40);
    }
  });

  it('video: ffprobe decodes every frame, packets carry the samples’ dts, pts, sizes and key flags', async () => {
    const { bytes, samples } = trackFile(source, 0);
    const { json, errors } = await probeAll('video.mp4', bytes);
    assert.equal(errors, '');
    assert.equal(json.streams.length, 1);
    assert.equal(json.streams[0].codec_name, 'h264');
    assert.deepEqual([json.streams[0].width, json.streams[0].height], [320, 240]);
    assert.equal(json.streams[0].time_base, '1/1000');
    assertPacketsAreSamples(json.packets, samples, 'video');
    assert.equal(json.frames.length, samples.length);
    const keyPts = samples.filter((s) => s.key).map((s) => s.pts);
    assert.deepEqual(
      json.frames.filter((f: any) => f.key_frame === 1).map((f: any) => f.pts),
      keyPts,
    );
    // Shown in presentation order, every sample once.
    assert.deepEqual(
      json.frames.map((f: any) => f.pts),
      samples.map((s) => s.pts).sort((a, b) => a - b),
    );
  });

  it('audio: ffprobe decodes every AAC frame at the samples’ times, mono 48 kHz', async () => {
    const { bytes, samples } = trackFile(source, 1);
    const { json, errors } = await probeAll('audio.mp4', bytes);
    assert.equal(errors, '');
    const [stream] = json.streams;
    assert.deepEqual([stream.codec_name, stream.sample_rate, stream.channels], ['aac', '48000', 1]);
    assertPacketsAreSamples(json.packets, samples, 'audio');
    assert.equal(json.frames.length, samples.length);
  });

  it('each media segment is moof + mdat whose fields point where they should', () => {
    let sequence = 7;
    for (const fragment of source.fragments) {
      for (const media of fragment) {
        const segment = mediaSegment(media, sequence);
        const top = parseBoxes(segment);
        assert.deepEqual(
          top.map((b) => b.type),
          ['moof', 'mdat'],
        );
        assert.equal(
          top.reduce((n, b) => n + b.size, 0),
          segment.length,
        );
        const [moof, mdat] = top as [any, any];
        assert.equal(findBox(top, 'moof/mfhd')!.payload.readUInt32BE(4), sequence);
        const tfhd = findBox(top, 'moof/traf/tfhd')!.payload;
        assert.equal(tfhd.readUInt32BE(0), 0x020000, 'version 0, default-base-is-moof only');
        assert.equal(tfhd.readUInt32BE(4), 1, 'track ID 1');
        const tfdt = findBox(top, 'moof/traf/tfdt')!.payload;
        assert.equal(tfdt[0], 1, 'tfdt version 1');
        assert.equal(Number(tfdt.readBigUInt64BE(4)), media.samples[0]!.dts);
        const trun = findBox(top, 'moof/traf/trun')!.payload;
        assert.equal(trun[0], 1, 'trun version 1 (signed composition offsets)');
        assert.equal(trun.readUInt32BE(4), media.samples.length);
        const dataOffset = trun.readInt32BE(8);
        assert.equal(moof.start + dataOffset, mdat.start + 8, 'data offset: the first byte of the mdat payload');
        let pos = mdat.start + 8;
        media.samples.forEach((s, i) => {
          const entry = trun.subarray(12 + 16 * i, 28 + 16 * i);
          assert.equal(entry.readUInt32BE(0), s.duration);
          assert.equal(entry.readUInt32BE(4), s.data.length);
          const nonSync = (entry.readUInt32BE(8) & 0x10000) !== 0;
          assert.equal(nonSync, media.track.kind === 'video' && !s.key);
          assert.equal(entry.readInt32BE(12), s.pts - s.dts);
          assert.ok(segment.subarray(pos, pos + s.data.length).equals(s.data));
          pos += s.data.length;
        });
        assert.equal(pos, segment.length);
        sequence++;
      }
    }
  });

  it('the init segment depends on the track only: the same bytes from each parse of the stream header', () => {
    for (const [t, track] of source.set.tracks.entries()) {
      const again = parseTracks(Buffer.from(source.infoAndTracks)).tracks[t]!;
      assert.notEqual(again, track);
      assert.ok(initSegment(track).equals(initSegment(again)));
    }
  });

  it('the init segment: ftyp, then moov with one trak in ms, und, empty tables, and trex', () => {
    for (const track of source.set.tracks) {
      const init = initSegment(track);
      const top = parseBoxes(init);
      assert.deepEqual(
        top.map((b) => b.type),
        ['ftyp', 'moov'],
      );
      assert.equal(top[0]!.payload.toString('latin1', 0, 4), 'iso6');
      assert.deepEqual(
        parseBoxes(top[1]!.payload).map((b) => b.type),
        ['mvhd', 'trak', 'mvex'],
      );
      assert.equal(findBox(top, 'moov/mvhd')!.payload.readUInt32BE(12), 1000);
      const mdhd = findBox(top, 'moov/trak/mdia/mdhd')!.payload;
      assert.equal(mdhd.readUInt32BE(12), 1000, 'timescale');
      const lang = mdhd.readUInt16BE(20);
      assert.equal(
        String.fromCharCode(((lang >> 10) & 31) + 0x60, ((lang >> 5) & 31) + 0x60, (lang & 31) + 0x60),
        'und',
      );
      const hdlr = findBox(top, 'moov/trak/mdia/hdlr')!.payload;
      assert.equal(hdlr.toString('latin1', 8, 12), track.kind === 'video' ? 'vide' : 'soun');
      for (const table of ['stts', 'stsc', 'stco']) {
        assert.equal(findBox(top, `moov/trak/mdia/minf/stbl/${table}`)!.payload.readUInt32BE(4), 0, table);
      }
      const stsd = findBox(top, 'moov/trak/mdia/minf/stbl/stsd')!.payload;
      const entry = parseBoxes(stsd, 8)[0]!;
      assert.equal(entry.type, track.kind === 'video' ? 'avc1' : 'mp4a');
      const config = track.kind === 'video' ? parseBoxes(entry.payload, 78)[0]! : parseBoxes(entry.payload, 28)[0]!;
      assert.equal(config.type, track.kind === 'video' ? 'avcC' : 'esds');
      if (track.kind === 'video') assert.ok(config.payload.equals(track.codecPrivate), 'avcC is CodecPrivate');
      else
        assert.ok(
          config.payload.includes(Buffer.concat([Buffer.of(0x05, track.codecPrivate.length), track.codecPrivate])),
        );
      const trex = findBox(top, 'moov/mvex/trex')!.payload;
      assert.equal(trex.readUInt32BE(4), 1, 'trex track ID');
    }
  });

  it('another track ID (a DASH or multi-track file): init and segments agree and still play', async () => {
    const t = 0;
    const parts = [initSegment(source.set.tracks[t]!, 2)];
    source.fragments.forEach((f, i) => parts.push(mediaSegment(f[t]!, i + 1, 2)));
    const bytes = Buffer.concat(parts);
    const top = parseBoxes(bytes);
    assert.equal(findBox(top, 'moov/trak')!.payload.readUInt32BE(8 + 12), 2, 'tkhd track ID');
    assert.equal(findBox(top, 'moov/mvex/trex')!.payload.readUInt32BE(4), 2);
    assert.equal(findBox(top, 'moof/traf/tfhd')!.payload.readUInt32BE(4), 2);
    const { json, errors } = await probeAll('track2.mp4', bytes);
    assert.equal(errors, '');
    assert.equal(json.frames.length, source.fragments.length * 25);
  });

  it('an empty sample list is an error that says so, not an empty segment', () => {
    const empty: TrackMedia = { track: source.set.tracks[1]!, samples: [] };
    assert.throws(() => mediaSegment(empty, 1), { name: 'RangeError', message: /track 2 has no samples/ });
    assert.throws(() => mediaSegment(source.fragments[0]![0]!, -1), RangeError);
  });
});

describe('fMP4 segments of H.265', () => {
  it('hvc1 + hvcC: ffprobe and ffmpeg decode every frame at the samples’ times', async () => {
    const source = await mkvSource({ codec: 'h265', seconds: 3, bframes: 2 });
    assert.equal(source.set.tracks[0]!.codec, 'hevc');
    const { bytes, samples } = trackFile(source, 0);
    const top = parseBoxes(bytes);
    const stsd = findBox(top, 'moov/trak/mdia/minf/stbl/stsd')!.payload;
    const entry = parseBoxes(stsd, 8)[0]!;
    assert.equal(entry.type, 'hvc1');
    assert.ok(parseBoxes(entry.payload, 78)[0]!.payload.equals(source.set.tracks[0]!.codecPrivate));
    assert.equal(findAll(top, 'moof').length, source.fragments.length);
    const { json, errors } = await probeAll('hevc.mp4', bytes);
    assert.equal(errors, '');
    assert.equal(json.streams[0].codec_name, 'hevc');
    assertPacketsAreSamples(json.packets, samples, 'video');
    assert.equal(json.frames.length, samples.length);
  });
});
