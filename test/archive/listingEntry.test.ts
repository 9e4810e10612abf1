/**
 * Listing entries (src/archive/listingEntry.ts): the stored JSON of each fragment is what JSON.stringify
 * gives for the SDK's Fragment structure, a page's last key reads back from it exactly, and a catalog
 * written before entries existed is upgraded when the archive opens.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openArchive } from '../../src/openArchive.js';
import { formatFragmentNumber } from '../../src/protocol/fragmentNumbers.js';
import { dropLastEntry, lastEntryKey } from '../../src/archive/listingEntry.js';
import { renderEntry, type EntryFields } from '../../src/protocol/fragmentEntry.js';
import { seedFragments } from '../../src/archive/seed.js';
import type { SqliteCatalog } from '../../src/storage/sqliteCatalog.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function randomFields(i: number): EntryFields {
  const r = (n: number) => Math.floor(Math.random() * n);
  // Millisecond timestamps of every shape: whole seconds, one or two significant decimals, small and far.
  const ms =
    [0, 1, 999, 1000, 1_700_000_000_000, 1_700_000_000_100, 1_700_000_000_120, 4_102_444_800_000 - 1][i % 8]! +
    (i >= 8 ? r(1e12) : 0);
  return {
    seq: 1 + r(2 ** 40),
    serverMs: ms + r(5000),
    nonce: r(2 ** 28),
    producerMs: ms,
    size: r(50_000_000),
    lengthMs: r(20_000),
  };
}

describe('listing entries', () => {
  it('render the Fragment object as JSON.stringify would, in the model order', () => {
    for (let i = 0; i < 2000; i++) {
      const f = randomFields(i);
      const expected = JSON.stringify({
        FragmentNumber: formatFragmentNumber(f),
        FragmentSizeInBytes: f.size,
        ProducerTimestamp: f.producerMs / 1000,
        ServerTimestamp: f.serverMs / 1000,
        FragmentLengthInMilliseconds: f.lengthMs,
      });
      assert.equal(renderEntry(f), expected);
    }
  });

  it('give back the exact (timestamp, seq) key of the last entry of a joined run, for both timestamps', () => {
    for (let i = 0; i < 2000; i++) {
      const fs = [randomFields(i), randomFields(i + 1), randomFields(i + 2)].slice(0, 1 + (i % 3));
      const joined = Buffer.from(fs.map((f) => renderEntry(f)).join(','));
      const last = fs[fs.length - 1]!;
      assert.deepEqual(lastEntryKey(joined, 'producer'), { ms: last.producerMs, seq: last.seq });
      assert.deepEqual(lastEntryKey(joined, 'server'), { ms: last.serverMs, seq: last.seq });
      if (fs.length > 1)
        assert.equal(
          dropLastEntry(joined).toString(),
          fs
            .slice(0, -1)
            .map((f) => renderEntry(f))
            .join(','),
        );
    }
  });

  it('are filled in when the archive opens a catalog stored without them, before anything is listed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kvsd-entries-'));
    dirs.push(dataDir);
    const logged: Record<string, unknown>[] = [];
    const open = () =>
      openArchive({
        dataDir,
        region: 'us-east-1',
        accountId: '000000000000',
        sweepIntervalMs: 3_600_000,
        log: (e) => logged.push(e),
      });
    const archive = await open();
    const stream = await archive.streams.create({ StreamName: 'upgrade', DataRetentionInHours: 24 });
    await seedFragments(archive, stream, {
      fragments: 120,
      startMs: Date.now() - 60_000,
      intervalMs: 250,
      frameBytes: 50,
    });
    const selector = { kind: 'producer' as const, startMs: 0, endMs: 8e15 };
    const before = await archive.lister.list(stream, selector, undefined, 1000);
    assert.equal(before.count, 120);
    await archive.close();

    // What a catalog of schema 1 looks like after migration 2: every entry ''.
    const db = new Database(join(dataDir, 'catalog.sqlite'));
    assert.equal(db.prepare("UPDATE fragments SET entry = ''").run().changes, 120);
    db.prepare("DELETE FROM settings WHERE key = 'listing_entries_complete'").run();
    db.close();

    const reopened = await open();
    try {
      const after = await reopened.lister.list(stream, selector, undefined, 1000);
      assert.equal(after.entries.toString(), before.entries.toString(), 'the same page as before, byte for byte');
      assert.deepEqual((reopened.catalog as SqliteCatalog).fragmentsWithoutEntry({ streamId: 0, seq: 0 }, 10), []);
      assert.ok(
        logged.some((e) => e.msg === 'upgraded the catalog: listing entries' && e.fragments === 120),
        'the upgrade is logged',
      );
    } finally {
      await reopened.close();
    }
  });
});
