/**
 * Pagination of ListFragments on seeded streams (the real ingest path, `kvsd seed`), with producer
 * timestamps that tie: for page sizes 1 .. 1000 the pages concatenate to the full ordered set; NextToken is
 * there exactly when more remain and never repeats; paging under concurrent ingest neither duplicates nor
 * loses what was persisted; tokens are tamper-proof and bound to their stream and selector, survive a
 * restart, and work with the selector re-sent (as the CLI and the paginators do). The CLI's, boto3's and
 * the JS SDK's paginators return the complete set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DescribeStreamCommand, ListStreamsCommand } from '@aws-sdk/client-kinesis-video';
import {
  ListFragmentsCommand,
  paginateListFragments,
  type Fragment,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile } from '../helpers/media.js';
import {
  assertAscending,
  assertWireError,
  awsListJson,
  boto,
  clusterChunks,
  isoMs,
  ms,
  pausedBetween,
  putMedia,
  rawFragments,
  rawList,
  rawWalk,
  seed,
  selector,
  walk,
  type RawFragment,
} from '../helpers/listing.js';
import { createStream, deleteStream, sdk } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';

let kvsd: KvsdProcess;
let clients: ReturnType<typeof sdk>;

/** "big": A = 1500 fragments at S + 2 s·i, B = 1000 at S + 1 s + 1 s·j: 500 producer timestamps carry two fragments. */
const S = 1_650_000_000_000;
const BIG_END = S + 3_000_000;
const BIG_TOTAL = 2500;
/** "busy": 2000 fragments at B0 + 2 s·i, then ingest while paging. */
const B0 = 1_660_000_000_000;
/** "other" and "phoenix": small streams for the token checks. */
const O0 = 1_670_000_000_000;

const bigBody = (kind = 'PRODUCER_TIMESTAMP', endMs = BIG_END) => ({
  StreamName: 'big',
  FragmentSelector: {
    FragmentSelectorType: kind,
    TimestampRange: { StartTimestamp: S / 1000, EndTimestamp: endMs / 1000 },
  },
});
const bigSelector = () => selector('PRODUCER_TIMESTAMP', S, BIG_END);
/** The full ordered set of "big", by producer timestamp. */
let reference: RawFragment[];
const expectedBigTimestamps = [
  ...Array.from({ length: 1500 }, (_, i) => S + 2000 * i),
  ...Array.from({ length: 1000 }, (_, j) => S + 1000 + 1000 * j),
].sort((a, b) => a - b);

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  clients = sdk(kvsd.url);
  // One after the other: concurrent writers from several processes are a separate matter (see the
  // concurrent-ingest test).
  await seed(kvsd, 'big', { fragments: 1500, startMs: S, intervalMs: 2000, create: true });
  await seed(kvsd, 'big', { fragments: 1000, startMs: S + 1000, intervalMs: 1000 });
  await seed(kvsd, 'busy', { fragments: 2000, startMs: B0, intervalMs: 2000, create: true });
  await seed(kvsd, 'other', { fragments: 300, startMs: O0, intervalMs: 1000, create: true });
  reference = (await rawWalk(kvsd.url, bigBody(), 1000)).fragments;
});
after(async () => {
  clients?.am.destroy();
  clients?.kv.destroy();
  await kvsd?.dispose();
});

const key = (f: RawFragment) => ({ ts: f.p, n: f.n });

describe('pages concatenate to the full ordered set', () => {
  it('the reference listing is the seeded set, ascending, ties by fragment number', () => {
    assert.equal(reference.length, BIG_TOTAL);
    assert.deepEqual(
      reference.map((f) => f.p),
      expectedBigTimestamps,
    );
    assert.equal(new Set(reference.map((f) => f.n)).size, BIG_TOTAL, 'distinct fragment numbers');
    assertAscending(reference.map(key), 'reference');
    assert.equal(new Set(reference.map((f) => f.p)).size, 2000, '500 ties');
  });

  for (const size of [1, 2, 7, 100, 999, 1000]) {
    it(`MaxResults ${size}: same set and order; NextToken exactly when more remain, never twice`, async () => {
      const w = await rawWalk(kvsd.url, bigBody(), size);
      const full = Math.floor(BIG_TOTAL / size);
      const expectedSizes = [...Array(full).fill(size), ...(BIG_TOTAL % size ? [BIG_TOTAL % size] : [])];
      assert.deepEqual(
        w.pageSizes,
        expectedSizes,
        'every page full but the last; an exact multiple ends on a full page without a token',
      );
      assert.equal(w.tokens.length, expectedSizes.length - 1, 'a token on every page but the last');
      assert.equal(new Set(w.tokens).size, w.tokens.length, 'never the same token twice');
      assert.deepEqual(w.fragments, reference);
    });
  }

  it('SERVER_TIMESTAMP (many ties: a seed pushes a thousand clusters at once): same set, ascending by server time', async () => {
    const body = bigBody('SERVER_TIMESTAMP', Date.now() + 60_000);
    (body.FragmentSelector.TimestampRange as any).StartTimestamp = 0;
    const one = await rawWalk(kvsd.url, body, 1000);
    const sevens = await rawWalk(kvsd.url, body, 7);
    assert.deepEqual(sevens.fragments, one.fragments);
    assert.equal(new Set(sevens.tokens).size, sevens.tokens.length);
    assertAscending(
      one.fragments.map((f) => ({ ts: f.s, n: f.n })),
      'by server timestamp',
    );
    assert.deepEqual(one.fragments.map((f) => f.n).sort(), reference.map((f) => f.n).sort(), 'the same fragments');
    assert.ok(new Set(one.fragments.map((f) => f.s)).size < BIG_TOTAL / 10, 'server timestamps tie a lot');
  });

  it('the CLI (--page-size 50), paginateListFragments (pageSize 37) and boto3 (PageSize 64) return the complete set', async () => {
    const cliSel = JSON.stringify({
      FragmentSelectorType: 'PRODUCER_TIMESTAMP',
      TimestampRange: { StartTimestamp: S / 1000, EndTimestamp: BIG_END / 1000 },
    });
    const [cli, cliDefault, py, js] = await Promise.all([
      awsListJson(kvsd.url, ['--stream-name', 'big', '--fragment-selector', cliSel, '--page-size', '50']),
      // Without --page-size the CLI sends no MaxResults: 25 pages of the default 100.
      awsListJson(kvsd.url, ['--stream-name', 'big', '--fragment-selector', cliSel]),
      boto(kvsd.url, [{ params: bigBody(), paginate: { PageSize: 64 } }]),
      (async () => {
        const pages: Fragment[][] = [];
        for await (const page of paginateListFragments(
          { client: clients.am, pageSize: 37 },
          { StreamName: 'big', FragmentSelector: bigSelector() },
        )) {
          pages.push(page.Fragments!);
        }
        return pages;
      })(),
    ]);
    assert.equal(cli.NextToken, undefined);
    assert.deepEqual(
      cli.Fragments.map((f) => [f.FragmentNumber, isoMs(f.ProducerTimestamp), isoMs(f.ServerTimestamp)]),
      reference.map((f) => [f.n, f.p, f.s]),
      'CLI',
    );
    assert.equal(cliDefault.NextToken, undefined);
    assert.deepEqual(
      cliDefault.Fragments.map((f) => f.FragmentNumber),
      reference.map((f) => f.n),
      'CLI, default page size',
    );
    const pyPages = (py[0] as any).pages as { Fragments: any[]; NextToken?: string }[];
    assert.ok(pyPages, JSON.stringify(py[0]).slice(0, 500));
    assert.deepEqual(
      pyPages.map((p) => p.Fragments.length),
      [...Array(39).fill(64), BIG_TOTAL - 39 * 64],
    );
    assert.deepEqual(
      pyPages.flatMap((p) => p.Fragments).map((f) => [f.FragmentNumber, f.ProducerTimestamp, f.ServerTimestamp]),
      reference.map((f) => [f.n, f.p, f.s]),
      'boto3',
    );
    assert.deepEqual(
      js.map((p) => p.length),
      [...Array(67).fill(37), BIG_TOTAL - 67 * 37],
    );
    assert.deepEqual(
      js.flat().map((f) => [f.FragmentNumber, ms(f.ProducerTimestamp), ms(f.ServerTimestamp)]),
      reference.map((f) => [f.n, f.p, f.s]),
      'paginateListFragments',
    );
  });
});

describe('tokens', () => {
  let tokens: string[];
  before(async () => {
    const w = await walk(clients.am, { StreamName: 'big', MaxResults: 100, FragmentSelector: bigSelector() });
    assert.deepEqual(
      w.fragments.map((f) => f.FragmentNumber),
      reference.map((f) => f.n),
    );
    tokens = w.tokens;
    assert.equal(tokens.length, 24);
  });
  const page2 = () => reference.slice(100, 200);

  const expectBadToken = async (body: Record<string, unknown>, what: string, field = /nextToken|fragmentSelector/i) => {
    const r = await rawList(kvsd.url, body);
    const message = assertWireError(r, 400, 'InvalidArgumentException');
    assert.match(message, field, `${what}: ${message}`);
  };

  it('the selector re-sent with the token (as the CLI does), or the token alone, continue the listing', async () => {
    const withSelector = await rawList(kvsd.url, { ...bigBody(), MaxResults: 100, NextToken: tokens[0] });
    assert.deepEqual(rawFragments(withSelector.json), page2());
    const alone = await rawList(kvsd.url, { StreamName: 'big', MaxResults: 100, NextToken: tokens[0] });
    assert.deepEqual(rawFragments(alone.json), page2());
    assert.equal(alone.json.NextToken, withSelector.json.NextToken);
    const again = await rawList(kvsd.url, { StreamName: 'big', MaxResults: 100, NextToken: tokens[0] });
    assert.deepEqual(rawFragments(again.json), page2(), 'a token can be used again');
    // The page size may change between pages.
    const seven = await rawList(kvsd.url, { StreamName: 'big', MaxResults: 7, NextToken: tokens[0] });
    assert.deepEqual(rawFragments(seven.json), reference.slice(100, 107));
    const dflt = await rawList(kvsd.url, { StreamName: 'big', NextToken: tokens[0] });
    assert.deepEqual(rawFragments(dflt.json), page2(), 'default 100 with a token too');
    // Through the JS SDK with Date values equal to those of the first request.
    const out = await clients.am.send(
      new ListFragmentsCommand({
        StreamName: 'big',
        MaxResults: 100,
        FragmentSelector: bigSelector(),
        NextToken: tokens[0],
      }),
    );
    assert.deepEqual(
      out.Fragments!.map((f) => f.FragmentNumber),
      page2().map((f) => f.n),
    );
  });

  it('an altered, truncated or random token is refused', async () => {
    const t = tokens[3]!;
    const body = { ...bigBody(), MaxResults: 100 };
    // Flip one character (keeping canonical base64) at several places: payload and tag alike.
    const paddingAt = t.indexOf('=') === -1 ? t.length : t.indexOf('=');
    for (const pos of [0, 5, Math.floor(t.length / 2), paddingAt - 6, paddingAt - 5]) {
      const altered = t.slice(0, pos) + (t[pos] === 'A' ? 'B' : 'A') + t.slice(pos + 1);
      assert.notEqual(altered, t);
      assert.match(altered, /^[a-zA-Z0-9+/]+={0,2}$/);
      await expectBadToken({ ...body, NextToken: altered }, `flipped at ${pos}`, /nextToken/i);
      await expectBadToken({ StreamName: 'big', NextToken: altered }, `flipped at ${pos}, no selector`, /nextToken/i);
    }
    for (const truncated of [t.slice(0, t.length - 4), t.slice(0, 24), t.slice(0, 4)]) {
      await expectBadToken({ ...body, NextToken: truncated }, 'truncated', /nextToken/i);
    }
    await expectBadToken({ ...body, NextToken: `${t}AAAA` }, 'extended', /nextToken/i);
    for (const n of [3, 16, 17, 64, 300]) {
      await expectBadToken(
        { ...body, NextToken: randomBytes(n).toString('base64') },
        `random ${n} bytes`,
        /nextToken/i,
      );
    }
    // A well-formed JSON cursor without the seal.
    const forged = Buffer.from(JSON.stringify({ a: 'x', k: 'p', s: 0, e: 1, t: 0, q: 0 })).toString('base64');
    await expectBadToken({ ...body, NextToken: forged }, 'forged', /nextToken/i);
    await assert.rejects(
      clients.am.send(
        new ListFragmentsCommand({
          StreamName: 'big',
          FragmentSelector: bigSelector(),
          NextToken: t.slice(0, t.length - 4),
        }),
      ),
      { name: 'InvalidArgumentException' },
    );
  });

  it('a ListStreams token (same key, another operation) is refused', async () => {
    const streams = await clients.kv.send(new ListStreamsCommand({ MaxResults: 1 }));
    assert.ok(streams.NextToken);
    await expectBadToken({ StreamName: 'big', NextToken: streams.NextToken }, 'ListStreams token', /nextToken/i);
    await expectBadToken(
      { ...bigBody(), NextToken: streams.NextToken },
      'ListStreams token with a selector',
      /nextToken/i,
    );
  });

  it('a token from another stream is refused', async () => {
    const other = await rawList(kvsd.url, {
      StreamName: 'other',
      MaxResults: 10,
      FragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: O0 / 1000, EndTimestamp: O0 / 1000 + 1000 },
      },
    });
    assert.ok(other.json.NextToken);
    await expectBadToken(
      { StreamName: 'big', NextToken: other.json.NextToken },
      "other stream's token on big",
      /nextToken|stream/i,
    );
    await expectBadToken({ StreamName: 'other', NextToken: tokens[0] }, "big's token on other", /nextToken|stream/i);
    const otherArn = (await clients.kv.send(new DescribeStreamCommand({ StreamName: 'other' }))).StreamInfo!.StreamARN!;
    await expectBadToken(
      { StreamARN: otherArn, NextToken: tokens[0] },
      "big's token on other by ARN",
      /nextToken|stream/i,
    );
  });

  it('a token from a deleted stream does not open on a re-created stream of the same name', async () => {
    const sel = {
      FragmentSelectorType: 'PRODUCER_TIMESTAMP',
      TimestampRange: { StartTimestamp: O0 / 1000, EndTimestamp: O0 / 1000 + 1000 },
    };
    const arn1 = await createStream(kvsd.url, 'phoenix');
    await seed(kvsd, 'phoenix', { fragments: 300, startMs: O0, intervalMs: 1000 });
    const first = await rawList(kvsd.url, { StreamName: 'phoenix', MaxResults: 100, FragmentSelector: sel });
    const old = first.json.NextToken as string;
    assert.ok(old);
    await deleteStream(kvsd.url, arn1);
    assertWireError(
      await rawList(kvsd.url, { StreamName: 'phoenix', NextToken: old }),
      404,
      'ResourceNotFoundException',
    );
    const arn2 = await createStream(kvsd.url, 'phoenix');
    assert.notEqual(arn2, arn1);
    await seed(kvsd, 'phoenix', { fragments: 300, startMs: O0, intervalMs: 1000 });
    await expectBadToken(
      { StreamName: 'phoenix', NextToken: old, FragmentSelector: sel },
      'old token, new stream',
      /nextToken|stream/i,
    );
    await expectBadToken(
      { StreamName: 'phoenix', NextToken: old },
      'old token, new stream, no selector',
      /nextToken|stream/i,
    );
    assertWireError(await rawList(kvsd.url, { StreamARN: arn1, NextToken: old }), 404, 'ResourceNotFoundException');
    // The new stream pages normally with its own tokens.
    const fresh = await rawWalk(kvsd.url, { StreamName: 'phoenix', FragmentSelector: sel }, 100);
    assert.equal(fresh.fragments.length, 300);
    assert.ok(
      !fresh.fragments.some((f) => rawFragments(first.json).some((g) => g.n === f.n)),
      'new fragments, new numbers',
    );
  });

  it('tokens of a stream with a 256-character name stay within the NextToken constraints', async () => {
    const name = `${'n'.repeat(250)}-._abc`;
    assert.equal(name.length, 256);
    await seed(kvsd, name, { fragments: 5, startMs: O0, intervalMs: 1000, create: true });
    const w = await rawWalk(
      kvsd.url,
      {
        StreamName: name,
        FragmentSelector: {
          FragmentSelectorType: 'SERVER_TIMESTAMP',
          TimestampRange: { StartTimestamp: 0, EndTimestamp: Date.now() / 1000 + 60 },
        },
      },
      1,
    );
    assert.equal(w.fragments.length, 5);
    assert.equal(w.tokens.length, 4);
    for (const token of w.tokens) assert.ok(token.length >= 1 && token.length <= 4096); // and the pattern, checked by rawWalk
  });

  it('a token with a contradicting selector is refused', async () => {
    const t = tokens[0]!;
    const range = (kind: string, start: number, end: number) => ({
      StreamName: 'big',
      NextToken: t,
      FragmentSelector: {
        FragmentSelectorType: kind,
        TimestampRange: { StartTimestamp: start / 1000, EndTimestamp: end / 1000 },
      },
    });
    await expectBadToken(range('SERVER_TIMESTAMP', S, BIG_END), 'other selector type', /FragmentSelector/);
    await expectBadToken(range('PRODUCER_TIMESTAMP', S + 1, BIG_END), 'start 1 ms later', /FragmentSelector/);
    await expectBadToken(range('PRODUCER_TIMESTAMP', S - 1000, BIG_END), 'start 1 s earlier', /FragmentSelector/);
    await expectBadToken(range('PRODUCER_TIMESTAMP', S, BIG_END - 1), 'end 1 ms earlier', /FragmentSelector/);
    await expectBadToken(range('PRODUCER_TIMESTAMP', S, BIG_END + 1000), 'end 1 s later', /FragmentSelector/);
    await assert.rejects(
      clients.am.send(
        new ListFragmentsCommand({
          StreamName: 'big',
          NextToken: t,
          FragmentSelector: selector('SERVER_TIMESTAMP', S, BIG_END),
        }),
      ),
      { name: 'InvalidArgumentException' },
    );
  });

  it('a token survives a restart of kvsd (its key is kept in the data directory)', async () => {
    const before = await rawList(kvsd.url, { ...bigBody(), MaxResults: 100, NextToken: tokens[4] });
    await kvsd.restart();
    const after = await rawList(kvsd.url, { ...bigBody(), MaxResults: 100, NextToken: tokens[4] });
    assert.equal(after.status, 200, after.text);
    assert.deepEqual(rawFragments(after.json), reference.slice(500, 600));
    assert.deepEqual(after.json, before.json, 'the same page and the same next token as before the restart');
    // And the rest of the walk, token by token, after the restart.
    const rest: RawFragment[] = [];
    let token: string | undefined = tokens[4];
    while (token) {
      const r = await rawList(kvsd.url, { StreamName: 'big', MaxResults: 250, NextToken: token });
      rest.push(...rawFragments(r.json));
      token = r.json.NextToken;
    }
    assert.deepEqual(rest, reference.slice(500));
  });
});

describe('paging under concurrent ingest', () => {
  it('no duplicates; everything persisted when the first page was served appears; so does what landed ahead of the cursor', async (t) => {
    // New fragments: a seed at B0 + 1 s + 1 s·j (j < 5000) and PutMedia's four at PUT0 + 0, 2, 4, 6 s.
    const PUT0 = B0 + 4_000_500;
    const body = {
      StreamName: 'busy',
      FragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: B0 / 1000, EndTimestamp: (B0 + 6_000_000) / 1000 },
      },
    };
    const snapshot = (await rawWalk(kvsd.url, body, 1000)).fragments;
    assert.equal(snapshot.length, 2000);
    const { chunks } = await clusterChunks(await ffmpegMkvFile({ seconds: 8, gop: 50, fps: 25 }));

    const got: RawFragment[] = [];
    const tokens: string[] = [];
    let token: string | undefined;
    let ingest: Promise<unknown> | undefined;
    let ingestDone = false;
    let pagesDuringIngest = 0;
    let newDuringIngest = 0;
    /** The last fragment listed before a request made once the ingest had finished. */
    let cursorAfterIngest: RawFragment | undefined;
    const old = new Set(snapshot.map((f) => f.n));
    for (let page = 0; ; page++) {
      const finishedBefore = ingestDone;
      if (finishedBefore && !cursorAfterIngest) cursorAfterIngest = got.at(-1);
      const r = await rawList(kvsd.url, { ...body, MaxResults: 25, ...(token && { NextToken: token }) });
      assert.equal(r.status, 200, r.text);
      const fragments = rawFragments(r.json);
      got.push(...fragments);
      if (ingest && !finishedBefore) {
        pagesDuringIngest++;
        newDuringIngest += fragments.filter((f) => !old.has(f.n)).length;
      }
      if (page === 0) {
        // Ingest starts once the first page is served: a seed whose timestamps interleave the existing ones
        // (ties included) on both sides of the cursor, and a real PutMedia session into the middle.
        ingest = Promise.all([
          seed(kvsd, 'busy', { fragments: 5000, startMs: B0 + 1000, intervalMs: 1000 }),
          putMedia(kvsd.url, {
            streamName: 'busy',
            timecodeType: 'RELATIVE',
            producerStartTimestamp: PUT0,
            body: pausedBetween(chunks, 50),
          }).then((acks) => {
            assert.deepEqual(
              acks.filter((a) => a.EventType === 'ERROR'),
              [],
              'PutMedia during the seed: no ERROR acks',
            );
            assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 4);
          }),
        ]).finally(() => {
          ingestDone = true;
        });
      }
      if (!('NextToken' in r.json)) break;
      token = r.json.NextToken;
      tokens.push(token!);
      // Page slowly while the ingest runs; past 1,500 fragments wait for it, so that the end is paged after it.
      if (!ingestDone && got.length >= 1500) await ingest;
      else if (!ingestDone) await sleep(15);
    }
    await ingest;
    assert.ok(cursorAfterIngest, 'pages were served after the ingest finished');
    t.diagnostic(
      `${got.length} fragments in ${tokens.length + 1} pages; ${pagesDuringIngest} pages served while ingest ran, with ${newDuringIngest} new fragments`,
    );

    assertAscending(got.map(key), 'pages under ingest');
    assert.equal(new Set(got.map((f) => f.n)).size, got.length, 'no duplicates');
    assert.equal(new Set(tokens).size, tokens.length, 'never the same token twice');
    const seen = new Set(got.map((f) => f.n));
    const missing = snapshot.filter((f) => !seen.has(f.n));
    assert.deepEqual(missing, [], 'every fragment persisted before the first page appears');

    const final = (await rawWalk(kvsd.url, body, 1000)).fragments;
    assert.equal(final.length, 2000 + 5000 + 4);
    const finalByNumber = new Map(final.map((f) => [f.n, f]));
    for (const f of got) assert.deepEqual(finalByNumber.get(f.n), f, `a listed fragment ${f.n} is a persisted one`);
    // Everything that had landed ahead of the cursor when the ingest finished is in the later pages.
    const c = cursorAfterIngest!;
    const ahead = final.filter((f) => f.p > c.p || (f.p === c.p && f.n > c.n));
    const missed = ahead.filter((f) => !seen.has(f.n));
    assert.deepEqual(missed, [], 'fragments persisted ahead of the cursor appear');
    const newAhead = ahead.filter((f) => !old.has(f.n)).length;
    // The cursor was at most at the 1,500th old fragment (B0 + 2,998 s): at least the 2,002 seeded fragments
    // after B0 + 2,998 s and the 4 PutMedia ones were ahead of it.
    assert.ok(newAhead >= 2006, `the later pages include the new fragments ahead of the cursor (${newAhead})`);
    assert.deepEqual(
      got.filter((f) => f.p >= PUT0 && f.p <= PUT0 + 6000 && (f.p - PUT0) % 2000 === 0).map((f) => f.p),
      [PUT0, PUT0 + 2000, PUT0 + 4000, PUT0 + 6000],
      'the PutMedia fragments appear',
    );
  });

  it('two bulk writers at once (two `kvsd seed` processes besides the server) while paging: all persisted, paging exact', async (t) => {
    const D0 = 1_680_000_000_000;
    await seed(kvsd, 'duo', { fragments: 1000, startMs: D0, intervalMs: 4000, create: true });
    const body = {
      StreamName: 'duo',
      FragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: D0 / 1000, EndTimestamp: (D0 + 5_000_000) / 1000 },
      },
    };
    const snapshot = (await rawWalk(kvsd.url, body, 1000)).fragments;
    const got: RawFragment[] = [];
    let token: string | undefined;
    let writers: Promise<unknown> | undefined;
    let settled = false;
    for (let page = 0; ; page++) {
      const r = await rawList(kvsd.url, { ...body, MaxResults: 10, ...(token && { NextToken: token }) });
      assert.equal(r.status, 200, r.text);
      got.push(...rawFragments(r.json));
      if (page === 0) {
        // Two producers bulk-loading one stream: timestamps interleave each other and the existing ones.
        // (Each writer reserves fragment sequence numbers in the shared catalog while the other commits: a
        // read-then-write SQLite transaction there fails with SQLITE_BUSY unless it is BEGIN IMMEDIATE.)
        writers = Promise.allSettled([
          seed(kvsd, 'duo', { fragments: 5000, startMs: D0 + 1000, intervalMs: 800 }),
          seed(kvsd, 'duo', { fragments: 5000, startMs: D0 + 2000, intervalMs: 800 }),
        ]).finally(() => {
          settled = true;
        });
      }
      if (!('NextToken' in r.json)) break;
      token = r.json.NextToken;
      if (!settled) await sleep(10);
    }
    const results = (await writers!) as PromiseSettledResult<unknown>[];
    const failures = results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => String(r.reason?.message ?? r.reason));
    t.diagnostic(`${got.length} fragments paged while two seeds ran`);
    assert.deepEqual(failures, [], 'each writer persisted every fragment it sent');
    assertAscending(got.map(key), 'pages under two writers');
    assert.equal(new Set(got.map((f) => f.n)).size, got.length, 'no duplicates');
    const seen = new Set(got.map((f) => f.n));
    assert.deepEqual(
      snapshot.filter((f) => !seen.has(f.n)),
      [],
      'every fragment persisted before the first page appears',
    );
    const final = (await rawWalk(kvsd.url, body, 1000)).fragments;
    assert.equal(final.length, 1000 + 5000 + 5000);
  });
});
