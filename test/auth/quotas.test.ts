/**
 * Quotas, observed through the clients. --quotas aws: ListFragments 5 TPS per stream (name and ARN share a
 * bucket), CreateStream 50 TPS per account, GetMedia 3 connections per stream, PutMedia 1 connection per
 * stream where the last connection is accepted (the older one is ended). A quota file: PutMedia connections
 * refused instead, a PutMedia byte rate that slows reading down without failing, and nothing else limited.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis-video';
import { ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { GetMediaCommand } from '@aws-sdk/client-kinesis-video-media';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { sleep } from '../helpers/time.js';
import {
  ADMIN,
  archived,
  assertSdkError,
  controlPlane,
  createStream,
  media,
  mkv,
  mkvClusters,
  putMedia,
  putMediaClient,
  writeJsonFile,
} from './helpers.js';
import { KvsServiceError, type PutMediaAck } from '../../src/client/putMediaClient.js';

const selector = {
  FragmentSelectorType: 'SERVER_TIMESTAMP' as const,
  TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 3_600_000) },
};

describe('--quotas aws', () => {
  let kvsd: KvsdProcess;
  before(async () => {
    kvsd = await startKvsd({ args: ['--quotas', 'aws', '--quiet'] });
  });
  after(async () => {
    await kvsd?.dispose();
  });

  it('ListFragments: the 6th quick call on one stream is ClientLimitExceededException; other streams are not affected', async () => {
    const arn = await createStream(kvsd.url, 'rate-1');
    await createStream(kvsd.url, 'rate-2');
    const am = archived(kvsd.url, ADMIN);
    // By name and by ARN alternately: one stream, one bucket.
    for (let i = 0; i < 5; i++) {
      await am.send(
        new ListFragmentsCommand({
          ...(i % 2 ? { StreamARN: arn } : { StreamName: 'rate-1' }),
          FragmentSelector: selector,
        }),
      );
    }
    await assertSdkError(
      am.send(new ListFragmentsCommand({ StreamARN: arn, FragmentSelector: selector })),
      'ClientLimitExceededException',
      400,
      /ListFragments .*rate-1.* 5 per second/,
    );
    await am.send(new ListFragmentsCommand({ StreamName: 'rate-2', FragmentSelector: selector }));
    // 5 per second come back.
    await sleep(450);
    await am.send(new ListFragmentsCommand({ StreamName: 'rate-1', FragmentSelector: selector }));
  });

  it('GetMedia: a 4th concurrent connection on a stream is ConnectionLimitExceededException; closing one frees a slot', async () => {
    await createStream(kvsd.url, 'gm-1');
    await createStream(kvsd.url, 'gm-2');
    await putMedia(kvsd.url, ADMIN, 'gm-1', mkv(1, Date.now() - 60_000));
    await putMedia(kvsd.url, ADMIN, 'gm-2', mkv(1, Date.now() - 60_000));
    const md = media(kvsd.url, ADMIN);
    const open = (stream: string) =>
      md.send(new GetMediaCommand({ StreamName: stream, StartSelector: { StartSelectorType: 'EARLIEST' } }));
    const held = await Promise.all([open('gm-1'), open('gm-1'), open('gm-1')]);
    const other = await open('gm-2');
    try {
      await assertSdkError(open('gm-1'), 'ConnectionLimitExceededException', 400, /gm-1/);
      (held.pop()!.Payload as Readable).destroy();
      await sleep(300);
      held.push(await open('gm-1'));
    } finally {
      for (const h of [...held, other]) (h.Payload as Readable).destroy();
    }
  });

  it('PutMedia: the last connection is accepted and the older one is ended', async () => {
    await createStream(kvsd.url, 'put-1');
    const t0 = Date.now() - 120_000;
    const a = mkvClusters(2, t0);
    let releaseA!: () => void;
    const aMayFinish = new Promise<void>((r) => {
      releaseA = r;
    });
    async function* bodyA() {
      yield a.header;
      yield a.clusters[0]!;
      await aMayFinish;
      yield a.clusters[1]!;
    }
    const acksA: PutMediaAck[] = [];
    let firstAck!: () => void;
    const aStarted = new Promise<void>((r) => {
      firstAck = r;
    });
    const sessionA = (async () => {
      for await (const ack of putMediaClient(kvsd.url, ADMIN).putMedia({
        streamName: 'put-1',
        timecodeType: 'ABSOLUTE',
        body: bodyA(),
      })) {
        acksA.push(ack);
        firstAck();
      }
      return Date.now();
    })();
    await aStarted;
    const acksB = await putMedia(kvsd.url, ADMIN, 'put-1', mkv(2, t0 + 60_000));
    assert.equal(acksB.filter((x) => x.EventType === 'PERSISTED').length, 2, JSON.stringify(acksB));
    // A's acknowledgement stream has ended although its body has not.
    const aEnded = await Promise.race([sessionA, sleep(3_000).then(() => undefined)]);
    releaseA();
    assert.ok(aEnded !== undefined, 'the older PutMedia connection was ended');
    assert.ok(!acksA.some((x) => x.EventType === 'ERROR'), JSON.stringify(acksA));
  });
  // Last: it drains the account's CreateStream bucket.
  it('CreateStream: 50 per second per account, whatever the stream', async () => {
    const kv = controlPlane(kvsd.url, ADMIN);
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 80 }, (_, i) => kv.send(new CreateStreamCommand({ StreamName: `many-${i}` }))),
    );
    const seconds = (Date.now() - started) / 1000;
    const refused = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason as Error);
    const accepted = results.length - refused.length;
    // A full bucket of 50, plus what refills while the 80 requests are served.
    assert.ok(
      accepted >= 50 && accepted <= 50 + Math.ceil(50 * seconds) + 1,
      `accepted ${accepted} of 80 in ${seconds} s`,
    );
    assert.ok(refused.length > 0);
    for (const e of refused) {
      assert.equal(e.name, 'ClientLimitExceededException');
      assert.match(e.message, /CreateStream requests in this account exceeds the limit of 50 per second/);
    }
  });
});

describe('--quotas FILE', () => {
  let kvsd: KvsdProcess;
  before(async () => {
    const file = writeJsonFile(
      {
        extends: 'none',
        operations: {
          PutMedia: { connectionsPerStream: 1, onConnectionLimit: 'reject', bytesPerSecondPerStream: 100_000 },
        },
      },
      'quotas.json',
    );
    kvsd = await startKvsd({ args: ['--quotas', file, '--quiet'] });
  });
  after(async () => {
    await kvsd?.dispose();
  });

  it('refuses a second PutMedia connection with ConnectionLimitExceededException when the policy is "reject"', async () => {
    await createStream(kvsd.url, 'rej-1');
    const t0 = Date.now() - 120_000;
    const a = mkvClusters(1, t0);
    let releaseA!: () => void;
    const aMayFinish = new Promise<void>((r) => {
      releaseA = r;
    });
    async function* bodyA() {
      yield a.header;
      yield a.clusters[0]!;
      await aMayFinish;
    }
    let firstAck!: () => void;
    const aStarted = new Promise<void>((r) => {
      firstAck = r;
    });
    const sessionA = (async () => {
      const acks: PutMediaAck[] = [];
      for await (const ack of putMediaClient(kvsd.url, ADMIN).putMedia({
        streamName: 'rej-1',
        timecodeType: 'ABSOLUTE',
        body: bodyA(),
      })) {
        acks.push(ack);
        firstAck();
      }
      return acks;
    })();
    await aStarted;
    await assert.rejects(putMedia(kvsd.url, ADMIN, 'rej-1', mkv(1, t0 + 60_000)), (err: unknown) => {
      assert.ok(err instanceof KvsServiceError, String(err));
      assert.equal(err.code, 'ConnectionLimitExceededException');
      assert.equal(err.statusCode, 400);
      return true;
    });
    releaseA();
    const acksA = await sessionA;
    assert.equal(acksA.filter((x) => x.EventType === 'PERSISTED').length, 1, 'the first connection carried on');
    // Its slot is free again.
    const again = await putMedia(kvsd.url, ADMIN, 'rej-1', mkv(1, t0 + 90_000));
    assert.equal(again.filter((x) => x.EventType === 'PERSISTED').length, 1);
  });

  it('slows a PutMedia upload down to the byte rate instead of failing it; other operations are not limited', async () => {
    await createStream(kvsd.url, 'bw-1');
    // 3 clusters of 10 frames of 10 KB: ~300 KB at 100 KB/s after a 100 KB burst. Reading pauses after the chunk
    // that overdraws the bucket (up to 64 KiB), so: at least (300 - 100 - 64) / 100 ≈ 1.35 s; unthrottled it takes ~0.05 s.
    const body = mkv(3, Date.now() - 120_000, 10_000);
    const started = Date.now();
    const acks = await putMedia(kvsd.url, ADMIN, 'bw-1', body);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(acks.filter((x) => x.EventType === 'PERSISTED').length, 3, JSON.stringify(acks));
    assert.ok(!acks.some((x) => x.EventType === 'ERROR'));
    assert.ok(seconds >= 1.2, `${body.length} bytes took ${seconds} s`);
    assert.ok(seconds < 6, `${body.length} bytes took ${seconds} s`);

    const am = archived(kvsd.url, ADMIN);
    for (let i = 0; i < 12; i++)
      await am.send(new ListFragmentsCommand({ StreamName: 'bw-1', FragmentSelector: selector }));
  });
});
