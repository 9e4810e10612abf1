/**
 * A read worker thread of the SQLite catalog (see sqliteReadPool.ts): its own read-only connection to the
 * catalog, answering listing reads posted by the main thread. In WAL mode a reader sees every transaction committed before
 * its statement started, so a fragment acknowledged PERSISTED is listed by the next request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { FragmentRange } from './catalog.js';
import { joinEntries, listingStatements } from './sqliteListing.js';

export interface ReadRequest {
  id: number;
  range: FragmentRange;
}
export type ReadReply = { id: number; joined: Uint8Array; count: number } | { id: number; error: string };

const port = parentPort!;
const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const statements = listingStatements(db);

port.on('message', (m: ReadRequest) => {
  let reply: ReadReply;
  try {
    const { joined, count } = joinEntries(statements, m.range);
    reply = { id: m.id, joined, count };
    // Hand the bytes over instead of copying them, when the buffer owns its memory.
    const owned = joined.byteOffset === 0 && joined.byteLength === joined.buffer.byteLength && joined.byteLength > 0;
    port.postMessage(reply, owned ? [joined.buffer as ArrayBuffer] : []);
    return;
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
