/**
 * PutMedia from real producers other than our own client code: curl signing with --aws-sigv4 and streaming an
 * ffmpeg pipe, and the `kvsd put` command (file, stdin, retention 0, unknown stream).
 */
// needs: curl, ffmpeg
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, run } from '../helpers/cli.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { checkAckSequence, clustersOf, ffmpegEpochMkvFile, type Ack, type TimedCluster } from '../helpers/putMedia.js';
import { storedFragments } from '../helpers/storedState.js';
import { createStream, listAll } from '../helpers/sdk.js';

let kvsd: KvsdProcess;
let scratch: string;
let counter = 0;
const newName = () => `clients-${process.pid}-${++counter}`;

before(async () => {
  kvsd = await startKvsd();
  scratch = mkdtempSync(join(tmpdir(), 'kvsd-putmedia-clients-'));
});
after(async () => {
  await kvsd?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs a bash pipeline; resolves with its exit code and output (the shared tool runner, 60 s at most). */
const sh = (script: string, env: Record<string, string> = {}) =>
  run('bash', ['-o', 'pipefail', '-c', script], { env: { ...process.env, ...env }, timeoutMs: 60_000 });

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** ffmpeg writing live MKV (known-size clusters, 2 s each) to stdout as fast as it can encode. */
const FFMPEG_PIPE =
  'ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc=size=640x360:rate=25 -t 6 ' +
  '-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0 ' +
  '-f matroska -live 1 -cluster_time_limit 10000 -cluster_size_limit 100000000 -';

const parseAcks = (stdout: string): Ack[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Ack);

/** Acks, ListFragments and the stored bytes agree with the clusters sent. */
async function checkStored(
  stream: string,
  acks: Ack[],
  clusters: TimedCluster[],
  producerMs: (c: TimedCluster) => number,
) {
  const numbers = checkAckSequence(
    acks,
    clusters.map((c) => c.timecode),
  );
  const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
  assert.deepEqual(
    listed.map((f) => f.FragmentNumber),
    numbers,
  );
  listed.forEach((f, i) => {
    assert.equal(f.ProducerTimestamp!.getTime(), producerMs(clusters[i]!));
    assert.equal(f.FragmentSizeInBytes, clusters[i]!.size);
    assert.equal(f.FragmentLengthInMilliseconds, clusters[i]!.lastFrameMs - clusters[i]!.firstFrameMs);
  });
  const stored = await storedFragments(kvsd.dataDir, stream);
  assert.deepEqual(
    stored.map((s) => s.number),
    numbers,
  );
  stored.forEach((s, i) => assert.ok(s.bytes.equals(clusters[i]!.bytes), `fragment ${i} stored byte for byte`));
}

describe('curl --aws-sigv4 streaming an ffmpeg pipe', () => {
  it('every fragment is PERSISTED, listed and stored byte for byte', async () => {
    const stream = newName();
    await createStream(kvsd.url, stream);
    const sent = join(scratch, 'curl-input.mkv');
    const headersFile = join(scratch, 'curl-headers.txt');
    const { code, stdout, stderr } = await sh(
      `${FFMPEG_PIPE} | tee ${q(sent)} | curl -sS -N ` +
        `--aws-sigv4 "aws:amz:us-east-1:kinesisvideo" --user AKIDEXAMPLE:secret ` +
        `-H 'content-type: application/octet-stream' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' ` +
        `-H ${q(`x-amzn-stream-name: ${stream}`)} -H 'x-amzn-fragment-timecode-type: RELATIVE' ` +
        `-H 'x-amzn-producer-start-timestamp: 1700000000.000' -D ${q(headersFile)} ` +
        `-X POST -T - ${q(`${kvsd.url}/putMedia`)}`,
    );
    assert.equal(code, 0, stderr);
    const head = readFileSync(headersFile, 'utf8');
    assert.match(head, /^HTTP\/1\.1 200/m);
    assert.match(head, /^transfer-encoding: chunked\r?$/im);
    const { clusters } = await clustersOf(sent);
    assert.equal(clusters.length, 3);
    await checkStored(stream, parseAcks(stdout), clusters, (c) => 1_700_000_000_000 + c.timecode);
  });
});

describe('kvsd put', () => {
  const put = (args: string, pre = '') =>
    sh(`${pre}${q(process.execPath)} ${q(CLI)} put ${args}`, {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'kvsd-test-secret',
    });

  it('uploads a file to a stream it creates (--create) and exits 0 once every fragment is persisted', async () => {
    const stream = newName();
    const file = await ffmpegEpochMkvFile(1_700_000_000_250);
    const { code, stdout, stderr } = await put(`--stream ${stream} --create --endpoint ${q(kvsd.url)} ${q(file)}`);
    assert.equal(code, 0, stderr);
    const lines = stdout.split('\n').filter((l) => l !== '');
    for (const line of lines) assert.equal(line, JSON.stringify(JSON.parse(line)), 'acks on stdout as JSON lines');
    const { clusters } = await clustersOf(file);
    // ABSOLUTE is the default: the producer timestamp is the cluster timecode.
    await checkStored(stream, parseAcks(stdout), clusters, (c) => c.timecode);
    // Run again with --create on the existing stream: it is reused.
    const again = await put(`--stream ${stream} --create --endpoint ${q(kvsd.url)} ${q(file)}`);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await listAll(kvsd.url, stream, { pageSize: 7 })).length, 2 * clusters.length);
  });

  it('reads stdin with -: an ffmpeg pipe, RELATIVE timecodes', async () => {
    const stream = newName();
    await createStream(kvsd.url, stream);
    const sent = join(scratch, 'put-stdin.mkv');
    const { code, stdout, stderr } = await put(
      `--stream ${stream} --timecode-type RELATIVE --producer-start-timestamp 1700000000.5 --endpoint ${q(kvsd.url)} -`,
      `${FFMPEG_PIPE} | tee ${q(sent)} | `,
    );
    assert.equal(code, 0, stderr);
    const { clusters } = await clustersOf(sent);
    assert.equal(clusters.length, 3);
    await checkStored(stream, parseAcks(stdout), clusters, (c) => 1_700_000_000_500 + c.timecode);
  });

  it('exits non-zero when the stream retains nothing (no PERSISTED)', async () => {
    const stream = newName();
    await createStream(kvsd.url, stream, 0);
    const file = await ffmpegEpochMkvFile(1_700_000_000_250);
    const { code, stdout } = await put(`--stream ${stream} --endpoint ${q(kvsd.url)} ${q(file)}`);
    assert.notEqual(code, 0);
    const acks = parseAcks(stdout);
    const { clusters } = await clustersOf(file);
    checkAckSequence(
      acks,
      clusters.map((c) => c.timecode),
      false,
    );
  });

  it('exits non-zero with ResourceNotFoundException on stderr for an unknown stream without --create', async () => {
    const file = await ffmpegEpochMkvFile(1_700_000_000_250);
    const stream = newName();
    const { code, stdout, stderr } = await put(`--stream ${stream} --endpoint ${q(kvsd.url)} ${q(file)}`);
    assert.notEqual(code, 0);
    assert.match(stderr, /ResourceNotFoundException/);
    assert.match(stderr, /The requested stream is not found or not active/, 'with the service message');
    assert.equal(stdout, '', 'no acknowledgement');
  });
});
