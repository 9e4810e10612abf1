/**
 * Which timecode type `kvsd put` uses without --timecode-type: a real kvsd, real ffmpeg files, ListFragments
 * through the SDK. Media-time timecodes (ffmpeg starts at 0) go up RELATIVE from now, so "now" queries find
 * them; epoch timecodes go up ABSOLUTE; --timecode-type always wins.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runKvsd, spawnKvsd } from '../helpers/cli.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegEpochMkvFile } from '../helpers/putMedia.js';
import { listFragments, readmeRecipeFile } from './helpers.js';
import { readFileSync } from 'node:fs';

const FRAGMENTS = 5; // 10 s, a keyframe every 2 s
const DAY = 86_400_000;

let kvsd: KvsdProcess;
before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
});
after(async () => {
  await kvsd?.dispose();
});

const put = (stream: string, file: string, ...flags: string[]) =>
  runKvsd(['put', '--stream', stream, '--create', '--endpoint', kvsd.url, ...flags, file]);

describe('kvsd put timecodes', () => {
  it('an ffmpeg file (timecodes from 0) without flags lands around now, and says so', async () => {
    const file = await readmeRecipeFile();
    const started = Date.now();
    const r = await put('tc-auto', file);
    const ended = Date.now();
    assert.equal(r.code, 0, r.stderr);
    const notice = r.stderr.split('\n').filter((l) => /RELATIVE/.test(l));
    assert.equal(notice.length, 1, r.stderr);
    assert.match(notice[0]!, /not an epoch time/);
    assert.match(notice[0]!, /--timecode-type ABSOLUTE/, 'how to force the other reading');

    const byServer = await listFragments(
      kvsd.url,
      'tc-auto',
      'SERVER_TIMESTAMP',
      new Date(started - 1000),
      new Date(ended + 1000),
    );
    assert.equal(byServer.length, FRAGMENTS);
    const byProducer = await listFragments(
      kvsd.url,
      'tc-auto',
      'PRODUCER_TIMESTAMP',
      new Date(started - 1000),
      new Date(ended + 10_000),
    );
    assert.equal(byProducer.length, FRAGMENTS);
    const producerMs = byProducer.map((f) => f.ProducerTimestamp!.getTime()).sort((a, b) => a - b);
    producerMs.forEach((ms, i) => assert.equal(ms - producerMs[0]!, i * 2000, 'cluster timecodes kept as offsets'));
  });

  it('the same from stdin: read from the first bytes, and every byte still sent', async () => {
    const started = Date.now();
    const put = spawnKvsd(['put', '--stream', 'tc-stdin', '--create', '--endpoint', kvsd.url, '-']);
    put.child.stdin.end(readFileSync(await readmeRecipeFile()));
    const r = await put.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /uploading with RELATIVE timecodes from now/);
    const listed = await listFragments(
      kvsd.url,
      'tc-stdin',
      'PRODUCER_TIMESTAMP',
      new Date(started - 1000),
      new Date(Date.now() + 10_000),
    );
    assert.equal(listed.length, FRAGMENTS);
  });

  it('--timecode-type ABSOLUTE wins: the same file lands in 1970', async () => {
    const file = await readmeRecipeFile();
    const r = await put('tc-absolute', file, '--timecode-type', 'ABSOLUTE');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /RELATIVE/);
    const in1970 = await listFragments(kvsd.url, 'tc-absolute', 'PRODUCER_TIMESTAMP', new Date(0), new Date(DAY));
    assert.deepEqual(
      in1970.map((f) => f.ProducerTimestamp!.getTime()).sort((a, b) => a - b),
      [0, 2000, 4000, 6000, 8000],
    );
    assert.equal(
      (await listFragments(kvsd.url, 'tc-absolute', 'PRODUCER_TIMESTAMP', new Date(Date.now() - DAY), new Date()))
        .length,
      0,
    );
  });

  it('a file whose timecodes are epoch times goes up ABSOLUTE without a word', async () => {
    const startMs = 1_700_000_000_250;
    const r = await put('tc-epoch', await ffmpegEpochMkvFile(startMs));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /RELATIVE|epoch/);
    const listed = await listFragments(
      kvsd.url,
      'tc-epoch',
      'PRODUCER_TIMESTAMP',
      new Date(startMs),
      new Date(startMs + 10_000),
    );
    assert.deepEqual(
      listed.map((f) => f.ProducerTimestamp!.getTime()).sort((a, b) => a - b),
      [0, 2000, 4000, 6000, 8000].map((t) => startMs + t),
    );
  });
});
