/**
 * SqliteCatalog: the conformance suite on a fresh temp file per test, plus what only a file-backed
 * catalog can show: data survives closing and reopening (and an unclosed, "crashed" connection), and the
 * migrations run once, whatever the number of opens.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteCatalog } from '../../src/storage/sqliteCatalog.js';
import { catalogConformance, newStream } from './catalog.conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'kvsd-catalog-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = () => join(dir, `catalog-${++files}.sqlite`);

catalogConformance('SqliteCatalog', async () => new SqliteCatalog(tempFile()));

// Reader threads run compiled JavaScript (npm test builds dist/ first): the same suite through them.
const readerScript = new URL('../../dist/src/storage/sqliteReadWorker.js', import.meta.url);
catalogConformance('SqliteCatalog with 2 reader threads', async () => {
  const c = new SqliteCatalog(tempFile(), { readers: 2, readerScript });
  assert.equal(c.readerThreads, 2, 'the listing goes through reader threads');
  return c;
});

describe('SqliteCatalog reader threads', () => {
  it('serve concurrent page reads, with what the main connection committed just before', async () => {
    const c = new SqliteCatalog(tempFile(), { readers: 2, readerScript });
    try {
      const s = await c.createStream(newStream({ name: 'threads' }));
      const headerId = await c.addTrackHeader(s.id, Buffer.from('h'));
      const segment = await c.newSegment(s.id, 'node-a');
      const range = {
        streamId: s.id,
        kind: 'producer' as const,
        afterMs: -1,
        afterSeq: 0,
        endMs: 1e13,
        minServerMs: 0,
        limit: 1000,
      };
      for (let round = 1; round <= 20; round++) {
        const seq = await c.reserveSequence(1);
        await c.insertFragments([
          {
            streamId: s.id,
            seq,
            producerMs: round,
            serverMs: round,
            lengthMs: 1,
            size: 1,
            nonce: 0,
            headerId,
            segment,
            offset: 0,
            entry: `{"r":${round}}`,
          },
        ]);
        // Back to back, as concurrent requests come: the threads answer, and see the row committed above.
        const pages = await Promise.all(Array.from({ length: 8 }, () => c.joinFragmentEntries(range)));
        for (const p of pages) assert.equal(p.count, round);
        assert.equal(pages[7]!.joined.toString(), Array.from({ length: round }, (_, i) => `{"r":${i + 1}}`).join(','));
      }
      assert.ok(c.threadReads >= 20 * 7, `the threads answered ${c.threadReads} of 160 reads`);
    } finally {
      await c.close();
    }
  });
});

describe('SqliteCatalog on disk', () => {
  it('keeps streams, tags, headers, fragments, settings and the sequence across close and reopen', async () => {
    const file = tempFile();
    const c1 = new SqliteCatalog(file);
    const s = await c1.createStream(newStream({ name: 'durable', deviceName: 'd', tags: { k: 'v' } }));
    const headerId = await c1.addTrackHeader(s.id, Buffer.from([1, 2, 3]));
    const segment = await c1.newSegment(s.id, 'node-a');
    const seq = await c1.reserveSequence(10);
    const frag = {
      streamId: s.id,
      seq,
      producerMs: 1000,
      serverMs: 2000,
      lengthMs: 2000,
      size: 10,
      nonce: 5,
      headerId,
      segment,
      offset: 0,
      entry: '{}',
    };
    await c1.insertFragments([frag]);
    await c1.setSetting('k', 'v');
    assert.equal(await c1.updateStream(s.id, s.version, { version: 'v2', retentionHours: 12 }), true);
    const gone = await c1.createStream(newStream({ name: 'gone' }));
    await c1.markDeleted(gone.id);
    await c1.close();

    const c2 = new SqliteCatalog(file);
    try {
      assert.deepEqual(await c2.findStreamByName('durable'), { ...s, version: 'v2', retentionHours: 12 });
      assert.deepEqual(await c2.getTags(s.id), { k: 'v' });
      assert.deepEqual(await c2.getTrackHeader(headerId), Buffer.from([1, 2, 3]));
      assert.deepEqual(await c2.getFragment(s.id, seq), frag);
      assert.equal(await c2.getSetting('k'), 'v');
      assert.deepEqual(
        await c2.listDeletedStreams(),
        [gone.id],
        'a deletion not yet purged is still pending after a restart',
      );
      assert.equal(await c2.findStreamByName('gone'), undefined);
      assert.ok((await c2.reserveSequence(1)) >= seq + 10, 'the sequence continues after the reserved range');
    } finally {
      await c2.close();
    }
  });

  it('sees every committed write from a connection that was never closed (crash)', async () => {
    const file = tempFile();
    const crashed = new SqliteCatalog(file);
    const s = await crashed.createStream(newStream({ name: 'crash' }));
    const seq = await crashed.reserveSequence(3);
    // No close(): the WAL has not been checkpointed. A second connection must still see it all.
    const c2 = new SqliteCatalog(file);
    try {
      assert.deepEqual(await c2.getStream(s.id), s);
      assert.ok((await c2.reserveSequence(1)) >= seq + 3);
    } finally {
      await c2.close();
      await crashed.close();
    }
  });

  it('runs each migration exactly once, however often the file is opened', async () => {
    const file = tempFile();
    for (let i = 0; i < 3; i++) {
      const c = new SqliteCatalog(file);
      await c.createStream(newStream({ name: `open-${i}` }));
      await c.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
      assert.ok(rows.length >= 1);
      assert.deepEqual(
        rows.map((r) => r.version),
        rows.map((_, i) => i + 1),
        'versions 1..n, each once',
      );
      assert.equal(
        (db.prepare('SELECT count(*) AS n FROM streams').get() as { n: number }).n,
        3,
        'reopening kept the data',
      );
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  it('initSetting: two connections to one file (two processes) racing end with the same value', async () => {
    const file = tempFile();
    const [a, b] = [new SqliteCatalog(file), new SqliteCatalog(file)];
    try {
      const [va, vb] = await Promise.all([a.initSetting('token_key', 'from-a'), b.initSetting('token_key', 'from-b')]);
      assert.equal(va, vb);
      assert.equal(await b.getSetting('token_key'), va);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses a catalog written by a newer kvsd (schema version ahead)', async () => {
    const file = tempFile();
    await new SqliteCatalog(file).close();
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)').run(999, Date.now());
    db.close();
    assert.throws(() => new SqliteCatalog(file), /schema version 999 is newer than this kvsd/);
  });
});
