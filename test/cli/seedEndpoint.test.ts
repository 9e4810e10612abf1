/**
 * `kvsd seed --endpoint URL`: the synthetic fragments of kvsd seed sent through a running kvsd's PutMedia
 * instead of into its data directory. ListFragments (SDK) must see exactly the fragments seeded.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runKvsd } from '../helpers/cli.js';
import { createStream } from '../helpers/sdk.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { listFragments } from './helpers.js';

const FRAGMENTS = 5000;
const START_S = 1_700_000_000;
const INTERVAL_MS = 2000;

let kvsd: KvsdProcess;
before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
});
after(async () => {
  await kvsd?.dispose();
});

describe('kvsd seed --endpoint', () => {
  it(`seeds ${FRAGMENTS} fragments through PutMedia (--create); ListFragments sees exactly them`, async () => {
    const r = await runKvsd([
      'seed',
      '--endpoint',
      kvsd.url,
      '--stream',
      'seeded',
      '--create',
      '--fragments',
      String(FRAGMENTS),
      '--start',
      String(START_S),
      '--interval-ms',
      String(INTERVAL_MS),
      '--frame-bytes',
      '100',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(summary).sort(), ['errors', 'fragmentsPerSecond', 'persisted', 'seconds', 'stream']);
    assert.equal(summary.stream, 'seeded');
    assert.equal(summary.persisted, FRAGMENTS);
    assert.equal(summary.errors, 0);
    assert.ok(typeof summary.fragmentsPerSecond === 'number' && summary.fragmentsPerSecond > 0);
    process.stdout.write(`# kvsd seed --endpoint: ${summary.fragmentsPerSecond} fragments/s\n`);

    const startMs = START_S * 1000;
    const listed = await listFragments(
      kvsd.url,
      'seeded',
      'PRODUCER_TIMESTAMP',
      new Date(0),
      new Date(Date.now() + 3_600_000),
    );
    assert.equal(listed.length, FRAGMENTS);
    assert.deepEqual(
      listed.map((f) => f.ProducerTimestamp!.getTime()),
      Array.from({ length: FRAGMENTS }, (_, i) => startMs + i * INTERVAL_MS),
    );
    assert.equal(new Set(listed.map((f) => f.FragmentNumber)).size, FRAGMENTS);
    assert.ok(listed.every((f) => f.FragmentLengthInMilliseconds === 0 && f.FragmentSizeInBytes! > 100));
  });

  it('exits 1 when nothing can be persisted (a stream that retains no data), with the same summary line', async () => {
    await createStream(kvsd.url, 'no-retention', 0);
    const r = await runKvsd(['seed', '--endpoint', kvsd.url, '--stream', 'no-retention', '--fragments', '10']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { persisted: number }).persisted, 0);
    assert.match(r.stderr, /DataRetentionInHours/);
  });

  it('an unknown stream without --create is the service error, exit 2', async () => {
    const r = await runKvsd(['seed', '--endpoint', kvsd.url, '--stream', 'missing', '--fragments', '10']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ResourceNotFoundException/);
  });
});
