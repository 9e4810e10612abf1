/**
 * The stream-lookup cache of ListFragments (StreamRegistry.resolveRecent) forgets a stream on its events,
 * whoever changed it: here a second registry over the same catalog stands for another node, the shared
 * InProcessArchiveEvents for the bus between them. With the event lost, the cache is stale for at most 1 s.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessArchiveEvents } from '../../src/archive/events.js';
import { StreamRegistry } from '../../src/archive/streams.js';
import { ApiError } from '../../src/protocol/errors.js';
import { SqliteCatalog } from '../../src/storage/sqliteCatalog.js';

const identity = { region: 'us-east-1', accountId: '000000000000' };
const dirs: string[] = [];
const catalogs: SqliteCatalog[] = [];
after(async () => {
  for (const c of catalogs) await c.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function openCatalog() {
  const dir = mkdtempSync(join(tmpdir(), 'kvsd-stream-cache-'));
  dirs.push(dir);
  const catalog = new SqliteCatalog(join(dir, 'catalog.sqlite'));
  catalogs.push(catalog);
  return catalog;
}

describe('resolveRecent', () => {
  it('forgets a stream another registry updated or deleted, on the shared events', async () => {
    const catalog = openCatalog();
    const events = new InProcessArchiveEvents();
    const here = new StreamRegistry(catalog, identity, events);
    const there = new StreamRegistry(catalog, identity, events);
    const created = await there.create({ StreamName: 'cached', DataRetentionInHours: 1 });
    const now = Date.now();
    assert.equal((await here.resolveRecent({ StreamName: 'cached' }, now)).retentionHours, 1);

    await there.updateRetention(created, created.version, 'INCREASE_DATA_RETENTION', 2);
    assert.equal((await here.resolveRecent({ StreamName: 'cached' }, now)).retentionHours, 3);

    const current = await there.resolve({ StreamName: 'cached' });
    await here.resolveRecent({ StreamARN: current.arn }, now);
    await there.delete(current.arn);
    await assert.rejects(
      here.resolveRecent({ StreamARN: current.arn }, now),
      (e) => e instanceof ApiError && e.status === 404,
    );
  });

  it('with the event lost, serves the old record for at most a second', async () => {
    const catalog = openCatalog();
    const here = new StreamRegistry(catalog, identity, new InProcessArchiveEvents());
    const there = new StreamRegistry(catalog, identity, new InProcessArchiveEvents());
    const created = await there.create({ StreamName: 'stale', DataRetentionInHours: 1 });
    const now = Date.now();
    await here.resolveRecent({ StreamName: 'stale' }, now);
    await there.updateRetention(created, created.version, 'INCREASE_DATA_RETENTION', 2);
    assert.equal((await here.resolveRecent({ StreamName: 'stale' }, now + 999)).retentionHours, 1);
    assert.equal((await here.resolveRecent({ StreamName: 'stale' }, now + 1000)).retentionHours, 3);
  });
});
