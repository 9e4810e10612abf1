/**
 * The seed's own example, on fragments ingested with PutMedia from real ffmpeg output: "if a stream
 * contains fragments with the following start timestamps: 00:00:00, 00:00:02, 00:00:04, 00:00:06 — a
 * fragment selector range with a start time of 00:00:01 and end time of 00:00:04 would return the fragments
 * with start times of 00:00:02 and 00:00:04", through the JS SDK, the AWS CLI v2 and boto3; then the same
 * selection by SERVER_TIMESTAMP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GetDataEndpointCommand } from '@aws-sdk/client-kinesis-video';
import {
  KinesisVideoArchivedMediaClient,
  ListFragmentsCommand,
  type Fragment,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { clientConfig, createStream, sdk } from '../helpers/sdk.js';
import { PutMediaClient } from '../../src/client/putMediaClient.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile, type MkvinfoCluster } from '../helpers/media.js';
import {
  FIVE_KEYS,
  awsListJson,
  boto,
  botoOk,
  cliSelector,
  clusterChunks,
  isoMs,
  ms,
  pausedBetween,
  putMedia,
  rawFragments,
  rawList,
  selector,
} from '../helpers/listing.js';

/** 2024-01-01T00:00:00Z: the producer start, a whole second; the clusters are at +0, +2, +4, +6 s. */
const T = Date.UTC(2024, 0, 1, 0, 0, 0);
const STREAM = 'seed-example';

let kvsd: KvsdProcess;
let am: ReturnType<typeof sdk>['am'];
let clusters: MkvinfoCluster[];
/** Fragment numbers from the PERSISTED acks, in cluster order. */
let persisted: string[];
/** Listed fragments, all four, by producer timestamp. */
let all: Fragment[];
let uploadStart: number;
let uploadEnd: number;

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  am = sdk(kvsd.url).am;
  const cut = await clusterChunks(await ffmpegMkvFile({ seconds: 8, gop: 50, fps: 25 }));
  clusters = cut.clusters;
  // The premise of the example: four clusters (fragments) at media time 0, 2, 4 and 6 s.
  assert.deepEqual(
    clusters.map((c) => c.timestampNs),
    [0, 2e9, 4e9, 6e9],
    'ffmpeg made clusters at 0, 2, 4, 6 s',
  );
  // One chunk per cluster (the first with the header), 60 ms apart: each fragment gets its own server timestamp.
  const chunks = cut.chunks;
  await createStream(kvsd.url, STREAM, 24);
  uploadStart = Date.now();
  const acks = await putMedia(kvsd.url, {
    streamName: STREAM,
    timecodeType: 'RELATIVE',
    producerStartTimestamp: new Date(T),
    body: pausedBetween(chunks, 60),
  });
  uploadEnd = Date.now();
  const errors = acks.filter((a) => a.EventType === 'ERROR');
  assert.deepEqual(errors, [], 'no ERROR acks');
  const persistedAcks = acks.filter((a) => a.EventType === 'PERSISTED');
  assert.deepEqual(
    persistedAcks.map((a) => a.FragmentTimecode),
    [0, 2000, 4000, 6000],
  );
  persisted = persistedAcks.map((a) => a.FragmentNumber!);
  const out = await am.send(
    new ListFragmentsCommand({ StreamName: STREAM, FragmentSelector: selector('PRODUCER_TIMESTAMP', T, T + 6000) }),
  );
  all = out.Fragments!;
  assert.equal(out.NextToken, undefined);
});
after(async () => {
  am?.destroy();
  await kvsd?.dispose();
});

describe('the seed example: fragments at 00:00:00, :02, :04, :06; range 00:00:01 .. 00:00:04', () => {
  it('the stream holds the four fragments PutMedia persisted, with the documented fields', () => {
    assert.deepEqual(
      all.map((f) => f.FragmentNumber),
      persisted,
      'exactly the persisted fragments, in order',
    );
    assert.deepEqual(
      all.map((f) => ms(f.ProducerTimestamp)),
      [T, T + 2000, T + 4000, T + 6000],
    );
    all.forEach((f, i) => {
      assert.match(f.FragmentNumber!, /^[0-9]{1,128}$/);
      assert.equal(
        f.FragmentSizeInBytes,
        clusters[i]!.size,
        `FragmentSizeInBytes of fragment ${i} = its cluster's size`,
      );
      assert.equal(f.FragmentLengthInMilliseconds, 1960, '50 frames at 25 fps: first to last frame');
      const s = ms(f.ServerTimestamp);
      assert.ok(
        s >= uploadStart && s <= uploadEnd,
        `ServerTimestamp ${s} is when the fragment arrived [${uploadStart}, ${uploadEnd}]`,
      );
    });
    const servers = all.map((f) => ms(f.ServerTimestamp));
    for (let i = 1; i < 4; i++)
      assert.ok(servers[i]! > servers[i - 1]!, 'clusters sent 60 ms apart have increasing server timestamps');
  });

  it('JS SDK: PRODUCER_TIMESTAMP 00:00:01 .. 00:00:04 returns exactly the fragments at 00:00:02 and 00:00:04', async () => {
    const out = await am.send(
      new ListFragmentsCommand({
        StreamName: STREAM,
        FragmentSelector: selector('PRODUCER_TIMESTAMP', T + 1000, T + 4000),
      }),
    );
    assert.deepEqual(
      out.Fragments!.map((f) => ms(f.ProducerTimestamp)),
      [T + 2000, T + 4000],
    );
    assert.deepEqual(
      out.Fragments!.map((f) => f.FragmentNumber),
      [persisted[1], persisted[2]],
    );
    assert.deepEqual(out.Fragments, [all[1], all[2]], 'the same five fields as in the full listing');
    assert.equal(out.NextToken, undefined);
    assert.ok(out.$metadata.requestId, 'a request id');
  });

  it('as the seed prescribes: GetDataEndpoint(LIST_FRAGMENTS) first, then ListFragments at that endpoint', async () => {
    const { kv } = sdk(kvsd.url);
    const { DataEndpoint } = await kv.send(
      new GetDataEndpointCommand({ StreamName: STREAM, APIName: 'LIST_FRAGMENTS' }),
    );
    kv.destroy();
    assert.ok(DataEndpoint);
    const client = new KinesisVideoArchivedMediaClient(clientConfig(DataEndpoint));
    const out = await client.send(
      new ListFragmentsCommand({
        StreamName: STREAM,
        FragmentSelector: selector('PRODUCER_TIMESTAMP', T + 1000, T + 4000),
      }),
    );
    client.destroy();
    assert.deepEqual(
      out.Fragments!.map((f) => f.FragmentNumber),
      [persisted[1], persisted[2]],
    );
  });

  it('the listing is consistent at once: each fragment is listed as soon as its PERSISTED ack arrives', async () => {
    await createStream(kvsd.url, 'read-your-acks');
    const { chunks } = await clusterChunks(await ffmpegMkvFile({ seconds: 8, gop: 50, fps: 25 }));
    const start = T + 3_600_000;
    const client = new PutMediaClient({
      endpoint: kvsd.url,
      region: 'us-east-1',
      credentials: clientConfig(kvsd.url).credentials,
    });
    let n = 0;
    for await (const ack of client.putMedia({
      streamName: 'read-your-acks',
      timecodeType: 'RELATIVE',
      producerStartTimestamp: start,
      body: pausedBetween(chunks, 100),
    })) {
      if (ack.EventType !== 'PERSISTED') continue;
      n++;
      const out = await am.send(
        new ListFragmentsCommand({
          StreamName: 'read-your-acks',
          FragmentSelector: selector('PRODUCER_TIMESTAMP', start, start + 6000),
        }),
      );
      assert.ok(
        out.Fragments!.some((f) => f.FragmentNumber === ack.FragmentNumber),
        `fragment ${n} is listed right after its PERSISTED ack`,
      );
      assert.ok(out.Fragments!.length >= n);
    }
    assert.equal(n, 4);
  });

  it('raw wire: the same request as the JS SDK sends it returns the five keys, epoch-second numbers', async () => {
    const r = await rawList(kvsd.url, {
      StreamName: STREAM,
      FragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: T / 1000 + 1, EndTimestamp: T / 1000 + 4 },
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(Object.keys(r.json), ['Fragments'], 'no NextToken key when nothing is left');
    assert.ok(r.headers.get('x-amzn-requestid'), 'a request id on success too');
    for (const f of r.json.Fragments) assert.deepEqual(Object.keys(f).sort(), FIVE_KEYS);
    assert.deepEqual(
      rawFragments(r.json).map((f) => [f.n, f.p]),
      [
        [persisted[1], T + 2000],
        [persisted[2], T + 4000],
      ],
    );
    // Old botocore sent no Content-Type at all: the request must still work.
    const bare = await fetch(`${kvsd.url}/listFragments`, {
      method: 'POST',
      body: new TextEncoder().encode(
        JSON.stringify({
          StreamName: STREAM,
          FragmentSelector: {
            FragmentSelectorType: 'PRODUCER_TIMESTAMP',
            TimestampRange: { StartTimestamp: T / 1000 + 1, EndTimestamp: T / 1000 + 4 },
          },
        }),
      ),
    });
    assert.equal(bare.status, 200);
    assert.equal(await bare.text(), r.text);
  });

  it('AWS CLI v2 and boto3 (whole-second timestamps on the wire) return the same two fragments', async () => {
    const S = all.map((f) => ms(f.ServerTimestamp));
    const [cli, cliServer, py] = await Promise.all([
      awsListJson(kvsd.url, [
        '--stream-name',
        STREAM,
        '--fragment-selector',
        cliSelector('PRODUCER_TIMESTAMP', T / 1000 + 1, T / 1000 + 4),
      ]),
      awsListJson(kvsd.url, [
        '--stream-name',
        STREAM,
        '--fragment-selector',
        cliSelector('SERVER_TIMESTAMP', Math.floor(S[0]! / 1000), Math.ceil(S[3]! / 1000)),
      ]),
      boto(kvsd.url, [
        {
          params: {
            StreamName: STREAM,
            FragmentSelector: {
              FragmentSelectorType: 'PRODUCER_TIMESTAMP',
              TimestampRange: { StartTimestamp: T / 1000 + 1, EndTimestamp: T / 1000 + 4 },
            },
          },
        },
        {
          params: {
            StreamName: STREAM,
            FragmentSelector: {
              FragmentSelectorType: 'SERVER_TIMESTAMP',
              TimestampRange: { StartTimestamp: Math.floor(S[0]! / 1000), EndTimestamp: Math.ceil(S[3]! / 1000) },
            },
          },
        },
      ]),
    ]);
    // CLI
    assert.equal(cli.NextToken, undefined);
    assert.deepEqual(
      cli.Fragments.map((f) => f.FragmentNumber),
      [persisted[1], persisted[2]],
    );
    assert.deepEqual(
      cli.Fragments.map((f) => isoMs(f.ProducerTimestamp)),
      [T + 2000, T + 4000],
    );
    assert.deepEqual(
      cli.Fragments.map((f) => isoMs(f.ServerTimestamp)),
      [S[1], S[2]],
    );
    assert.deepEqual(
      cli.Fragments.map((f) => Object.keys(f).sort()),
      [FIVE_KEYS, FIVE_KEYS],
    );
    assert.deepEqual(
      cliServer.Fragments.map((f) => f.FragmentNumber),
      persisted,
      'SERVER_TIMESTAMP over whole seconds: all four',
    );
    // boto3
    const p = botoOk(py[0]);
    assert.equal(p.NextToken, undefined);
    assert.deepEqual(
      p.Fragments.map((f) => [f.FragmentNumber, f.ProducerTimestamp, f.ServerTimestamp]),
      [
        [persisted[1], T + 2000, S[1]],
        [persisted[2], T + 4000, S[2]],
      ],
    );
    assert.deepEqual(
      p.Fragments.map((f) => f.keys),
      [FIVE_KEYS, FIVE_KEYS],
    );
    assert.deepEqual(
      p.Fragments.map((f) => [f.FragmentSizeInBytes, f.FragmentLengthInMilliseconds]),
      [
        [all[1]!.FragmentSizeInBytes, 1960],
        [all[2]!.FragmentSizeInBytes, 1960],
      ],
    );
    assert.deepEqual(
      botoOk(py[1]).Fragments.map((f) => f.FragmentNumber),
      persisted,
    );
  });
});

describe('SERVER_TIMESTAMP selection on the same fragments', () => {
  it('selects by the server timestamps, both ends inclusive at millisecond precision', async () => {
    const S = all.map((f) => ms(f.ServerTimestamp));
    const list = async (start: number, end: number) => {
      const out = await am.send(
        new ListFragmentsCommand({ StreamName: STREAM, FragmentSelector: selector('SERVER_TIMESTAMP', start, end) }),
      );
      assert.equal(out.NextToken, undefined);
      return out.Fragments!.map((f) => f.FragmentNumber);
    };
    assert.deepEqual(await list(S[1]!, S[2]!), [persisted[1], persisted[2]], 'exactly at both ends');
    assert.deepEqual(await list(S[0]! + 1, S[3]! - 1), [persisted[1], persisted[2]], '1 ms inside the outer ones');
    assert.deepEqual(await list(S[1]! + 1, S[2]! - 1), [], '1 ms inside both ends: nothing');
    assert.deepEqual(await list(S[0]!, S[3]!), persisted);
    assert.deepEqual(await list(uploadStart - 60_000, uploadStart - 1), [], 'before the upload: nothing');
    // The producer range of the example selects nothing by server time: the selector type decides.
    assert.deepEqual(await list(T + 1000, T + 4000), []);
  });
});
