/**
 * `kvsd put` when the server goes away mid-upload: a real kvsd, 20 s of the README's ffmpeg video fed slowly to
 * `kvsd put -` on stdin, the server stopped once the first fragment is persisted. Input left unsent is a failure,
 * whether the server ended the response cleanly (SIGTERM: exit 1) or the connection died (SIGKILL: exit 2).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnKvsd } from '../helpers/cli.js';
import { createStream } from '../helpers/sdk.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { sleep } from '../helpers/time.js';
import { acksOf, readmeRecipeFile } from './helpers.js';

const CHUNKS = 20;
const PAUSE_MS = 250;

let kvsd: KvsdProcess;
let input: Buffer;
before(async () => {
  [kvsd, input] = await Promise.all([
    startKvsd({ args: ['--quiet'] }),
    readmeRecipeFile({ seconds: 20 }).then((f) => readFileSync(f)),
  ]);
});
after(async () => {
  await kvsd?.dispose();
});

/** Feeds the 20 s file to `kvsd put -` in CHUNKS slices; `stopServer` runs once a fragment is PERSISTED. */
async function cutOffUpload(stream: string, stopServer: () => Promise<void>) {
  await createStream(kvsd.url, stream);
  const put = spawnKvsd(['put', '--stream', stream, '--timecode-type', 'RELATIVE', '--endpoint', kvsd.url, '-']);
  let exited = false;
  void put.done.then(() => {
    exited = true;
  });
  const step = Math.ceil(input.length / CHUNKS);
  let stopped = false;
  for (let offset = 0; offset < input.length && !exited; offset += step) {
    put.child.stdin.write(input.subarray(offset, offset + step));
    await sleep(PAUSE_MS);
    if (!stopped && put.stdout().includes('"PERSISTED"')) {
      stopped = true;
      await stopServer();
    }
  }
  assert.ok(stopped, `a fragment was persisted before the input ran out; stderr: ${put.stderr()}`);
  put.child.stdin.end();
  return put.done;
}

describe('kvsd put, server gone mid-upload', () => {
  it('SIGTERM (the response ends cleanly): exit 1, and stderr says input was left unsent', async () => {
    const r = await cutOffUpload('cutoff-term', () => kvsd.stop());
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the upload was cut off after \d+\.\d MB: input from stdin was left unsent/);
    const persisted = acksOf(r.stdout).filter((a) => a.EventType === 'PERSISTED').length;
    assert.ok(persisted >= 1 && persisted < 10, `some of the 10 fragments persisted, not all: ${persisted}`);
    assert.match(r.stderr, new RegExp(`${persisted} persisted`));
  });

  it('SIGKILL (the connection dies): exit 2, and stderr says so and that input was left unsent', async () => {
    await kvsd.restart();
    const r = await cutOffUpload('cutoff-kill', () => kvsd.kill9());
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the connection was lost/);
    assert.match(r.stderr, /input from stdin was left unsent/);
  });
});
