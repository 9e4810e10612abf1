/**
 * Hardening: no open server on a non-loopback address by accident, header-size and connection limits,
 * a deadline for JSON bodies that does not apply to PutMedia streams, and stream names that cannot reach
 * outside the data directory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';
import type { Readable } from 'node:stream';
import { CreateStreamCommand, DescribeStreamCommand } from '@aws-sdk/client-kinesis-video';
import { GetMediaCommand } from '@aws-sdk/client-kinesis-video-media';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { sleep } from '../helpers/time.js';
import {
  ADMIN,
  assertSdkError,
  authFile,
  controlPlane,
  createStream,
  errorOf,
  media,
  mkvClusters,
  putMedia,
  rawRequest,
} from './helpers.js';
import { KvsServiceError } from '../../src/client/putMediaClient.js';

/** Runs `kvsd serve` expecting it to exit; returns its exit code and output. */
function serveExits(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kvsd-refuse-'));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kvsd did not exit:\n${output}`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
      resolvePromise({ code, output });
    });
  });
}

describe('listening address', () => {
  it('refuses a non-loopback address without --auth, and says why', async () => {
    for (const [args, env] of [
      [['--host', '0.0.0.0'], {}],
      [[], { KVSD_HOST: '0.0.0.0' }],
    ] as const) {
      const r = await serveExits([...args], env);
      assert.notEqual(r.code, 0);
      assert.match(r.output, /refusing to listen on 0\.0\.0\.0 without --auth/);
      assert.match(r.output, /--allow-anonymous/);
      assert.ok(!r.output.includes('listening on'), r.output);
    }
  });

  it('starts there with --allow-anonymous, or with --auth', async () => {
    for (const args of [['--allow-anonymous'], ['--auth', authFile()]]) {
      const kvsd = await startKvsd({ args: ['--host', '0.0.0.0', '--quiet', ...args] });
      try {
        assert.match(kvsd.url, /^http:\/\/0\.0\.0\.0:\d+$/);
        const health = await rawRequest(`http://127.0.0.1:${kvsd.port}`, '/health', { method: 'GET' });
        assert.equal(health.status, 200);
      } finally {
        await kvsd.dispose();
      }
    }
  });
});

describe('limits', () => {
  let kvsd: KvsdProcess;
  before(async () => {
    kvsd = await startKvsd({ args: ['--quiet', '--max-header-bytes', '8192', '--body-timeout-ms', '500'] });
  });
  after(async () => {
    await kvsd?.dispose();
  });

  it('answers 431 to headers over --max-header-bytes', async () => {
    const body = '{}';
    const small = await rawRequest(kvsd.url, '/listStreams', { headers: { 'x-padding': 'a'.repeat(6000) }, body });
    assert.equal(small.status, 200);
    const big = await rawRequest(kvsd.url, '/listStreams', { headers: { 'x-padding': 'a'.repeat(9000) }, body });
    assert.equal(big.status, 431);
    assert.equal(errorOf(big).code, 'InvalidArgumentException');
  });

  it('gives a JSON body --body-timeout-ms to arrive (408), but not a PutMedia stream', async () => {
    const socket = connect(kvsd.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const started = Date.now();
    socket.write(
      'POST /listStreams HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"Max',
    );
    let reply = '';
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
    });
    await new Promise((r) => socket.once('close', r));
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.match(reply, /x-amzn-errortype: RequestTimeoutException/i);
    const took = Date.now() - started;
    assert.ok(took >= 450 && took < 5000, `closed after ${took} ms`);

    // A PutMedia whose body pauses longer than that is a live stream, not a slow client.
    await createStream(kvsd.url, 'slow-producer');
    const { header, clusters } = mkvClusters(2, Date.now() - 10_000);
    async function* paced() {
      yield header;
      yield clusters[0]!;
      await sleep(1200);
      yield clusters[1]!;
    }
    const acks = await putMedia(kvsd.url, ADMIN, 'slow-producer', paced());
    assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 2, JSON.stringify(acks));
  });

  it('keeps stream names inside the data directory: path-like names are validation errors', async () => {
    const kv = controlPlane(kvsd.url, ADMIN);
    for (const name of ['../evil', '../../etc/passwd', 'a/b', '/abs', '..\\evil', 'x%2F..']) {
      await assertSdkError(
        kv.send(new CreateStreamCommand({ StreamName: name })),
        'InvalidArgumentException',
        400,
        /streamName/,
        `CreateStream ${name}`,
      );
      await assertSdkError(
        kv.send(new DescribeStreamCommand({ StreamName: name })),
        'InvalidArgumentException',
        400,
        undefined,
        `DescribeStream ${name}`,
      );
    }
    await assertSdkError(
      kv.send(
        new DescribeStreamCommand({ StreamARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/../../etc/1' }),
      ),
      'InvalidArgumentException',
      400,
    );
    await assertSdkError(
      media(kvsd.url, ADMIN).send(
        new GetMediaCommand({ StreamName: '../x', StartSelector: { StartSelectorType: 'NOW' } }),
      ),
      'InvalidArgumentException',
      400,
    );
    await assert.rejects(
      putMedia(kvsd.url, ADMIN, '../../tmp/x', mkvClusters(1, Date.now()).header),
      (err: unknown) => {
        assert.ok(err instanceof KvsServiceError, String(err));
        assert.equal(err.code, 'InvalidArgumentException');
        return true;
      },
    );

    // ".." and "." are valid names (AWS's pattern allows dots): their media still goes under media/<id>/.
    for (const name of ['..', '.']) {
      await kv.send(new CreateStreamCommand({ StreamName: name, DataRetentionInHours: 1 }));
      const { header, clusters } = mkvClusters(1, Date.now() - 5_000);
      const acks = await putMedia(kvsd.url, ADMIN, name, Buffer.concat([header, ...clusters]));
      assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 1);
      const got = await media(kvsd.url, ADMIN).send(
        new GetMediaCommand({ StreamName: name, StartSelector: { StartSelectorType: 'EARLIEST' } }),
      );
      (got.Payload as Readable).destroy();
    }
    const entries = readdirSync(join(kvsd.dataDir, 'media'));
    assert.ok(entries.length >= 3 && entries.every((e) => /^\d+$/.test(e)), `media/ holds only stream ids: ${entries}`);
    assert.deepEqual(
      readdirSync(kvsd.dataDir).filter(
        (e) => !/^(catalog\.sqlite(-wal|-shm)?|media|token\.key|kvsd\.lock(\.json)?)$/.test(e),
      ),
      [],
    );
  });
});

describe('--max-connections', () => {
  let kvsd: KvsdProcess;
  before(async () => {
    kvsd = await startKvsd({ args: ['--quiet', '--max-connections', '3'] });
  });
  after(async () => {
    await kvsd?.dispose();
  });

  it('closes the connection idle the longest to let a newcomer in (docs/reliability.md)', async () => {
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = connect(kvsd.port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        sockets.push(s);
      }
      const oldestClosed = new Promise((r) => sockets[0]!.once('close', r));
      const ok = await rawRequest(kvsd.url, '/health', { method: 'GET', headers: { connection: 'close' } });
      assert.equal(ok.status, 200);
      await oldestClosed;
      assert.ok(!sockets[1]!.destroyed && !sockets[2]!.destroyed);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
