/**
 * What a running kvsd stored on disk, read behind its back with the default backends (SQLite catalog, local
 * media files), read-only: the bytes of each fragment as the catalog places them, a stream's id, the token
 * key. The only test helper that knows the SQLite schema and the media layout (docs/storage.md), so that a
 * change of either is one edit here. SQLite's WAL lets this reader in beside the server's connection.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TOKEN_KEY_SETTING } from '../../src/archive/tokens.js';
import { fragmentNumberOf } from './fragmentNumbers.js';

/** Runs `read` on the data directory's catalog opened read-only, and closes it. */
export function withCatalogFile<T>(dataDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** The catalog id of a live (not deleted) stream, or undefined. */
export function streamIdOf(dataDir: string, streamName: string): number | undefined {
  return withCatalogFile(
    dataDir,
    (db) =>
      (
        db.prepare('SELECT id FROM streams WHERE name = ? AND deleted = 0').get(streamName) as
          | { id: number }
          | undefined
      )?.id,
  );
}

/** Whether the catalog still has a row for the stream id, deleted or not (gone once purged). */
export function streamRowExists(dataDir: string, id: number): boolean {
  return withCatalogFile(
    dataDir,
    (db) => (db.prepare('SELECT count(*) AS n FROM streams WHERE id = ?').get(id) as { n: number }).n > 0,
  );
}

/** How many fragment rows the catalog holds for the stream id (orphans, after a purge). */
export function fragmentRowCount(dataDir: string, id: number): number {
  return withCatalogFile(
    dataDir,
    (db) => (db.prepare('SELECT count(*) AS n FROM fragments WHERE stream_id = ?').get(id) as { n: number }).n,
  );
}

/** The pagination-token key from the catalog's settings. */
export function tokenKeyOf(dataDir: string): string {
  return withCatalogFile(
    dataDir,
    (db) => (db.prepare('SELECT value FROM settings WHERE key = ?').get(TOKEN_KEY_SETTING) as { value: string }).value,
  );
}

export interface StoredFragment {
  number: string;
  segment: number;
  offset: number;
  size: number;
  bytes: Buffer;
}

/**
 * What kvsd stored for a stream, read straight from its data directory: the catalog opened read-only, and
 * each fragment's bytes at (segment, offset, size) in <data-dir>/media/<streamId>/<segment>.seg.
 */
export function storedFragments(dataDir: string, streamName: string): StoredFragment[] {
  return withCatalogFile(dataDir, (db) => {
    const stream = db.prepare('SELECT id FROM streams WHERE name = ? AND deleted = 0').get(streamName) as
      | { id: number }
      | undefined;
    assert.ok(stream, `stream ${streamName} is in the catalog`);
    const rows = db
      .prepare('SELECT seq, server_ms, nonce, segment, offset, size FROM fragments WHERE stream_id = ? ORDER BY seq')
      .all(stream.id) as {
      seq: number;
      server_ms: number;
      nonce: number;
      segment: number;
      offset: number;
      size: number;
    }[];
    const files = new Map<number, Buffer>();
    return rows.map((r) => {
      let file = files.get(r.segment);
      if (!file)
        files.set(r.segment, (file = readFileSync(join(dataDir, 'media', String(stream.id), `${r.segment}.seg`))));
      assert.ok(r.offset + r.size <= file.length, `fragment ${r.seq} lies inside segment file ${r.segment}`);
      return {
        number: fragmentNumberOf(r.seq, r.server_ms, r.nonce),
        segment: r.segment,
        offset: r.offset,
        size: r.size,
        bytes: file.subarray(r.offset, r.offset + r.size),
      };
    });
  });
}
