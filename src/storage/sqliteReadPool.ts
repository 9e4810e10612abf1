/**
 * A pool of worker threads (sqliteReadWorker.ts) for the SQLite catalog's hot read (ListFragments pages). better-sqlite3 is synchronous:
 * on the main thread every page read stops the event loop that also parses requests and acknowledges
 * PutMedia fragments. Reading on other threads lets a multi-core machine list and ingest at once, and
 * keeps acknowledgements prompt while listings are heavy.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FragmentRange, JoinedEntries } from './catalog.js';
import type { ReadReply, ReadRequest } from './sqliteReadWorker.js';

/** The thread's script, next to this module once compiled. */
export const READ_WORKER_SCRIPT = new URL('./sqliteReadWorker.js', import.meta.url);

interface Pending {
  resolve: (v: JoinedEntries) => void;
  reject: (e: Error) => void;
  reader: Reader;
}
interface Reader {
  worker: Worker;
  inFlight: number;
}

export class SqliteReadPool {
  private readonly readers: Reader[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  /** False when the thread script is not there (running from TypeScript sources): read inline then. */
  static available(script = READ_WORKER_SCRIPT): boolean {
    return existsSync(fileURLToPath(script));
  }

  constructor(
    private readonly file: string,
    count: number,
    private readonly script = READ_WORKER_SCRIPT,
  ) {
    for (let i = 0; i < count; i++) this.readers.push(this.spawn());
  }

  private spawn(): Reader {
    const reader: Reader = { worker: new Worker(this.script, { workerData: { file: this.file } }), inFlight: 0 };
    // Threads never keep the process alive on their own (the server's sockets do while it serves).
    reader.worker.unref();
    reader.worker.on('message', (m: ReadReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      reader.inFlight--;
      this.served++;
      if ('error' in m) p.reject(new Error(m.error));
      else
        p.resolve({ joined: Buffer.from(m.joined.buffer, m.joined.byteOffset, m.joined.byteLength), count: m.count });
    });
    const lost = (why: string) => {
      // A thread that died takes its requests with it: fail them, and read on a fresh thread from now on.
      for (const [id, p] of this.pending) {
        if (p.reader !== reader) continue;
        this.pending.delete(id);
        p.reject(new Error(`catalog reader thread ${why}`));
      }
      const i = this.readers.indexOf(reader);
      if (i >= 0 && !this.closed) this.readers[i] = this.spawn();
    };
    reader.worker.on('error', (err) => lost(`failed: ${err.message}`));
    reader.worker.on('exit', (code) => {
      if (!this.closed) lost(`exited with code ${code}`);
    });
    return reader;
  }

  get size() {
    return this.readers.length;
  }
  /** Reads answered by the threads so far. */
  served = 0;
  /** Some read is in flight on a thread. */
  get busy() {
    return this.pending.size > 0;
  }

  join(range: FragmentRange): Promise<JoinedEntries> {
    if (this.closed) return Promise.reject(new Error('catalog is closed'));
    let reader = this.readers[0]!;
    for (const r of this.readers) if (r.inFlight < reader.inFlight) reader = r;
    const id = this.nextId++;
    reader.inFlight++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, reader });
      const request: ReadRequest = { id, range };
      reader.worker.postMessage(request);
    });
  }

  async close() {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error('catalog is closed'));
    this.pending.clear();
    await Promise.all(this.readers.map((r) => r.worker.terminate()));
  }
}
