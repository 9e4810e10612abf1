/**
 * `kvsd seed --catalog URL --media URL` writes where the URLs say, not into the data directory, and
 * `kvsd serve` given the same URLs (from another data directory) lists exactly what was seeded.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runKvsd } from '../helpers/cli.js';
import { startKvsd } from '../helpers/server.js';
import { listFragments } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'kvsd-seed-urls-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('kvsd seed --catalog --media', () => {
  it('seeds into the named catalog and media store; serve on the same URLs lists every fragment', async () => {
    const catalogFile = join(root, 'elsewhere', 'cat.sqlite');
    const mediaDir = join(root, 'volume', 'media');
    const urls = ['--catalog', `sqlite:${catalogFile}`, '--media', `file:${mediaDir}`];
    const seedDir = join(root, 'seed-data');
    const r = await runKvsd([
      'seed',
      '--data-dir',
      seedDir,
      ...urls,
      '--stream',
      'moved',
      '--create',
      '--fragments',
      '300',
      '--start',
      '1700000000',
      '--interval-ms',
      '1000',
      '--frame-bytes',
      '64',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).persisted, 300);
    assert.ok(existsSync(catalogFile), 'the catalog is where --catalog says');
    assert.ok(readdirSync(mediaDir).length > 0, 'the media are where --media says');
    assert.ok(
      !existsSync(join(seedDir, 'catalog.sqlite')) && !existsSync(join(seedDir, 'media')),
      'nothing in the data directory',
    );

    const kvsd = await startKvsd({ args: ['--quiet', ...urls] });
    try {
      const listed = await listFragments(
        kvsd.url,
        'moved',
        'PRODUCER_TIMESTAMP',
        new Date(0),
        new Date(Date.now() + 3_600_000),
      );
      assert.equal(listed.length, 300);
      const producerMs = listed.map((f) => f.ProducerTimestamp!.getTime()).sort((a, b) => a - b);
      assert.deepEqual(
        producerMs,
        Array.from({ length: 300 }, (_, i) => 1_700_000_000_000 + i * 1000),
      );
    } finally {
      await kvsd.dispose();
    }
  });
});
