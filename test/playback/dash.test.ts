/**
 * DASH sessions end to end: real MKV (ffmpeg, H.264, a key frame every 2 s) in through PutMedia,
 * GetDASHStreamingSessionURL through the JS SDK v3 and the AWS CLI, the manifest played by dash.js in
 * headless Chromium and read by ffmpeg's DASH demuxer, checked against KVS's shape (one Period, a
 * SegmentTemplate with a SegmentTimeline per track, kvs:ts and kvs:fn when asked); LIVE is a dynamic
 * manifest whose segment numbers hold across reloads; AWS's errors.
 */
// needs: ffmpeg aws boto3
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  GetDASHStreamingSessionURLCommand,
  type GetDASHStreamingSessionURLCommandInput,
  GetHLSStreamingSessionURLCommand,
  KinesisVideoArchivedMediaClient,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { AWS, awsEnv, PYTHON, run } from '../helpers/cli.js';
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

const session = async (input: Omit<GetDASHStreamingSessionURLCommandInput, 'StreamName'>, stream = 'cam') =>
  (await am.send(new GetDASHStreamingSessionURLCommand({ StreamName: stream, ...input }))).DASHStreamingSessionURL!;

const range = () => ({ StartTimestamp: new Date(uploadedAt - 60_000), EndTimestamp: new Date() });
const onDemand = (extra: Partial<GetDASHStreamingSessionURLCommandInput> = {}) =>
  session({
    PlaybackMode: 'ON_DEMAND',
    DASHFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range() },
    ...extra,
  });

const text = async (url: string) => {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${await res.clone().text()}`);
  assert.equal(res.headers.get('content-type'), 'application/dash+xml');
  return res.text();
};

/** The attributes of every element named `name` in an MPD (the manifests are flat, one element per line). */
const elements = (mpd: string, name: string) =>
  [...mpd.matchAll(new RegExp(`<${name}((?:\\s+[\\w:]+="[^"]*")*)\\s*/?>`, 'g'))].map(
    (m) =>
      Object.fromEntries([...m[1]!.matchAll(/([\w:]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])) as Record<
        string,
        string
      >,
  );
const unescapeXml = (s: string) => s.replace(/&amp;/g, '&');

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

describe('DASH ON_DEMAND', () => {
  it('dash.js in Chromium plays the session, decoding frames of the stored size', async () => {
    const report = await player.play(await onDemand(), 6, 60_000, 'dash');
    assert.ok(report.decodedFrames >= 100, JSON.stringify(report));
    assert.equal(report.width, 640);
    assert.equal(report.height, 360);
  });

  it("ffmpeg's DASH demuxer reads every stored frame through the manifest", async () => {
    assert.equal(await videoPacketsThrough(await onDemand()), 250, '10 s at 25 fps');
  });

  it('the manifest is shaped like KVS: static, one Period, a SegmentTemplate and one S per fragment, kvs:ts and kvs:fn', async () => {
    const url = await onDemand({ DisplayFragmentTimestamp: 'ALWAYS', DisplayFragmentNumber: 'ALWAYS' });
    const mpd = await text(url);
    const [root] = elements(mpd, 'MPD');
    assert.equal(root!.type, 'static');
    assert.equal(root!.xmlns, 'urn:mpeg:dash:schema:mpd:2011');
    assert.ok(root!['xmlns:kvs'], 'the kvs namespace is declared');
    assert.match(root!.mediaPresentationDuration!, /^PT(9\.\d+|10(\.\d+)?)S$/);
    assert.equal(elements(mpd, 'Period').length, 1);
    assert.equal(elements(mpd, 'AdaptationSet').length, 1, 'video only');
    const [rep] = elements(mpd, 'Representation');
    assert.match(rep!.codecs!, /^avc1\.[0-9a-f]{6}$/);
    assert.equal(rep!.width, '640');
    const [template] = elements(mpd, 'SegmentTemplate');
    assert.equal(template!.timescale, '1000');
    assert.equal(template!.startNumber, '1');
    assert.match(
      unescapeXml(template!.media!),
      /^getMP4MediaFragment\.mp4\?SessionToken=[\w-]+&TrackNumber=1&SequenceNumber=\$Number\$$/,
    );
    const s = elements(mpd, 'S');
    assert.equal(s.length, 5, 'one S per fragment (2 s each)');
    assert.equal(s[0]!.t, template!.presentationTimeOffset, 'the presentation starts at the first segment');
    assert.ok(Number(s[0]!.t) < 60_000, 'the session has its own media timeline, not epoch milliseconds');
    for (const e of s) assert.match(e.d!, /^(19\d\d|20\d\d)$/);
    const numbers = (await listAll(kvsd.url, 'cam')).map((f) => f.FragmentNumber).sort();
    assert.deepEqual([...s.map((e) => e['kvs:fn'])].sort(), numbers, 'kvs:fn: the KVS fragment numbers');
    for (const e of s) assert.match(e['kvs:ts']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Without the display options, no kvs attributes at all.
    const plain = await text(await onDemand());
    assert.ok(!plain.includes('kvs:'), plain);
    // Segments by number: the fifth exists, the sixth does not.
    const media = (n: number) => new URL(unescapeXml(template!.media!).replace('$Number$', String(n)), url).toString();
    const fifth = await fetch(media(5));
    assert.equal(fifth.status, 200);
    assert.equal(fifth.headers.get('content-type'), 'video/mp4');
    assert.equal(fifth.headers.get('access-control-allow-origin'), '*');
    const sixth = await fetch(media(6));
    assert.equal(sixth.status, 404);
    assert.equal(sixth.headers.get('x-amzn-errortype')?.split(':')[0], 'ResourceNotFoundException');
    const init = await fetch(new URL(unescapeXml(template!.initialization!), url));
    assert.equal(init.status, 200);
    assert.equal((await init.arrayBuffer()).byteLength > 100, true);
  });

  it('the AWS CLI gets a session URL of the same shape', async () => {
    const r = await run(
      AWS,
      [
        'kinesis-video-archived-media',
        'get-dash-streaming-session-url',
        '--endpoint-url',
        kvsd.url,
        '--stream-name',
        'cam',
        '--playback-mode',
        'ON_DEMAND',
        '--dash-fragment-selector',
        JSON.stringify({
          FragmentSelectorType: 'SERVER_TIMESTAMP',
          TimestampRange: { StartTimestamp: (uploadedAt - 60_000) / 1000, EndTimestamp: Date.now() / 1000 },
        }),
        '--max-manifest-fragment-results',
        '2',
      ],
      { env: awsEnv() },
    );
    assert.equal(r.code, 0, r.stderr);
    const url = JSON.parse(r.stdout).DASHStreamingSessionURL as string;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/dash\/v1\/getDASHManifest\.mpd\?SessionToken=[\w-]+$/);
    assert.equal(elements(await text(url), 'S').length, 2);
  });
});

const BOTO3_SESSIONS = `
import sys, json, datetime, boto3
a = json.load(sys.stdin)
c = boto3.client('kinesis-video-archived-media', endpoint_url=a['url'], region_name='us-east-1')
sel = {'FragmentSelectorType': 'SERVER_TIMESTAMP', 'TimestampRange': {
  'StartTimestamp': datetime.datetime.fromtimestamp(a['start'], datetime.timezone.utc),
  'EndTimestamp': datetime.datetime.fromtimestamp(a['end'], datetime.timezone.utc)}}
out = {
  'dash': c.get_dash_streaming_session_url(StreamName='cam', PlaybackMode='ON_DEMAND', DASHFragmentSelector=sel,
    DisplayFragmentNumber='ALWAYS')['DASHStreamingSessionURL'],
  'hls': c.get_hls_streaming_session_url(StreamName='cam', PlaybackMode='ON_DEMAND', HLSFragmentSelector=sel,
    ContainerFormat='MPEG_TS')['HLSStreamingSessionURL'],
}
print(json.dumps(out))
`;

describe('boto3', () => {
  it('gets DASH and HLS session URLs that serve the stored fragments', async () => {
    const r = await run(PYTHON, ['-c', BOTO3_SESSIONS], {
      stdin: JSON.stringify({ url: kvsd.url, start: (uploadedAt - 60_000) / 1000, end: Date.now() / 1000 }),
      env: awsEnv(),
    });
    assert.equal(r.code, 0, `boto3 failed: ${r.stderr}`);
    const urls = JSON.parse(r.stdout) as { dash: string; hls: string };
    assert.equal(elements(await text(urls.dash), 'S').filter((e) => e['kvs:fn']).length, 5);
    const master = await fetch(urls.hls);
    assert.equal(master.status, 200);
    assert.match(await master.text(), /^#EXTM3U\n/);
  });
});

describe('DASH LIVE', () => {
  it('a dynamic manifest of the newest fragments that keeps each segment number across reloads, played by dash.js', async () => {
    await createStream(kvsd.url, 'live');
    await upload('live', Date.now() - 10_000);
    const url = await session({ PlaybackMode: 'LIVE', MaxManifestFragmentResults: 3 }, 'live');
    const first = await text(url);
    assert.equal(elements(first, 'MPD')[0]!.type, 'dynamic');
    assert.ok(elements(first, 'MPD')[0]!.availabilityStartTime);
    assert.equal(elements(first, 'S').length, 3);
    assert.equal(elements(first, 'SegmentTemplate')[0]!.startNumber, '1');
    const firstT = elements(first, 'S')[0]!.t;
    await upload('live', Date.now());
    const second = await text(url);
    const start = Number(elements(second, 'SegmentTemplate')[0]!.startNumber);
    assert.equal(start, 6, 'five more fragments: the window moved by five, numbers count the session');
    // The media timeline is the producer's: segment 6 starts five fragments (≈ 10 s) after segment 1.
    const t6 = Number(elements(second, 'S')[0]!.t);
    assert.ok(t6 - Number(firstT) > 9_000, `t ${firstT} -> ${t6}`);
    const report = await player.play(url, 1, 60_000, 'dash');
    // dash.js starts near the live edge, so the first second played holds few frames; it decodes them.
    assert.ok(report.decodedFrames > 0 && report.width === 640, JSON.stringify(report));
  });
});

describe('DASH errors', () => {
  it('AWS errors: nothing in range, no retention, TimestampRange on LIVE, limits', async () => {
    const past = { StartTimestamp: new Date(uploadedAt - 7_200_000), EndTimestamp: new Date(uploadedAt - 3_600_000) };
    await expectError(
      session({
        PlaybackMode: 'ON_DEMAND',
        DASHFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: past },
      }),
      'ResourceNotFoundException',
      'No fragments found in the stream for the streaming request.',
    );
    await createStream(kvsd.url, 'dash-no-retention', 0);
    await expectError(session({ PlaybackMode: 'LIVE' }, 'dash-no-retention'), 'NoDataRetentionException');
    await expectError(
      session({ PlaybackMode: 'LIVE', DASHFragmentSelector: { TimestampRange: past } }),
      'InvalidArgumentException',
    );
    await expectError(session({ MaxManifestFragmentResults: 0 }), 'InvalidArgumentException');
    await expectError(session({ Expires: 43201 }), 'InvalidArgumentException');
    await expectError(session({ DisplayFragmentNumber: 'SOMETIMES' as 'ALWAYS' }), 'InvalidArgumentException');
  });

  it('an HLS token opens no DASH resource, a DASH token no HLS resource', async () => {
    const hls = (
      await am.send(
        new GetHLSStreamingSessionURLCommand({
          StreamName: 'cam',
          PlaybackMode: 'ON_DEMAND',
          HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range() },
        }),
      )
    ).HLSStreamingSessionURL!;
    const hlsToken = new URL(hls).searchParams.get('SessionToken')!;
    const dashUrl = await onDemand();
    const dashToken = new URL(dashUrl).searchParams.get('SessionToken')!;
    const crossed = [
      dashUrl.replace(dashToken, hlsToken),
      hls.replace(hlsToken, dashToken),
      new URL(`getMP4MediaFragment.mp4?SessionToken=${hlsToken}&TrackNumber=1&SequenceNumber=1`, dashUrl).toString(),
    ];
    for (const url of crossed) {
      const res = await fetch(url);
      assert.equal(res.status, 403, url);
      assert.equal(res.headers.get('x-amzn-errortype')?.split(':')[0], 'NotAuthorizedException');
    }
  });
});

describe('DASH and HLS session quotas (--quotas aws)', () => {
  it('a session answers 5 manifests a second (the 6th is ClientLimitExceededException, other sessions are not affected); the 11th session revokes the oldest', async () => {
    const limited = await startKvsd({ args: ['--quotas', 'aws', '--quiet'] });
    const client = new KinesisVideoArchivedMediaClient(clientConfig(limited.url));
    try {
      await createStream(limited.url, 'cam');
      const body = createReadStream(await ffmpegEpochMkvFile(uploadedAt - 30_000));
      assert.equal(
        (await sendWithClient(limited.url, { streamName: 'cam', timecodeType: 'ABSOLUTE', body })).error,
        undefined,
      );
      const open = async () =>
        (
          await client.send(
            new GetDASHStreamingSessionURLCommand({
              StreamName: 'cam',
              PlaybackMode: 'ON_DEMAND',
              DASHFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range() },
            }),
          )
        ).DASHStreamingSessionURL!;
      const [a, b] = [await open(), await open()];
      const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(a)));
      const statuses = answers.map((r) => r.status).sort();
      assert.equal(statuses.filter((s) => s === 200).length, 5, `statuses ${statuses}`);
      const refused = answers.find((r) => r.status === 400)!;
      assert.equal(refused.headers.get('x-amzn-errortype')?.split(':')[0], 'ClientLimitExceededException');
      assert.equal((await fetch(b)).status, 200, 'another session has its own quota');
      // Ten active sessions per stream: the eleventh revokes the oldest (a), at 1 session call a second.
      for (let i = 2; i < 11; i++) {
        for (;;) {
          try {
            await open();
            break;
          } catch (err) {
            assert.equal((err as Error).name, 'ClientLimitExceededException');
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }
      const revoked = await fetch(a);
      assert.equal(revoked.status, 403);
      assert.equal(revoked.headers.get('x-amzn-errortype')?.split(':')[0], 'NotAuthorizedException');
      assert.equal((await fetch(b)).status, 200, 'the second oldest is still active');
    } finally {
      client.destroy();
      await limited.dispose();
    }
  });
});
