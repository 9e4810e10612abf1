/**
 * tsSegment (HLS's GetTSFragment.ts) against real encoders and decoders: ffmpeg makes the MKV, the playback
 * demuxer gives each Cluster's samples, and ffprobe/ffmpeg must decode every frame of each segment alone and
 * of the segments back to back, at the samples' own timestamps. The packet layout is read independently
 * (tsSource.ts) for what decoders forgive: CRCs, continuity counters, PCR spacing, stuffing, flags.
 */
// needs: ffmpeg
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import { MediaError, type Sample, type TrackMedia } from '../../src/playback/media.js';
import { tsSegment } from '../../src/playback/mpegts.js';
import {
  annexB,
  ffprobe,
  fragments,
  parsePmt,
  pesOf,
  run,
  type SourceOptions,
  section,
  type TsPacket,
  tsPackets,
} from './tsSource.js';

/** 2025-01-01T00:00:00Z: KVS timestamps are the producer's epoch milliseconds. */
const EPOCH = 1_735_689_600_000;
const WRAP = 2 ** 33;
const mod = (v: number) => ((v % WRAP) + WRAP) % WRAP;
const t90 = (ms: number) => mod(ms * 90);
/** a - b on the 33-bit clock, in (-2^32, 2^32]. */
const diff = (a: number, b: number) => {
  const d = mod(a - b);
  return d > WRAP / 2 ? d - WRAP : d;
};

const VIDEO_PID = 0x100;
const AUDIO_PID = 0x101;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvsd-mpegts-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function write(ts: Buffer): string {
  const file = join(dir, `seg${fileCount++}.ts`);
  writeFileSync(file, ts);
  return file;
}

const samplesOf = (frags: TrackMedia[][], kind: 'video' | 'audio'): Sample[] =>
  frags.flatMap((f) => f.filter((m) => m.track.kind === kind).flatMap((m) => m.samples));

/** ffprobe on the segments of `frags` back to back: every sample a packet and a decoded frame, at its times. */
async function assertDecodes(frags: TrackMedia[][], what: string): Promise<void> {
  const probed = await ffprobe(write(Buffer.concat(frags.map((f) => tsSegment(f)))));
  assert.equal(probed.stderr, '', `${what}: ffprobe said something`);
  const video = samplesOf(frags, 'video');
  const audio = samplesOf(frags, 'audio');
  const packets = (kind: string) => probed.packets.filter((p) => p.codec_type === kind);
  const frames = (kind: string) => probed.frames.filter((f) => f.media_type === kind);

  assert.deepEqual(
    packets('video').map((p) => [mod(p.pts!), mod(p.dts!), p.flags[0] === 'K']),
    video.map((s) => [t90(s.pts), t90(s.dts), s.key]),
    `${what}: video packets (pts, dts, key) in decode order`,
  );
  const shown = frames('video');
  assert.equal(shown.length, video.length, `${what}: every video frame decodes`);
  const byPts = (a: number, b: number) => diff(a, b);
  assert.deepEqual(
    shown.map((f) => mod(f.pts!)).sort(byPts),
    video.map((s) => t90(s.pts)).sort(byPts),
    `${what}: decoded video frames at the samples' presentation times`,
  );
  assert.deepEqual(
    shown.filter((f) => f.key_frame === 1).map((f) => mod(f.pts!)),
    video.filter((s) => s.key).map((s) => t90(s.pts)),
    `${what}: key frames decode as key frames`,
  );

  // Audio PES carry several ADTS frames: the decoder counts the later ones' times in 1024-sample steps,
  // so they differ from the millisecond-rounded sample times by at most a millisecond (exactness of the PES
  // times themselves is checked on the packets).
  const heard = packets('audio');
  assert.equal(heard.length, audio.length, `${what}: one audio packet per AAC frame`);
  for (const [i, p] of heard.entries()) {
    assert.ok(Math.abs(diff(p.pts!, t90(audio[i]!.pts))) <= 90, `${what}: audio packet ${i} at ${p.pts}`);
  }
  assert.equal(frames('audio').length, audio.length, `${what}: every audio frame decodes`);
}

/** The layout checks, on one segment made from `media`. */
function assertStructure(media: TrackMedia[], what: string): TsPacket[] {
  const ts = tsSegment(media);
  const packets = tsPackets(ts);
  const video = media.find((m) => m.track.kind === 'video');
  const audio = media.filter((m) => m.track.kind === 'audio');

  // PAT then PMT, CRCs valid.
  assert.equal(packets[0]!.pid, 0, `${what}: PAT first`);
  const pat = section(packets[0]!);
  assert.equal(pat[0], 0x00);
  const pmtPid = ((pat[10]! & 0x1f) << 8) | pat[11]!;
  assert.equal(packets[1]!.pid, pmtPid, `${what}: PMT second`);
  const pmt = parsePmt(section(packets[1]!));
  const expected = [
    ...(video ? [{ type: video.track.codec === 'avc' ? 0x1b : 0x24, pid: VIDEO_PID }] : []),
    ...audio.map((_, i) => ({ type: 0x0f, pid: AUDIO_PID + i })),
  ];
  assert.deepEqual(pmt.streams, expected, `${what}: PMT streams`);
  assert.equal(pmt.pcrPid, expected[0]?.pid ?? 0x1fff, `${what}: PCR PID (0x1FFF: none)`);
  assert.equal(packets.filter((p) => p.pid === 0 || p.pid === pmtPid).length, 2, `${what}: one PAT, one PMT`);

  // Continuity: from 0 on every PID, +1 per packet with payload, unchanged by a packet without; the first
  // packet of each PID flags the discontinuity with whatever segment came before.
  const last = new Map<number, number>();
  for (const [i, p] of packets.entries()) {
    const before = last.get(p.pid);
    if (before === undefined) assert.ok(p.discontinuity, `${what}: packet ${i}, first of PID ${p.pid}, flags it`);
    else assert.ok(!p.discontinuity, `${what}: packet ${i}: no discontinuity inside the segment`);
    const want = p.hasPayload ? ((before ?? 15) + 1) & 15 : (before ?? 15);
    assert.equal(p.cc, want, `${what}: packet ${i} (PID ${p.pid}) continuity counter`);
    last.set(p.pid, p.cc);
  }

  // PCR: in the first packet after the PSI and in the first video packet, only on the PCR PID, never more
  // than 100 ms apart, never going back.
  const pcrs = packets.filter((p) => p.pcr !== undefined);
  if (media.some((m) => m.samples.length > 0)) {
    assert.notEqual(packets[2]!.pcr, undefined, `${what}: PCR in the first packet after PAT and PMT`);
  }
  assert.ok(
    pcrs.every((p) => p.pid === pmt.pcrPid),
    `${what}: PCR only on the PCR PID`,
  );
  const firstVideo = packets.find((p) => p.pid === VIDEO_PID && p.hasPayload);
  if (firstVideo) assert.notEqual(firstVideo.pcr, undefined, `${what}: PCR in the first video packet`);
  for (let i = 1; i < pcrs.length; i++) {
    const gap = diff(Math.floor(pcrs[i]!.pcr! / 300), Math.floor(pcrs[i - 1]!.pcr! / 300));
    assert.ok(gap >= 0 && gap <= 100 * 90, `${what}: PCR ${i} is ${gap / 90} ms after the one before`);
  }
  if (pcrs.length > 0) {
    const firstDts = Math.min(...media.flatMap((m) => m.samples.map((s) => s.dts)));
    assert.ok(diff(t90(firstDts), pcrs[0]!.pcr! / 300) >= 0, `${what}: the first PCR is not after the first DTS`);
  }

  // Video PES: timestamps, AUD first, parameter sets before key frames, the sample's NAL units unchanged.
  if (video) {
    const pes = pesOf(packets, VIDEO_PID);
    assert.equal(pes.length, video.samples.length, `${what}: one video PES per sample`);
    const hevc = video.track.codec === 'hevc';
    const nalType = (n: Buffer) => (hevc ? (n[0]! >> 1) & 0x3f : n[0]! & 0x1f);
    const isParameterSet = (n: Buffer) => (hevc ? nalType(n) >= 32 && nalType(n) <= 34 : [7, 8].includes(nalType(n)));
    for (const [i, s] of video.samples.entries()) {
      const p = pes[i]!;
      assert.equal(p.streamId, 0xe0);
      assert.equal(p.length, 0, 'video PES_packet_length 0');
      assert.deepEqual([p.pts, p.dts], [t90(s.pts), t90(s.dts)], `${what}: video PES ${i} PTS/DTS`);
      assert.equal(p.randomAccess, s.key, `${what}: random_access_indicator on key frames only`);
      assert.deepEqual([...p.data.subarray(0, 4)], [0, 0, 0, 1], 'a 4-byte start code first');
      const nals = annexB(p.data);
      assert.equal(nalType(nals[0]!), hevc ? 35 : 9, `${what}: AUD first in video PES ${i}`);
      const sets = nals.slice(1).filter(isParameterSet);
      const slices = nals.slice(1).filter((n) => !isParameterSet(n));
      if (s.key) {
        const types = sets.map(nalType);
        assert.deepEqual(types, hevc ? [32, 33, 34] : [7, 8], `${what}: parameter sets of key frame ${i}`);
        assert.ok(nals.slice(1, 1 + sets.length).every(isParameterSet), 'parameter sets right after the AUD');
      } else assert.equal(sets.length, 0, `${what}: no parameter sets in frame ${i}`);
      assert.deepEqual(slices, lengthPrefixed(s.data), `${what}: frame ${i}'s own NAL units`);
    }
  }

  // Audio PES: PTS of their first frame exact, ADTS headers from the AudioSpecificConfig, frames unchanged.
  for (const [a, m] of audio.entries()) {
    const pes = pesOf(packets, AUDIO_PID + a);
    const { rateIndex, channels } = ascOf(m.track.codecPrivate);
    let next = 0;
    for (const p of pes) {
      assert.equal(p.streamId, 0xc0 + a);
      assert.equal(p.length, p.data.length + 3 + 5, `${what}: audio PES_packet_length (and nothing after it)`);
      assert.ok(p.randomAccess, 'every AAC frame is a random access point');
      assert.equal(p.pts, t90(m.samples[next]!.pts), `${what}: audio PES PTS is its first frame's`);
      for (let pos = 0; pos < p.data.length; next++) {
        const h = p.data.subarray(pos, pos + 7);
        assert.deepEqual([h[0], h[1] & 0xf7], [0xff, 0xf1], 'ADTS sync, MPEG-4, layer 0, no CRC');
        assert.equal(h[2]! >> 6, 1, 'AAC LC');
        assert.equal((h[2]! >> 2) & 15, rateIndex);
        assert.equal(((h[2]! & 1) << 2) | (h[3]! >> 6), channels);
        const length = ((h[3]! & 3) << 11) | (h[4]! << 3) | (h[5]! >> 5);
        assert.deepEqual(p.data.subarray(pos + 7, pos + length), m.samples[next]!.data, `${what}: AAC frame ${next}`);
        pos += length;
      }
    }
    assert.equal(next, m.samples.length, `${what}: every AAC frame is in the segment`);
  }
  return packets;
}

function lengthPrefixed(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < data.length; pos += 4 + data.readUInt32BE(pos)) {
    out.push(data.subarray(pos + 4, pos + 4 + data.readUInt32BE(pos)));
  }
  return out;
}

const ascOf = (asc: Buffer) => ({ rateIndex: ((asc[0]! & 7) << 1) | (asc[1]! >> 7), channels: (asc[1]! >> 3) & 15 });

const H264: SourceOptions = { video: 'h264' };
const HEVC: SourceOptions = { video: 'hevc' };

for (const [name, source] of [
  ['H.264', H264],
  ['H.265', HEVC],
] as const) {
  describe(`${name} and AAC`, () => {
    let frags: TrackMedia[][];
    before(async () => {
      frags = await fragments(source, EPOCH);
      assert.ok(frags.length >= 3, 'several fragments');
    });

    test('each segment decodes on its own, from its first (key) frame, at the sample times', async () => {
      await Promise.all(frags.map((f, i) => assertDecodes([f], `segment ${i}`)));
      const first = await ffprobe(write(tsSegment(frags[1]!)));
      const video = frags[1]!.find((m) => m.track.kind === 'video')!.samples;
      assert.ok(video[0]!.key);
      assert.deepEqual(
        [mod(first.frames.find((f) => f.media_type === 'video')!.pts!), 1],
        [t90(video[0]!.pts), first.frames.find((f) => f.media_type === 'video')!.key_frame],
        'the first frame shown is the key frame that opens the segment',
      );
    });

    test('the segments back to back decode as one stream', () => assertDecodes(frags, 'all segments'));

    test('ffmpeg decodes each segment and the whole without a word', async () => {
      const files = [...frags.map((f) => write(tsSegment(f))), write(Buffer.concat(frags.map((f) => tsSegment(f))))];
      for (const file of files) {
        const { code, stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
        assert.deepEqual({ code, stderr }, { code: 0, stderr: '' }, file);
      }
    });

    test('a JavaScript demuxer, as players use, reads the same tracks, codecs and frames (mediabunny)', async () => {
      for (const [i, f] of [...frags.map((f) => [f]), frags].entries()) {
        const input = new Input({
          source: new BufferSource(Buffer.concat(f.map((m) => tsSegment(m)))),
          formats: ALL_FORMATS,
        });
        assert.equal((await input.getFormat()).name, 'MPEG Transport Stream');
        const tracks = await input.getTracks();
        assert.deepEqual(
          tracks.map((t) => t.type),
          ['video', 'audio'],
        );
        for (const t of tracks) {
          const kind = t.type as 'video' | 'audio';
          const samples = samplesOf(f, kind);
          const codec = f[0]!.find((m) => m.track.kind === kind)!.track.codecString;
          // In-band parameter sets make H.265 'hev1' where the MKV's hvcC said 'hvc1': same profile and level.
          assert.equal((await t.getCodecParameterString())?.replace(/^hev1/, 'hvc1'), codec, `${i}: ${kind} codec`);
          const got: { pts: number; key: boolean }[] = [];
          for await (const p of new EncodedPacketSink(t).packets()) {
            got.push({ pts: mod(Math.round(p.timestamp * 90000)), key: p.type === 'key' });
          }
          assert.equal(got.length, samples.length, `${i}: ${kind} packets`);
          for (const [k, s] of samples.entries()) {
            const slack = kind === 'audio' ? 90 : 0; // audio: 1024-sample steps within a PES, as above
            assert.ok(Math.abs(diff(got[k]!.pts, t90(s.pts))) <= slack, `${i}: ${kind} packet ${k} at ${got[k]!.pts}`);
            if (kind === 'video') assert.equal(got[k]!.key, s.key, `${i}: video packet ${k} key`);
          }
        }
      }
    });

    test('packets: PSI, CRCs, continuity counters, PCR, PES contents', () => {
      for (const [i, f] of frags.entries()) assertStructure(f, `segment ${i}`);
    });

    test('parameter sets the sample carries itself are not inserted twice', () => {
      const media = frags[0]!.map((m) => ({ ...m }));
      const video = media.find((m) => m.track.kind === 'video')!;
      const key = video.samples[0]!;
      const inBand = annexB(pesOf(tsPackets(tsSegment([{ ...video, samples: [key] }])), VIDEO_PID)[0]!.data)
        .slice(1)
        .filter((n) =>
          source.video === 'hevc' ? [32, 33, 34].includes((n[0]! >> 1) & 0x3f) : [7, 8].includes(n[0]! & 0x1f),
        );
      const prefix = Buffer.concat(inBand.map((n) => Buffer.concat([u32(n.length), n])));
      // The producer's own AUD too: it is dropped for the one written first.
      const aud = source.video === 'hevc' ? Buffer.from([0x46, 0x01, 0x50]) : Buffer.from([0x09, 0xf0]);
      const carried = { ...key, data: Buffer.concat([u32(aud.length), aud, prefix, key.data]) };
      const nals = annexB(pesOf(tsPackets(tsSegment([{ ...video, samples: [carried] }])), VIDEO_PID)[0]!.data);
      assert.deepEqual(nals.slice(1), lengthPrefixed(carried.data).slice(1), 'one AUD, the sample as it was');
    });
  });
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

describe('other shapes of fragment', () => {
  test('audio only: PCR on the audio PID, every frame decodes', async () => {
    const frags = await fragments({ video: 'none', audio: true }, EPOCH);
    for (const [i, f] of frags.entries()) assertStructure(f, `audio segment ${i}`);
    await assertDecodes(frags, 'audio only');
  });

  test('video only', async () => {
    const frags = await fragments({ video: 'h264', audio: false }, EPOCH);
    for (const [i, f] of frags.entries()) assertStructure(f, `video segment ${i}`);
    await assertDecodes(frags, 'video only');
  });

  test('5 frames a second: bare PCR packets keep the clock within 100 ms', async () => {
    const frags = await fragments({ video: 'h264', fps: 5, gop: 5 }, EPOCH);
    const packets = assertStructure(frags[1]!, 'low frame rate');
    assert.ok(
      packets.some((p) => p.pcr !== undefined && !p.hasPayload),
      'PCR-only packets',
    );
    await assertDecodes(frags, 'low frame rate');
  });

  test('a fragment with no video frames in a video stream: the clock still runs on the video PID', async () => {
    const [f] = await fragments(H264, EPOCH);
    const media = f!.map((m) => (m.track.kind === 'video' ? { ...m, samples: [] } : m));
    const packets = assertStructure(media, 'no video frames');
    assert.ok(packets.filter((p) => p.pcr !== undefined).length > 10);
    await assertDecodes([media], 'no video frames');
  });

  test('the 33-bit clock wraps inside a stream: the segments still decode back to back', async () => {
    // The wrap at 2^33 ticks of 90 kHz, moved to 1.5 s into the source.
    const wrapMs = Math.ceil((Math.ceil((EPOCH * 90) / WRAP) * WRAP) / 90);
    const frags = await fragments(H264, wrapMs - 1500);
    const ticks = samplesOf(frags, 'video').map((s) => t90(s.dts));
    assert.ok(
      ticks.some((t, i) => i > 0 && t < ticks[i - 1]!),
      'the test really wraps',
    );
    for (const [i, f] of frags.entries()) assertStructure(f, `wrapping segment ${i}`);
    await assertDecodes(frags, 'wrapping');
  });

  test('no tracks at all: PAT and PMT', () => {
    const packets = assertStructure([], 'empty');
    assert.equal(packets.length, 2);
  });

  test('frames and codec data that cannot be packaged are MediaErrors', async () => {
    const [f] = await fragments(H264, EPOCH);
    const video = f!.find((m) => m.track.kind === 'video')!;
    const audio = f!.find((m) => m.track.kind === 'audio')!;
    const code = (media: TrackMedia[]) => {
      try {
        tsSegment(media);
      } catch (err) {
        assert.ok(err instanceof MediaError, String(err));
        return err.code;
      }
      return 'no error';
    };
    const overrun = { ...video.samples[0]!, data: Buffer.concat([u32(1000), Buffer.alloc(10)]) };
    assert.equal(code([{ ...video, samples: [overrun] }]), 'InvalidMediaFrame');
    const truncated = { ...video.samples[0]!, data: Buffer.from([0, 0]) };
    assert.equal(code([{ ...video, samples: [truncated] }]), 'InvalidMediaFrame');
    const badRecord = { ...video.track, codecPrivate: Buffer.from([2, 0, 0, 0]) };
    assert.equal(code([{ track: badRecord, samples: [] }]), 'InvalidCodecPrivateData');
    // AAC LD (object type 23) has no ADTS profile.
    const ld = { ...audio.track, codecPrivate: Buffer.from([0xb9, 0x88]) };
    assert.equal(code([{ track: ld, samples: audio.samples }]), 'UnsupportedStreamMediaType');
    const huge = { ...audio.samples[0]!, data: Buffer.alloc(9000) };
    assert.equal(code([{ ...audio, samples: [huge] }]), 'InvalidMediaFrame');
  });
});
