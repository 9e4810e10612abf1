/**
 * What storage tests read back, through the public interfaces only (so that the same checks run on any
 * backend): bytes of a segment into a buffer, and the number of live streams.
 */
import type { Readable } from 'node:stream';
import type { Catalog } from '../../src/storage/catalog.js';
import type { MediaStore } from '../../src/storage/mediaStore.js';

/** `length` bytes at `offset` of a segment, read with MediaStore.read. */
export async function readBytes(media: MediaStore, streamId: number, segment: number, offset: number, length: number) {
  const chunks: Buffer[] = [];
  for await (const chunk of (await media.read(streamId, segment, offset, length)) as Readable)
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Live streams, counted by paging through listStreams. */
export async function countStreams(catalog: Catalog, pageSize = 100): Promise<number> {
  let n = 0;
  let afterName = '';
  for (;;) {
    const page = await catalog.listStreams({ afterName, limit: pageSize });
    n += page.length;
    if (page.length < pageSize) return n;
    afterName = page[page.length - 1]!.name;
  }
}
