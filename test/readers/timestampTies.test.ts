/**
 * GetMedia from a timestamp when fragments share it (issue 12, item 8). A file uploaded faster than real time
 * (here: the whole file in one write) gives many fragments the same server timestamp. Asking for a fragment's
 * own ServerTimestamp (or ProducerTimestamp) must start with the FIRST fragment, in ingestion order, that has
 * that timestamp, so the asked-for fragment is always served (docs/reading.md). Checked for every listed
 * fragment, with the JS SDK on both sides (ListFragments, GetMedia; the SDK sends ms precision).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Fragment } from '@aws-sdk/client-kinesis-video-archived-media';
import { clientConfig, createStream, listAll } from '../helpers/sdk.js';
import { PutMediaClient } from '../../src/client/putMediaClient.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { ffmpegMkvFile } from '../helpers/media.js';
import { getMedia, documentNumbers } from '../helpers/readers.js';

const STREAM = 'ties';
let kvsd: KvsdProcess;
/** Listed fragments in ingestion (fragment-number) order. */
let listed: Fragment[];

before(async () => {
  kvsd = await startKvsd();
  // 8 s at 25 fps, a keyframe (so a cluster) every 5 frames: 40 fragments of 0.2 s.
  const file = readFileSync(await ffmpegMkvFile({ seconds: 8, gop: 5 }));
  await createStream(kvsd.url, STREAM);
  const client = new PutMediaClient({
    endpoint: kvsd.url,
    region: 'us-east-1',
    credentials: clientConfig(kvsd.url).credentials,
  });
  let persisted = 0;
  for await (const ack of client.putMedia({
    streamName: STREAM,
    timecodeType: 'RELATIVE',
    producerStartTimestamp: 1_700_000_000_000,
    body: file,
  })) {
    assert.notEqual(ack.EventType, 'ERROR', JSON.stringify(ack));
    if (ack.EventType === 'PERSISTED') persisted++;
  }
  listed = await listAll(kvsd.url, STREAM);
  assert.equal(listed.length, persisted);
  assert.ok(listed.length >= 30, `${listed.length} fragments`);
});

after(async () => {
  await kvsd?.dispose();
});

type Kind = 'SERVER_TIMESTAMP' | 'PRODUCER_TIMESTAMP';
const timestampOf = (f: Fragment, kind: Kind) =>
  (kind === 'SERVER_TIMESTAMP' ? f.ServerTimestamp! : f.ProducerTimestamp!).getTime();

/** For every listed fragment: GetMedia from its own timestamp starts with the first one of that timestamp. */
async function checkEveryFragment(kind: Kind) {
  const failures: string[] = [];
  for (let k = 0; k < listed.length; k++) {
    const at = timestampOf(listed[k]!, kind);
    const first = listed.findIndex((f) => timestampOf(f, kind) === at);
    const c = await getMedia(kvsd.url, {
      StreamName: STREAM,
      StartSelector: { StartSelectorType: kind, StartTimestamp: new Date(at) },
    });
    try {
      const want = listed.slice(first, k + 1).map((f) => f.FragmentNumber);
      const [start] = documentNumbers(await c.waitFor(1));
      if (start !== want[0]) {
        failures.push(
          `fragment ${k} (${kind} ${at}; first of that timestamp: ${first}): starts with listed ${listed.findIndex((f) => f.FragmentNumber === start)}`,
        );
        continue;
      }
      // From the first of the tie up to the asked-for fragment: all of them, in order.
      assert.deepEqual(documentNumbers(await c.waitFor(want.length)), want, `fragment ${k}: served in ingestion order`);
    } finally {
      c.destroy();
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${listed.length} fragments not served from their own ${kind}`);
}

describe("GetMedia from a fragment's own timestamp, when fragments share it", { timeout: 300_000 }, () => {
  it('the upload really gave fragments shared server timestamps (else this test proves nothing)', () => {
    const distinct = new Set(listed.map((f) => timestampOf(f, 'SERVER_TIMESTAMP'))).size;
    assert.ok(distinct < listed.length - 5, `${distinct} distinct server timestamps for ${listed.length} fragments`);
  });

  it("SERVER_TIMESTAMP = a fragment's ServerTimestamp starts with the first fragment of that timestamp, and serves the asked-for one", async () => {
    await checkEveryFragment('SERVER_TIMESTAMP');
  });

  it("PRODUCER_TIMESTAMP = a fragment's ProducerTimestamp likewise", async () => {
    await checkEveryFragment('PRODUCER_TIMESTAMP');
  });
});
