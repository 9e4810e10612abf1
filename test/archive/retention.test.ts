/**
 * Retention and deletion against real storage (SQLite catalog + segment files in a temp dir): expired
 * fragments leave the catalog and their segment files leave the disk; a deleted stream's data is purged.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArchive as openConfiguredArchive } from '../../src/openArchive.js';
import { seedCluster, seedFragments, seedHeader } from '../../src/archive/seed.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function openArchive() {
  const dataDir = mkdtempSync(join(tmpdir(), 'kvsd-retention-'));
  dirs.push(dataDir);
  return {
    dataDir,
    archive: await openConfiguredArchive({
      dataDir,
      region: 'us-east-1',
      accountId: '000000000000',
      sweepIntervalMs: 3_600_000,
    }),
  };
}

const selector = { kind: 'producer' as const, startMs: 0, endMs: 8e15 };

describe('retention', () => {
  it('expires fragments past DataRetentionInHours and removes their segment files', async () => {
    const { dataDir, archive } = await openArchive();
    const stream = await archive.streams.create({ StreamName: 'r1', DataRetentionInHours: 1 });
    const seeded = await seedFragments(archive, stream, {
      fragments: 50,
      startMs: 1_700_000_000_000,
      intervalMs: 1000,
      frameBytes: 100,
    });
    assert.equal(seeded.persisted, 50);
    const mediaDir = join(dataDir, 'media', String(stream.id));
    assert.equal(readdirSync(mediaDir).length, 1);
    assert.equal((await archive.lister.list(stream, selector, undefined, 1000)).count, 50);

    // Within the hour nothing goes.
    await archive.expireAll(Date.now() + 30 * 60_000);
    assert.equal((await archive.lister.list(stream, selector, undefined, 1000)).count, 50);
    assert.equal(readdirSync(mediaDir).length, 1);

    // Past it, rows and files go; the listing applies the horizon even before the sweep.
    const later = Date.now() + 2 * 3_600_000;
    assert.equal((await archive.lister.list(stream, selector, undefined, 1000, later)).count, 0);
    await archive.expireAll(later);
    assert.equal((await archive.lister.list(stream, selector, undefined, 1000)).count, 0);
    assert.equal(readdirSync(mediaDir).length, 0);
    await archive.close();
  });

  it('keeps a segment that a live session is still writing', async () => {
    const { dataDir, archive } = await openArchive();
    const stream = await archive.streams.create({ StreamName: 'r2', DataRetentionInHours: 1 });
    await seedFragments(archive, stream, {
      fragments: 5,
      startMs: 1_700_000_000_000,
      intervalMs: 1000,
      frameBytes: 100,
    });
    const mediaDir = join(dataDir, 'media', String(stream.id));
    const [file] = readdirSync(mediaDir);
    // A session that has opened its segment and not committed a fragment yet (its first is still arriving).
    const { session, done } = archive.openIngest({ stream, timecodeType: 'ABSOLUTE' }, () => {});
    await session.push(
      Buffer.concat([seedHeader(), seedCluster(1_700_000_100_000, Buffer.alloc(100)).subarray(0, 20)]),
      Date.now(),
    );
    const files = readdirSync(mediaDir);
    assert.equal(files.length, 2, 'the session has its own segment file');
    await archive.expireAll(Date.now() + 2 * 3_600_000);
    assert.deepEqual(
      readdirSync(mediaDir),
      files.filter((f) => f !== file),
      'the emptied segment went, the open one stayed',
    );
    await session.abort();
    done();
    await archive.close();
  });
});

describe('deletion', () => {
  it("purges a deleted stream's rows and files; the name is free for a new stream", async () => {
    const { dataDir, archive } = await openArchive();
    const stream = await archive.streams.create({ StreamName: 'd1', DataRetentionInHours: 24 });
    await seedFragments(archive, stream, {
      fragments: 20,
      startMs: 1_700_000_000_000,
      intervalMs: 1000,
      frameBytes: 100,
    });
    const mediaDir = join(dataDir, 'media', String(stream.id));
    assert.ok(existsSync(mediaDir));
    await archive.deleteStream(stream.arn);
    await archive.close(); // waits for the background purge
    assert.ok(!existsSync(mediaDir));

    const reopened = await openConfiguredArchive({ dataDir, region: 'us-east-1', accountId: '000000000000' });
    assert.deepEqual(await reopened.catalog.fragmentsAfter(stream.id, 0, 10), []);
    assert.equal(await reopened.catalog.getTrackHeader(1), undefined);
    assert.deepEqual(await reopened.catalog.listDeletedStreams(), []);
    const again = await reopened.streams.create({ StreamName: 'd1', DataRetentionInHours: 24 });
    assert.notEqual(again.arn, stream.arn);
    assert.equal((await reopened.lister.list(again, selector, undefined, 1000)).count, 0);
    await reopened.close();
  });

  it('finishes at the next start a purge that was acknowledged but not done', async () => {
    const { dataDir, archive } = await openArchive();
    const stream = await archive.streams.create({ StreamName: 'd2', DataRetentionInHours: 24 });
    await seedFragments(archive, stream, {
      fragments: 5,
      startMs: 1_700_000_000_000,
      intervalMs: 1000,
      frameBytes: 100,
    });
    // Mark deleted the way DeleteStream does, but stop before the background purge runs.
    assert.equal(await archive.catalog.markDeleted(stream.id), true);
    await archive.close();
    const mediaDir = join(dataDir, 'media', String(stream.id));
    assert.ok(existsSync(mediaDir));

    const reopened = await openConfiguredArchive({ dataDir, region: 'us-east-1', accountId: '000000000000' });
    await reopened.close(); // waits for the purge scheduled at open
    assert.ok(!existsSync(mediaDir));
  });
});
