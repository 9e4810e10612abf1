/**
 * The kvsd process: state survives a clean restart (SIGTERM) and a crash (SIGKILL); the command line and
 * the KVSD_* environment configure it; it logs one structured line per request; it exits cleanly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runKvsd } from '../helpers/cli.js';
import { sleep, waitFor } from '../helpers/time.js';
import {
  KinesisVideoClient,
  CreateStreamCommand,
  DescribeStreamCommand,
  ListStreamsCommand,
  DeleteStreamCommand,
  UpdateStreamCommand,
  UpdateDataRetentionCommand,
  TagStreamCommand,
  ListTagsForStreamCommand,
  GetDataEndpointCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis-video';
import { clientConfig } from '../helpers/sdk.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';

/** Snapshot of everything the control plane knows about some streams. */
async function snapshot(kv: KinesisVideoClient, prefix: string) {
  const list = await kv.send(
    new ListStreamsCommand({ StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: prefix } }),
  );
  const streams = [];
  for (const info of list.StreamInfoList ?? []) {
    const tags = (await kv.send(new ListTagsForStreamCommand({ StreamARN: info.StreamARN }))).Tags ?? {};
    streams.push({ info, tags });
  }
  return streams;
}

async function expectNotFound(p: Promise<unknown>) {
  await assert.rejects(p, (e: unknown) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 404);
}

describe('state survives restarts', () => {
  let kvsd: KvsdProcess;
  let kv: KinesisVideoClient;
  before(async () => {
    kvsd = await startKvsd();
    kv = new KinesisVideoClient(clientConfig(kvsd.url));
  });
  after(async () => {
    kv?.destroy();
    await kvsd?.dispose();
  });

  it('keeps streams, tags, versions and retention across a SIGTERM restart', async () => {
    const arn = (
      await kv.send(
        new CreateStreamCommand({
          StreamName: 'p-term',
          DeviceName: 'dev',
          MediaType: 'video/h264',
          Tags: { a: '1', b: '2' },
        }),
      )
    ).StreamARN!;
    await kv.send(new CreateStreamCommand({ StreamName: 'p-term-2', DataRetentionInHours: 1 }));
    const v1 = (await kv.send(new DescribeStreamCommand({ StreamARN: arn }))).StreamInfo!.Version!;
    await kv.send(
      new UpdateDataRetentionCommand({
        StreamARN: arn,
        CurrentVersion: v1,
        Operation: 'INCREASE_DATA_RETENTION',
        DataRetentionChangeInHours: 48,
      }),
    );
    await kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { c: '3' } }));
    const gone = (await kv.send(new CreateStreamCommand({ StreamName: 'p-term-gone' }))).StreamARN!;
    await kv.send(new DeleteStreamCommand({ StreamARN: gone }));
    const before = await snapshot(kv, 'p-term');
    assert.equal(before.length, 2);
    assert.equal(before[0]!.info.DataRetentionInHours, 48);
    const pid = kvsd.pid;

    await kvsd.restart();
    assert.notEqual(kvsd.pid, pid, 'a new process');
    assert.match(kvsd.output(), /kvsd: SIGTERM, shutting down/);
    assert.deepEqual(await snapshot(kv, 'p-term'), before);
    assert.deepEqual((await kv.send(new ListTagsForStreamCommand({ StreamName: 'p-term' }))).Tags, {
      a: '1',
      b: '2',
      c: '3',
    });
    await expectNotFound(kv.send(new DescribeStreamCommand({ StreamARN: gone })));
    await expectNotFound(kv.send(new DescribeStreamCommand({ StreamName: 'p-term-gone' })));

    // The version from before the restart is still the current one; the old one is still stale.
    const v2 = before[0]!.info.Version!;
    await assert.rejects(kv.send(new UpdateStreamCommand({ StreamARN: arn, CurrentVersion: v1, DeviceName: 'x' })), {
      name: 'VersionMismatchException',
    });
    await kv.send(new UpdateStreamCommand({ StreamARN: arn, CurrentVersion: v2, DeviceName: 'after-restart' }));
    assert.equal(
      (await kv.send(new DescribeStreamCommand({ StreamARN: arn }))).StreamInfo!.DeviceName,
      'after-restart',
    );
  });

  it('keeps every acknowledged change across kill -9', async () => {
    const arn = (await kv.send(new CreateStreamCommand({ StreamName: 'p-kill', Tags: { k: 'v' } }))).StreamARN!;
    for (let i = 0; i < 5; i++) {
      const v = (await kv.send(new DescribeStreamCommand({ StreamARN: arn }))).StreamInfo!.Version!;
      await kv.send(
        new UpdateDataRetentionCommand({
          StreamARN: arn,
          CurrentVersion: v,
          Operation: 'INCREASE_DATA_RETENTION',
          DataRetentionChangeInHours: 2,
        }),
      );
    }
    await kv.send(new TagStreamCommand({ StreamName: 'p-kill', Tags: { last: 'write' } }));
    const doomed = (await kv.send(new CreateStreamCommand({ StreamName: 'p-kill-deleted' }))).StreamARN!;
    await kv.send(new DeleteStreamCommand({ StreamARN: doomed }));
    const before = await snapshot(kv, 'p-');
    assert.equal(before.find((s) => s.info.StreamName === 'p-kill')!.info.DataRetentionInHours, 10);

    await kvsd.kill9();
    await kvsd.restart();
    assert.deepEqual(await snapshot(kv, 'p-'), before);
    assert.deepEqual((await kv.send(new ListTagsForStreamCommand({ StreamName: 'p-kill' }))).Tags, {
      k: 'v',
      last: 'write',
    });
    await expectNotFound(kv.send(new DescribeStreamCommand({ StreamARN: doomed })));
    // The name of the deleted stream is free, and a new stream gets a new ARN.
    const again = (await kv.send(new CreateStreamCommand({ StreamName: 'p-kill-deleted' }))).StreamARN!;
    assert.notEqual(again, doomed);
  });

  it('honours a ListStreams NextToken issued before a restart', async () => {
    for (const n of ['tok-a', 'tok-b', 'tok-c']) await kv.send(new CreateStreamCommand({ StreamName: n }));
    const condition = { ComparisonOperator: 'BEGINS_WITH' as const, ComparisonValue: 'tok-' };
    const first = await kv.send(new ListStreamsCommand({ MaxResults: 1, StreamNameCondition: condition }));
    assert.deepEqual(
      first.StreamInfoList!.map((s) => s.StreamName),
      ['tok-a'],
    );
    await kvsd.kill9();
    await kvsd.restart();
    const second = await kv.send(
      new ListStreamsCommand({ MaxResults: 5, StreamNameCondition: condition, NextToken: first.NextToken }),
    );
    assert.deepEqual(
      second.StreamInfoList!.map((s) => s.StreamName),
      ['tok-b', 'tok-c'],
    );
    assert.equal(second.NextToken, undefined);
  });

  it('serves on the same URL after a restart, and GetDataEndpoint says so', async () => {
    const url = kvsd.url;
    await kvsd.restart();
    assert.equal(kvsd.url, url);
    const out = await kv.send(new GetDataEndpointCommand({ StreamName: 'p-kill', APIName: 'PUT_MEDIA' }));
    assert.equal(out.DataEndpoint, url);
  });

  it('writes one structured JSON log line per request: requestId, operation, status, durationMs', async () => {
    const created = await kv.send(new CreateStreamCommand({ StreamName: 'p-log' }));
    const failed = await kv
      .send(new DescribeStreamCommand({ StreamName: 'p-log-missing' }))
      .catch((e: ResourceNotFoundException) => e);
    assert.ok(failed instanceof ResourceNotFoundException);
    const unknown = await fetch(`${kvsd.url}/noSuchOperation`, { method: 'POST', body: '{}' });
    await unknown.text();
    const ids = [created.$metadata.requestId!, failed.$metadata.requestId!, unknown.headers.get('x-amzn-requestid')!];

    const lineFor = (id: string) =>
      kvsd
        .output()
        .split('\n')
        .find((l) => l.includes(id));
    await waitFor(() => ids.every((id) => lineFor(id) !== undefined), 5000, 'the request log lines');
    const lines = ids.map((id) => JSON.parse(lineFor(id)!) as Record<string, unknown>);
    assert.deepEqual(
      lines.map((l) => [l.requestId, l.operation, l.status]),
      [
        [ids[0], 'CreateStream', 200],
        [ids[1], 'DescribeStream', 404],
        [ids[2], 'Unknown', 404],
      ],
    );
    for (const l of lines) {
      assert.equal(typeof l.durationMs, 'number');
      assert.ok((l.durationMs as number) >= 0 && (l.durationMs as number) < 10_000, `durationMs ${l.durationMs}`);
      assert.equal(l.level, 'info');
      assert.ok(!Number.isNaN(Date.parse(l.time as string)), 'an ISO time');
    }
    // Exactly one line per request.
    for (const id of ids)
      assert.equal(
        kvsd
          .output()
          .split('\n')
          .filter((l) => l.includes(id)).length,
        1,
      );
  });
});

describe('the kvsd command', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'kvsd-cli-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('prints "kvsd listening on <url>" first, and --port 0 picks a free port (different for two servers)', async () => {
    const [a, b] = await Promise.all([startKvsd({ args: ['--quiet'] }), startKvsd({ args: ['--quiet'] })]);
    try {
      for (const k of [a, b]) {
        assert.match(k.output(), /^kvsd listening on http:\/\/127\.0\.0\.1:\d+\n/);
        assert.ok(k.port > 0 && k.port < 65536);
        assert.equal(k.url, `http://127.0.0.1:${k.port}`);
        assert.equal((await fetch(`${k.url}/health`)).status, 200);
      }
      assert.notEqual(a.port, b.port);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });

  it('takes its settings from KVSD_* environment variables (region, account, public URL, quiet)', async () => {
    const k = await startKvsd({
      env: {
        KVSD_REGION: 'eu-west-1',
        KVSD_ACCOUNT_ID: '123456789012',
        KVSD_PUBLIC_URL: 'https://video.example.org',
        KVSD_QUIET: '1',
      },
    });
    const kv = new KinesisVideoClient(clientConfig(k.url));
    try {
      const { StreamARN } = await kv.send(new CreateStreamCommand({ StreamName: 'env-stream' }));
      const info = (await kv.send(new DescribeStreamCommand({ StreamName: 'env-stream' }))).StreamInfo!;
      assert.equal(
        StreamARN,
        `arn:aws:kinesisvideo:eu-west-1:123456789012:stream/env-stream/${info.CreationTime!.getTime()}`,
      );
      assert.equal(info.KmsKeyId, 'arn:aws:kms:eu-west-1:123456789012:alias/aws/kinesisvideo');
      assert.deepEqual((await kv.send(new DescribeStreamCommand({ StreamARN }))).StreamInfo, info);
      const { DataEndpoint } = await kv.send(
        new GetDataEndpointCommand({ StreamName: 'env-stream', APIName: 'GET_MEDIA' }),
      );
      assert.equal(DataEndpoint, 'https://video.example.org');
      await sleep(300); // a log line would have been written by now
      assert.doesNotMatch(k.output(), /"requestId"/, 'KVSD_QUIET=1 silences the request log');
      // An ARN of the default identity names nothing here.
      await expectNotFound(
        kv.send(
          new DescribeStreamCommand({
            StreamARN: StreamARN!.replace('eu-west-1:123456789012', 'us-east-1:000000000000'),
          }),
        ),
      );
    } finally {
      kv.destroy();
      await k.dispose();
    }
  });

  it('lets command-line options win over the environment; --public-url is what GetDataEndpoint returns', async () => {
    const k = await startKvsd({
      args: [
        '--region',
        'ap-south-1',
        '--account-id',
        '111122223333',
        '--public-url',
        'https://kvs.example.com/',
        '--quiet',
      ],
      env: { KVSD_REGION: 'eu-west-1', KVSD_ACCOUNT_ID: '123456789012', KVSD_PUBLIC_URL: 'https://video.example.org' },
    });
    const kv = new KinesisVideoClient(clientConfig(k.url));
    try {
      const { StreamARN } = await kv.send(new CreateStreamCommand({ StreamName: 'flag-stream' }));
      assert.match(StreamARN!, /^arn:aws:kinesisvideo:ap-south-1:111122223333:stream\/flag-stream\/\d+$/);
      for (const APIName of ['PUT_MEDIA', 'GET_MEDIA', 'LIST_FRAGMENTS', 'GET_CLIP'] as const) {
        const { DataEndpoint } = await kv.send(new GetDataEndpointCommand({ StreamARN, APIName }));
        assert.equal(DataEndpoint, 'https://kvs.example.com', 'trailing slash removed');
      }
    } finally {
      kv.destroy();
      await k.dispose();
    }
  });

  it('refuses invalid settings with a message and a non-zero exit code, before touching the data directory', async () => {
    const dir = tempDir();
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--account-id', '12345'], {}, /--account-id must be 12 digits, got '12345'/],
      [['--account-id', 'abcdefghijkl'], {}, /--account-id must be 12 digits/],
      [[], { KVSD_ACCOUNT_ID: '1234567890123' }, /--account-id must be 12 digits, got '1234567890123'/],
      [['--region', 'EU_WEST'], {}, /--region must match/],
      [['--public-url', 'ftp://kvs.example.com'], {}, /--public-url must be a base URL/],
      [['--public-url', 'https://kvs.example.com/some/path'], {}, /--public-url must be a base URL/],
      [['--port', '70000'], {}, /--port must be 0\.\.65535, got '70000'/],
      [['--port', 'abc'], {}, /--port must be 0\.\.65535/],
      [['--no-such-option'], {}, /no-such-option/],
    ];
    const results = await Promise.all(
      cases.map(([args, env]) => runKvsd(['serve', '--port', '0', '--data-dir', join(dir, 'data'), ...args], env)),
    );
    for (const [i, r] of results.entries()) {
      const [args, env, message] = cases[i]!;
      const what = `${JSON.stringify(args)} ${JSON.stringify(env)}`;
      assert.notEqual(r.code, 0, `${what} must fail`);
      assert.equal(r.code, 2, `${what}: exit code`);
      assert.match(r.stderr, message, `${what}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /listening/, what);
    }
    assert.equal(existsSync(join(dir, 'data')), false, 'no data directory was created');
    const unknown = await runKvsd(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    assert.match(unknown.stderr, /see kvsd --help/);
    const help = await runKvsd(['help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /kvsd serve/);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`exits 0 on ${sig}, after finishing cleanly`, async () => {
      const dir = tempDir();
      const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dir, '--quiet'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
        child.once('exit', (code, signal) => r({ code, signal })),
      );
      try {
        await waitFor(
          () => /kvsd listening on http:\/\/\S+\n/.test(out) || child.exitCode !== null,
          15_000,
          'kvsd to start',
        );
        const url = /kvsd listening on (http:\/\/\S+)/.exec(out)![1]!;
        const kv = new KinesisVideoClient(clientConfig(url));
        await kv.send(new CreateStreamCommand({ StreamName: 'before-signal' }));
        kv.destroy();
        process.kill(child.pid!, sig);
        const { code, signal } = await exited;
        assert.equal(signal, null, `terminated by ${signal}: ${out}`);
        assert.equal(code, 0, out);
        assert.match(out, new RegExp(`kvsd: ${sig}, shutting down`));
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      // What it wrote before the signal is there for the next start.
      const again = await startKvsd({ dataDir: dir, args: ['--quiet'] });
      try {
        const kv = new KinesisVideoClient(clientConfig(again.url));
        assert.equal(
          (await kv.send(new DescribeStreamCommand({ StreamName: 'before-signal' }))).StreamInfo?.StreamName,
          'before-signal',
        );
        kv.destroy();
      } finally {
        await again.dispose();
      }
    });
  }
});
