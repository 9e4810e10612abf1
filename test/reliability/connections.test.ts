/**
 * Connections and slow clients (docs/reliability.md): idle sockets that never send nor read cannot lock
 * everyone out, a header timeout destroys the socket (no half-open socket holding a slot and a file
 * descriptor), long uploads at the connection limit leave a reserve for short requests, and the default
 * connection limit follows the open-file limit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { clientConfig, createStream } from '../helpers/sdk.js';
import { sleep } from '../helpers/time.js';
import { CONNECTION_RESERVE, connectionsForFdLimit } from '../../src/protocol/limits.js';
import { KvsServiceError, type PutMediaAck } from '../../src/client/putMediaClient.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ADMIN, mkvClusters, putMedia } from '../auth/helpers.js';

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/**
 * Opens `n` sockets that connect and then neither send nor read (paused before connecting, so node does
 * not read for them either), `batch` at a time. Sockets the server drops are kept too: destroyAll ends them.
 */
async function idleSockets(
  port: number,
  n: number,
  opts: { batch?: number; localAddress?: string } = {},
): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = opts.batch ?? 100;
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, n - i) },
        () =>
          new Promise<void>((resolve) => {
            const s = connect({
              port,
              host: '127.0.0.1',
              ...(opts.localAddress && { localAddress: opts.localAddress }),
            });
            s.pause();
            s.on('error', () => {});
            s.once('connect', () => resolve());
            s.once('close', () => resolve());
            sockets.push(s);
          }),
      ),
    );
  }
  return sockets;
}

const destroyAll = (sockets: Socket[]) => {
  for (const s of sockets) s.destroy();
};

/**
 * A connection busy with a short request: a JSON body that never finishes (busy until --body-timeout-ms).
 * Resolves once kvsd has read the headers (its 100 Continue): before, the connection counts as idle.
 */
async function busyRequest(port: number, localAddress?: string): Promise<Socket> {
  const s = connect({ port, host: '127.0.0.1', ...(localAddress && { localAddress }) });
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  s.write(
    'POST /listStreams HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nexpect: 100-continue\r\n\r\n',
  );
  await new Promise<void>((resolve, reject) => {
    s.once('data', (d: Buffer) =>
      /^HTTP\/1\.1 100 /.test(d.toString()) ? resolve() : reject(new Error(d.toString())),
    );
    s.once('close', () => reject(new Error('closed before 100 Continue')));
  });
  s.write('{"Max');
  return s;
}

/** GET /health on a connection of its own: the status, or the error code if it failed or timed out. */
function health(url: string, opts: { timeoutMs?: number; localAddress?: string } = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const req = get(
      `${url}/health`,
      {
        agent: false,
        timeout: opts.timeoutMs ?? 10_000,
        ...(opts.localAddress && { localAddress: opts.localAddress }),
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
      },
    );
    req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
}

/** Polls /health every second until it answers 200; the ms that took, or fails after `withinMs`. */
async function healthWithin(url: string, withinMs: number, what: string): Promise<number> {
  const started = Date.now();
  const seen: (number | string)[] = [];
  while (Date.now() - started <= withinMs) {
    const status = await health(url);
    if (status === 200) return Date.now() - started;
    seen.push(status);
    await sleep(1000);
  }
  assert.fail(`${what}: /health did not answer 200 within ${withinMs} ms (saw ${seen.join(', ')})`);
}

async function waitFor<T>(probe: () => T, ok: (v: T) => boolean, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  let v = probe();
  while (!ok(v) && Date.now() < deadline) {
    await sleep(500);
    v = probe();
  }
  return v;
}

describe('idle sockets that never send nor read', () => {
  const LIMIT = 1000;
  let kvsd: KvsdProcess;
  before(async () => {
    kvsd = await startKvsd({ args: ['--quiet', '--max-connections', String(LIMIT)] });
  });
  after(async () => {
    await kvsd?.dispose();
  });

  it(`cannot lock /health out: 1.5 x --max-connections of them, polled for 40 s; their fds are freed`, async (t) => {
    assert.equal(await health(kvsd.url), 200);
    const baseline = fdCount(kvsd.pid);
    const sockets = await idleSockets(kvsd.port, LIMIT * 1.5);
    try {
      const flooded = Date.now();
      const held = fdCount(kvsd.pid);
      // The newest connections closed the ones idle the longest: never more than the limit and its reserve.
      assert.ok(held <= baseline + LIMIT + CONNECTION_RESERVE + 10, `${held} fds held (baseline ${baseline})`);

      // Within 15 s of the flood, then every second until well past the 10 s header timeout.
      const polls: { afterMs: number; status: number | string; fds: number }[] = [];
      while (Date.now() - flooded < 40_000) {
        polls.push({ afterMs: Date.now() - flooded, status: await health(kvsd.url), fds: fdCount(kvsd.pid) });
        await sleep(1000);
      }
      const first = polls.findIndex((p) => p.status === 200);
      const report = JSON.stringify(polls);
      t.diagnostic(
        `fds: baseline ${baseline}, after the flood ${held}; /health polls (s: status fds): ${polls
          .map((p) => `${Math.round(p.afterMs / 1000)}: ${p.status} ${p.fds}`)
          .join(', ')}`,
      );
      assert.ok(first >= 0 && polls[first]!.afterMs <= 15_000, `no 200 within 15 s of the flood: ${report}`);
      assert.deepEqual(
        polls.slice(first).filter((p) => p.status !== 200),
        [],
        `/health failed after it had answered: ${report}`,
      );

      // Past the header timeout the server destroyed them (not half-closed): their fds are back.
      const fds = await waitFor(
        () => fdCount(kvsd.pid),
        (n) => n <= baseline + 10,
        20_000,
      );
      t.diagnostic(`fds ${Math.round((Date.now() - flooded) / 1000)} s after the flood: ${fds}`);
      assert.ok(
        fds <= baseline + 10,
        `fds ${fds} after the header timeout, baseline ${baseline}, during the flood ${held}`,
      );
    } finally {
      destroyAll(sockets);
    }
  });
});

describe('every connection busy with a long upload', () => {
  const LIMIT = 20;
  let kvsd: KvsdProcess;
  before(async () => {
    kvsd = await startKvsd({ args: ['--quiet', '--max-connections', String(LIMIT)] });
  });
  after(async () => {
    await kvsd?.dispose();
  });

  it('still serves /health and ListFragments from the reserve, refuses another PutMedia there, and destroys sockets beyond it', async () => {
    for (let i = 0; i <= LIMIT; i++) await createStream(kvsd.url, `cam-${i}`);
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const started = Date.now() - 60_000;
    // Each producer's first fragment PERSISTED: its connection is busy, and ListFragments has it to list.
    const firstPersisted: Promise<void>[] = [];
    const producers = Array.from({ length: LIMIT }, (_, i) => {
      const { header, clusters } = mkvClusters(2, started);
      let persisted!: () => void;
      firstPersisted.push(
        new Promise<void>((r) => {
          persisted = r;
        }),
      );
      // A real MKV header and cluster, then nothing until the test lets the producer finish: a live camera.
      async function* trickle() {
        yield header;
        yield clusters[0]!;
        await released;
        yield clusters[1]!;
      }
      return putMedia(kvsd.url, ADMIN, `cam-${i}`, trickle(), (ack) => {
        if (ack.EventType === 'PERSISTED') persisted();
      });
    });
    const producing = Promise.allSettled(producers);
    const busySockets: Socket[] = [];
    try {
      await Promise.all(firstPersisted);

      assert.equal(await health(kvsd.url), 200);
      const archived = new KinesisVideoArchivedMediaClient(clientConfig(kvsd.url));
      const listed = await archived.send(
        new ListFragmentsCommand({
          StreamName: 'cam-0',
          FragmentSelector: {
            FragmentSelectorType: 'SERVER_TIMESTAMP',
            TimestampRange: { StartTimestamp: new Date(started), EndTimestamp: new Date(Date.now() + 60_000) },
          },
        }),
      );
      assert.equal(listed.Fragments?.length, 1, 'the first cluster of cam-0, persisted');
      archived.destroy();

      const { header, clusters } = mkvClusters(1, started);
      await assert.rejects(
        putMedia(kvsd.url, ADMIN, `cam-${LIMIT}`, Buffer.concat([header, ...clusters])),
        (err: unknown) => {
          assert.ok(err instanceof KvsServiceError, String(err));
          assert.equal(err.code, 'ConnectionLimitExceededException');
          assert.equal(err.statusCode, 400);
          assert.match(err.message, /--max-connections/);
          return true;
        },
      );

      // The reserve full of busy short requests (JSON bodies still arriving): a further socket is destroyed at once.
      for (let i = 0; i < CONNECTION_RESERVE; i++) busySockets.push(await busyRequest(kvsd.port));
      assert.match(String(await health(kvsd.url)), /ECONNRESET|socket hang up|EPIPE/);
      destroyAll(busySockets);
      await healthWithin(kvsd.url, 15_000, 'once the reserve is free');

      // The uploads were never disturbed.
      release();
      for (const [i, r] of (await producing).entries()) {
        assert.equal(r.status, 'fulfilled', `producer ${i}: ${r.status === 'rejected' ? String(r.reason) : ''}`);
        const acks = (r as PromiseFulfilledResult<PutMediaAck[]>).value;
        assert.equal(
          acks.filter((a) => a.EventType === 'PERSISTED').length,
          2,
          `producer ${i}: ${JSON.stringify(acks)}`,
        );
      }
    } finally {
      release();
      destroyAll(busySockets);
      await producing;
    }
  });
});

describe('--max-connections-per-address', () => {
  let kvsd: KvsdProcess;
  before(async () => {
    kvsd = await startKvsd({ args: ['--quiet', '--max-connections-per-address', '3'] });
  });
  after(async () => {
    await kvsd?.dispose();
  });

  it('caps one address (its own idle connections closed first) and leaves the others alone', async () => {
    const idle = await idleSockets(kvsd.port, 3, { localAddress: '127.0.0.2' });
    const busy: Socket[] = [];
    try {
      assert.equal(
        await health(kvsd.url, { localAddress: '127.0.0.2' }),
        200,
        'an idle connection of the address made room',
      );
      for (let i = 0; i < 3; i++) busy.push(await busyRequest(kvsd.port, '127.0.0.2'));
      assert.match(String(await health(kvsd.url, { localAddress: '127.0.0.2' })), /ECONNRESET|socket hang up|EPIPE/);
      assert.equal(await health(kvsd.url), 200, 'another address is not affected');
    } finally {
      destroyAll(idle);
      destroyAll(busy);
    }
  });
});

describe('the open-file limit', () => {
  const NOFILE = 256;
  const wrapper = ['prlimit', `--nofile=${NOFILE}:${NOFILE}`];

  it('lowers the default --max-connections and says so; a flood of idle sockets then fails cleanly', async () => {
    const kvsd = await startKvsd({ wrapper });
    try {
      const expected = connectionsForFdLimit(NOFILE);
      assert.ok(expected < 1000);
      assert.match(
        kvsd.output(),
        new RegExp(`open-file limit is ${NOFILE}: --max-connections defaults to ${expected} instead of 1000`),
      );
      assert.match(kvsd.output(), /ulimit -n .*LimitNOFILE=/);

      const sockets = await idleSockets(kvsd.port, 2 * NOFILE);
      try {
        await healthWithin(kvsd.url, 15_000, `${2 * NOFILE} idle sockets under ulimit -n ${NOFILE}`);
        assert.doesNotThrow(() => process.kill(kvsd.pid, 0), 'kvsd is still running');
        assert.ok(fdCount(kvsd.pid) < NOFILE, `${fdCount(kvsd.pid)} fds`);
        assert.doesNotMatch(kvsd.output(), /EMFILE/);
      } finally {
        destroyAll(sockets);
      }
    } finally {
      await kvsd.dispose();
    }
  });

  it('accepts an explicit --max-connections above what it sustains, with a warning', async () => {
    const kvsd = await startKvsd({ wrapper, args: ['--max-connections', '500'] });
    try {
      assert.match(
        kvsd.output(),
        new RegExp(`--max-connections 500 is more than the open-file limit \\(${NOFILE}\\) sustains`),
      );
      assert.equal(await health(kvsd.url), 200);
    } finally {
      await kvsd.dispose();
    }
  });
});
