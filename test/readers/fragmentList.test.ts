/**
 * GetMediaForFragmentList: real MKV (ffmpeg: known-size clusters with CRC-32; GStreamer: unknown-size clusters)
 * ingested with the real PutMedia client, listed with ListFragments, read back with the JS SDK, the AWS CLI v2
 * and boto3, and checked byte for byte (documents, tags, clusters) and with ffprobe, ffmpeg and mkvinfo.
 *
 * Behaviour the spec leaves open, as decided here (and asserted):
 * - Documents come in request order (AWS documents no order; docs/reading.md), one per requested number; a number requested
 *   twice is served twice.
 * - A number that names no fragment of this stream — well-formed but unknown, another stream's fragment, a
 *   right sequence with a wrong random part, a short all-digit string, a fragment of a stream that retains
 *   nothing (DataRetentionInHours 0: nothing is archived, docs/kvs-wire.md) — yields, in its place, the error document
 *   AWS sent in aws-sdk-js #3217: EBML header + Segment + Tags {FRAGMENT_NUMBER, ERROR_CODE FRAGMENT_NOT_FOUND,
 *   ERROR_ID 3000} and no Cluster; the response is still 200 and the other fragments are still served.
 *   (For another stream's numbers AWS was seen answering InvalidArgumentException, parser-library #50; kvsd
 *   answers the in-stream error instead, so that one bad number does not fail the other 999.)
 * - Validation (pattern ^[0-9]+$, 1..128 characters, 1..1000 numbers) → 400 InvalidArgumentException; an
 *   unknown or deleted stream → 404 ResourceNotFoundException, before any byte of media.
 * - Success documents carry exactly FRAGMENT_NUMBER, SERVER_TIMESTAMP, PRODUCER_TIMESTAMP in that order and
 *   nothing after the Cluster (no MILLIS_BEHIND_NOW / CONTINUATION_TOKEN: those are GetMedia's).
 */
// needs: aws, boto3, ffmpeg, mkvtoolnix
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { AWS, PYTHON, awsEnv, run } from '../helpers/cli.js';
import { fragmentNumberOf } from '../helpers/fragmentNumbers.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile, gstMkvFile } from '../helpers/media.js';
import {
  assertDecodes,
  assertWireError,
  EID,
  ffprobeFrames,
  fragmentList,
  ingest,
  inputOf,
  mkvinfoLevel1,
  parseDocuments,
  producerHeader,
  rawPost,
  seconds3,
  shuffled,
  tag,
  type IngestCluster,
  type Ingest,
  type KvsDocument,
} from '../helpers/readers.js';
import { createStream, deleteStream, listAll } from '../helpers/sdk.js';

const SEGMENT_UNKNOWN = Buffer.from('18538067 01ffffffffffffff'.replace(/ /g, ''), 'hex');

interface Source {
  name: string;
  file: string;
  stream: string;
  arn: string;
  input: Awaited<ReturnType<typeof inputOf>>;
  producerStartMs: number;
  listed: Fragment[];
  ingest: Ingest;
}

let kvsd: KvsdProcess;
let tmp: string;
const sources: Source[] = [];
let other: { stream: string; listed: Fragment[] };
let zero: { stream: string; received: string[] };

before(async () => {
  kvsd = await startKvsd();
  tmp = mkdtempSync(join(tmpdir(), 'kvsd-readers-'));
  const defs = [
    {
      name: 'ffmpeg (known-size clusters, CRC-32)',
      file: await ffmpegMkvFile({ gop: 25 }),
      producerStartMs: 1_700_000_000_123,
    },
    { name: 'GStreamer (unknown-size clusters)', file: await gstMkvFile(), producerStartMs: 1_700_000_500_007 },
  ];
  for (const [i, d] of defs.entries()) {
    const stream = `gmffl-${i}`;
    const arn = await createStream(kvsd.url, stream);
    const input = await inputOf(d.file);
    const run = await ingest(kvsd.url, stream, input, { producerStartMs: d.producerStartMs, pauseMs: 15 });
    const listed = await listAll(kvsd.url, stream);
    assert.equal(listed.length, input.clusters.length, 'every cluster is listed');
    assert.deepEqual(
      listed.map((f) => f.FragmentNumber),
      run.persisted,
      'listed = persisted',
    );
    sources.push({ ...d, stream, arn, input, listed, ingest: run });
  }
  // Another stream with fragments of its own, and one that retains nothing.
  await createStream(kvsd.url, 'gmffl-other');
  await ingest(kvsd.url, 'gmffl-other', sources[1]!.input, { producerStartMs: 1_700_001_000_000 });
  other = { stream: 'gmffl-other', listed: await listAll(kvsd.url, 'gmffl-other') };
  await createStream(kvsd.url, 'gmffl-zero', 0);
  const z = await ingest(kvsd.url, 'gmffl-zero', sources[0]!.input, { producerStartMs: 1_700_002_000_000 });
  assert.equal(z.persisted.length, 0, 'no PERSISTED on a stream that retains nothing');
  zero = { stream: 'gmffl-zero', received: z.received };
});

after(async () => {
  await kvsd?.dispose();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A success document for `f` (of `src`) whose cluster must be `cluster`. */
function checkDocument(doc: KvsDocument, src: Source, f: Fragment, cluster: IngestCluster, what: string) {
  const head = producerHeader(src.input.input);
  assert.ok(doc.ebmlHeader.equals(head.ebmlHeader), `${what}: the producer's EBML header, byte for byte`);
  assert.ok(doc.segmentHeader.equals(SEGMENT_UNKNOWN), `${what}: Segment of unknown size (8-byte size field)`);
  assert.deepEqual(
    doc.header.map((e) => e.id),
    [EID.Info, EID.Tracks],
    `${what}: Info and Tracks before the tags`,
  );
  assert.ok(doc.header[0]!.bytes.equals(head.info), `${what}: the producer's Info, byte for byte`);
  assert.ok(doc.header[1]!.bytes.equals(head.tracks), `${what}: the producer's Tracks, byte for byte`);
  assert.deepEqual(
    doc.tags,
    [
      ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', f.FragmentNumber!],
      ['AWS_KINESISVIDEO_SERVER_TIMESTAMP', seconds3(f.ServerTimestamp!.getTime())],
      ['AWS_KINESISVIDEO_PRODUCER_TIMESTAMP', seconds3(f.ProducerTimestamp!.getTime())],
    ],
    `${what}: exactly the three KVS tags`,
  );
  for (const [, v] of doc.tags.slice(1))
    assert.match(v, /^\d{10}\.\d{3}$/, `${what}: seconds with exactly three decimals`);
  assert.equal(
    f.ProducerTimestamp!.getTime(),
    src.producerStartMs + cluster.timecode,
    `${what}: producer timestamp = start + cluster timecode`,
  );
  assert.ok(doc.cluster, `${what}: has a Cluster`);
  assert.equal(doc.cluster.length, cluster.size, `${what}: cluster size`);
  assert.ok(doc.cluster.equals(cluster.bytes), `${what}: the Cluster is byte-identical to the input cluster`);
  assert.equal(doc.trailer, undefined, `${what}: nothing after the Cluster`);
}

function checkErrorDocument(doc: KvsDocument, number: string, what: string) {
  assert.equal(doc.cluster, undefined, `${what}: an error document has no Cluster`);
  assert.deepEqual(
    [...doc.tags].sort(),
    [
      ['AWS_KINESISVIDEO_ERROR_CODE', 'FRAGMENT_NOT_FOUND'],
      ['AWS_KINESISVIDEO_ERROR_ID', '3000'],
      ['AWS_KINESISVIDEO_FRAGMENT_NUMBER', number],
    ],
    `${what}: FRAGMENT_NOT_FOUND / 3000 for ${number}`,
  );
  assert.ok(doc.ebmlHeader.length > 0 && doc.segmentHeader.equals(SEGMENT_UNKNOWN), `${what}: a complete document`);
}

const isError = (d: KvsDocument) => tag(d.tags, 'AWS_KINESISVIDEO_ERROR_CODE') !== undefined;

/** ffprobe, ffmpeg and mkvinfo on a response written to a file. */
async function checkWithTools(file: string, src: Source, documents: number) {
  const [frames, inputFrames] = await Promise.all([ffprobeFrames(file), ffprobeFrames(src.file)]);
  assert.equal(inputFrames, src.input.frames, 'ffprobe counts the input frames mkvinfo lists');
  assert.equal(frames, inputFrames, 'ffprobe -count_frames: every frame of the input is in the response');
  await assertDecodes(file, documents);
  const info = await mkvinfoLevel1(file);
  assert.deepEqual(
    info,
    { code: info.code, clusters: documents, tracks: documents, info: documents, tags: documents },
    'mkvinfo reads every document: its Info, Tracks, KVS Tags and Cluster',
  );
}

describe('GetMediaForFragmentList: round trip', { timeout: 120_000 }, () => {
  for (const [i, name] of ['ffmpeg (known-size clusters, CRC-32)', 'GStreamer (unknown-size clusters)'].entries()) {
    it(`${name}: every listed fragment, in listed order, byte for byte`, async () => {
      const src = sources[i]!;
      const numbers = src.listed.map((f) => f.FragmentNumber!);
      const r = await fragmentList(kvsd.url, { StreamName: src.stream, Fragments: numbers });
      assert.equal(r.status, 200);
      assert.equal(r.contentType, 'video/webm');
      const docs = parseDocuments(r.bytes);
      assert.equal(docs.length, numbers.length, 'one document per requested fragment');
      docs.forEach((d, k) => checkDocument(d, src, src.listed[k]!, src.input.clusters[k]!, `document ${k}`));
      assert.equal(
        r.bytes.length,
        docs.reduce((s, d) => s + d.bytes.length, 0),
        'nothing but documents',
      );
      const file = join(tmp, `roundtrip-${i}.mkv`);
      writeFileSync(file, r.bytes);
      await checkWithTools(file, src, numbers.length);
    });

    it(`${name}: shuffled request order (with a repeat) is served in request order, by ARN`, async () => {
      const src = sources[i]!;
      const order = shuffled(
        src.listed.map((_, k) => k),
        7 + i,
      );
      assert.notDeepEqual(
        order,
        [...order].sort((a, b) => a - b),
        'the shuffle changed the order',
      );
      order.push(order[0]!);
      const r = await fragmentList(kvsd.url, {
        StreamARN: src.arn,
        Fragments: order.map((k) => src.listed[k]!.FragmentNumber!),
      });
      assert.equal(r.status, 200);
      const docs = parseDocuments(r.bytes);
      assert.equal(docs.length, order.length);
      docs.forEach((d, j) =>
        checkDocument(
          d,
          src,
          src.listed[order[j]!]!,
          src.input.clusters[order[j]!]!,
          `document ${j} (fragment ${order[j]})`,
        ),
      );
    });
  }

  it('the AWS CLI v2 writes the same payload to its outfile, and the tools read it', async () => {
    const src = sources[1]!;
    const numbers = src.listed.map((f) => f.FragmentNumber!);
    const sdk = await fragmentList(kvsd.url, { StreamName: src.stream, Fragments: numbers });
    const out = join(tmp, 'cli.mkv');
    const r = await run(
      AWS,
      [
        'kinesis-video-archived-media',
        'get-media-for-fragment-list',
        out,
        '--stream-name',
        src.stream,
        '--endpoint-url',
        kvsd.url,
        '--output',
        'json',
        '--fragments',
        ...numbers,
      ],
      { env: awsEnv() },
    );
    assert.equal(r.code, 0, `aws failed: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).ContentType, 'video/webm');
    const bytes = readFileSync(out);
    assert.ok(bytes.equals(sdk.bytes), 'CLI outfile = SDK payload');
    parseDocuments(bytes).forEach((d, k) =>
      checkDocument(d, src, src.listed[k]!, src.input.clusters[k]!, `CLI document ${k}`),
    );
    await checkWithTools(out, src, numbers.length);
  });

  it('boto3 reads the same payload (with a missing fragment in the middle)', async () => {
    const src = sources[0]!;
    const missing = fragmentNumberOf(2n ** 40n, 1_700_000_000_000, 1);
    const numbers = src.listed.map((f) => f.FragmentNumber!);
    const request = [numbers[0]!, missing, ...numbers.slice(1)];
    const out = join(tmp, 'boto.mkv');
    const script = String.raw`
import sys, json, boto3, botocore.config
req = json.load(sys.stdin)
c = boto3.client('kinesis-video-archived-media', endpoint_url=req['url'], region_name='us-east-1',
                 config=botocore.config.Config(retries={'max_attempts': 1, 'mode': 'standard'}))
r = c.get_media_for_fragment_list(StreamName=req['stream'], Fragments=req['fragments'])
data = r['Payload'].read()
open(req['out'], 'wb').write(data)
print(json.dumps({'ContentType': r['ContentType'], 'status': r['ResponseMetadata']['HTTPStatusCode'], 'bytes': len(data)}))
`;
    const r = await run(PYTHON, ['-c', script], {
      stdin: JSON.stringify({ url: kvsd.url, stream: src.stream, fragments: request, out }),
      env: awsEnv(),
    });
    assert.equal(r.code, 0, `boto3 failed: ${r.stderr}`);
    const meta = JSON.parse(r.stdout);
    assert.equal(meta.status, 200);
    assert.equal(meta.ContentType, 'video/webm');
    const bytes = readFileSync(out);
    assert.equal(meta.bytes, bytes.length);
    const docs = parseDocuments(bytes);
    assert.equal(docs.length, request.length);
    checkDocument(docs[0]!, src, src.listed[0]!, src.input.clusters[0]!, 'boto3 document 0');
    checkErrorDocument(docs[1]!, missing, 'boto3 document 1');
    docs
      .slice(2)
      .forEach((d, k) =>
        checkDocument(d, src, src.listed[k + 1]!, src.input.clusters[k + 1]!, `boto3 document ${k + 2}`),
      );
    // The decoders skip the error document and still get every frame.
    assert.equal(await ffprobeFrames(out), src.input.frames);
  });
});

describe('GetMediaForFragmentList: fragments that cannot be served', { timeout: 120_000 }, () => {
  it('unknown, foreign and mangled numbers get FRAGMENT_NOT_FOUND documents in their place; the rest is served', async () => {
    const src = sources[0]!;
    const n = src.listed.map((f) => f.FragmentNumber!);
    const real = BigInt(n[3]!);
    const wrongNonce = (real ^ 1n).toString(); // same sequence and server time, other random part
    const unknown = fragmentNumberOf(2n ** 50n, 1_600_000_000_000, 12345);
    const foreign = other.listed[0]!.FragmentNumber!;
    const request = [n[0]!, unknown, n[1]!, foreign, n[2]!, wrongNonce, '123', '0', n[3]!, '9'.repeat(128)];
    const r = await fragmentList(kvsd.url, { StreamName: src.stream, Fragments: request });
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'video/webm');
    const docs = parseDocuments(r.bytes);
    assert.equal(docs.length, request.length, 'one document per requested number');
    const expectOk = new Map([
      [0, 0],
      [2, 1],
      [4, 2],
      [8, 3],
    ]);
    docs.forEach((d, k) => {
      const ok = expectOk.get(k);
      if (ok !== undefined) checkDocument(d, src, src.listed[ok]!, src.input.clusters[ok]!, `document ${k}`);
      else checkErrorDocument(d, request[k]!, `document ${k}`);
    });
    // The foreign fragment exists, and is served from its own stream.
    const own = await fragmentList(kvsd.url, { StreamName: other.stream, Fragments: [foreign] });
    const [doc] = parseDocuments(own.bytes);
    assert.ok(
      doc && !isError(doc) && tag(doc.tags, 'AWS_KINESISVIDEO_FRAGMENT_NUMBER') === foreign,
      'served by its own stream',
    );
  });

  it('a request of nothing but missing fragments is still 200 with one error document each', async () => {
    const request = Array.from({ length: 1000 }, (_, k) =>
      fragmentNumberOf(2n ** 45n + BigInt(k), 1_700_000_000_000 + k, k),
    );
    const r = await fragmentList(kvsd.url, { StreamName: sources[0]!.stream, Fragments: request });
    assert.equal(r.status, 200, '1000 numbers is the limit, and allowed');
    const docs = parseDocuments(r.bytes);
    assert.equal(docs.length, 1000);
    docs.forEach((d, k) => checkErrorDocument(d, request[k]!, `document ${k}`));
  });

  it('fragments of a stream that retains nothing are not served (docs/kvs-wire.md, Data retention)', async () => {
    assert.ok(zero.received.length > 0, 'the retention-0 stream received fragments');
    const r = await fragmentList(kvsd.url, { StreamName: zero.stream, Fragments: zero.received });
    assert.equal(r.status, 200);
    const docs = parseDocuments(r.bytes);
    assert.equal(docs.length, zero.received.length);
    docs.forEach((d, k) => checkErrorDocument(d, zero.received[k]!, `document ${k}`));
  });
});

describe('GetMediaForFragmentList: refused requests', { timeout: 120_000 }, () => {
  const invalid: [string, unknown][] = [
    ['letters', ['12a4']],
    ['an empty string', ['']],
    ['129 digits', ['1'.repeat(129)]],
    ['a sign', ['-1']],
    ['1001 numbers', Array.from({ length: 1001 }, (_, k) => String(k + 1))],
    ['an empty list', []],
  ];
  for (const [what, fragments] of invalid) {
    it(`${what} → 400 InvalidArgumentException (SDK and wire)`, async () => {
      const stream = sources[0]!.stream;
      await assert.rejects(
        fragmentList(kvsd.url, { StreamName: stream, Fragments: fragments as string[] }),
        (err: any) => {
          assert.equal(err.name, 'InvalidArgumentException', String(err));
          assert.equal(err.$metadata?.httpStatusCode, 400);
          return true;
        },
      );
      assertWireError(
        await rawPost(kvsd.url, '/getMediaForFragmentList', { StreamName: stream, Fragments: fragments }),
        400,
        'InvalidArgumentException',
      );
    });
  }

  it('no Fragments member, or no stream → 400 InvalidArgumentException', async () => {
    assertWireError(
      await rawPost(kvsd.url, '/getMediaForFragmentList', { StreamName: sources[0]!.stream }),
      400,
      'InvalidArgumentException',
    );
    assertWireError(
      await rawPost(kvsd.url, '/getMediaForFragmentList', { Fragments: [sources[0]!.listed[0]!.FragmentNumber] }),
      400,
      'InvalidArgumentException',
    );
  });

  it('an unknown stream → 404 ResourceNotFoundException', async () => {
    const number = sources[0]!.listed[0]!.FragmentNumber!;
    await assert.rejects(
      fragmentList(kvsd.url, { StreamName: 'gmffl-no-such-stream', Fragments: [number] }),
      (err: any) => {
        assert.equal(err.name, 'ResourceNotFoundException', String(err));
        assert.equal(err.$metadata?.httpStatusCode, 404);
        return true;
      },
    );
    assertWireError(
      await rawPost(kvsd.url, '/getMediaForFragmentList', { StreamName: 'gmffl-no-such-stream', Fragments: [number] }),
      404,
      'ResourceNotFoundException',
    );
  });

  it('a deleted stream → 404 ResourceNotFoundException, by name and by ARN', async () => {
    const stream = 'gmffl-doomed';
    const arn = await createStream(kvsd.url, stream);
    const run = await ingest(kvsd.url, stream, sources[1]!.input, { producerStartMs: 1_700_003_000_000 });
    const before = await fragmentList(kvsd.url, { StreamName: stream, Fragments: run.persisted });
    assert.equal(
      parseDocuments(before.bytes).filter((d) => !isError(d)).length,
      run.persisted.length,
      'served before the delete',
    );
    await deleteStream(kvsd.url, arn);
    for (const ref of [{ StreamName: stream }, { StreamARN: arn }]) {
      await assert.rejects(fragmentList(kvsd.url, { ...ref, Fragments: run.persisted }), (err: any) => {
        assert.equal(err.name, 'ResourceNotFoundException', `${JSON.stringify(ref)}: ${String(err)}`);
        assert.equal(err.$metadata?.httpStatusCode, 404);
        return true;
      });
    }
  });
});
