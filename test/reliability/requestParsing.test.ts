/**
 * Request parsing limits, over HTTP against a real kvsd (docs/reliability.md, "Request parsing limits"):
 * - B7: deeply nested JSON (5,000 and 100,000 levels) in several fields of several operations is refused
 *   with a 400 InvalidArgumentException before it is parsed (it used to overflow the stack while the
 *   validation message was built: 500 InternalFailure); nesting up to the limit is validated as usual, with a
 *   bounded message; brackets inside strings do not count; the server stays healthy.
 * - Integers must be JSON numbers: "24" and "   12  " are refused as AWS's JSON protocol refuses them, while
 *   timestamps as the SDKs send them (epoch seconds, ms fractions) still work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { assertWireError, rawPost } from '../helpers/readers.js';
import { assertHealthy } from '../helpers/putMedia.js';
import { clientConfig, createStream } from '../helpers/sdk.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';

const STREAM = 'parsing';
const LIMIT = 64;
let kvsd: KvsdProcess;

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  await createStream(kvsd.url, STREAM);
});
after(async () => {
  await kvsd?.dispose();
});

/** JSON text of `levels` nested arrays or objects around a 1. */
function nested(levels: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(levels)}1${']'.repeat(levels)}`
    : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

/** Operations and the field of each that gets the nested value (top-level fields and fields inside structures). */
const TARGETS: { path: string; body: (v: string) => string }[] = [
  { path: '/createStream', body: (v) => `{"StreamName":${v}}` },
  { path: '/createStream', body: (v) => `{"StreamName":"n1","Tags":{"k":${v}}}` },
  { path: '/tagStream', body: (v) => `{"StreamName":"${STREAM}","Tags":${v}}` },
  { path: '/listStreams', body: (v) => `{"MaxResults":${v}}` },
  {
    path: '/listFragments',
    body: (v) =>
      `{"StreamName":"${STREAM}","FragmentSelector":{"FragmentSelectorType":"SERVER_TIMESTAMP","TimestampRange":{"StartTimestamp":${v},"EndTimestamp":1}}}`,
  },
  { path: '/getMediaForFragmentList', body: (v) => `{"StreamName":"${STREAM}","Fragments":${v}}` },
  { path: '/getMedia', body: (v) => `{"StreamName":"${STREAM}","StartSelector":${v}}` },
  { path: '/describeStream', body: (v) => `{"StreamARN":${v}}` },
];

describe('request parsing: nesting depth', { timeout: 120_000 }, () => {
  for (const levels of [5_000, 100_000]) {
    for (const kind of ['array', 'object'] as const) {
      it(`${levels} levels of nested ${kind}s in every target field: 400 InvalidArgumentException, server alive`, async () => {
        const value = nested(levels, kind);
        for (const t of TARGETS) {
          const r = await rawPost(kvsd.url, t.path, t.body(value));
          assertWireError(r, 400, 'InvalidArgumentException');
          assert.match(
            r.json.message,
            new RegExp(`nesting deeper than ${LIMIT} levels`),
            `${t.path}: ${r.text.slice(0, 200)}`,
          );
        }
        await assertHealthy(kvsd.url);
      });
    }
  }

  it(`nesting at the limit (${LIMIT} levels in all) is validated as usual, with a bounded message`, async () => {
    // The Tags object is level 2, so LIMIT - 2 more levels inside one tag value reach the limit exactly.
    const r = await rawPost(
      kvsd.url,
      '/tagStream',
      `{"StreamName":"${STREAM}","Tags":{"k":${nested(LIMIT - 2, 'array')}}}`,
    );
    assertWireError(r, 400, 'InvalidArgumentException');
    assert.match(
      r.json.message,
      /^1 validation error detected: Value '\[.*' at 'tags\.k\.value' failed to satisfy constraint: Member must be a string$/,
    );
    assert.ok(r.json.message.length < 600, `message of ${r.json.message.length} characters`);
    const deeper = await rawPost(
      kvsd.url,
      '/tagStream',
      `{"StreamName":"${STREAM}","Tags":{"k":${nested(LIMIT - 1, 'array')}}}`,
    );
    assert.match(deeper.json.message, new RegExp(`nesting deeper than ${LIMIT} levels`));
  });

  it('brackets inside strings (escaped quotes too) are not nesting', async () => {
    const brackets = `\\"${'['.repeat(10_000)}{`;
    const r = await rawPost(kvsd.url, '/createStream', `{"StreamName":"${brackets}"}`);
    assertWireError(r, 400, 'InvalidArgumentException');
    assert.match(
      r.json.message,
      /at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 256/,
    );
    await assertHealthy(kvsd.url);
  });
});

describe('request parsing: integers are JSON numbers', { timeout: 60_000 }, () => {
  const SELECTOR = {
    FragmentSelectorType: 'SERVER_TIMESTAMP',
    TimestampRange: { StartTimestamp: 1700000000, EndTimestamp: 1700000010 },
  };
  const CASES: { path: string; body: (v: string) => object; field: string }[] = [
    { path: '/listStreams', body: (v) => ({ MaxResults: v }), field: 'maxResults' },
    {
      path: '/listFragments',
      body: (v) => ({ StreamName: STREAM, MaxResults: v, FragmentSelector: SELECTOR }),
      field: 'maxResults',
    },
    {
      path: '/createStream',
      body: (v) => ({ StreamName: 'int-string', DataRetentionInHours: v }),
      field: 'dataRetentionInHours',
    },
    {
      path: '/updateDataRetention',
      body: (v) => ({
        StreamName: STREAM,
        CurrentVersion: 'x',
        Operation: 'INCREASE_DATA_RETENTION',
        DataRetentionChangeInHours: v,
      }),
      field: 'dataRetentionChangeInHours',
    },
  ];
  for (const text of ['24', '   12  ']) {
    it(`"${text}" where an integer is expected: 400 InvalidArgumentException "Member must be an integer"`, async () => {
      for (const c of CASES) {
        const r = await rawPost(kvsd.url, c.path, c.body(text));
        assertWireError(r, 400, 'InvalidArgumentException');
        assert.ok(
          r.json.message.includes(
            `Value '${text}' at '${c.field}' failed to satisfy constraint: Member must be an integer`,
          ),
          `${c.path}: ${r.text}`,
        );
      }
    });
  }

  it('the same numbers as JSON numbers are accepted', async () => {
    assert.equal((await rawPost(kvsd.url, '/listStreams', { MaxResults: 24 })).status, 200);
    const listed = await rawPost(kvsd.url, '/listFragments', {
      StreamName: STREAM,
      MaxResults: 12,
      FragmentSelector: SELECTOR,
    });
    assert.equal(listed.status, 200, listed.text);
  });

  it('timestamps as the SDKs send them still work: the JS SDK (ms fractions) and whole epoch seconds', async () => {
    const client = new KinesisVideoArchivedMediaClient(clientConfig(kvsd.url));
    try {
      const out = await client.send(
        new ListFragmentsCommand({
          StreamName: STREAM,
          FragmentSelector: {
            FragmentSelectorType: 'SERVER_TIMESTAMP',
            TimestampRange: { StartTimestamp: new Date(1_700_000_000_123), EndTimestamp: new Date() },
          },
        }),
      );
      assert.deepEqual(out.Fragments, []);
    } finally {
      client.destroy();
    }
    const whole = await rawPost(kvsd.url, '/listFragments', {
      StreamName: STREAM,
      FragmentSelector: {
        FragmentSelectorType: 'PRODUCER_TIMESTAMP',
        TimestampRange: { StartTimestamp: 1700000000, EndTimestamp: 1700000010 },
      },
    });
    assert.equal(whole.status, 200, whole.text);
  });
});
