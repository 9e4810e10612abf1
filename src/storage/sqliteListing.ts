/**
 * The statements behind listings, shared by the catalog's own connection and its reader threads
 * (sqliteReadPool.ts), so that both answer with the same SQL.
 */
import type Database from 'better-sqlite3';
import type { FragmentRange, JoinedEntries } from './catalog.js';

/** Listing indexes: (stream, selected timestamp, seq) first, then everything a listing row needs. */
export const LISTING_INDEX = { producer: 'fragments_by_producer', server: 'fragments_by_server' } as const;
const COLUMN = { producer: 'producer_ms', server: 'server_ms' } as const;

const where = (kind: 'producer' | 'server') =>
  `FROM fragments INDEXED BY ${LISTING_INDEX[kind]}
  WHERE stream_id = ? AND (${COLUMN[kind]}, seq) > (?, ?) AND ${COLUMN[kind]} <= ? AND server_ms >= ?
  ORDER BY ${COLUMN[kind]}, seq LIMIT ?`;

type Kinds<T> = { producer: T; server: T };
export interface ListingStatements {
  rows: Kinds<Database.Statement>;
  joined: Kinds<Database.Statement>;
}

export function listingStatements(db: Database.Database): ListingStatements {
  // Raw rows (arrays): better-sqlite3 builds row objects in C++ at about twice the cost of doing it in JS.
  const rows = (kind: 'producer' | 'server') =>
    db.prepare(`SELECT seq, producer_ms, server_ms, entry ${where(kind)}`).raw(true);
  // One value per page, built by SQLite: the entries joined, as a BLOB so that it reaches JS as a Buffer
  // that the response writes as is. (Strings measured 3x slower for 1000-fragment pages: copied between
  // threads, flattened, encoded again, and kept in V8's large-object space.)
  const joined = (kind: 'producer' | 'server') =>
    db.prepare(`SELECT CAST(group_concat(entry, ',') AS BLOB), count(*) FROM (SELECT entry ${where(kind)})`).raw(true);
  return {
    rows: { producer: rows('producer'), server: rows('server') },
    joined: { producer: joined('producer'), server: joined('server') },
  };
}

export function rangeArgs(r: FragmentRange) {
  return [r.streamId, r.afterMs, r.afterSeq, r.endMs, r.minServerMs, r.limit] as const;
}

export function joinEntries(stmts: ListingStatements, r: FragmentRange): JoinedEntries {
  const [joined, count] = stmts.joined[r.kind].get(...rangeArgs(r)) as [Buffer | null, number];
  return { joined: joined ?? Buffer.alloc(0), count };
}
