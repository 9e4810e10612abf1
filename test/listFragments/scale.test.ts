/**
 * ListFragments at size: one stream of 1,000,000 fragments (seeded once through the real ingest path, on a
 * server of its own). The first page, a page from the middle, the last page and a walk of three pages from
 * the middle are exactly right: count, producer timestamps, and fragment numbers. Per-page latency is
 * reported as a diagnostic only (no timing is asserted).
 *
 * Fragment numbers: the seed is one ingest session and the only writer of this data directory, so its
 * fragments take consecutive sequence numbers: fragment i (0-based, producer timestamp T0 + i s) carries
 * sequence seq0 + i, and its number embeds its ServerTimestamp (the layout of real KVS numbers).
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  ListFragmentsCommand,
  type Fragment,
  type ListFragmentsCommandInput,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { parseFragmentNumber } from '../../src/protocol/fragmentNumbers.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ms, rawFragments, rawList, seed, selector } from '../helpers/listing.js';
import { sdk } from '../helpers/sdk.js';

const N = 1_000_000;
const T0 = 1_600_000_000_000;
const STEP = 1000;
const FAR = T0 + 2 * N * STEP;
const STREAM = 'million';
const ts = (i: number) => T0 + i * STEP;

let kvsd: KvsdProcess;
let am: ReturnType<typeof sdk>['am'];
let seq0: number;
const latencies: string[] = [];

before(
  async () => {
    const started = Date.now();
    // Seeded straight into the data directory before the server starts (the bulk path; a running server
    // holds its directory's lock).
    kvsd = await startKvsd({
      args: ['--quiet'],
      prepare: (dir) => seed(dir, STREAM, { fragments: N, startMs: T0, intervalMs: STEP, create: true }),
    });
    latencies.push(`seeded ${N} fragments in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    am = sdk(kvsd.url).am;
    // The sequence number of fragment 0: the number of the only fragment at T0.
    const first = await am.send(
      new ListFragmentsCommand({ StreamName: STREAM, FragmentSelector: selector('PRODUCER_TIMESTAMP', T0, T0) }),
    );
    assert.equal(first.Fragments!.length, 1);
    seq0 = parseFragmentNumber(first.Fragments![0]!.FragmentNumber!)!.seq;
  },
  { timeout: 180_000 },
);
after(async () => {
  am?.destroy();
  await kvsd?.dispose();
});

async function page(t: TestContext, label: string, input: ListFragmentsCommandInput) {
  const started = process.hrtime.bigint();
  const out = await am.send(new ListFragmentsCommand(input));
  const took = Number(process.hrtime.bigint() - started) / 1e6;
  t.diagnostic(`${label}: ${out.Fragments!.length} fragments in ${took.toFixed(1)} ms`);
  return out;
}

/** Checks that `fragments` are exactly fragments first .. first + count - 1 of the stream. */
function assertFragments(fragments: Fragment[], first: number, count: number, what: string) {
  assert.equal(fragments.length, count, `${what}: count`);
  fragments.forEach((f, k) => {
    const i = first + k;
    assert.equal(ms(f.ProducerTimestamp), ts(i), `${what}: ProducerTimestamp of fragment ${i}`);
    const parts = parseFragmentNumber(f.FragmentNumber!);
    assert.ok(parts, `${what}: ${f.FragmentNumber} is a fragment number`);
    assert.equal(parts.seq - seq0, i, `${what}: fragment ${i} has the ${i}th number after the first`);
    assert.equal(parts.serverMs, ms(f.ServerTimestamp), `${what}: the number embeds the ServerTimestamp`);
    assert.equal(f.FragmentSizeInBytes, fragments[0]!.FragmentSizeInBytes, 'the seed writes equal fragments');
    assert.equal(f.FragmentLengthInMilliseconds, 0, 'one frame per fragment');
  });
}

describe('a stream of 1,000,000 fragments', () => {
  it('the first page', async (t) => {
    t.diagnostic(latencies[0]!);
    const out = await page(t, 'first page', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', T0, FAR),
    });
    assertFragments(out.Fragments!, 0, 1000, 'first page');
    assert.ok(out.NextToken);
    // From before the first fragment, and with the default page size.
    const early = await page(t, 'first page, default size, from the epoch', {
      StreamName: STREAM,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', 0, FAR),
    });
    assertFragments(early.Fragments!, 0, 100, 'default page');
    assert.ok(early.NextToken);
  });

  it('a page from the middle, and three consecutive pages of 1000 from there', async (t) => {
    const mid = 499_999; // the 500,000th fragment
    const input: ListFragmentsCommandInput = {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', ts(mid), FAR),
    };
    const tokens = new Set<string>();
    let token: string | undefined;
    for (let p = 0; p < 3; p++) {
      const out = await page(t, `middle page ${p + 1}`, { ...input, ...(token && { NextToken: token }) });
      assertFragments(out.Fragments!, mid + p * 1000, 1000, `middle page ${p + 1}`);
      assert.ok(out.NextToken && !tokens.has(out.NextToken), 'a new token');
      tokens.add(out.NextToken);
      token = out.NextToken;
    }
    // A range inside the middle, ends inclusive: exactly 1 + 250 fragments.
    const inner = await page(t, 'inner range', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', ts(600_000), ts(600_250)),
    });
    assertFragments(inner.Fragments!, 600_000, 251, 'inner range');
    assert.equal(inner.NextToken, undefined);
    // The same page over raw HTTP, as epoch-second numbers.
    const raw = await rawList(kvsd.url, {
      StreamName: STREAM,
      MaxResults: 5,
      FragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: ts(mid) / 1000, EndTimestamp: FAR / 1000 },
      },
    });
    assert.deepEqual(
      rawFragments(raw.json).map((f) => f.p),
      [0, 1, 2, 3, 4].map((k) => ts(mid + k)),
    );
  });

  it('the last pages', async (t) => {
    const last = await page(t, 'last page (700)', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', ts(N - 700), FAR),
    });
    assertFragments(last.Fragments!, N - 700, 700, 'last page');
    assert.equal(last.NextToken, undefined, 'no token on the last page');
    // Exactly 1000 left: a full last page, still without a token.
    const full = await page(t, 'last page (exactly 1000)', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', ts(N - 1000), FAR),
    });
    assertFragments(full.Fragments!, N - 1000, 1000, 'last full page');
    assert.equal(full.NextToken, undefined, 'no token on a full last page');
    // Paging onto the end: 1001 left in pages of 1000 gives 1000 + token, then 1 without.
    const p1 = await page(t, 'second-to-last page', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', ts(N - 1001), FAR),
    });
    assertFragments(p1.Fragments!, N - 1001, 1000, 'second-to-last page');
    assert.ok(p1.NextToken);
    const p2 = await page(t, 'final page of one', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', ts(N - 1001), FAR),
      NextToken: p1.NextToken,
    });
    assertFragments(p2.Fragments!, N - 1, 1, 'final page');
    assert.equal(p2.NextToken, undefined);
    const beyond = await page(t, 'after the last', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('PRODUCER_TIMESTAMP', ts(N - 1) + 1, FAR),
    });
    assert.deepEqual(beyond.Fragments, []);
    assert.equal(beyond.NextToken, undefined);
  });

  it('by SERVER_TIMESTAMP: the first page is the first thousand fragments ingested', async (t) => {
    const out = await page(t, 'first page by server time', {
      StreamName: STREAM,
      MaxResults: 1000,
      FragmentSelector: selector('SERVER_TIMESTAMP', 0, Date.now() + 60_000),
    });
    assertFragments(out.Fragments!, 0, 1000, 'first page by server time');
    assert.ok(out.NextToken);
  });
});
