/**
 * Durability of PutMedia under kill -9. Several streams ingest at once, slowly (chunk by chunk with pauses);
 * kvsd is killed at some moment and restarted on the same data directory. Then:
 * - every fragment acknowledged PERSISTED before the kill is listed and stored byte for byte;
 * - every listed fragment is complete: its stored bytes are exactly the input cluster it was BUFFERING for;
 * - no partial fragment exists, not even as a catalog row;
 * - the streams take new sessions, whose fragment numbers were never handed out before.
 * The kill comes at different moments: after some PERSISTED acks, right when a cluster was RECEIVED (its group
 * commit in flight), and in the middle of a cluster.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile, gstMkvFile, splitRandom } from '../helpers/media.js';
import {
  assertHealthy,
  checkAckSequence,
  clustersOf,
  gstEpochMkvFile,
  paced,
  sendWithClient,
  type Ack,
  type ClientRun,
  type TimedCluster,
} from '../helpers/putMedia.js';
import { storedFragments } from '../helpers/storedState.js';
import { createStream, listAll } from '../helpers/sdk.js';

let kvsd: KvsdProcess;
let counter = 0;

before(async () => {
  kvsd = await startKvsd();
});
after(async () => {
  await kvsd?.dispose();
});

const SOURCES = [
  { file: () => ffmpegMkvFile(), type: 'RELATIVE' as const },
  { file: () => gstMkvFile(), type: 'RELATIVE' as const },
  { file: () => gstEpochMkvFile(1_700_000_100_500), type: 'ABSOLUTE' as const },
];

interface Session {
  stream: string;
  type: 'ABSOLUTE' | 'RELATIVE';
  input: Buffer;
  clusters: TimedCluster[];
  chunks: Buffer[];
}

interface Live {
  sessions: Session[];
  /** Acks so far, per session. */
  acks: Ack[][];
  /** Bytes sent so far, per session. */
  sent: number[];
}

/**
 * Runs the sessions slowly and kills kvsd when `killWhen` (called on every ack and every chunk) says so.
 * Returns the acks each session got: all of them were sent before the kill.
 */
async function ingestAndKill(killWhen: (live: Live) => boolean): Promise<Live> {
  const sessions: Session[] = await Promise.all(
    SOURCES.map(async (src, i) => {
      const stream = `durable-${process.pid}-${++counter}`;
      await createStream(kvsd.url, stream);
      const { input, clusters } = await clustersOf(await src.file());
      return { stream, type: src.type, input, clusters, chunks: splitRandom(input, 1000 + counter * 10 + i, 3000) };
    }),
  );
  const live: Live = { sessions, acks: sessions.map(() => []), sent: sessions.map(() => 0) };
  let kill: Promise<void> | undefined;
  let killed!: (v: 'killed') => void;
  const whenKilled = new Promise<'killed'>((r) => {
    killed = r;
  });
  const check = () => {
    if (kill || !killWhen(live)) return;
    kill = kvsd.kill9(); // SIGKILL goes out synchronously, here
    killed('killed');
  };
  const runs: Promise<ClientRun>[] = sessions.map((s, i) =>
    sendWithClient(
      kvsd.url,
      {
        streamName: s.stream,
        timecodeType: s.type,
        ...(s.type === 'RELATIVE' && { producerStartTimestamp: 1_700_000_000_000 }),
        body: paced(s.chunks, 25, (k) => {
          if (kill) return new Promise(() => {}); // the server is gone: stop sending
          live.sent[i] += s.chunks[k]!.length;
          check();
        }),
      },
      (ack) => {
        live.acks[i]!.push(ack);
        check();
      },
    ),
  );
  const all = Promise.all(runs);
  // Sessions end by themselves only if the kill never came.
  const outcome = await Promise.race([all.then(() => 'finished' as const), whenKilled]);
  assert.equal(outcome, 'killed', 'the kill happened while the sessions were running');
  await kill;
  await all;
  return live;
}

/** Everything the data directory and ListFragments hold after the restart is whole and expected. */
async function checkAfterRestart(live: Live) {
  let persistedTotal = 0;
  let clustersTotal = 0;
  for (const [i, s] of live.sessions.entries()) {
    const acks = live.acks[i]!;
    assert.ok(!acks.some((a) => a.EventType === 'ERROR'), `no ERROR ack: ${JSON.stringify(acks)}`);
    // Fragment number → the input cluster it was BUFFERING for.
    const clusterOf = new Map(
      acks
        .filter((a) => a.EventType === 'BUFFERING')
        .map((a) => {
          const c = s.clusters.find((x) => x.timecode === a.FragmentTimecode);
          assert.ok(c, `BUFFERING for an input cluster (${a.FragmentTimecode})`);
          return [a.FragmentNumber!, c] as const;
        }),
    );
    const persisted = acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
    persistedTotal += persisted.length;
    clustersTotal += s.clusters.length;

    const listed = await listAll(kvsd.url, s.stream, { pageSize: 7 });
    const listedNumbers = listed.map((f) => f.FragmentNumber!);
    for (const n of persisted) assert.ok(listedNumbers.includes(n), `PERSISTED fragment ${n} survived the kill`);
    for (const f of listed) {
      const c = clusterOf.get(f.FragmentNumber!);
      assert.ok(c, `listed fragment ${f.FragmentNumber} was acknowledged BUFFERING`);
      assert.equal(f.FragmentSizeInBytes, c.size, 'listed fragment is a whole cluster');
    }
    const stored = await storedFragments(kvsd.dataDir, s.stream);
    assert.deepEqual(
      stored.map((x) => x.number),
      listedNumbers,
      'no catalog row beyond the listed fragments',
    );
    for (const x of stored)
      assert.ok(x.bytes.equals(clusterOf.get(x.number)!.bytes), `fragment ${x.number} is complete, byte for byte`);
  }
  assert.ok(persistedTotal >= 1, 'something was PERSISTED before the kill');
  assert.ok(persistedTotal < clustersTotal, 'the kill came before everything was PERSISTED');
  return persistedTotal;
}

/** Each stream takes a new session after the restart; its numbers were never handed out before. */
async function checkUsable(live: Live) {
  await assertHealthy(kvsd.url);
  const before = new Set(
    live.acks
      .flat()
      .map((a) => a.FragmentNumber)
      .filter((n) => n),
  );
  const runs = await Promise.all(
    live.sessions.map((s) =>
      sendWithClient(kvsd.url, {
        streamName: s.stream,
        timecodeType: s.type,
        ...(s.type === 'RELATIVE' && { producerStartTimestamp: 1_800_000_000_000 }),
        body: s.input,
      }),
    ),
  );
  for (const [i, run] of runs.entries()) {
    assert.equal(run.error, undefined);
    const numbers = checkAckSequence(
      run.acks,
      live.sessions[i]!.clusters.map((c) => c.timecode),
    );
    for (const n of numbers) assert.ok(!before.has(n), `fragment number ${n} is new`);
    const listed = (await listAll(kvsd.url, live.sessions[i]!.stream, { pageSize: 7 })).map((f) => f.FragmentNumber);
    for (const n of numbers) assert.ok(listed.includes(n));
  }
}

const MOMENTS: Array<[string, (live: Live) => boolean]> = [
  [
    'after the first stream got 2 PERSISTED acks',
    (live) => live.acks[0]!.filter((a) => a.EventType === 'PERSISTED').length >= 2,
  ],
  [
    'the moment a 4th cluster is RECEIVED (its group commit in flight)',
    (live) => live.acks.flat().filter((a) => a.EventType === 'RECEIVED').length >= 4,
  ],
  [
    'in the middle of the third cluster of the second stream',
    (live) => live.sent[1]! >= live.sessions[1]!.clusters[2]!.offset + live.sessions[1]!.clusters[2]!.size / 2,
  ],
];

describe('PutMedia survives kill -9', () => {
  for (const [moment, killWhen] of MOMENTS) {
    it(`kill -9 ${moment}, then restart: persisted fragments intact, no partial fragment`, async () => {
      const live = await ingestAndKill(killWhen);
      await kvsd.restart();
      await checkAfterRestart(live);
      await checkUsable(live);
    });
  }
});
