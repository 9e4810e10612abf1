/**
 * B1 of the adversarial run: a second process on a data directory deleted the first one's segment under a
 * live session, so PERSISTED fragments lost their bytes. Now one process owns a data directory (a kernel
 * lock that dies with it), segment state lives in the catalog, and a reader never cuts a response because
 * bytes are missing. Real kvsd processes, real ffmpeg MKV, the real PutMedia client and JS SDK.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, CLI } from '../helpers/cli.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { fragmentList, ingest, inputOf, parseDocuments, tag } from '../helpers/readers.js';
import { ffmpegMkvFile } from '../helpers/media.js';
import { paced, sendWithClient } from '../helpers/putMedia.js';
import { createStream } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';

let kvsd: KvsdProcess;
let file: Awaited<ReturnType<typeof inputOf>>;

before(async () => {
  kvsd = await startKvsd();
  file = await inputOf(await ffmpegMkvFile({ seconds: 6 }));
});
after(() => kvsd.dispose());

describe('data-directory lock', () => {
  it("a second kvsd serve on a held directory exits at once, naming the holder's pid; the first keeps serving", async () => {
    const second = await run(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', kvsd.dataDir], {
      timeoutMs: 15_000,
    });
    assert.notEqual(second.code, 0, `the second server must not start:\n${second.stdout}`);
    assert.match(second.stderr, new RegExp(`in use by pid ${kvsd.pid}\\b`), second.stderr);
    assert.doesNotMatch(second.stdout, /listening/);
    assert.equal((await fetch(`${kvsd.url}/health`)).status, 200);
  });

  it('kvsd seed on a held directory is refused with a message, and writes nothing', async () => {
    const r = await run(process.execPath, [
      CLI,
      'seed',
      '--data-dir',
      kvsd.dataDir,
      '--stream',
      'filler',
      '--create',
      '--fragments',
      '1000',
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /in use by pid \d+.*--endpoint/s, r.stderr);
    const list = await fetch(`${kvsd.url}/describeStream`, {
      method: 'POST',
      body: JSON.stringify({ StreamName: 'filler' }),
    });
    assert.equal(list.status, 404, 'the stream was not created');
  });

  it('the lock dies with its process: after kill -9 a new kvsd starts on the directory at once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kvsd-lock-'));
    try {
      const first = await startKvsd({ dataDir, args: ['--quiet'] });
      await first.kill9();
      const next = await startKvsd({ dataDir, args: ['--quiet'] });
      assert.equal((await fetch(`${next.url}/health`)).status, 200);
      await next.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a start that cannot listen (port taken) leaves no data directory behind', async () => {
    const dataDir = join(tmpdir(), `kvsd-never-${process.pid}-${Date.now()}`);
    const r = await run(process.execPath, [CLI, 'serve', '--port', String(kvsd.port), '--data-dir', dataDir], {
      timeoutMs: 15_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EADDRINUSE|in use/);
    assert.equal(existsSync(dataDir), false, `${dataDir} was created`);
  });

  it('an impossible --data-dir fails at once with a message instead of hanging', async () => {
    const r = await run(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', '/proc/kvsd-nope'], {
      timeoutMs: 15_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /kvsd: .*\/proc\/kvsd-nope/);
  });
});

describe('segments being written', () => {
  it('a fragment arriving slowly across many retention sweeps keeps every byte', async () => {
    // The sweep deletes empty segments; this session's segment is empty (nothing committed) until its one
    // fragment completes. In-process server with a 50 ms sweep, so that dozens of sweeps run meanwhile.
    const { startServer } = await import('../../src/server.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'kvsd-sweep-'));
    const server = await startServer({ port: 0, dataDir, sweepIntervalMs: 50, catalogReaders: 0 });
    try {
      await createStream(server.url, 'slow');
      const cluster = file.clusters[0]!;
      const pieces = Array.from({ length: 20 }, (_, i) =>
        cluster.bytes.subarray(
          Math.floor((i * cluster.bytes.length) / 20),
          Math.floor(((i + 1) * cluster.bytes.length) / 20),
        ),
      );
      const run = await sendWithClient(server.url, {
        streamName: 'slow',
        timecodeType: 'RELATIVE',
        producerStartTimestamp: Date.now(),
        body: paced([file.head, ...pieces], 100),
      });
      assert.equal(run.error, undefined);
      assert.deepEqual(
        run.acks.filter((x) => x.EventType !== 'BUFFERING' && x.EventType !== 'IDLE').map((x) => x.EventType),
        ['RECEIVED', 'PERSISTED'],
      );
      const listed = (await (
        await fetch(`${server.url}/listFragments`, {
          method: 'POST',
          body: JSON.stringify({
            StreamName: 'slow',
            FragmentSelector: {
              FragmentSelectorType: 'SERVER_TIMESTAMP',
              TimestampRange: { StartTimestamp: 0, EndTimestamp: Date.now() / 1000 + 60 },
            },
          }),
        })
      ).json()) as { Fragments: { FragmentNumber: string }[] };
      assert.equal(listed.Fragments.length, 1);
      const docs = parseDocuments(
        (await fragmentList(server.url, { StreamName: 'slow', Fragments: [listed.Fragments[0]!.FragmentNumber] }))
          .bytes,
      );
      assert.ok(docs[0]!.cluster?.equals(cluster.bytes), 'the fragment reads back byte for byte');
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('GetMediaForFragmentList with bytes missing', () => {
  it('answers the in-stream error document for that fragment and goes on with the next', async () => {
    await createStream(kvsd.url, 'lost');
    const a = await ingest(
      kvsd.url,
      'lost',
      { head: file.head, clusters: file.clusters.slice(0, 1) },
      { producerStartMs: Date.now() },
    );
    const b = await ingest(
      kvsd.url,
      'lost',
      { head: file.head, clusters: file.clusters.slice(1, 2) },
      { producerStartMs: Date.now() },
    );
    // Each session wrote its own segment; lose the first one's file behind kvsd's back.
    const streamDirs = readdirSync(join(kvsd.dataDir, 'media')).map((d) => join(kvsd.dataDir, 'media', d));
    const dir = streamDirs.find((d) => readdirSync(d).length === 2)!;
    const [first] = readdirSync(dir).sort((x, y) => Number.parseInt(x, 10) - Number.parseInt(y, 10));
    unlinkSync(join(dir, first!));
    const numbers = [a.persisted[0]!, b.persisted[0]!, a.persisted[0]!];
    const { status, bytes } = await fragmentList(kvsd.url, { StreamName: 'lost', Fragments: numbers });
    assert.equal(status, 200);
    const docs = parseDocuments(bytes);
    assert.equal(docs.length, 3, 'one document per requested number, none cut off');
    for (const i of [0, 2]) {
      assert.equal(tag(docs[i]!.tags, 'AWS_KINESISVIDEO_ERROR_CODE'), 'INTERNAL_ERROR');
      assert.equal(tag(docs[i]!.tags, 'AWS_KINESISVIDEO_FRAGMENT_NUMBER'), numbers[i]);
    }
    assert.ok(docs[1]!.cluster?.equals(file.clusters[1]!.bytes), 'the intact fragment is served whole');
    await eventuallyLogged(kvsd, /fragment bytes missing from the media store/);
  });
});

async function eventuallyLogged(p: KvsdProcess, re: RegExp) {
  for (let i = 0; i < 50 && !re.test(p.output()); i++) await sleep(100);
  assert.match(p.output(), re);
}
