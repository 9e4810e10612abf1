/**
 * What a ListFragments answer contains: both ends of the range inclusive at millisecond precision, on the
 * fragment's start timestamp only; whole-second ranges from boto3 and the CLI; StreamARN alone or with the
 * matching StreamName; nothing from a stream that retains nothing; the exact empty answer; the five keys of
 * a Fragment; pages of 100 by default; ascending order by the selected timestamp, ties by fragment number.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DescribeStreamCommand, UpdateDataRetentionCommand } from '@aws-sdk/client-kinesis-video';
import { ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile } from '../helpers/media.js';
import {
  FIVE_KEYS,
  assertAscending,
  awsListJson,
  boto,
  botoOk,
  cliSelector,
  isoMs,
  ms,
  putMedia,
  rawFragments,
  rawList,
  rawWalk,
  seed,
  selector,
  walk,
} from '../helpers/listing.js';
import { createStream, sdk } from '../helpers/sdk.js';

let kvsd: KvsdProcess;
let am: ReturnType<typeof sdk>['am'];

/** Stream "precise": 5 fragments 1 s apart starting at a millisecond-precise time. */
const P0 = 1_700_000_000_123;
const P = [0, 1, 2, 3, 4].map((i) => P0 + i * 1000);
/** Stream "whole": 6 fragments at whole seconds. */
const W0 = 1_700_000_100_000;
/** Stream "many": 250 fragments, 10 ms apart. */
const M0 = 1_700_000_200_000;
/** Stream "ties": two seeds whose producer timestamps coincide for 20 fragments. */
const X0 = 1_700_000_300_000;
const OVERLAP0 = 1_700_000_500_000;
let preciseArn: string;

const rangeBody = (
  stream: string,
  kind: string,
  startMs: number,
  endMs: number,
  extra: Record<string, unknown> = {},
) => ({
  StreamName: stream,
  ...extra,
  FragmentSelector: {
    FragmentSelectorType: kind,
    TimestampRange: { StartTimestamp: startMs / 1000, EndTimestamp: endMs / 1000 },
  },
});

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  am = sdk(kvsd.url).am;
  [preciseArn] = await Promise.all([createStream(kvsd.url, 'precise'), createStream(kvsd.url, 'retain-nothing', 0)]);
  // One seed at a time (concurrent writer processes: see pagination.test.ts).
  await seed(kvsd, 'precise', { fragments: 5, startMs: P0, intervalMs: 1000 });
  await seed(kvsd, 'whole', { fragments: 6, startMs: W0, intervalMs: 1000, create: true });
  await seed(kvsd, 'many', { fragments: 250, startMs: M0, intervalMs: 10, create: true });
  // "overlap": real ffmpeg output, two fragments of 1960 ms at OVERLAP0 and OVERLAP0 + 2 s.
  await createStream(kvsd.url, 'overlap');
  const acks = await putMedia(kvsd.url, {
    streamName: 'overlap',
    timecodeType: 'RELATIVE',
    producerStartTimestamp: OVERLAP0,
    body: await readFile(await ffmpegMkvFile({ seconds: 4, gop: 50, fps: 25 })),
  });
  assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 2, JSON.stringify(acks));
  // "ties": A at X0 + 1000 i (i < 30), B at X0 + 10 s + 1000 j (j < 30): 20 producer timestamps carry two fragments.
  await seed(kvsd, 'ties', { fragments: 30, startMs: X0, intervalMs: 1000, create: true });
  await seed(kvsd, 'ties', { fragments: 30, startMs: X0 + 10_000, intervalMs: 1000 });
});
after(async () => {
  am?.destroy();
  await kvsd?.dispose();
});

describe('range ends', () => {
  const list = async (kind: 'PRODUCER_TIMESTAMP' | 'SERVER_TIMESTAMP', start: number, end: number) => {
    const out = await am.send(
      new ListFragmentsCommand({ StreamName: 'precise', FragmentSelector: selector(kind, start, end) }),
    );
    assert.equal(out.NextToken, undefined);
    return out.Fragments!.map((f) => ms(f.ProducerTimestamp));
  };

  it('JS SDK: fragments exactly at StartTimestamp and at EndTimestamp are included, 1 ms outside excluded', async () => {
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', P[1]!, P[3]!), [P[1], P[2], P[3]], 'exactly at both ends');
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', P[1]! + 1, P[3]!), [P[2], P[3]], 'start 1 ms after a fragment');
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', P[1]!, P[3]! - 1), [P[1], P[2]], 'end 1 ms before a fragment');
    assert.deepEqual(
      await list('PRODUCER_TIMESTAMP', P[1]! - 1, P[3]! + 1),
      [P[1], P[2], P[3]],
      '1 ms wider on both sides',
    );
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', P[2]!, P[2]!), [P[2]], 'a zero-length range on a fragment');
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', P[2]! + 1, P[3]! - 1), [], 'strictly between two fragments');
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', P[4]! + 1, P[4]! + 10_000), [], 'after the last');
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', 0, P[0]! - 1), [], 'before the first, from the epoch');
    assert.deepEqual(await list('PRODUCER_TIMESTAMP', 0, P[0]!), [P[0]], 'from the epoch to the first');
  });

  it('the start timestamp alone decides: a fragment starting before the range is excluded even if it runs into it', async () => {
    // Each fragment of "precise" lasts 0 ms, so use the real PutMedia fragments of 1960 ms of "overlap":
    // one starting 1 ms before the range is out, though its frames reach into it.
    const start = OVERLAP0;
    const out = await am.send(
      new ListFragmentsCommand({
        StreamName: 'overlap',
        FragmentSelector: selector('PRODUCER_TIMESTAMP', start + 1, start + 2000),
      }),
    );
    assert.deepEqual(
      out.Fragments!.map((f) => ms(f.ProducerTimestamp)),
      [start + 2000],
    );
    assert.equal(out.Fragments![0]!.FragmentLengthInMilliseconds, 1960);
  });

  it('SERVER_TIMESTAMP ends are inclusive at millisecond precision too', async () => {
    const all = await am.send(
      new ListFragmentsCommand({
        StreamName: 'precise',
        FragmentSelector: selector('SERVER_TIMESTAMP', 0, Date.now() + 60_000),
      }),
    );
    const servers = all.Fragments!.map((f) => ms(f.ServerTimestamp));
    assert.equal(servers.length, 5);
    const lo = Math.min(...servers),
      hi = Math.max(...servers);
    assert.equal((await list('SERVER_TIMESTAMP', lo, hi)).length, 5, 'exactly the earliest .. exactly the latest');
    assert.deepEqual(await list('SERVER_TIMESTAMP', hi + 1, hi + 60_000), [], '1 ms after the latest');
    assert.deepEqual(await list('SERVER_TIMESTAMP', lo - 60_000, lo - 1), [], '1 ms before the earliest');
    const atLo = servers.filter((s) => s === lo).length;
    assert.equal((await list('SERVER_TIMESTAMP', lo, lo)).length, atLo, 'a zero-length range at the earliest');
    // (The seed pushes the five clusters at once: they usually share one server timestamp.)
    if (hi > lo) assert.equal((await list('SERVER_TIMESTAMP', lo + 1, hi)).length, 5 - atLo);
  });

  it('raw wire: fractional epoch seconds are read at millisecond precision; exponent notation too', async () => {
    const r1 = await rawList(kvsd.url, rangeBody('precise', 'PRODUCER_TIMESTAMP', P[1]!, P[3]!));
    assert.deepEqual(
      rawFragments(r1.json).map((f) => f.p),
      [P[1], P[2], P[3]],
    );
    const r2 = await rawList(kvsd.url, rangeBody('precise', 'PRODUCER_TIMESTAMP', P[1]! + 1, P[3]! - 1));
    assert.deepEqual(
      rawFragments(r2.json).map((f) => f.p),
      [P[2]],
    );
    // How the real service writes numbers (Java Double.toString): 1.700000001123E9.
    const r3 = await rawList(
      kvsd.url,
      `{"StreamName":"precise","FragmentSelector":{"FragmentSelectorType":"PRODUCER_TIMESTAMP","TimestampRange":{"StartTimestamp":${(P[1]! / 1e12).toFixed(12)}E9,"EndTimestamp":${(P[3]! / 1e12).toFixed(12)}E9}}}`,
    );
    assert.equal(r3.status, 200, r3.text);
    assert.deepEqual(
      rawFragments(r3.json).map((f) => f.p),
      [P[1], P[2], P[3]],
    );
  });

  it('boto3 and the CLI (whole seconds on the wire) select inclusively; their sub-second inputs are truncated', async () => {
    const W = (i: number) => W0 + i * 1000;
    const sel = (start: number, end: number) => ({
      FragmentSelectorType: 'PRODUCER_TIMESTAMP',
      TimestampRange: { StartTimestamp: start, EndTimestamp: end },
    });
    const [py, cli, cliFrac] = await Promise.all([
      boto(kvsd.url, [
        { params: { StreamName: 'whole', FragmentSelector: sel(W(1) / 1000, W(3) / 1000) } },
        // botocore sends int(seconds): 1.7 -> 1 and 3.2 -> 3, so the same three fragments.
        { params: { StreamName: 'whole', FragmentSelector: sel(W(1) / 1000 + 0.7, W(3) / 1000 + 0.2) } },
        { params: { StreamName: 'whole', FragmentSelector: sel(W(5) / 1000, W(5) / 1000) } },
        // On the millisecond-precise stream whole seconds fall between fragments: P0 = ...000.123.
        {
          params: { StreamName: 'precise', FragmentSelector: sel(Math.floor(P[1]! / 1000), Math.floor(P[3]! / 1000)) },
        },
      ]),
      awsListJson(kvsd.url, [
        '--stream-name',
        'whole',
        '--fragment-selector',
        cliSelector('PRODUCER_TIMESTAMP', W(1) / 1000, W(3) / 1000),
      ]),
      awsListJson(kvsd.url, [
        '--stream-name',
        'whole',
        '--fragment-selector',
        cliSelector('PRODUCER_TIMESTAMP', W(0) / 1000 + 0.5, W(2) / 1000 + 0.999),
      ]),
    ]);
    assert.deepEqual(
      botoOk(py[0]).Fragments.map((f) => f.ProducerTimestamp),
      [W(1), W(2), W(3)],
    );
    assert.deepEqual(
      botoOk(py[1]).Fragments.map((f) => f.ProducerTimestamp),
      [W(1), W(2), W(3)],
    );
    assert.deepEqual(
      botoOk(py[2]).Fragments.map((f) => f.ProducerTimestamp),
      [W(5)],
    );
    assert.deepEqual(
      botoOk(py[3]).Fragments.map((f) => f.ProducerTimestamp),
      [P[1], P[2]],
    );
    assert.deepEqual(
      cli.Fragments.map((f) => isoMs(f.ProducerTimestamp)),
      [W(1), W(2), W(3)],
    );
    assert.deepEqual(
      cliFrac.Fragments.map((f) => isoMs(f.ProducerTimestamp)),
      [W(0), W(1), W(2)],
      'CLI sends int(seconds)',
    );
  });
});

describe('naming the stream', () => {
  it('StreamARN alone, and StreamName with the matching StreamARN, list the stream', async () => {
    const sel = selector('PRODUCER_TIMESTAMP', P[0]!, P[4]!);
    const [byName, byArn, byBoth] = await Promise.all([
      am.send(new ListFragmentsCommand({ StreamName: 'precise', FragmentSelector: sel })),
      am.send(new ListFragmentsCommand({ StreamARN: preciseArn, FragmentSelector: sel })),
      am.send(new ListFragmentsCommand({ StreamName: 'precise', StreamARN: preciseArn, FragmentSelector: sel })),
    ]);
    assert.equal(byName.Fragments!.length, 5);
    assert.deepEqual(byArn.Fragments, byName.Fragments);
    assert.deepEqual(byBoth.Fragments, byName.Fragments);
    const raw = await rawList(kvsd.url, {
      StreamARN: preciseArn,
      FragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: P[0]! / 1000, EndTimestamp: P[4]! / 1000 },
      },
    });
    assert.deepEqual(
      rawFragments(raw.json).map((f) => f.n),
      byName.Fragments!.map((f) => f.FragmentNumber),
    );
  });

  it('paging by StreamARN: a token issued for the ARN works with the name too (same stream)', async () => {
    const sel = selector('PRODUCER_TIMESTAMP', P[0]!, P[4]!);
    const first = await am.send(
      new ListFragmentsCommand({ StreamARN: preciseArn, MaxResults: 2, FragmentSelector: sel }),
    );
    assert.ok(first.NextToken);
    const second = await am.send(
      new ListFragmentsCommand({
        StreamName: 'precise',
        MaxResults: 2,
        FragmentSelector: sel,
        NextToken: first.NextToken,
      }),
    );
    assert.deepEqual(
      second.Fragments!.map((f) => ms(f.ProducerTimestamp)),
      [P[2], P[3]],
    );
  });
});

describe('empty answers', () => {
  it('a stream with DataRetentionInHours 0 lists {"Fragments":[]}, though PutMedia sent it fragments', async () => {
    const file = await ffmpegMkvFile({ seconds: 4, gop: 50, fps: 25 });
    const start = Date.now() - 10_000;
    const acks = await putMedia(kvsd.url, {
      streamName: 'retain-nothing',
      timecodeType: 'RELATIVE',
      producerStartTimestamp: start,
      body: await readFile(file),
    });
    assert.equal(acks.filter((a) => a.EventType === 'RECEIVED').length, 2, 'the fragments were received');
    assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 0, 'and not persisted');
    for (const kind of ['PRODUCER_TIMESTAMP', 'SERVER_TIMESTAMP']) {
      for (const extra of [{}, { MaxResults: 1 }]) {
        const r = await rawList(kvsd.url, rangeBody('retain-nothing', kind, 0, Date.now() + 60_000, extra));
        assert.equal(r.status, 200, r.text);
        assert.equal(r.text, '{"Fragments":[]}', `${kind} ${JSON.stringify(extra)}`);
      }
    }
    const out = await am.send(
      new ListFragmentsCommand({
        StreamName: 'retain-nothing',
        FragmentSelector: selector('SERVER_TIMESTAMP', 0, Date.now()),
      }),
    );
    assert.deepEqual(out.Fragments, []);
    assert.equal(out.NextToken, undefined);
  });

  it('a stream whose retention is lowered to 0 lists {"Fragments":[]} though it archived fragments before', async () => {
    const arn = await createStream(kvsd.url, 'retention-dropped', 1);
    await seed(kvsd, 'retention-dropped', { fragments: 5, startMs: P0, intervalMs: 1000 });
    const body = rangeBody('retention-dropped', 'PRODUCER_TIMESTAMP', P0, P0 + 10_000, { MaxResults: 2 });
    const before = await rawList(kvsd.url, body);
    assert.equal(before.json.Fragments.length, 2);
    assert.ok(before.json.NextToken);
    const { kv } = sdk(kvsd.url);
    const info = (await kv.send(new DescribeStreamCommand({ StreamARN: arn }))).StreamInfo!;
    await kv.send(
      new UpdateDataRetentionCommand({
        StreamARN: arn,
        CurrentVersion: info.Version!,
        Operation: 'DECREASE_DATA_RETENTION',
        DataRetentionChangeInHours: 1,
      }),
    );
    kv.destroy();
    const after = await rawList(kvsd.url, body);
    assert.equal(after.status, 200, after.text);
    assert.equal(after.text, '{"Fragments":[]}');
    const withToken = await rawList(kvsd.url, { StreamName: 'retention-dropped', NextToken: before.json.NextToken });
    assert.equal(withToken.text, '{"Fragments":[]}', 'an earlier token finds nothing either');
  });

  it('a range with no fragments gives exactly {"Fragments":[]} and no NextToken key', async () => {
    for (const [stream, start, end] of [
      ['precise', P[0]! - 5000, P[0]! - 1],
      ['precise', P[4]! + 1, P[4]! + 1],
      ['many', M0 + 1, M0 + 9],
    ] as const) {
      for (const extra of [{}, { MaxResults: 1 }, { MaxResults: 1000 }]) {
        const r = await rawList(kvsd.url, rangeBody(stream, 'PRODUCER_TIMESTAMP', start, end, extra));
        assert.equal(r.status, 200, r.text);
        assert.equal(r.text, '{"Fragments":[]}');
      }
    }
    const py = await boto(kvsd.url, [
      {
        params: {
          StreamName: 'precise',
          FragmentSelector: {
            FragmentSelectorType: 'PRODUCER_TIMESTAMP',
            TimestampRange: { StartTimestamp: 1, EndTimestamp: 2 },
          },
        },
      },
    ]);
    assert.deepEqual(botoOk(py[0]).Fragments, []);
    assert.equal(botoOk(py[0]).NextToken, undefined);
  });
});

describe('the response', () => {
  it('every fragment object has exactly the five keys, of the documented types', async () => {
    for (const [stream, kind] of [
      ['many', 'PRODUCER_TIMESTAMP'],
      ['ties', 'SERVER_TIMESTAMP'],
      ['overlap', 'PRODUCER_TIMESTAMP'],
    ] as const) {
      const r = await rawList(kvsd.url, rangeBody(stream, kind, 0, Date.now() + 60_000, { MaxResults: 1000 }));
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.Fragments.length > 0);
      for (const f of r.json.Fragments) {
        assert.deepEqual(Object.keys(f).sort(), FIVE_KEYS);
        assert.match(f.FragmentNumber, /^[0-9]{1,128}$/);
        assert.ok(Number.isSafeInteger(f.FragmentSizeInBytes) && f.FragmentSizeInBytes > 0);
        assert.ok(Number.isSafeInteger(f.FragmentLengthInMilliseconds) && f.FragmentLengthInMilliseconds >= 0);
        for (const t of [f.ProducerTimestamp, f.ServerTimestamp]) {
          assert.equal(typeof t, 'number');
          assert.equal(Math.round(t * 1000) / 1000, t, 'epoch seconds with at most millisecond precision');
        }
      }
    }
  });

  it('MaxResults omitted: pages of 100 (raw, JS SDK, boto3)', async () => {
    const body = rangeBody('many', 'PRODUCER_TIMESTAMP', M0, M0 + 10_000);
    const p1 = await rawList(kvsd.url, body);
    assert.equal(p1.json.Fragments.length, 100);
    assert.ok(p1.json.NextToken);
    const p2 = await rawList(kvsd.url, { ...body, NextToken: p1.json.NextToken });
    assert.equal(p2.json.Fragments.length, 100);
    const p3 = await rawList(kvsd.url, { StreamName: 'many', NextToken: p2.json.NextToken });
    assert.equal(p3.json.Fragments.length, 50);
    assert.equal('NextToken' in p3.json, false);
    const all = [...rawFragments(p1.json), ...rawFragments(p2.json), ...rawFragments(p3.json)];
    assert.deepEqual(
      all.map((f) => f.p),
      Array.from({ length: 250 }, (_, i) => M0 + i * 10),
    );

    const out = await am.send(
      new ListFragmentsCommand({
        StreamName: 'many',
        FragmentSelector: selector('PRODUCER_TIMESTAMP', M0, M0 + 10_000),
      }),
    );
    assert.equal(out.Fragments!.length, 100);
    assert.ok(out.NextToken);
    const py = await boto(kvsd.url, [
      {
        params: {
          StreamName: 'many',
          FragmentSelector: {
            FragmentSelectorType: 'PRODUCER_TIMESTAMP',
            TimestampRange: { StartTimestamp: M0 / 1000, EndTimestamp: M0 / 1000 + 10 },
          },
        },
      },
    ]);
    assert.equal(botoOk(py[0]).Fragments.length, 100);
    assert.ok(botoOk(py[0]).NextToken);
  });

  it('ascending by the selected timestamp, ties by fragment number, within and across pages', async () => {
    for (const kind of ['PRODUCER_TIMESTAMP', 'SERVER_TIMESTAMP'] as const) {
      const whole = await rawWalk(kvsd.url, rangeBody('ties', kind, 0, Date.now() + 60_000), 1000);
      assert.equal(whole.fragments.length, 60);
      const key = (f: { p: number; s: number; n: string }) => ({
        ts: kind === 'PRODUCER_TIMESTAMP' ? f.p : f.s,
        n: f.n,
      });
      assertAscending(whole.fragments.map(key), `${kind}, one page`);
      for (const size of [1, 7]) {
        const paged = await rawWalk(kvsd.url, rangeBody('ties', kind, 0, Date.now() + 60_000), size);
        assert.deepEqual(paged.fragments, whole.fragments, `${kind}, pages of ${size}`);
        assertAscending(paged.fragments.map(key), `${kind}, pages of ${size}`);
      }
      if (kind === 'PRODUCER_TIMESTAMP') {
        const ps = whole.fragments.map((f) => f.p);
        assert.equal(new Set(ps).size, 40, '20 timestamps carry two fragments');
        const expected = [
          ...Array.from({ length: 30 }, (_, i) => X0 + i * 1000),
          ...Array.from({ length: 30 }, (_, j) => X0 + 10_000 + j * 1000),
        ].sort((a, b) => a - b);
        assert.deepEqual(ps, expected);
      } else {
        assert.ok(
          new Set(whole.fragments.map((f) => f.s)).size < 60,
          'server timestamps tie (a seed pushes many clusters at once)',
        );
      }
    }
    // The JS SDK walk agrees.
    const viaSdk = await walk(am, {
      StreamName: 'ties',
      MaxResults: 4,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', X0, X0 + 60_000),
    });
    assertAscending(
      viaSdk.fragments.map((f) => ({ ts: ms(f.ProducerTimestamp), n: f.FragmentNumber! })),
      'JS SDK pages of 4',
    );
    assert.equal(viaSdk.fragments.length, 60);
  });
});
