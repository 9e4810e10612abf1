/**
 * Concurrent PutMedia: several sessions on one stream ("the media fragments get interleaved"), and several
 * streams at once. Every fragment must be persisted, listed and stored byte for byte, with unique numbers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile, gstMkvFile, splitRandom } from '../helpers/media.js';
import {
  checkAckSequence,
  clustersOf,
  ffmpegEpochMkvFile,
  gstEpochMkvFile,
  paced,
  sendWithClient,
  type TimedCluster,
} from '../helpers/putMedia.js';
import { storedFragments } from '../helpers/storedState.js';
import { createStream, listAll } from '../helpers/sdk.js';

let kvsd: KvsdProcess;
let counter = 0;
const newStream = async () => {
  const name = `concurrent-${process.pid}-${++counter}`;
  await createStream(kvsd.url, name);
  return name;
};

before(async () => {
  kvsd = await startKvsd();
});
after(async () => {
  await kvsd?.dispose();
});

const SOURCES = [
  { file: () => ffmpegEpochMkvFile(1_700_000_000_250), type: 'ABSOLUTE' as const },
  { file: () => gstEpochMkvFile(1_700_000_100_500), type: 'ABSOLUTE' as const },
  { file: () => ffmpegMkvFile(), type: 'RELATIVE' as const },
  { file: () => gstMkvFile(), type: 'RELATIVE' as const },
  { file: () => ffmpegMkvFile({ crc: false }), type: 'RELATIVE' as const },
];

interface Session {
  stream: string;
  clusters: TimedCluster[];
  input: Buffer;
  type: 'ABSOLUTE' | 'RELATIVE';
}

/** Runs the sessions at once (random chunks, short pauses so that they interleave); checks each one's acks. */
async function runAll(sessions: Session[]) {
  const runs = await Promise.all(
    sessions.map((s, i) =>
      sendWithClient(kvsd.url, {
        streamName: s.stream,
        timecodeType: s.type,
        ...(s.type === 'RELATIVE' && { producerStartTimestamp: 1_700_000_000_000 }),
        body: paced(splitRandom(s.input, 100 + i, 8192), 5),
      }),
    ),
  );
  // They really ran at once: each one started before every other one ended.
  for (const a of runs) for (const b of runs) assert.ok(a.at[0]! < b.at.at(-1)!, 'the sessions overlap in time');
  const all = new Set<string>();
  return runs.map((run, i) => {
    assert.equal(run.error, undefined, String(run.error));
    const numbers = checkAckSequence(
      run.acks,
      sessions[i]!.clusters.map((c) => c.timecode),
    );
    for (const n of numbers) {
      assert.ok(!all.has(n), `fragment number ${n} is unique`);
      all.add(n);
    }
    // Fragment number → the input cluster it must hold.
    return new Map(numbers.map((n, j) => [n, sessions[i]!.clusters[j]!.bytes]));
  });
}

/** ListFragments and the data directory hold exactly `expected` (number → cluster bytes) for `stream`. */
async function checkStream(stream: string, expected: Map<string, Buffer>) {
  const listed = await listAll(kvsd.url, stream, { pageSize: 7 });
  assert.deepEqual(
    listed.map((f) => f.FragmentNumber).sort(),
    [...expected.keys()].sort(),
    `ListFragments of ${stream}`,
  );
  for (const f of listed) assert.equal(f.FragmentSizeInBytes, expected.get(f.FragmentNumber!)!.length);
  const stored = await storedFragments(kvsd.dataDir, stream);
  assert.equal(stored.length, expected.size);
  for (const s of stored)
    assert.ok(s.bytes.equals(expected.get(s.number)!), `fragment ${s.number} stored byte for byte`);
}

describe('concurrent PutMedia', () => {
  it('3 sessions on one stream at once: every fragment persisted, listed, byte-identical, numbers unique', async () => {
    const stream = await newStream();
    const sessions = await Promise.all(
      SOURCES.slice(0, 3).map(async (src) => ({ stream, type: src.type, ...(await clustersOf(await src.file())) })),
    );
    const perSession = await runAll(sessions);
    const byNumber = new Map(perSession.flatMap((m) => [...m]));
    assert.equal(byNumber.size, 15);
    await checkStream(stream, byNumber);
  });

  it('5 streams at once: every fragment persisted, listed, byte-identical, numbers unique across streams', async () => {
    const streams = await Promise.all(SOURCES.map(() => newStream()));
    const sessions = await Promise.all(
      SOURCES.map(async (src, i) => ({ stream: streams[i]!, type: src.type, ...(await clustersOf(await src.file())) })),
    );
    const perSession = await runAll(sessions);
    for (const [i, stream] of streams.entries()) {
      assert.equal(perSession[i]!.size, 5);
      await checkStream(stream, perSession[i]!);
    }
  });
});
