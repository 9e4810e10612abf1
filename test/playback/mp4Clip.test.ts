/**
 * Plain MP4 clips of real MKV fragments (ffmpeg's H.264 with B-frames plus AAC, H.265), checked by ffprobe
 * and ffmpeg: moov before mdat, every frame decodes, each packet keeps its sample's times relative to the
 * clip's zero (so audio and video stay as the stream had them), ctts with B-frames, stss at the key frames.
 */
// needs: ffmpeg
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Sample } from '../../src/playback/media.js';
import { clipMp4 } from '../../src/playback/mp4Clip.js';
import {
  decodeErrors,
  ffprobe,
  findAll,
  findBox,
  mkvSource,
  type ParsedBox,
  parseBoxes,
  scratchFile,
  type Source,
} from './mkvSource.js';

/** Each track's samples of the fragments [from, to), concatenated as GetClip takes them. */
function samplesOf(source: Source, from = 0, to = source.fragments.length): Sample[][] {
  return source.set.tracks.map((_, t) => source.fragments.slice(from, to).flatMap((f) => f[t]!.samples));
}

async function probeClip(name: string, clip: Buffer) {
  const file = scratchFile(name, clip);
  const { json, stderr } = await ffprobe(file, ['-count_frames', '-show_streams', '-show_format', '-show_packets']);
  return { json, errors: stderr + (await decodeErrors(file)) };
}

const firstPts = (samples: Sample[]) => Math.min(...samples.map((s) => s.pts));

/** The earliest presentation time of any track: the clip's time zero. */
const zeroOf = (perTrack: Sample[][]) => Math.min(...perTrack.map(firstPts));

/** Every packet of each stream at its sample's dts and pts minus the clip's zero, in decode order. */
function assertTimes(json: any, perTrack: Sample[][]) {
  const zero = zeroOf(perTrack);
  perTrack.forEach((samples, t) => {
    const packets = json.packets.filter((p: any) => p.stream_index === t);
    assert.equal(packets.length, samples.length, `packets of stream ${t}`);
    assert.deepEqual(
      packets.map((p: any) => [p.dts, p.pts]),
      samples.map((s) => [s.dts - zero, s.pts - zero]),
      `times of stream ${t}`,
    );
  });
}

function stbl(top: ParsedBox[], track: number): ParsedBox[] {
  return parseBoxes(findAll(top, 'moov/trak/mdia/minf/stbl')[track]!.payload);
}

describe('an MP4 clip of H.264 with B-frames and AAC', () => {
  let source: Source;
  before(async () => {
    source = await mkvSource({ codec: 'h264', audio: true, seconds: 4, bframes: 2 });
  });

  it('ftyp, moov, mdat in that order: a player can start before the end arrives', () => {
    const clip = clipMp4(source.set.tracks, samplesOf(source));
    const top = parseBoxes(clip);
    assert.deepEqual(
      top.map((b) => b.type),
      ['ftyp', 'moov', 'mdat'],
    );
    assert.equal(top[0]!.payload.toString('latin1', 0, 4), 'isom');
    assert.equal(findAll(top, 'moov/trak').length, 2);
  });

  it('ffmpeg decodes every frame; frame counts exact, duration the fragments’, packets at the samples’ times', async () => {
    const perTrack = samplesOf(source);
    const { json, errors } = await probeClip('clip.mp4', clipMp4(source.set.tracks, perTrack));
    assert.equal(errors, '');
    const [video, audio] = json.streams;
    assert.deepEqual([video.codec_name, audio.codec_name], ['h264', 'aac']);
    assert.equal(Number(video.nb_read_frames), perTrack[0]!.length);
    assert.equal(Number(audio.nb_read_frames), perTrack[1]!.length);
    assertTimes(json, perTrack);
    // The clip lasts until its last track ends, each starting where its first sample is shown.
    const zero = zeroOf(perTrack);
    const ends = perTrack.map((s) => firstPts(s) - zero + (s.at(-1)!.dts + s.at(-1)!.duration - s[0]!.dts));
    assert.equal(Math.round(Number(json.format.duration) * 1000), Math.max(...ends));
    const fragmentsMs = source.fragments.reduce((n, f) => n + f[0]!.samples.reduce((m, s) => m + s.duration, 0), 0);
    assert.ok(Math.abs(Number(json.format.duration) * 1000 - fragmentsMs) <= 40, `${json.format.duration} s`);
  });

  it('audio and video start as they did in the stream: the first shown sample at 0, the other at its offset', async () => {
    const perTrack = samplesOf(source);
    const { json } = await probeClip('sync.mp4', clipMp4(source.set.tracks, perTrack));
    const mkv = await ffprobe(source.file, ['-show_streams']);
    const startMs = (streams: any[]) => streams.map((s: any) => Math.round(Number(s.start_time) * 1000));
    const [mkvVideo, mkvAudio] = startMs(mkv.json.streams);
    const [clipVideo, clipAudio] = startMs(json.streams);
    assert.equal(Math.min(clipVideo!, clipAudio!), 0);
    assert.equal(clipVideo! - clipAudio!, mkvVideo! - mkvAudio!);
    assert.notEqual(clipVideo, clipAudio, 'the test stream has its audio start before its video (AAC priming)');
  });

  it('B-frames: ctts with the composition offsets, stss at the key frames, an edit list from the first shown frame', () => {
    const perTrack = samplesOf(source);
    const top = parseBoxes(clipMp4(source.set.tracks, perTrack));
    const video = stbl(top, 0);
    const ctts = video.find((b) => b.type === 'ctts');
    assert.ok(ctts, 'ctts in the video track');
    assert.equal(ctts.payload[0], 0, 'version 0: all offsets ≥ 0');
    const offsets: number[] = [];
    for (let i = 0, n = ctts.payload.readUInt32BE(4); i < n; i++) {
      const count = ctts.payload.readUInt32BE(8 + 8 * i);
      for (let k = 0; k < count; k++) offsets.push(ctts.payload.readUInt32BE(12 + 8 * i));
    }
    assert.deepEqual(
      offsets,
      perTrack[0]!.map((s) => s.pts - s.dts),
    );
    const stss = video.find((b) => b.type === 'stss')!.payload;
    const sync = Array.from({ length: stss.readUInt32BE(4) }, (_, i) => stss.readUInt32BE(8 + 4 * i));
    assert.deepEqual(
      sync,
      perTrack[0]!.flatMap((s, i) => (s.key ? [i + 1] : [])),
    );
    assert.equal(sync.length, source.fragments.length);
    const audio = stbl(top, 1);
    assert.deepEqual(
      audio.filter((b) => b.type === 'ctts' || b.type === 'stss'),
      [],
    );
    // Video: an empty edit (audio starts first), then the media from the first frame's composition time.
    const elst = findAll(top, 'moov/trak/edts/elst');
    assert.equal(elst.length, 1, 'only the video needs one');
    const e = elst[0]!.payload;
    const zero = zeroOf(perTrack);
    const v = perTrack[0]!;
    assert.equal(e.readUInt32BE(4), 2);
    assert.deepEqual([e.readUInt32BE(8), e.readInt32BE(12)], [firstPts(v) - zero, -1]);
    assert.deepEqual(
      [e.readUInt32BE(20), e.readInt32BE(24)],
      [v.at(-1)!.dts + v.at(-1)!.duration - v[0]!.dts, firstPts(v) - v[0]!.dts],
    );
  });

  it('chunk offsets point at each track’s samples in mdat, interleaved in decode order', () => {
    const perTrack = samplesOf(source);
    const clip = clipMp4(source.set.tracks, perTrack);
    const top = parseBoxes(clip);
    const chunkStarts: number[] = [];
    perTrack.forEach((samples, t) => {
      const tables = stbl(top, t);
      const stco = tables.find((b) => b.type === 'stco')!.payload;
      const offsets = Array.from({ length: stco.readUInt32BE(4) }, (_, i) => stco.readUInt32BE(8 + 4 * i));
      const stsc = tables.find((b) => b.type === 'stsc')!.payload;
      const runs = Array.from({ length: stsc.readUInt32BE(4) }, (_, i) => [
        stsc.readUInt32BE(8 + 12 * i),
        stsc.readUInt32BE(12 + 12 * i),
      ]);
      let sample = 0;
      offsets.forEach((offset, c) => {
        const perChunk = runs.findLast(([first]) => first! <= c + 1)![1]!;
        let pos = offset;
        for (let k = 0; k < perChunk; k++, sample++) {
          const data = samples[sample]!.data;
          assert.ok(clip.subarray(pos, pos + data.length).equals(data), `track ${t} sample ${sample}`);
          pos += data.length;
        }
        chunkStarts.push(offset);
      });
      assert.equal(sample, samples.length);
    });
    const mdat = top[2]!;
    assert.equal(Math.min(...chunkStarts), mdat.start + 8);
    assert.ok(
      perTrack.every((_, t) => stbl(top, t).some((b) => b.type === 'stco')),
      'stco: small offsets',
    );
  });

  it('a clip from the middle of the stream starts at 0 too and decodes', async () => {
    const perTrack = samplesOf(source, 1, 3);
    const { json, errors } = await probeClip('middle.mp4', clipMp4(source.set.tracks, perTrack));
    assert.equal(errors, '');
    assertTimes(json, perTrack);
    assert.equal(Math.min(...json.streams.map((s: any) => Number(s.start_time))), 0);
  });

  it('a missing fragment: later samples keep their times, the gap goes into the last sample before it', async () => {
    const perTrack = source.set.tracks.map((_, t) =>
      source.fragments.filter((_, i) => i !== 1).flatMap((f) => f[t]!.samples),
    );
    const { json, errors } = await probeClip('gap.mp4', clipMp4(source.set.tracks, perTrack));
    assert.equal(errors, '');
    assertTimes(json, perTrack);
  });

  it('decode times that overlap at a fragment boundary are made increasing; presentation times stay exact', async () => {
    // As if the next fragment's decode times had been derived with a deeper reorder: 100 ms earlier.
    const video = source.fragments.flatMap((f, i) =>
      f[0]!.samples.map((s) => (i === 2 ? { ...s, dts: s.dts - 100 } : s)),
    );
    const { json, errors } = await probeClip('overlap.mp4', clipMp4([source.set.tracks[0]!], [video]));
    assert.equal(errors, '');
    const packets = json.packets;
    assert.equal(packets.length, video.length);
    const zero = firstPts(video);
    assert.deepEqual(
      packets.map((p: any) => p.pts),
      video.map((s) => s.pts - zero),
    );
    for (let i = 1; i < packets.length; i++) assert.ok(packets[i].dts > packets[i - 1].dts, `dts of packet ${i}`);
    for (const p of packets) assert.ok(p.dts <= p.pts);
  });

  it('tracks without samples are left out; no samples at all is an error', () => {
    const [video] = samplesOf(source);
    const top = parseBoxes(clipMp4(source.set.tracks, [video!, []]));
    assert.equal(findAll(top, 'moov/trak').length, 1);
    assert.throws(() => clipMp4(source.set.tracks, [[], []]), RangeError);
    assert.throws(() => clipMp4(source.set.tracks, [video!]), RangeError);
  });
});

describe('MP4 clips of other streams', () => {
  it('H.264 without B-frames, video only: no ctts, no edit list, presentation from 0', async () => {
    const source = await mkvSource({ codec: 'h264', seconds: 3, bframes: 0 });
    const perTrack = samplesOf(source);
    const clip = clipMp4(source.set.tracks, perTrack);
    const top = parseBoxes(clip);
    assert.equal(
      stbl(top, 0).find((b) => b.type === 'ctts'),
      undefined,
    );
    assert.equal(findBox(top, 'moov/trak/edts'), undefined);
    const { json, errors } = await probeClip('nob.mp4', clip);
    assert.equal(errors, '');
    assert.equal(Number(json.streams[0].nb_read_frames), perTrack[0]!.length);
    assert.equal(Number(json.streams[0].start_time), 0);
    assertTimes(json, perTrack);
  });

  it('H.265 with B-frames: hvc1, every frame decodes at its time', async () => {
    const source = await mkvSource({ codec: 'h265', seconds: 3, bframes: 2 });
    const perTrack = samplesOf(source);
    const clip = clipMp4(source.set.tracks, perTrack);
    const { json, errors } = await probeClip('hevc.mp4', clip);
    assert.equal(errors, '');
    assert.equal(json.streams[0].codec_name, 'hevc');
    assert.equal(json.streams[0].codec_tag_string, 'hvc1');
    assert.equal(Number(json.streams[0].nb_read_frames), perTrack[0]!.length);
    assertTimes(json, perTrack);
    assert.ok(stbl(parseBoxes(clip), 0).some((b) => b.type === 'ctts'));
  });
});
