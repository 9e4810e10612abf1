/**
 * Disk full, and space coming back, under several producers (issue 11, B2). The data directory is a 64 MiB
 * tmpfs (the catalog and the segments both), filled with ballast files while three producers stream (tiny,
 * 30 KB and 120 KB clusters); one ballast file is deleted after each ERROR ack, so writes fail and succeed
 * in turn, many times. Then:
 * - every fragment acknowledged PERSISTED reads back (GetMediaForFragmentList) byte-identical to what was
 *   sent, and still does after kvsd restarts;
 * - disk full is ERROR 5001 ARCHIVAL_ERROR wherever it hits (a write, a sync, a catalog commit), never 5000;
 * - a session that got it ended there: nothing after the first ERROR, and every fragment of that session is
 *   PERSISTED or 5001, none left without an outcome;
 * - a new session works as soon as space is back.
 * Needs root (mount -t tmpfs); skipped with a message where mounting is not possible.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { checkAckShapes } from '../helpers/putMedia.js';
import { createStream, listAll } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';
import { corruptFragments, persistedOf, runProducer, type Producer } from './ingestHelpers.js';

const mountPoint = mkdtempSync(join(tmpdir(), 'kvsd-diskfull-'));
let mountError: string | undefined;
let kvsd: KvsdProcess | undefined;

before(() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (err) {
    mountError = String((err as { stderr?: Buffer }).stderr ?? err).trim();
  }
});

after(async () => {
  await kvsd?.stop();
  if (!mountError) execFileSync('umount', [mountPoint]);
  rmdirSync(mountPoint);
});

const BALLAST_BYTES = 1024 * 1024;

/** Fills the file system with 1 MiB ballast files (then smaller ones) until it is full; returns the 1 MiB ones. */
function fill(dir: string): string[] {
  const big: string[] = [];
  for (const size of [BALLAST_BYTES, 64 * 1024, 4096]) {
    for (;;) {
      const file = join(dir, `ballast-${size}-${big.length}-${Math.random().toString(36).slice(2)}`);
      try {
        writeFileSync(file, Buffer.alloc(size, 1));
      } catch {
        try {
          unlinkSync(file);
        } catch {
          /* never created */
        }
        break;
      }
      if (size === BALLAST_BYTES) big.push(file);
    }
  }
  return big;
}

function removeAllBallast(dir: string) {
  for (const f of readdirSync(dir)) if (f.startsWith('ballast-')) unlinkSync(join(dir, f));
}

/**
 * The tiny producer keeps the group committer busy, so the others' commits run late, after the next
 * cluster's head has arrived (their chunks straddle clusters): a failed write then holds the end of one
 * fragment and the head of the next.
 */
const PRODUCERS = [
  { name: 'tiny', frameBytes: 50, framesPerCluster: 2, paceMs: 2 },
  { name: 'medium', frameBytes: 3_000, framesPerCluster: 10, paceMs: 5, chunkBytes: 16 * 1024 },
  { name: 'large', frameBytes: 12_000, framesPerCluster: 10, paceMs: 5, chunkBytes: 64 * 1024 },
];
/** Failures to go through before space comes back for good. */
const CYCLES = 12;

describe('disk full on the data directory', () => {
  it('never acknowledges PERSISTED what it did not store, ends the session with 5001, recovers when space is back', async (t) => {
    if (mountError) return t.skip(`cannot mount a tmpfs (needs root): ${mountError}`);
    const server = (kvsd = await startKvsd({ dataDir: mountPoint, args: ['--quiet'] }));
    const url = server.url;
    const streams = await Promise.all(
      PRODUCERS.map(async (p) => {
        const stream = `diskfull-${p.name}-${process.pid}`;
        await createStream(url, stream);
        return stream;
      }),
    );

    let ballast: string[] = [];
    let errorAcks = 0;
    let stopping = false;
    const deadline = Date.now() + 90_000;
    const stop = () => stopping || Date.now() > deadline;
    const runs = PRODUCERS.map((p, i) =>
      runProducer({
        url,
        stream: streams[i]!,
        startMs: 1_700_000_000_000,
        frameBytes: p.frameBytes,
        framesPerCluster: p.framesPerCluster,
        paceMs: p.paceMs,
        ...(p.chunkBytes !== undefined && { chunkBytes: p.chunkBytes }),
        stop,
        onAck: (ack) => {
          if (ack.EventType !== 'ERROR') return;
          errorAcks++;
          const file = ballast.pop();
          if (file) unlinkSync(file); // space comes back, a little
        },
      }),
    );
    await sleep(1000); // some fragments persist before the disk fills
    ballast = fill(mountPoint);
    const failedSessions = () =>
      runs.reduce(
        (n, r) => n + r.producer.sessions.filter((s) => s.acks.some((a) => a.EventType === 'ERROR')).length,
        0,
      );
    while (!stop() && (failedSessions() < CYCLES || runs.some((r) => persistedOf(r.producer).length < 5))) {
      if (ballast.length === 0) ballast = fill(mountPoint); // the producers took back all that was freed
      await sleep(100);
    }
    stopping = true;
    await Promise.all(runs.map((r) => r.done));
    removeAllBallast(mountPoint);
    const producers: Producer[] = runs.map((r) => r.producer);
    t.diagnostic(
      `${errorAcks} ERROR acks, ${failedSessions()} sessions ended by a failure; PERSISTED per producer: ${producers.map((p) => persistedOf(p).length).join(', ')}`,
    );

    // 1. Nothing acknowledged PERSISTED is corrupt or missing, before and after a restart.
    for (const when of ['before restart', 'after restart']) {
      if (when === 'after restart') await server.restart();
      const bad: string[] = [];
      for (const p of producers) {
        const differ = await corruptFragments(server.url, p);
        t.diagnostic(
          `${p.stream} ${when}: ${differ.length} of ${persistedOf(p).length} PERSISTED fragments differ from what was sent`,
        );
        bad.push(...differ.map((d) => `${p.stream}: ${d}`));
      }
      assert.deepEqual(bad, [], `${when}: PERSISTED fragments that differ from what was sent`);
      for (const p of producers) {
        const listed = new Set((await listAll(server.url, p.stream, { pageSize: 7 })).map((f) => f.FragmentNumber));
        for (const a of persistedOf(p))
          assert.ok(listed.has(a.FragmentNumber), `PERSISTED ${a.FragmentNumber} is listed (${when})`);
      }
    }

    // 2. Disk full is one answer, 5001, and it ends the session; every fragment of the session has an outcome.
    assert.ok(failedSessions() >= CYCLES, `at least ${CYCLES} sessions met a full disk (${failedSessions()})`);
    for (const p of producers) {
      for (const [i, s] of p.sessions.entries()) {
        checkAckShapes(s.acks);
        const first = s.acks.findIndex((a) => a.EventType === 'ERROR');
        const errors = s.acks.filter((a) => a.EventType === 'ERROR');
        assert.deepEqual(
          [...new Set(errors.map((a) => `${a.ErrorId} ${a.ErrorCode}`))].filter((e) => e !== '5001 ARCHIVAL_ERROR'),
          [],
          `${p.stream} session ${i}: disk full is 5001 ARCHIVAL_ERROR: ${JSON.stringify(errors)}`,
        );
        if (first < 0) continue;
        assert.deepEqual(
          s.acks.slice(first).filter((a) => a.EventType === 'BUFFERING' || a.EventType === 'RECEIVED'),
          [],
          `${p.stream} session ${i}: the session ended at its first ERROR`,
        );
        for (const b of s.acks.filter((a) => a.EventType === 'BUFFERING')) {
          const outcomes = s.acks.filter(
            (a) => a.FragmentNumber === b.FragmentNumber && (a.EventType === 'PERSISTED' || a.EventType === 'ERROR'),
          );
          assert.equal(
            outcomes.length,
            1,
            `${p.stream} session ${i}: fragment ${b.FragmentNumber} is PERSISTED or 5001: ${JSON.stringify(outcomes)}`,
          );
        }
      }
      // Each producer reconnected after its failures and got fragments PERSISTED again.
      const lastFailed = p.sessions.findLastIndex((s) => s.acks.some((a) => a.EventType === 'ERROR'));
      if (lastFailed >= 0 && lastFailed < p.sessions.length - 1) {
        assert.ok(
          p.sessions.slice(lastFailed + 1).some((s) => s.acks.some((a) => a.EventType === 'PERSISTED')),
          `${p.stream}: a session after the last failure persisted fragments`,
        );
      }
    }

    // 3. With space back, a new session on each stream persists everything.
    const fresh = producers.map((p, i) =>
      runProducer({
        url: server.url,
        stream: p.stream,
        startMs: 1_800_000_000_000,
        frameBytes: PRODUCERS[i]!.frameBytes,
        framesPerCluster: PRODUCERS[i]!.framesPerCluster,
        paceMs: 5,
        stop: () => false,
        clustersPerSession: 5,
      }),
    );
    await Promise.all(fresh.map((r) => r.done));
    for (const r of fresh) {
      const acks = r.producer.sessions[0]!.acks;
      assert.deepEqual(
        acks.filter((a) => a.EventType === 'ERROR'),
        [],
        'no ERROR once space is back',
      );
      assert.equal(persistedOf(r.producer).length, 5, 'all 5 fragments of the new session PERSISTED');
      assert.deepEqual(await corruptFragments(server.url, r.producer), []);
    }
  });
});
