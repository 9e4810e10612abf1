/**
 * --mode aws: ListFragments in no order (within and across pages) yet complete and without duplicates,
 * fragments listable only a visibility delay after PERSISTED, AWS's quotas (pages must be paced), and a
 * credential scope that must name kvsd's region.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ListFragmentsCommand,
  type Fragment,
  type FragmentSelector,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis-video';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { seed } from '../helpers/listing.js';
import { sleep } from '../helpers/time.js';
import {
  ADMIN,
  archived,
  assertSdkError,
  authFile,
  controlPlane,
  createStream,
  mkv,
  putMediaClient,
} from './helpers.js';
import type { PutMediaAck } from '../../src/client/putMediaClient.js';

const FRAGMENTS = 240;
const START_MS = 1_700_000_000_000;
const INTERVAL_MS = 2000;
/** ListFragments is 5 TPS per stream in this mode: pace the pages. */
const PACE_MS = 250;

let kvsd: KvsdProcess;
before(async () => {
  // Many fragments at once, straight into the data directory before the server starts.
  kvsd = await startKvsd({
    args: ['--mode', 'aws', '--visibility-delay-ms', '1500', '--auth', authFile(), '--quiet'],
    prepare: (dir) =>
      seed(dir, 'many', { fragments: FRAGMENTS, startMs: START_MS, intervalMs: INTERVAL_MS, create: true }),
  });
});
after(async () => {
  await kvsd?.dispose();
});

const producerRange = (fromMs: number, toMs: number): FragmentSelector => ({
  FragmentSelectorType: 'PRODUCER_TIMESTAMP',
  TimestampRange: { StartTimestamp: new Date(fromMs), EndTimestamp: new Date(toMs) },
});

async function pages(stream: string, selector: FragmentSelector, maxResults: number): Promise<Fragment[][]> {
  const am = archived(kvsd.url, ADMIN);
  const out: Fragment[][] = [];
  let token: string | undefined;
  do {
    const page = await am.send(
      new ListFragmentsCommand({
        StreamName: stream,
        FragmentSelector: selector,
        MaxResults: maxResults,
        NextToken: token,
      }),
    );
    assert.ok((page.Fragments ?? []).length <= maxResults);
    out.push(page.Fragments ?? []);
    if (page.NextToken !== undefined) assert.notEqual(page.NextToken, token, 'a token is never repeated');
    token = page.NextToken;
    await sleep(PACE_MS);
  } while (token);
  return out;
}

const ms = (f: Fragment) => f.ProducerTimestamp!.getTime();
const isSorted = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! <= x);

describe('--mode aws ListFragments', () => {
  it('is unordered within and across pages, complete, without duplicates', async () => {
    const all = await pages('many', producerRange(0, Date.now()), 60);
    assert.ok(all.length >= 4, `${all.length} pages`);
    const flat = all.flat();
    const numbers = flat.map((f) => f.FragmentNumber!);
    assert.equal(new Set(numbers).size, numbers.length, 'no fragment twice');
    assert.equal(numbers.length, FRAGMENTS, 'every fragment once');
    assert.deepEqual(
      flat.map(ms).sort((a, b) => a - b),
      Array.from({ length: FRAGMENTS }, (_, i) => START_MS + i * INTERVAL_MS),
    );

    assert.ok(!isSorted(flat.map(ms)), 'the listing is not in timestamp order');
    // Fragment numbers all have 47 digits: string order is numeric order.
    assert.ok(!numbers.every((n, i) => i === 0 || numbers[i - 1]! < n), 'nor in fragment-number order');
    assert.ok(
      all.filter((p) => p.length > 1).every((p) => !isSorted(p.map(ms))),
      'no page is in order',
    );
    // Across pages: a later page holds a fragment older than one on an earlier page.
    const crossed = all.some((p, i) =>
      all.slice(i + 1).some((q) => q.length > 0 && p.length > 0 && Math.min(...q.map(ms)) < Math.max(...p.map(ms))),
    );
    assert.ok(crossed, 'pages interleave in time');
    // And a fresh listing comes in another order.
    const again = (await pages('many', producerRange(0, Date.now()), 1000)).flat();
    assert.equal(again.length, FRAGMENTS);
    assert.notDeepEqual(
      again.map((f) => f.FragmentNumber),
      numbers,
    );
  });

  it('selects exactly the range, inclusive at both ends, for both timestamp kinds', async () => {
    const from = START_MS + 50 * INTERVAL_MS;
    const to = START_MS + 149 * INTERVAL_MS;
    const sub = (await pages('many', producerRange(from, to), 17)).flat();
    assert.deepEqual(
      sub.map(ms).sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => from + i * INTERVAL_MS),
    );
    const server = (
      await pages(
        'many',
        {
          FragmentSelectorType: 'SERVER_TIMESTAMP',
          TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 60_000) },
        },
        100,
      )
    ).flat();
    assert.equal(new Set(server.map((f) => f.FragmentNumber)).size, FRAGMENTS);
    assert.equal(server.length, FRAGMENTS);
  });

  it('lists a fragment only the visibility delay (1500 ms) after its PERSISTED acknowledgement', async () => {
    await createStream(kvsd.url, 'vis-1');
    const am = archived(kvsd.url, ADMIN);
    const list = async () =>
      (
        await am.send(
          new ListFragmentsCommand({
            StreamName: 'vis-1',
            FragmentSelector: {
              FragmentSelectorType: 'SERVER_TIMESTAMP',
              TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 60_000) },
            },
          }),
        )
      ).Fragments!.map((f) => f.FragmentNumber);
    let persistedAt = 0;
    let seenEarly: (string | undefined)[] | undefined;
    const acks: PutMediaAck[] = [];
    for await (const ack of putMediaClient(kvsd.url, ADMIN).putMedia({
      streamName: 'vis-1',
      timecodeType: 'ABSOLUTE',
      body: mkv(1, Date.now() - 5_000),
    })) {
      acks.push(ack);
      if (ack.EventType === 'PERSISTED' && !persistedAt) {
        persistedAt = Date.now();
        seenEarly = await list();
      }
    }
    const number = acks.find((a) => a.EventType === 'PERSISTED')?.FragmentNumber;
    assert.ok(number, JSON.stringify(acks));
    assert.ok(Date.now() - persistedAt < 1000, 'the early listing ran well within the delay');
    assert.deepEqual(seenEarly, [], 'not listable right after PERSISTED');
    await sleep(persistedAt + 900 - Date.now());
    assert.deepEqual(await list(), [], 'still not listable 0.9 s after PERSISTED');
    await sleep(persistedAt + 1700 - Date.now());
    assert.deepEqual(await list(), [number], 'listable once the delay has passed');
  });

  it('implies --quotas aws (ListFragments 5 TPS per stream)', async () => {
    await sleep(1100);
    const am = archived(kvsd.url, ADMIN);
    const call = () =>
      am.send(
        new ListFragmentsCommand({ StreamName: 'many', FragmentSelector: producerRange(0, Date.now()), MaxResults: 1 }),
      );
    for (let i = 0; i < 5; i++) await call();
    await assertSdkError(call(), 'ClientLimitExceededException', 400);
  });

  it('insists that the credential scope names kvsd region', async () => {
    await assertSdkError(
      controlPlane(kvsd.url, ADMIN, { region: 'eu-west-1' }).send(new ListStreamsCommand({})),
      'InvalidSignatureException',
      403,
      "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    );
    await controlPlane(kvsd.url, ADMIN).send(new ListStreamsCommand({}));
  });
});
