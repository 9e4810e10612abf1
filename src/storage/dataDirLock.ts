/**
 * One process per data directory. Two processes on one directory each sweep retention and each believe
 * they know which segments are being written; a second `kvsd serve` (or `kvsd seed`) on a live directory
 * once deleted a segment under the first one's session. The lock makes that impossible.
 *
 * The lock is a kernel lock, so it goes away with its process, however that process ends (exit, crash,
 * kill -9): SQLite's exclusive locking mode holds a POSIX advisory lock on `kvsd.lock` from the first write
 * until the connection closes, and SQLite also keeps two connections of one process apart. Node has no
 * flock(2); a pid file alone would need guessing whether a pid was reused. Who holds the lock is written
 * beside it (`kvsd.lock.json`), for the message a refused process prints.
 */
import Database from 'better-sqlite3';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  sinceMs: number;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    const who = holder
      ? `pid ${holder.pid} on ${holder.host} (${holder.command}, since ${new Date(holder.sinceMs).toISOString()})`
      : 'another process';
    super(
      `the data directory ${dataDir} is in use by ${who}. One kvsd process owns a data directory at a time: ` +
        'stop that process, or give this one another --data-dir (to seed a running server, use kvsd seed --endpoint URL).',
    );
  }
}

export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the lock or throws DataDirLockedError at once (it never waits). */
  static acquire(dataDir: string, command = process.argv.slice(2, 3).join(' ') || 'kvsd'): DataDirLock {
    const db = new Database(join(dataDir, 'kvsd.lock'), { timeout: 0 });
    try {
      // Nothing in this file needs a journal on disk (set first: later it would leave a -journal file beside it).
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      // The write takes the exclusive lock; exclusive locking mode keeps it until close.
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)');
      db.prepare('DELETE FROM holder').run();
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dataDir, readHolder(dataDir));
      throw err;
    }
    const holder: LockHolder = {
      pid: process.pid,
      host: hostname(),
      command: `kvsd ${command}`.trim(),
      sinceMs: Date.now(),
    };
    const file = join(dataDir, 'kvsd.lock.json');
    writeFileSync(`${file}.tmp`, `${JSON.stringify(holder)}\n`);
    renameSync(`${file}.tmp`, file);
    return new DataDirLock(db);
  }

  release() {
    if (this.db.open) this.db.close();
  }
}

function readHolder(dataDir: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'kvsd.lock.json'), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}
