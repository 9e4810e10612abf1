/**
 * GetMediaForFragmentList with the same fragment number listed many times (issue 11). Decided (docs/reading.md):
 * numbers are NOT de-duplicated. The response has one document per listed number, in request order, so a
 * number listed 1,000 times is served 1,000 times, byte for byte the same. Why that is safe: the response is
 * bounded by 1,000 × 50 MB whether the numbers are distinct or not, and it is streamed from the media store
 * with backpressure, so the server's memory does not grow with it (checked here with VmRSS over 1 GB).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { fragmentNumberOf } from '../helpers/fragmentNumbers.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { seed } from '../helpers/listing.js';
import { fragmentList, documentNumbers, openFragmentList, parseDocuments, rssBytes, tag } from '../helpers/readers.js';
import { listAll } from '../helpers/sdk.js';

const STREAM = 'dups';
const FRAME_BYTES = 1_000_000;
let kvsd: KvsdProcess;
let listed: Fragment[];

before(async () => {
  // Three 1 MB fragments through the real ingest path (kvsd seed), through the running server's PutMedia.
  kvsd = await startKvsd({ args: ['--quiet'] });
  await seed(kvsd, STREAM, {
    fragments: 3,
    frameBytes: FRAME_BYTES,
    startMs: Date.now() - 6000,
    intervalMs: 2000,
    create: true,
  });
  listed = await listAll(kvsd.url, STREAM);
  assert.equal(listed.length, 3);
});

after(async () => {
  await kvsd?.dispose();
});

describe('GetMediaForFragmentList: a number listed several times', { timeout: 180_000 }, () => {
  it('is served once per listing, in request order, between other numbers and missing ones', async () => {
    const [a, b] = [listed[0]!.FragmentNumber!, listed[2]!.FragmentNumber!];
    const missing = fragmentNumberOf(2n ** 45n, 1_700_000_000_000, 1);
    const request = [a, b, a, missing, a, b, b];
    const docs = parseDocuments((await fragmentList(kvsd.url, { StreamName: STREAM, Fragments: request })).bytes);
    assert.deepEqual(documentNumbers(docs), request);
    assert.equal(tag(docs[3]!.tags, 'AWS_KINESISVIDEO_ERROR_CODE'), 'FRAGMENT_NOT_FOUND');
    for (const k of [2, 4])
      assert.ok(docs[k]!.bytes.equals(docs[0]!.bytes), `document ${k} is the same document as the first`);
    for (const k of [5, 6])
      assert.ok(docs[k]!.bytes.equals(docs[1]!.bytes), `document ${k} is the same document as the second`);
  });

  it("1,000 copies of one 1 MB fragment: 1,000 identical documents (1 GB), streamed without growing the server's memory", async (t) => {
    const n = listed[1]!.FragmentNumber!;
    const one = parseDocuments((await fragmentList(kvsd.url, { StreamName: STREAM, Fragments: [n] })).bytes)[0]!;
    assert.ok(one.cluster && one.cluster.length > FRAME_BYTES, 'the fragment holds its 1 MB frame');
    const before = rssBytes(kvsd.pid);
    let peak = before;
    const r = await openFragmentList(kvsd.url, {
      StreamName: STREAM,
      Fragments: Array.from({ length: 1000 }, () => n),
    });
    // Compare each document's bytes with the single one as they stream by, without keeping them.
    let total = 0;
    let mismatch = -1;
    let samples = 0;
    for await (const chunk of r.payload as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length && mismatch < 0; i++)
        if (chunk[i] !== one.bytes[(total + i) % one.bytes.length]) mismatch = total + i;
      total += chunk.length;
      if (++samples % 64 === 0) peak = Math.max(peak, rssBytes(kvsd.pid));
    }
    r.close();
    t.diagnostic(
      `${total} bytes; server VmRSS ${Math.round(before / 2 ** 20)} MB before, peak ${Math.round(peak / 2 ** 20)} MB`,
    );
    assert.equal(mismatch, -1, `the response differs from 1,000 copies of the document at byte ${mismatch}`);
    assert.equal(total, 1000 * one.bytes.length, '1,000 whole documents');
    assert.ok(peak - before < 100 * 2 ** 20, `server memory grew by ${Math.round((peak - before) / 2 ** 20)} MB`);
  });
});
