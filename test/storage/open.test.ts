/**
 * Storage from configuration (src/storage/open.ts): the catalog and media URLs, their defaults, the SQLite
 * catalog's own parameters, and the errors `kvsd serve` stops with before it listens.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStorage, planStorage, StorageUrlError } from '../../src/storage/open.js';
import { DataDirLockedError } from '../../src/storage/dataDirLock.js';
import { runKvsd } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kvsd-open-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('storage URLs', () => {
  it('default to the catalog and media in the data directory', () => {
    const plan = planStorage({ dataDir: 'data', catalogReaders: 1 });
    assert.deepEqual(plan.catalog, { kind: 'sqlite', file: resolve('data/catalog.sqlite'), readers: 1 });
    assert.deepEqual(plan.media, { kind: 'file', root: resolve('data/media') });
  });

  it('take absolute, relative and triple-slash paths, and the SQLite readers parameter', () => {
    const at = (catalog: string, media = 'file:m') => planStorage({ dataDir: 'd', catalog, media });
    assert.equal(at('sqlite:/abs/c.sqlite').catalog.file, '/abs/c.sqlite');
    assert.equal(at('sqlite:///abs/c.sqlite').catalog.file, '/abs/c.sqlite');
    assert.equal(at('sqlite:rel/c.sqlite').catalog.file, resolve('rel/c.sqlite'));
    assert.equal(at('SQLITE:c.sqlite?readers=2').catalog.readers, 2);
    assert.equal(at('sqlite:c.sqlite?readers=0').catalog.readers, 0);
    assert.equal(at('sqlite:c', 'file:///srv/media').media.root, '/srv/media');
    assert.equal(planStorage({ dataDir: 'd', catalogReaders: 3 }).catalog.readers, 3, '--catalog-readers sets readers');
  });

  it('refuse unknown and not-yet-available schemes, unknown parameters and conflicting reader counts', () => {
    const refused = (config: Parameters<typeof planStorage>[0], message: RegExp) =>
      assert.throws(
        () => planStorage(config),
        (err: unknown) => err instanceof StorageUrlError && message.test(err.message),
      );
    refused({ dataDir: 'd', catalog: 'postgres://db/kvsd' }, /--catalog postgres: is not available yet.*sqlite:/);
    refused({ dataDir: 'd', media: 's3://bucket/prefix' }, /--media s3: is not available yet.*file:/);
    refused({ dataDir: 'd', catalog: 'mysql://x' }, /unknown scheme 'mysql:'/);
    refused({ dataDir: 'd', catalog: '/just/a/path' }, /must be a URL/);
    refused({ dataDir: 'd', catalog: 'sqlite:c?reader=2' }, /no parameter 'reader'; it takes readers/);
    refused({ dataDir: 'd', catalog: 'sqlite:c?readers=65' }, /readers must be an integer 0\.\.64/);
    refused({ dataDir: 'd', catalog: 'sqlite:c?readers=x' }, /readers must be an integer/);
    refused({ dataDir: 'd', catalog: 'sqlite:?readers=1' }, /needs a path/);
    refused({ dataDir: 'd', media: 'file:m?sync=0' }, /no parameter 'sync'; it takes none/);
    refused({ dataDir: 'd', catalog: 'sqlite:c?readers=1', catalogReaders: 1 }, /not both/);
  });

  it('open the catalog and media where the URLs say, under the data-directory lock', async () => {
    const dataDir = join(dir, 'locked');
    const catalog = `sqlite:${join(dir, 'elsewhere', 'nested', 'c.sqlite')}?readers=0`;
    const storage = await openStorage({ dataDir, catalog, media: `file:${join(dir, 'elsewhere', 'media')}` });
    try {
      assert.ok(existsSync(join(dir, 'elsewhere', 'nested', 'c.sqlite')), 'the catalog file is where the URL says');
      assert.ok(!existsSync(join(dataDir, 'catalog.sqlite')), 'not in the data directory');
      await assert.rejects(
        openStorage({ dataDir, catalog: `sqlite:${join(dir, 'other.sqlite')}` }),
        DataDirLockedError,
      );
    } finally {
      await storage.close();
    }
    await (await openStorage({ dataDir, catalog })).close();
  });
});

describe('kvsd serve with storage URLs', () => {
  it('exits 2 with one clear line for a URL it cannot use, before listening', async () => {
    for (const [args, env, message] of [
      [['--catalog', 'postgres://db/kvsd'], {}, /^kvsd: --catalog postgres: is not available yet/],
      [[], { KVSD_MEDIA: 's3://bucket' }, /^kvsd: --media s3: is not available yet/],
      [['--catalog', 'sqlite:x?readers=lots'], {}, /^kvsd: --catalog sqlite: readers must be an integer/],
    ] as const) {
      const r = await runKvsd(['serve', '--port', '0', '--data-dir', join(dir, 'never'), ...args], env);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trim(), message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.ok(!existsSync(join(dir, 'never')), 'nothing was created');
  });
});
