/**
 * The pagination-token key lives in the catalog: created once, shared by every process over the catalog,
 * and migrated from the <data-dir>/token.key file an older kvsd kept, so that its tokens still open.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArchive } from '../../src/openArchive.js';
import { TOKEN_KEY_SETTING, TokenSealer } from '../../src/archive/tokens.js';
import { seedFragments } from '../../src/archive/seed.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'kvsd-token-key-'));
  dirs.push(d);
  return d;
};
const open = (dataDir: string) =>
  openArchive({ dataDir, region: 'us-east-1', accountId: '000000000000', sweepIntervalMs: 3_600_000 });
const selector = { kind: 'producer' as const, startMs: 0, endMs: 8e15 };

describe('the token key', () => {
  it('is created in the catalog on first start, without a file, and kept across restarts', async () => {
    const dataDir = tempDir();
    const first = await open(dataDir);
    const key = await first.catalog.getSetting(TOKEN_KEY_SETTING);
    await first.close();
    assert.match(key ?? '', /^[0-9a-f]{64}$/);
    assert.ok(!existsSync(join(dataDir, 'token.key')), 'no key file any more');
    const again = await open(dataDir);
    try {
      assert.equal(await again.catalog.getSetting(TOKEN_KEY_SETTING), key);
    } finally {
      await again.close();
    }
  });

  it('of an older data directory (token.key) moves into the catalog: tokens issued before the upgrade open', async () => {
    const dataDir = tempDir();
    // A data directory as an older kvsd left it: the key in a file, the catalog without one.
    const fileKey = randomBytes(32).toString('hex');
    writeFileSync(join(dataDir, 'token.key'), `${fileKey}\n`, { mode: 0o600 });
    const olderKvsd = new TokenSealer(Buffer.from(fileKey, 'hex'));

    const archive = await open(dataDir);
    try {
      assert.equal(await archive.catalog.getSetting(TOKEN_KEY_SETTING), fileKey, 'the file key is the catalog key');
      const stream = await archive.streams.create({ StreamName: 'upgrade', DataRetentionInHours: 24 });
      await seedFragments(archive, stream, {
        fragments: 30,
        startMs: Date.now() - 60_000,
        intervalMs: 250,
        frameBytes: 50,
      });
      const all = await archive.lister.list(stream, selector, undefined, 1000);
      const first = await archive.lister.list(stream, selector, undefined, 10);
      // The same page's token as the older kvsd sealed it: its cursor, under the file's key.
      const cursor = olderKvsd.open<object>('ListFragments', first.nextToken!);
      assert.ok(cursor, 'the older key opens the new token');
      const issuedBefore = olderKvsd.seal('ListFragments', cursor);
      const rest = await archive.lister.list(stream, undefined, issuedBefore, 1000);
      assert.equal(Buffer.concat([first.entries, Buffer.from(','), rest.entries]).toString(), all.entries.toString());
    } finally {
      await archive.close();
    }
    const reopened = await open(dataDir);
    try {
      assert.equal(await reopened.catalog.getSetting(TOKEN_KEY_SETTING), fileKey, 'migrated once, kept');
    } finally {
      await reopened.close();
    }
  });
});
