/**
 * The embedded catalog: SQLite through better-sqlite3, WAL mode, synchronous=FULL so that a commit
 * that returned survives kill -9 and power loss alike.
 *
 * Fragments are stored clustered on (stream, seq) and indexed by covering indexes on
 * (stream, producer_ms, seq, ...) and (stream, server_ms, seq, ...) that end with each fragment's
 * listing entry: a ListFragments page is one B-tree descent plus a sequential read of the page,
 * O(log n + page) whatever the archive size, and SQLite joins the entries into the page body itself.
 */
import Database from 'better-sqlite3';
import type {
  Catalog,
  FragmentRange,
  FragmentRecord,
  JoinedEntries,
  ListedFragment,
  NewStream,
  SegmentRecord,
  StreamPatch,
  StreamRecord,
  TimestampKind,
} from './catalog.js';
import { NameTakenError, TooManyTagsError } from './catalog.js';
import { joinEntries, listingStatements, rangeArgs, type ListingStatements } from './sqliteListing.js';
import { SqliteReadPool } from './sqliteReadPool.js';
import { renderEntry } from '../protocol/fragmentEntry.js';

/** Page reads closer together than this are load: they go to the reader threads. */
const BACK_TO_BACK_MS = 1;

const MIGRATIONS: string[] = [
  `CREATE TABLE streams (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL,
     arn TEXT NOT NULL UNIQUE,
     device_name TEXT,
     media_type TEXT,
     kms_key_id TEXT NOT NULL,
     version TEXT NOT NULL,
     status TEXT NOT NULL,
     creation_ms INTEGER NOT NULL,
     retention_hours INTEGER NOT NULL,
     storage_tier TEXT NOT NULL,
     deleted INTEGER NOT NULL DEFAULT 0
   );
   CREATE UNIQUE INDEX streams_live_name ON streams(name) WHERE deleted = 0;
   CREATE TABLE stream_tags (
     stream_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
     PRIMARY KEY (stream_id, key)
   ) WITHOUT ROWID;
   CREATE TABLE track_headers (id INTEGER PRIMARY KEY AUTOINCREMENT, stream_id INTEGER NOT NULL, bytes BLOB NOT NULL);
   CREATE INDEX track_headers_stream ON track_headers(stream_id);
   CREATE TABLE segments (id INTEGER PRIMARY KEY AUTOINCREMENT, stream_id INTEGER NOT NULL);
   CREATE INDEX segments_stream ON segments(stream_id);
   CREATE TABLE fragments (
     stream_id INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     producer_ms INTEGER NOT NULL,
     server_ms INTEGER NOT NULL,
     length_ms INTEGER NOT NULL,
     size INTEGER NOT NULL,
     nonce INTEGER NOT NULL,
     header_id INTEGER NOT NULL,
     segment INTEGER NOT NULL,
     offset INTEGER NOT NULL,
     PRIMARY KEY (stream_id, seq)
   ) WITHOUT ROWID;
   CREATE INDEX fragments_by_producer ON fragments(stream_id, producer_ms, seq, server_ms, length_ms, size, nonce);
   CREATE INDEX fragments_by_server ON fragments(stream_id, server_ms, seq, producer_ms, length_ms, size, nonce);
   CREATE INDEX fragments_by_segment ON fragments(stream_id, segment);
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // 2: listing entries (src/protocol/fragmentEntry.ts) in the listing indexes, which now hold what a listing
  // row needs and nothing else. Fragments stored before this have '' until fillListingEntries.
  `ALTER TABLE fragments ADD COLUMN entry TEXT NOT NULL DEFAULT '';
   DROP INDEX fragments_by_producer;
   DROP INDEX fragments_by_server;
   CREATE INDEX fragments_by_producer ON fragments(stream_id, producer_ms, seq, server_ms, entry);
   CREATE INDEX fragments_by_server ON fragments(stream_id, server_ms, seq, producer_ms, entry);`,
  // 3: segment state. Which segments are being written is recorded here, where every process and every
  // retention sweep sees it, not in one process's memory. Segments of older catalogs were all closed.
  `ALTER TABLE segments ADD COLUMN state TEXT NOT NULL DEFAULT 'sealed';
   ALTER TABLE segments ADD COLUMN owner TEXT;
   ALTER TABLE segments ADD COLUMN opened_ms INTEGER;
   ALTER TABLE segments ADD COLUMN sealed_ms INTEGER;
   ALTER TABLE segments ADD COLUMN bytes INTEGER;`,
  // 4: the server timestamps a segment's fragments span, recorded when it is sealed (listSegments computes
  // them for open segments and for segments sealed before this).
  `ALTER TABLE segments ADD COLUMN first_server_ms INTEGER;
   ALTER TABLE segments ADD COLUMN last_server_ms INTEGER;`,
];

/** The span of a segment's fragments, in statements on `segments` (an index range of fragments_by_segment). */
const SPAN = (fn: 'min' | 'max') =>
  `(SELECT ${fn}(f.server_ms) FROM fragments f WHERE f.stream_id = segments.stream_id AND f.segment = segments.id)`;
const SET_SPAN = `first_server_ms = ${SPAN('min')}, last_server_ms = ${SPAN('max')}`;

interface StreamRow {
  id: number;
  name: string;
  arn: string;
  device_name: string | null;
  media_type: string | null;
  kms_key_id: string;
  version: string;
  status: StreamRecord['status'];
  creation_ms: number;
  retention_hours: number;
  storage_tier: string;
}
interface FragmentRow {
  stream_id: number;
  seq: number;
  producer_ms: number;
  server_ms: number;
  length_ms: number;
  size: number;
  nonce: number;
  header_id: number;
  segment: number;
  offset: number;
  entry: string;
}

interface SegmentRow {
  id: number;
  stream_id: number;
  state: SegmentRecord['state'];
  owner: string | null;
  opened_ms: number | null;
  sealed_ms: number | null;
  bytes: number | null;
  first_server_ms: number | null;
  last_server_ms: number | null;
}
/** The row's non-null columns, camel-cased: absent, not null, as the interface says. */
function toSegment(r: SegmentRow): SegmentRecord {
  const optional = {
    owner: r.owner,
    openedMs: r.opened_ms,
    sealedMs: r.sealed_ms,
    bytes: r.bytes,
    firstServerMs: r.first_server_ms,
    lastServerMs: r.last_server_ms,
  };
  const present = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== null));
  return { id: r.id, streamId: r.stream_id, state: r.state, ...present };
}

const toStream = (r: StreamRow): StreamRecord => ({
  id: r.id,
  name: r.name,
  arn: r.arn,
  kmsKeyId: r.kms_key_id,
  version: r.version,
  status: r.status,
  creationMs: r.creation_ms,
  retentionHours: r.retention_hours,
  storageTier: r.storage_tier,
  ...(r.device_name !== null && { deviceName: r.device_name }),
  ...(r.media_type !== null && { mediaType: r.media_type }),
});
const toFragment = (r: FragmentRow): FragmentRecord => ({
  streamId: r.stream_id,
  seq: r.seq,
  producerMs: r.producer_ms,
  serverMs: r.server_ms,
  lengthMs: r.length_ms,
  size: r.size,
  nonce: r.nonce,
  headerId: r.header_id,
  segment: r.segment,
  offset: r.offset,
  entry: r.entry,
});

export interface SqliteCatalogOptions {
  /**
   * Threads that serve ListFragments pages with their own connections (0: read on this thread; also the case
   * when running from TypeScript sources, where the thread script is not built, unless `readerScript` points
   * at a built one).
   */
  readers?: number;
  readerScript?: URL;
  /** Where upgrades of an older file report their progress. */
  log?: (event: Record<string, unknown>) => void;
}

/** Setting that says every fragment of the catalog has its listing entry. */
const ENTRIES_COMPLETE = 'listing_entries_complete';

export class SqliteCatalog implements Catalog {
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly listing: ListingStatements;
  private readonly readers?: SqliteReadPool;
  private lastJoinAt = -Infinity;

  constructor(file: string, opts: SqliteCatalogOptions = {}) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = OFF');
    this.migrate();
    const db = this.db;
    this.listing = listingStatements(db);
    if ((opts.readers ?? 0) > 0 && SqliteReadPool.available(opts.readerScript)) {
      this.readers = new SqliteReadPool(file, opts.readers!, opts.readerScript);
    }
    const lastAtOrBefore = (column: string) =>
      db.prepare(
        `SELECT * FROM fragments WHERE stream_id = ? AND ${column} <= ? ORDER BY ${column} DESC, seq DESC LIMIT 1`,
      );
    const firstAt = (column: string) =>
      db.prepare(`SELECT * FROM fragments WHERE stream_id = ? AND ${column} >= ? ORDER BY ${column}, seq LIMIT 1`);
    this.stmt = {
      insertStream: db.prepare(`INSERT INTO streams (name, arn, device_name, media_type, kms_key_id, version, status,
        creation_ms, retention_hours, storage_tier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      streamById: db.prepare('SELECT * FROM streams WHERE id = ? AND deleted = 0'),
      streamByName: db.prepare('SELECT * FROM streams WHERE name = ? AND deleted = 0'),
      streamByArn: db.prepare('SELECT * FROM streams WHERE arn = ? AND deleted = 0'),
      listStreams: db.prepare(`SELECT * FROM streams WHERE deleted = 0 AND name > ? AND substr(name, 1, length(?)) = ?
        ORDER BY name LIMIT ?`),
      updateStream:
        db.prepare(`UPDATE streams SET device_name = coalesce(?, device_name), media_type = coalesce(?, media_type),
        retention_hours = coalesce(?, retention_hours), version = ? WHERE id = ? AND version = ? AND deleted = 0`),
      markDeleted: db.prepare("UPDATE streams SET deleted = 1, status = 'DELETING' WHERE id = ? AND deleted = 0"),
      deletedStreams: db.prepare('SELECT id FROM streams WHERE deleted = 1'),
      // Every statement checks that the stream is marked deleted: a live stream is never purged.
      purge: ['fragments', 'stream_tags', 'track_headers', 'segments']
        .map((table) =>
          db.prepare(
            `DELETE FROM ${table} WHERE stream_id = ? AND EXISTS (SELECT 1 FROM streams WHERE id = stream_id AND deleted = 1)`,
          ),
        )
        .concat(db.prepare('DELETE FROM streams WHERE id = ? AND deleted = 1')),
      tags: db.prepare('SELECT key, value FROM stream_tags WHERE stream_id = ? ORDER BY key'),
      putTag: db.prepare(
        'INSERT INTO stream_tags (stream_id, key, value) VALUES (?, ?, ?) ON CONFLICT (stream_id, key) DO UPDATE SET value = excluded.value',
      ),
      countTags: db.prepare('SELECT count(*) AS n FROM stream_tags WHERE stream_id = ?'),
      removeTag: db.prepare('DELETE FROM stream_tags WHERE stream_id = ? AND key = ?'),
      addHeader: db.prepare('INSERT INTO track_headers (stream_id, bytes) VALUES (?, ?)'),
      getHeader: db.prepare('SELECT bytes, stream_id AS streamId FROM track_headers WHERE id = ?'),
      newSegment: db.prepare("INSERT INTO segments (stream_id, state, owner, opened_ms) VALUES (?, 'open', ?, ?)"),
      sealSegment: db.prepare(`UPDATE segments SET state = 'sealed', sealed_ms = ?, bytes = ?, ${SET_SPAN}
        WHERE id = ? AND state = 'open'`),
      sealAbandoned: db.prepare(`UPDATE segments SET state = 'sealed', sealed_ms = ?, ${SET_SPAN}
        WHERE state = 'open' AND owner IS NOT ?`),
      listSegments: db.prepare(`SELECT id, stream_id, state, owner, opened_ms, sealed_ms, bytes,
        coalesce(first_server_ms, ${SPAN('min')}) AS first_server_ms, coalesce(last_server_ms, ${SPAN('max')}) AS last_server_ms
        FROM segments WHERE stream_id = ? ORDER BY id`),
      insertFragment: db.prepare(`INSERT INTO fragments (stream_id, seq, producer_ms, server_ms, length_ms, size, nonce,
        header_id, segment, offset, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      withoutEntry: db.prepare(`SELECT * FROM fragments WHERE (stream_id, seq) > (?, ?) AND entry = ''
        ORDER BY stream_id, seq LIMIT ?`),
      setEntry: db.prepare('UPDATE fragments SET entry = ? WHERE stream_id = ? AND seq = ?'),
      getFragment: db.prepare('SELECT * FROM fragments WHERE stream_id = ? AND seq = ?'),
      after: db.prepare('SELECT * FROM fragments WHERE stream_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      firstAtProducer: firstAt('producer_ms'),
      firstAtServer: firstAt('server_ms'),
      lastAtOrBeforeProducer: lastAtOrBefore('producer_ms'),
      lastAtOrBeforeServer: lastAtOrBefore('server_ms'),
      last: db.prepare('SELECT * FROM fragments WHERE stream_id = ? ORDER BY seq DESC LIMIT 1'),
      expire: db.prepare(
        'DELETE FROM fragments WHERE stream_id = ? AND seq IN (SELECT seq FROM fragments INDEXED BY fragments_by_server WHERE stream_id = ? AND server_ms < ?)',
      ),
      emptySegments: db.prepare(`SELECT id FROM segments s WHERE stream_id = ? AND state = 'sealed'
        AND NOT EXISTS (SELECT 1 FROM fragments f WHERE f.stream_id = s.stream_id AND f.segment = s.id)`),
      dropSegment: db.prepare('DELETE FROM segments WHERE id = ?'),
      getSetting: db.prepare('SELECT value FROM settings WHERE key = ?'),
      initSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
      setSetting: db.prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
    };
    this.fillListingEntries(opts.log ?? (() => {}));
  }

  /**
   * Fragments stored by a kvsd without listing entries (schema 1, '' since migration 2) get them before the
   * catalog is used: a listing must never meet a fragment without one. Two processes opening an old file at
   * once both fill; the entries they write are the same.
   */
  private fillListingEntries(log: (event: Record<string, unknown>) => void) {
    // Once done, never again: looking for fragments without an entry reads the whole table.
    if ((this.stmt.getSetting.get(ENTRIES_COMPLETE) as { value: string } | undefined)?.value === 'yes') return;
    let after = { streamId: 0, seq: 0 };
    let filled = 0;
    for (;;) {
      const rows = this.fragmentsWithoutEntry(after, 5000);
      if (rows.length === 0) break;
      this.db.transaction(() => {
        for (const f of rows) this.stmt.setEntry.run(renderEntry(f), f.streamId, f.seq);
      })();
      const last = rows[rows.length - 1]!;
      after = { streamId: last.streamId, seq: last.seq };
      filled += rows.length;
      if (filled % 500_000 < rows.length)
        log({ level: 'info', msg: 'upgrading the catalog: listing entries', fragments: filled });
    }
    if (filled > 0) log({ level: 'info', msg: 'upgraded the catalog: listing entries', fragments: filled });
    this.stmt.setSetting.run(ENTRIES_COMPLETE, 'yes');
  }

  /** Fragments stored without a listing entry, in (stream, seq) order after the cursor (the upgrade above). */
  fragmentsWithoutEntry(after: { streamId: number; seq: number }, limit: number): FragmentRecord[] {
    return (this.stmt.withoutEntry.all(after.streamId, after.seq, limit) as FragmentRow[]).map(toFragment);
  }

  private migrate() {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)',
    );
    // One IMMEDIATE transaction: two processes opening a fresh data directory must not both migrate.
    this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
        const current = row.v ?? 0;
        if (current > MIGRATIONS.length) {
          throw new Error(
            `catalog schema version ${current} is newer than this kvsd (${MIGRATIONS.length}); upgrade kvsd`,
          );
        }
        for (let v = current + 1; v <= MIGRATIONS.length; v++) {
          this.db.exec(MIGRATIONS[v - 1]!);
          this.db.prepare('INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)').run(v, Date.now());
        }
      })
      .immediate();
  }

  async createStream(s: NewStream): Promise<StreamRecord> {
    try {
      const id = this.db.transaction(() => {
        const info = this.stmt.insertStream.run(
          s.name,
          s.arn,
          s.deviceName ?? null,
          s.mediaType ?? null,
          s.kmsKeyId,
          s.version,
          s.status,
          s.creationMs,
          s.retentionHours,
          s.storageTier,
        );
        const id = Number(info.lastInsertRowid);
        for (const [k, v] of Object.entries(s.tags)) this.stmt.putTag.run(id, k, v);
        return id;
      })();
      const { tags: _tags, ...rest } = s;
      return { id, ...rest };
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed/.test(err.message)) throw new NameTakenError(s.name);
      throw err;
    }
  }

  async getStream(id: number) {
    return this.streamOf(this.stmt.streamById.get(id));
  }
  async findStreamByName(name: string) {
    return this.streamOf(this.stmt.streamByName.get(name));
  }
  async findStreamByArn(arn: string) {
    return this.streamOf(this.stmt.streamByArn.get(arn));
  }
  private streamOf(row: unknown) {
    return row ? toStream(row as StreamRow) : undefined;
  }

  async listStreams(opts: { prefix?: string; afterName?: string; limit: number }) {
    const prefix = opts.prefix ?? '';
    return (this.stmt.listStreams.all(opts.afterName ?? '', prefix, prefix, opts.limit) as StreamRow[]).map(toStream);
  }

  async updateStream(id: number, expectedVersion: string, p: StreamPatch) {
    const info = this.stmt.updateStream.run(
      p.deviceName ?? null,
      p.mediaType ?? null,
      p.retentionHours ?? null,
      p.version,
      id,
      expectedVersion,
    );
    return info.changes === 1;
  }

  async markDeleted(id: number) {
    return this.stmt.markDeleted.run(id).changes === 1;
  }
  async listDeletedStreams() {
    return (this.stmt.deletedStreams.all() as { id: number }[]).map((r) => r.id);
  }
  async purgeStream(id: number) {
    this.db.transaction(() => {
      for (const s of this.stmt.purge) s.run(id);
    })();
  }

  async getTags(id: number) {
    // fromEntries, not assignment: '__proto__' is a legal tag key.
    return Object.fromEntries(
      (this.stmt.tags.all(id) as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    );
  }

  async putTags(id: number, tags: Record<string, string>, max: number) {
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(tags)) this.stmt.putTag.run(id, k, v);
      if ((this.stmt.countTags.get(id) as { n: number }).n > max) throw new TooManyTagsError(); // rolls back
    })();
  }

  async removeTags(id: number, keys: string[]) {
    this.db.transaction(() => {
      for (const k of keys) this.stmt.removeTag.run(id, k);
    })();
  }

  async addTrackHeader(streamId: number, bytes: Buffer) {
    return Number(this.stmt.addHeader.run(streamId, bytes).lastInsertRowid);
  }
  async getTrackHeader(id: number, streamId?: number) {
    const row = this.stmt.getHeader.get(id) as { bytes: Buffer; streamId: number } | undefined;
    return row && (streamId === undefined || row.streamId === streamId) ? row.bytes : undefined;
  }

  async reserveSequence(count: number) {
    // IMMEDIATE: a read-then-write transaction must hold the write lock from the start, or a writer in
    // another process (kvsd seed) makes it fail with SQLITE_BUSY instead of waiting for busy_timeout.
    return this.db
      .transaction(() => {
        const next = Number((this.stmt.getSetting.get('next_seq') as { value: string } | undefined)?.value ?? '1');
        this.stmt.setSetting.run('next_seq', String(next + count));
        return next;
      })
      .immediate();
  }

  async newSegment(streamId: number, owner: string) {
    return Number(this.stmt.newSegment.run(streamId, owner, Date.now()).lastInsertRowid);
  }
  async sealSegment(id: number, bytes: number) {
    this.stmt.sealSegment.run(Date.now(), bytes, id);
  }
  async sealAbandonedSegments(liveOwner: string) {
    return this.stmt.sealAbandoned.run(Date.now(), liveOwner).changes;
  }
  async listSegments(streamId: number) {
    return (this.stmt.listSegments.all(streamId) as SegmentRow[]).map(toSegment);
  }

  async insertFragments(rows: FragmentRecord[]) {
    this.db.transaction(() => {
      for (const f of rows) {
        // '' marks a fragment of an older kvsd still to be upgraded; a new one always has its entry.
        if (!f.entry) throw new Error(`fragment ${f.seq} has no listing entry`);
        this.stmt.insertFragment.run(
          f.streamId,
          f.seq,
          f.producerMs,
          f.serverMs,
          f.lengthMs,
          f.size,
          f.nonce,
          f.headerId,
          f.segment,
          f.offset,
          f.entry,
        );
      }
    })();
  }

  async listFragments(r: FragmentRange): Promise<ListedFragment[]> {
    const rows = this.listing.rows[r.kind].all(...rangeArgs(r)) as [number, number, number, string][];
    const out: ListedFragment[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      out[i] = { seq: row[0], producerMs: row[1], serverMs: row[2], entry: row[3] };
    }
    return out;
  }

  /** Reader threads serving joinFragmentEntries (0: this thread). */
  get readerThreads() {
    return this.readers?.size ?? 0;
  }
  /** Page reads the threads have answered. */
  get threadReads() {
    return this.readers?.served ?? 0;
  }

  async joinFragmentEntries(r: FragmentRange): Promise<JoinedEntries> {
    // A thread hop costs 0.1-0.2 ms of latency: a lone client paging sequentially is served here; reads
    // that come back to back (concurrent clients) go to the threads, so that they run beside the event loop.
    const now = performance.now();
    const backToBack = now - this.lastJoinAt < BACK_TO_BACK_MS;
    this.lastJoinAt = now;
    return this.readers && (backToBack || this.readers.busy) ? this.readers.join(r) : joinEntries(this.listing, r);
  }

  async getFragment(streamId: number, seq: number) {
    const row = this.stmt.getFragment.get(streamId, seq) as FragmentRow | undefined;
    return row && toFragment(row);
  }

  async fragmentsAfter(streamId: number, afterSeq: number, limit: number) {
    return (this.stmt.after.all(streamId, afterSeq, limit) as FragmentRow[]).map(toFragment);
  }

  async firstFragmentAt(streamId: number, kind: TimestampKind, atMs: number) {
    const stmt = kind === 'producer' ? this.stmt.firstAtProducer : this.stmt.firstAtServer;
    const row = stmt.get(streamId, atMs) as FragmentRow | undefined;
    return row && toFragment(row);
  }

  async lastFragmentAtOrBefore(streamId: number, kind: TimestampKind, atMs: number) {
    const stmt = kind === 'producer' ? this.stmt.lastAtOrBeforeProducer : this.stmt.lastAtOrBeforeServer;
    const row = stmt.get(streamId, atMs) as FragmentRow | undefined;
    return row && toFragment(row);
  }

  async lastFragment(streamId: number) {
    const row = this.stmt.last.get(streamId) as FragmentRow | undefined;
    return row && toFragment(row);
  }

  async expireFragments(streamId: number, minServerMs: number) {
    return this.stmt.expire.run(streamId, streamId, minServerMs).changes;
  }

  async dropEmptySegments(streamId: number) {
    return this.db
      .transaction(() => {
        const empty = (this.stmt.emptySegments.all(streamId) as { id: number }[]).map((r) => r.id);
        for (const id of empty) this.stmt.dropSegment.run(id);
        return empty;
      })
      .immediate();
  }

  async getSetting(key: string) {
    return (this.stmt.getSetting.get(key) as { value: string } | undefined)?.value;
  }
  async setSetting(key: string, value: string) {
    this.stmt.setSetting.run(key, value);
  }
  async initSetting(key: string, value: string) {
    // IMMEDIATE: the insert and the read see the same committed state, whatever other processes do.
    return this.db
      .transaction(() => {
        this.stmt.initSetting.run(key, value);
        return (this.stmt.getSetting.get(key) as { value: string }).value;
      })
      .immediate();
  }

  async close() {
    await this.readers?.close();
    if (this.db.open) {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}
