/**
 * The media store makes every directory it creates durable before a segment in it is handed out (issue 11,
 * E): media/ gets its entry in the data directory synced, media/<streamId>/ its entry in media/, and each new
 * segment file its entry in media/<streamId>/.
 *
 * What this proves: the fsyncs are asked for, on the right directories, in order, before createSegment
 * resolves (so before any fragment in the segment can be acknowledged), and only when something was created.
 * What it cannot prove: that the file system honours them across a power cut (that needs a power cut, or a
 * block-device fault injector, which this machine does not have).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMediaStore, syncDirectory } from '../../src/storage/localMediaStore.js';

const dataDir = mkdtempSync(join(tmpdir(), 'kvsd-dirsync-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

describe('LocalMediaStore directory fsyncs', () => {
  it('syncs the parent of every directory it creates, and the directory of every new segment', async () => {
    const synced: string[] = [];
    const media = join(dataDir, 'media');
    const store = new LocalMediaStore(media, async (path) => {
      synced.push(path);
      await syncDirectory(path);
    });

    const first = await store.createSegment(7, 1);
    assert.deepEqual(
      synced.splice(0),
      [dataDir, media, join(media, '7')],
      'first segment: media/ made durable in the data dir, 7/ in media/, 1.seg in 7/',
    );
    const second = await store.createSegment(7, 2);
    assert.deepEqual(synced.splice(0), [join(media, '7')], 'another segment of the stream: only its own entry');
    const other = await store.createSegment(8, 3);
    assert.deepEqual(
      synced.splice(0),
      [media, join(media, '8')],
      'a new stream: its directory in media/, then the segment',
    );
    await Promise.all([first.close(), second.close(), other.close()]);

    // A new store on the same directories (a restart) creates no directory, but syncs the stream directory's
    // entry once more: the process that made it may have died before its sync.
    const again = new LocalMediaStore(media, async (path) => {
      synced.push(path);
    });
    await (await again.createSegment(7, 4)).close();
    await (await again.createSegment(7, 5)).close();
    assert.deepEqual(synced.splice(0), [media, join(media, '7'), join(media, '7')]);
  });

  it('a failing directory fsync fails createSegment (nothing is handed out that is not durable)', async () => {
    const store = new LocalMediaStore(join(dataDir, 'media-failing'), async () => {
      throw Object.assign(new Error('EIO'), { code: 'EIO' });
    });
    await assert.rejects(store.createSegment(1, 1), /EIO/);
  });
});
