/**
 * HLS sessions end to end: real MKV (ffmpeg, H.264, a key frame every 2 s) in through PutMedia, GetHLSStreamingSessionURL
 * through the JS SDK v3, and the session played by hls.js in headless Chromium (fMP4 and MPEG-TS), read by
 * ffprobe, and checked line by line against KVS's playlist shape; LIVE slides with ingest and keeps each
 * segment's media sequence number across reloads; AWS's errors for what cannot be played. GetClip's MP4
 * of the same fragments, read by ffprobe and decoded by ffmpeg.
 */
// needs: ffmpeg
import assert from 'node:assert/strict';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GetClipCommand,
  GetHLSStreamingSessionURLCommand,
  type GetHLSStreamingSessionURLCommandInput,
  KinesisVideoArchivedMediaClient,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { run } from '../helpers/cli.js';
import { ffmpegEpochMkvFile, sendWithClient } from '../helpers/putMedia.js';
import { clientConfig, createStream, listAll } from '../helpers/sdk.js';
import { type KvsdProcess, startKvsd } from '../helpers/server.js';
import { type Player, startPlayer } from './browser.js';
import { expectError, uploadEpochMkv, videoPacketsThrough } from './sessions.js';

let kvsd: KvsdProcess;
let am: KinesisVideoArchivedMediaClient;
let player: Player;
const uploadedAt = Date.now();

const upload = (stream: string, startMs: number) => uploadEpochMkv(kvsd.url, stream, startMs);

const session = async (input: Omit<GetHLSStreamingSessionURLCommandInput, 'StreamName'>, stream = 'cam') =>
  (await am.send(new GetHLSStreamingSessionURLCommand({ StreamName: stream, ...input }))).HLSStreamingSessionURL!;

const onDemand = (extra: Partial<GetHLSStreamingSessionURLCommandInput> = {}) =>
  session({
    PlaybackMode: 'ON_DEMAND',
    HLSFragmentSelector: {
      FragmentSelectorType: 'SERVER_TIMESTAMP',
      TimestampRange: { StartTimestamp: new Date(uploadedAt - 60_000), EndTimestamp: new Date() },
    },
    ...extra,
  });

const text = async (url: string) => {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${await res.clone().text()}`);
  return res.text();
};
const resolveIn = (base: string, line: string) => new URL(line, base).toString();

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  am = new KinesisVideoArchivedMediaClient(clientConfig(kvsd.url));
  await createStream(kvsd.url, 'cam');
  await upload('cam', uploadedAt - 30_000);
  player = await startPlayer();
});
after(async () => {
  await player?.close();
  am?.destroy();
  await kvsd?.dispose();
});

describe('HLS ON_DEMAND', () => {
  it('fMP4: hls.js in Chromium plays the session, decoding frames of the stored size', async () => {
    // The decoded frame, kept as a test artifact (.tmp/ is not committed).
    mkdirSync('.tmp', { recursive: true });
    const shot = join('.tmp', 'hls-frame.png');
    const report = await player.play(await onDemand(), 6, 60_000, 'hls', shot);
    assert.ok(report.decodedFrames >= 100, JSON.stringify(report));
    const png = readFileSync(shot);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.ok(png.length > 2_000, `a blank frame compresses to almost nothing: ${png.length} bytes`);
    assert.equal(report.width, 640);
    assert.equal(report.height, 360);
  });

  it('MPEG-TS: hls.js in Chromium plays the session', async () => {
    const report = await player.play(await onDemand({ ContainerFormat: 'MPEG_TS' }), 6);
    assert.ok(report.decodedFrames >= 100, JSON.stringify(report));
  });

  it('ffprobe reads every stored frame through the session URL', async () => {
    for (const ContainerFormat of ['FRAGMENTED_MP4', 'MPEG_TS'] as const) {
      const url = await onDemand({ ContainerFormat });
      assert.equal(await videoPacketsThrough(url), 250, `${ContainerFormat}: 10 s at 25 fps`);
    }
  });

  it('playlists are shaped like KVS: VOD media playlist, MAP, DISCONTINUITY, ENDLIST', async () => {
    const master = await onDemand({ DisplayFragmentTimestamp: 'ALWAYS' });
    const m = await text(master);
    const lines = m.trim().split('\n');
    assert.equal(lines[0], '#EXTM3U');
    // Video only: no audio rendition group (the muxers' own tests cover AAC).
    assert.equal(lines.length, 4, m);
    assert.equal(lines[1], '#EXT-X-VERSION:1');
    assert.match(lines[2]!, /^#EXT-X-STREAM-INF:CODECS="avc1\.[0-9a-f]{6}",RESOLUTION=640x360,BANDWIDTH=\d+$/);
    assert.match(lines[3]!, /^getHLSMediaPlaylist\.m3u8\?SessionToken=[\w-]+&TrackNumber=1$/);
    const media = await text(resolveIn(master, lines[lines.length - 1]!));
    const ml = media.trim().split('\n');
    assert.deepEqual(ml.slice(0, 6), [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      ml[3],
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXT-X-INDEPENDENT-SEGMENTS',
    ]);
    assert.match(ml[3]!, /^#EXT-X-TARGETDURATION:[23]$/);
    assert.equal(ml[ml.length - 1], '#EXT-X-ENDLIST');
    const segments = ml.filter((l) => l.startsWith('getMP4MediaFragment.mp4?FragmentNumber='));
    assert.equal(segments.length, 5, 'one segment per fragment (2 s each)');
    assert.equal(ml.filter((l) => l === '#EXT-X-DISCONTINUITY').length, 5, 'ALWAYS: before every fragment');
    assert.equal(ml.filter((l) => l.startsWith('#EXT-X-MAP:URI="getMP4InitFragment.mp4?')).length, 1);
    assert.equal(
      ml.filter((l) => /^#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l)).length,
      5,
    );
    for (const l of ml.filter((x) => x.startsWith('#EXTINF:'))) assert.match(l, /^#EXTINF:(1\.9[0-9]*|2(\.0\d*)?),$/);
    // Every resource answers cross-origin requests.
    const res = await fetch(resolveIn(master, segments[0]!));
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('content-type'), 'video/mp4');
  });

  it('NEVER: no discontinuities, the MAP right after INDEPENDENT-SEGMENTS', async () => {
    const master = await onDemand({ DiscontinuityMode: 'NEVER' });
    const m = (await text(master)).trim().split('\n');
    const ml = (await text(resolveIn(master, m[m.length - 1]!))).split('\n');
    assert.ok(!ml.includes('#EXT-X-DISCONTINUITY'));
    assert.match(ml[ml.indexOf('#EXT-X-INDEPENDENT-SEGMENTS') + 1]!, /^#EXT-X-MAP:/);
  });
});

describe('HLS LIVE', () => {
  it('lists the newest fragments, slides as ingest goes on, and keeps each segment number across reloads', async () => {
    await createStream(kvsd.url, 'live');
    await upload('live', Date.now() - 10_000);
    const master = await session({ PlaybackMode: 'LIVE', MaxMediaPlaylistFragmentResults: 3 }, 'live');
    const m = (await text(master)).trim().split('\n');
    const mediaUrl = resolveIn(master, m[m.length - 1]!);
    const numbered = (playlist: string) => {
      const lines = playlist.trim().split('\n');
      const first = Number(lines.find((l) => l.startsWith('#EXT-X-MEDIA-SEQUENCE:'))!.split(':')[1]);
      const frags = lines.filter((l) => l.includes('FragmentNumber=')).map((l) => /FragmentNumber=(\d+)/.exec(l)![1]!);
      return {
        ended: lines.includes('#EXT-X-ENDLIST'),
        map: new Map(frags.map((f, i) => [f, first + i])),
        count: frags.length,
        first,
      };
    };
    const one = numbered(await text(mediaUrl));
    assert.equal(one.ended, false);
    assert.equal(one.count, 3, 'MaxMediaPlaylistFragmentResults');
    assert.equal(one.first, 0, 'the first window starts the numbering');
    await upload('live', Date.now());
    const two = numbered(await text(mediaUrl));
    assert.equal(two.count, 3);
    // The first window was fragments 3-5 of the first upload (numbers 0-2); five more came: 3-10, newest 3 listed.
    assert.equal(two.first, 5, 'numbered from the first window: fragment 8 of 10 is number 5');
    for (const [f, n] of one.map) if (two.map.has(f)) assert.equal(two.map.get(f), n, 'same fragment, same number');
    const report = await player.play(master, 1, 30_000);
    assert.ok(report.decodedFrames > 0);
  });
});

describe('HLS LIVE_REPLAY and ON_DISCONTINUITY', () => {
  it('LIVE_REPLAY adds fragments at real-time pace from StartTimestamp and ends at EndTimestamp', async () => {
    const first = Math.min(...(await listAll(kvsd.url, 'cam')).map((f) => f.ProducerTimestamp!.getTime()));
    const master = await session({
      PlaybackMode: 'LIVE_REPLAY',
      HLSFragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: new Date(first), EndTimestamp: new Date(first + 3_000) },
      },
    });
    const m = (await text(master)).trim().split('\n');
    const mediaUrl = resolveIn(master, m[m.length - 1]!);
    const segments = (p: string) => p.split('\n').filter((l) => l.startsWith('getMP4MediaFragment.mp4?')).length;
    const early = await text(mediaUrl);
    assert.equal(segments(early), 1, `only the fragment at StartTimestamp is reached:\n${early}`);
    assert.ok(!early.includes('#EXT-X-ENDLIST') && !early.includes('#EXT-X-PLAYLIST-TYPE'), early);
    await new Promise((r) => setTimeout(r, 3_200));
    const late = await text(mediaUrl);
    assert.equal(segments(late), 2, 'the fragment 2 s later, and nothing past EndTimestamp');
    assert.ok(late.includes('#EXT-X-ENDLIST'), 'past EndTimestamp the playlist ends');
  });

  it('ON_DISCONTINUITY marks a gap between uploads, and only there; hls.js plays across it', async () => {
    await createStream(kvsd.url, 'gap');
    const start = Date.now() - 60_000;
    await upload('gap', start);
    await upload('gap', start + 30_000);
    const master = await session(
      {
        PlaybackMode: 'ON_DEMAND',
        DiscontinuityMode: 'ON_DISCONTINUITY',
        HLSFragmentSelector: {
          FragmentSelectorType: 'PRODUCER_TIMESTAMP',
          TimestampRange: { StartTimestamp: new Date(start - 1_000), EndTimestamp: new Date() },
        },
      },
      'gap',
    );
    const m = (await text(master)).trim().split('\n');
    const lines = (await text(resolveIn(master, m[m.length - 1]!))).trim().split('\n');
    const segmentLines = lines.filter((l) => l.startsWith('getMP4MediaFragment.mp4?'));
    assert.equal(segmentLines.length, 10);
    assert.equal(lines.filter((l) => l === '#EXT-X-DISCONTINUITY').length, 1, lines.join('\n'));
    // The discontinuity comes right before the sixth segment (the second upload's first fragment).
    const at = lines.indexOf('#EXT-X-DISCONTINUITY');
    assert.equal(lines.slice(0, at).filter((l) => l.startsWith('getMP4MediaFragment.mp4?')).length, 5);
    const report = await player.play(master, 12, 90_000);
    assert.ok(report.decodedFrames > 200, JSON.stringify(report));
  });
});

describe('HLS errors', () => {
  it('AWS errors: nothing in range, no retention, TimestampRange on LIVE, a missing end on ON_DEMAND', async () => {
    const past = { StartTimestamp: new Date(uploadedAt - 7_200_000), EndTimestamp: new Date(uploadedAt - 3_600_000) };
    await expectError(
      session({
        PlaybackMode: 'ON_DEMAND',
        HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: past },
      }),
      'ResourceNotFoundException',
      'No fragments found in the stream for the streaming request.',
    );
    await createStream(kvsd.url, 'no-retention', 0);
    await expectError(session({ PlaybackMode: 'LIVE' }, 'no-retention'), 'NoDataRetentionException');
    await expectError(
      session({
        PlaybackMode: 'LIVE',
        HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: past },
      }),
      'InvalidArgumentException',
    );
    await expectError(
      session({
        PlaybackMode: 'ON_DEMAND',
        HLSFragmentSelector: { TimestampRange: { StartTimestamp: past.StartTimestamp } },
      }),
      'InvalidArgumentException',
    );
    await expectError(session({ Expires: 299 }), 'InvalidArgumentException');
    await expectError(session({ MaxMediaPlaylistFragmentResults: 5001 }), 'InvalidArgumentException');
  });

  it('a token altered by one character, or missing, is refused (403) with an AWS-shaped error', async () => {
    const master = await onDemand();
    const token = new URL(master).searchParams.get('SessionToken')!;
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    for (const bad of [master.replace(token, flipped), master.replace(`SessionToken=${token}`, 'x=1')]) {
      const res = await fetch(bad);
      assert.ok(res.status === 403 || res.status === 400, `status ${res.status}`);
      assert.ok(res.headers.get('x-amzn-errortype'), 'x-amzn-ErrorType');
      assert.ok((await res.json()).__type);
    }
    assert.ok(!Buffer.from(token, 'base64url').toString('latin1').includes('streamId'), 'the token is opaque');
  });
});

describe('GetClip', () => {
  const range = () => ({ StartTimestamp: new Date(uploadedAt - 60_000), EndTimestamp: new Date() });

  it('answers an ordinary MP4 of the range that ffprobe reads frame for frame and ffmpeg decodes cleanly', async () => {
    const out = await am.send(
      new GetClipCommand({
        StreamName: 'cam',
        ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range() },
      }),
    );
    assert.equal(out.ContentType, 'video/mp4');
    const bytes = Buffer.from(await out.Payload!.transformToByteArray());
    assert.equal(bytes.subarray(4, 8).toString(), 'ftyp');
    const file = join(mkdtempSync(join(tmpdir(), 'kvsd-clip-')), 'clip.mp4');
    writeFileSync(file, bytes);
    const r = await run('/usr/bin/ffprobe', [
      '-v',
      'error',
      '-count_packets',
      '-show_entries',
      'stream=codec_name,nb_read_packets:format=duration',
      '-of',
      'json',
      file,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const probe = JSON.parse(r.stdout) as {
      streams: { codec_name: string; nb_read_packets: string }[];
      format: { duration: string };
    };
    assert.equal(probe.streams[0]!.codec_name, 'h264');
    assert.equal(Number(probe.streams[0]!.nb_read_packets), 250);
    assert.ok(Math.abs(Number(probe.format.duration) - 10) < 0.1, `duration ${probe.format.duration}`);
    const decode = await run('/usr/bin/ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    assert.equal(decode.code, 0);
    assert.equal(decode.stderr, '');
  });

  it("nothing in range: ResourceNotFoundException with AWS's message", async () => {
    const past = { StartTimestamp: new Date(uploadedAt - 7_200_000), EndTimestamp: new Date(uploadedAt - 3_600_000) };
    await assert.rejects(
      am.send(
        new GetClipCommand({
          StreamName: 'cam',
          ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: past },
        }),
      ),
      (err: Error) =>
        err.name === 'ResourceNotFoundException' &&
        err.message === 'No fragments found in the stream for the clip request.',
    );
  });
});
