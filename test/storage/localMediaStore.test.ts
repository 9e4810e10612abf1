/**
 * LocalMediaStore's segment writer: whatever the sizes and order of appends and syncs, the file holds
 * exactly the appended bytes at the positions append reported, and what a sync covered is on disk.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMediaStore, skipBytes } from '../../src/storage/localMediaStore.js';
import { readBytes } from './storageReads.js';

const root = mkdtempSync(join(tmpdir(), 'kvsd-media-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('LocalMediaStore segment writer', () => {
  it('writes every appended byte in order, across tiny, empty, 256 KiB-crossing and huge appends and syncs', async () => {
    const store = new LocalMediaStore(root);
    const w = await store.createSegment(1, 1);
    const expected: Buffer[] = [];
    const sizes = [0, 1, 7, 4096, 65_536, 262_143, 1, 262_144, 300_000, 3, 1_000_000, 12, 0, 131_072, 131_072, 5];
    for (let round = 0; round < 3; round++) {
      for (const n of sizes) {
        const b = randomBytes(n);
        const at = w.position;
        await w.append(b);
        assert.equal(w.position, at + n, 'position advances by the appended length');
        expected.push(b);
        if (n % 3 === 1) await w.sync();
      }
    }
    await w.sync();
    // After sync everything appended so far is in the file, before close.
    assert.deepEqual(readFileSync(join(root, '1', '1.seg')), Buffer.concat(expected));
    await w.close();
    const all = Buffer.concat(expected);
    const mid = await readBytes(store, 1, 1, 262_140, 100_000);
    assert.deepEqual(mid, all.subarray(262_140, 362_140));
  });

  it('a write that failed (ENOSPC on a full tmpfs) makes every later append and sync reject', async (t) => {
    const mountPoint = mkdtempSync(join(tmpdir(), 'kvsd-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (err) {
      rmdirSync(mountPoint);
      return t.skip(
        `cannot mount a tmpfs here (needs root): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`,
      );
    }
    try {
      const store = new LocalMediaStore(mountPoint);
      const w = await store.createSegment(1, 1);
      const first = randomBytes(64 * 1024);
      await w.append(first);
      await w.sync();
      // Appends are written behind: the failure shows at the latest on the next sync.
      const failed = await (async () => {
        for (let i = 0; i < 64; i++) {
          try {
            await w.append(randomBytes(64 * 1024));
            await w.sync();
          } catch (err) {
            return err as Error;
          }
        }
        return undefined;
      })();
      assert.ok(failed, 'the 1 MiB file system filled up');
      // The writer stays unusable: the file's content past the last good sync is unknown.
      await assert.rejects(
        w.append(Buffer.from('x')).then(() => w.sync()),
        /unusable after a failed write/,
      );
      await assert.rejects(w.sync(), /unusable after a failed write/);
      assert.deepEqual(await readBytes(store, 1, 1, 0, first.length), first, 'what was synced before still reads');
      await w.close().catch(() => undefined);
    } finally {
      execFileSync('umount', [mountPoint]);
      rmdirSync(mountPoint);
    }
  });

  it('skipBytes leaves what a short write did not take', () => {
    const chunks = [Buffer.from('abc'), Buffer.from(''), Buffer.from('defg'), Buffer.from('h')];
    const rest = (n: number) => Buffer.concat(skipBytes(chunks, n)).toString();
    for (let n = 0; n <= 8; n++) assert.equal(rest(n), 'abcdefgh'.slice(n), `after ${n} bytes`);
  });
});
