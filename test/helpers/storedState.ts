/**
 * What a running kvsd stored, read behind its back through the storage interfaces (Catalog, MediaStore),
 * opened on the same storage URLs as the server's (`src/storage/open.ts`, without the data-directory lock:
 * a reader beside the writer, as SQLite's WAL and the media files allow). Nothing here knows a schema or
 * a file layout, so the suites that inspect stored state run against any backend open.ts builds.
 */
import assert from 'node:assert/strict';
import { TOKEN_KEY_SETTING } from '../../src/archive/tokens.js';
import type { Catalog } from '../../src/storage/catalog.js';
import type { MediaStore } from '../../src/storage/mediaStore.js';
import { openCatalog, openMediaStore, planStorage } from '../../src/storage/open.js';
import { fragmentNumberOf } from './fragmentNumbers.js';

/** Runs `read` on the catalog and media store of a data directory's default storage URLs, then closes them. */
export async function withStorage<T>(
  dataDir: string,
  read: (catalog: Catalog, media: MediaStore) => Promise<T>,
): Promise<T> {
  const plan = planStorage({ dataDir, catalogReaders: 0 });
  const catalog = openCatalog(plan.catalog);
  const media = openMediaStore(plan.media);
  try {
    return await read(catalog, media);
  } finally {
    await media.close();
    await catalog.close();
  }
}

/** The catalog id of a live (not deleted) stream, or undefined. */
export function streamIdOf(dataDir: string, streamName: string): Promise<number | undefined> {
  return withStorage(dataDir, async (c) => (await c.findStreamByName(streamName))?.id);
}

/** Whether the catalog still knows the stream id, live or marked deleted (gone once purged). */
export function streamRowExists(dataDir: string, id: number): Promise<boolean> {
  return withStorage(
    dataDir,
    async (c) => (await c.getStream(id)) !== undefined || (await c.listDeletedStreams()).includes(id),
  );
}

/** How many fragments the catalog holds for the stream id (orphans, after a purge). */
export function fragmentRowCount(dataDir: string, id: number): Promise<number> {
  return withStorage(dataDir, async (c) => (await c.fragmentsAfter(id, 0, 1_000_000)).length);
}

/** The pagination-token key from the catalog's settings. */
export function tokenKeyOf(dataDir: string): Promise<string> {
  return withStorage(dataDir, async (c) => (await c.getSetting(TOKEN_KEY_SETTING))!);
}

export interface StoredFragment {
  number: string;
  segment: number;
  offset: number;
  size: number;
  bytes: Buffer;
}

/** Every fragment the catalog holds for a stream, in ingestion order, with the bytes the media store has for it. */
export function storedFragments(dataDir: string, streamName: string): Promise<StoredFragment[]> {
  return withStorage(dataDir, async (catalog, media) => {
    const stream = await catalog.findStreamByName(streamName);
    assert.ok(stream, `stream ${streamName} is in the catalog`);
    const out: StoredFragment[] = [];
    for (const r of await catalog.fragmentsAfter(stream.id, 0, 1_000_000)) {
      const chunks: Buffer[] = [];
      for await (const chunk of await media.read(stream.id, r.segment, r.offset, r.size)) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      assert.equal(bytes.length, r.size, `fragment ${r.seq}: the media store has all its bytes`);
      out.push({
        number: fragmentNumberOf(r.seq, r.serverMs, r.nonce),
        segment: r.segment,
        offset: r.offset,
        size: r.size,
        bytes,
      });
    }
    return out;
  });
}
