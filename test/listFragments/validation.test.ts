/**
 * Every validation rule of the ListFragments reference (the model's lengths, patterns, ranges and enums,
 * "either StreamName or StreamARN", the selector rules) answered with InvalidArgumentException naming the
 * field, and unknown or deleted streams with ResourceNotFoundException (404). Checked on the wire (code in
 * x-amzn-errortype and x-amz-errortype, request id in x-amzn-requestid and x-amz-requestid, body __type +
 * message), through the JS SDK (modelled exception classes) and through boto3 and the CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidArgumentException,
  ListFragmentsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { NOT_FOUND, assertWireError, awsListFragments, boto, cliSelector, rawList, seed } from '../helpers/listing.js';
import { createStream, deleteStream, sdk } from '../helpers/sdk.js';

const STREAM = 'validation';
const OTHER = 'validation-other';
const T0 = 1_700_000_000_000;
const GOOD_SELECTOR = {
  FragmentSelectorType: 'PRODUCER_TIMESTAMP',
  TimestampRange: { StartTimestamp: T0 / 1000, EndTimestamp: T0 / 1000 + 100 },
};

let kvsd: KvsdProcess;
let am: ReturnType<typeof sdk>['am'];
let arn: string;
let otherArn: string;
let deletedArn: string;

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  am = sdk(kvsd.url).am;
  [arn, otherArn, deletedArn] = await Promise.all([
    createStream(kvsd.url, STREAM),
    createStream(kvsd.url, OTHER),
    createStream(kvsd.url, 'validation-deleted'),
  ]);
  await seed(kvsd, STREAM, { fragments: 3, startMs: T0, intervalMs: 1000 });
  await seed(kvsd, 'validation-deleted', { fragments: 3, startMs: T0, intervalMs: 1000 });
  await deleteStream(kvsd.url, deletedArn);
});
after(async () => {
  am?.destroy();
  await kvsd?.dispose();
});

interface Case {
  name: string;
  body: Record<string, unknown>;
  /** What the message must name. */
  field: RegExp[];
}

const range = (start: unknown, end: unknown) => ({
  FragmentSelectorType: 'PRODUCER_TIMESTAMP',
  TimestampRange: { StartTimestamp: start, EndTimestamp: end },
});
/** An ARN matching the model's pattern, of exactly `length` characters. */
const longArn = (length: number) => {
  const head = 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/';
  const tail = '/1700000000000';
  return head + 'a'.repeat(length - head.length - tail.length) + tail;
};

const CASES: Case[] = [
  {
    name: 'neither StreamName nor StreamARN',
    body: { FragmentSelector: GOOD_SELECTOR },
    field: [/StreamName/, /StreamARN/],
  },
  {
    name: 'StreamName empty',
    body: { StreamName: '', FragmentSelector: GOOD_SELECTOR },
    field: [/streamName/i, /length/],
  },
  {
    name: 'StreamName with a space (pattern)',
    body: { StreamName: 'a b', FragmentSelector: GOOD_SELECTOR },
    field: [/streamName/i, /pattern/],
  },
  {
    name: 'StreamName with a slash (pattern)',
    body: { StreamName: 'a/b', FragmentSelector: GOOD_SELECTOR },
    field: [/streamName/i, /pattern/],
  },
  {
    name: 'StreamName of 257 characters',
    body: { StreamName: 'a'.repeat(257), FragmentSelector: GOOD_SELECTOR },
    field: [/streamName/i, /256/],
  },
  {
    name: 'StreamName not a string',
    body: { StreamName: 42, FragmentSelector: GOOD_SELECTOR },
    field: [/streamName/i],
  },
  {
    name: 'StreamARN empty',
    body: { StreamARN: '', FragmentSelector: GOOD_SELECTOR },
    field: [/streamARN/i, /length/],
  },
  {
    name: 'StreamARN not matching the pattern',
    body: {
      StreamARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/validation',
      FragmentSelector: GOOD_SELECTOR,
    },
    field: [/streamARN/i, /pattern/],
  },
  {
    name: 'StreamARN of another service',
    body: { StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/validation/1', FragmentSelector: GOOD_SELECTOR },
    field: [/streamARN/i, /pattern/],
  },
  {
    name: 'StreamARN of 1025 characters (pattern ok)',
    body: { StreamARN: longArn(1025), FragmentSelector: GOOD_SELECTOR },
    field: [/streamARN/i, /1024/],
  },
  {
    name: 'MaxResults 0',
    body: { StreamName: STREAM, MaxResults: 0, FragmentSelector: GOOD_SELECTOR },
    field: [/maxResults/i],
  },
  {
    name: 'MaxResults 1001',
    body: { StreamName: STREAM, MaxResults: 1001, FragmentSelector: GOOD_SELECTOR },
    field: [/maxResults/i, /1000/],
  },
  {
    name: 'MaxResults -1',
    body: { StreamName: STREAM, MaxResults: -1, FragmentSelector: GOOD_SELECTOR },
    field: [/maxResults/i],
  },
  {
    name: 'MaxResults 1.5',
    body: { StreamName: STREAM, MaxResults: 1.5, FragmentSelector: GOOD_SELECTOR },
    field: [/maxResults/i],
  },
  {
    name: 'MaxResults "x"',
    body: { StreamName: STREAM, MaxResults: 'x', FragmentSelector: GOOD_SELECTOR },
    field: [/maxResults/i],
  },
  {
    name: 'NextToken empty',
    body: { StreamName: STREAM, NextToken: '', FragmentSelector: GOOD_SELECTOR },
    field: [/nextToken/i, /length/],
  },
  { name: 'NextToken empty, no selector', body: { StreamName: STREAM, NextToken: '' }, field: [/nextToken/i] },
  {
    name: 'NextToken of 4097 characters (pattern ok)',
    body: { StreamName: STREAM, NextToken: 'A'.repeat(4097) },
    field: [/nextToken/i, /4096/],
  },
  {
    name: 'NextToken with -_ (base64url, not the pattern)',
    body: { StreamName: STREAM, NextToken: 'ab-_cd==' },
    field: [/nextToken/i, /pattern/],
  },
  {
    name: 'NextToken with three = of padding',
    body: { StreamName: STREAM, NextToken: 'abcd===' },
    field: [/nextToken/i, /pattern/],
  },
  { name: 'FragmentSelector missing, no NextToken', body: { StreamName: STREAM }, field: [/FragmentSelector/] },
  {
    name: 'FragmentSelector missing, MaxResults only',
    body: { StreamName: STREAM, MaxResults: 10 },
    field: [/FragmentSelector/],
  },
  {
    name: 'FragmentSelector not a structure',
    body: { StreamName: STREAM, FragmentSelector: 'PRODUCER_TIMESTAMP' },
    field: [/fragmentSelector/i],
  },
  {
    name: 'FragmentSelectorType missing',
    body: { StreamName: STREAM, FragmentSelector: { TimestampRange: GOOD_SELECTOR.TimestampRange } },
    field: [/fragmentSelectorType/i],
  },
  {
    name: 'FragmentSelectorType unknown',
    body: { StreamName: STREAM, FragmentSelector: { ...GOOD_SELECTOR, FragmentSelectorType: 'CLIENT_TIMESTAMP' } },
    field: [/fragmentSelectorType/i, /PRODUCER_TIMESTAMP/],
  },
  {
    name: 'FragmentSelectorType in lower case',
    body: { StreamName: STREAM, FragmentSelector: { ...GOOD_SELECTOR, FragmentSelectorType: 'server_timestamp' } },
    field: [/fragmentSelectorType/i],
  },
  {
    name: 'TimestampRange missing',
    body: { StreamName: STREAM, FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP' } },
    field: [/timestampRange/i],
  },
  {
    name: 'StartTimestamp missing',
    body: {
      StreamName: STREAM,
      FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { EndTimestamp: 1 } },
    },
    field: [/startTimestamp/i],
  },
  {
    name: 'EndTimestamp missing',
    body: {
      StreamName: STREAM,
      FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: 1 } },
    },
    field: [/endTimestamp/i],
  },
  {
    name: 'StartTimestamp after EndTimestamp',
    body: { StreamName: STREAM, FragmentSelector: range(T0 / 1000 + 2, T0 / 1000 + 1) },
    field: [/StartTimestamp/, /EndTimestamp/],
  },
  {
    name: 'StartTimestamp 1 ms after EndTimestamp',
    body: { StreamName: STREAM, FragmentSelector: range(T0 / 1000 + 1.001, T0 / 1000 + 1) },
    field: [/StartTimestamp/, /EndTimestamp/],
  },
  {
    name: 'StartTimestamp not numeric',
    body: { StreamName: STREAM, FragmentSelector: range('yesterday', T0 / 1000) },
    field: [/startTimestamp/i],
  },
  {
    name: 'StartTimestamp an empty string',
    body: { StreamName: STREAM, FragmentSelector: range('', T0 / 1000) },
    field: [/startTimestamp/i],
  },
  {
    name: 'StartTimestamp a boolean',
    body: { StreamName: STREAM, FragmentSelector: range(true, T0 / 1000) },
    field: [/startTimestamp/i],
  },
  {
    name: 'EndTimestamp not numeric',
    body: { StreamName: STREAM, FragmentSelector: range(T0 / 1000, '2024-01-01T00:00:00Z') },
    field: [/endTimestamp/i],
  },
  {
    name: 'EndTimestamp an object',
    body: { StreamName: STREAM, FragmentSelector: range(T0 / 1000, { seconds: 1 }) },
    field: [/endTimestamp/i],
  },
];

/** The cases the JS SDK can express (it validates nothing; timestamps must be Dates). */
function toSdkInput(body: Record<string, any>): any | undefined {
  const sel = body.FragmentSelector;
  if (sel === undefined || typeof sel !== 'object' || sel.TimestampRange === undefined) return body;
  const tr = sel.TimestampRange;
  const conv = (v: unknown) =>
    v === undefined ? undefined : typeof v === 'number' ? new Date(Math.round(v * 1000)) : null;
  const start = conv(tr.StartTimestamp);
  const end = conv(tr.EndTimestamp);
  if (start === null || end === null) return undefined;
  return { ...body, FragmentSelector: { ...sel, TimestampRange: { StartTimestamp: start, EndTimestamp: end } } };
}

describe('InvalidArgumentException for every rule', () => {
  it('on the wire: 400, the code in both header spellings, request ids, __type + message naming the field', async () => {
    const ids = new Set<string>();
    for (const c of CASES) {
      const r = await rawList(kvsd.url, c.body);
      const message = assertWireError(r, 400, 'InvalidArgumentException');
      for (const f of c.field) assert.match(message, f, `${c.name}: message names the field: ${message}`);
      ids.add(r.headers.get('x-amzn-requestid')!);
    }
    assert.equal(ids.size, CASES.length, 'every response has its own request id');
  });

  it('JS SDK: each surfaces as the modelled InvalidArgumentException with the same message', async () => {
    let sent = 0;
    for (const c of CASES) {
      const input = toSdkInput(c.body);
      if (input === undefined) continue;
      const raw = await rawList(kvsd.url, c.body);
      await assert.rejects(am.send(new ListFragmentsCommand(input)), (err: any) => {
        assert.ok(err instanceof InvalidArgumentException, `${c.name}: ${err?.name}: ${err?.message}`);
        assert.equal(err.name, 'InvalidArgumentException');
        assert.equal(err.$fault, 'client');
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.ok(err.$metadata.requestId, 'request id');
        assert.equal(err.message, raw.json.message, `${c.name}: same message as on the wire`);
        return true;
      });
      sent++;
    }
    assert.ok(sent >= CASES.length - 6, `the SDK sent ${sent} of ${CASES.length} cases`);
  });

  it('a body that is not a JSON object is refused in the same shape', async () => {
    for (const body of ['{"StreamName":', 'null', '[]', '"validation"', 'not json']) {
      const message = assertWireError(await rawList(kvsd.url, body), 400, 'InvalidArgumentException');
      assert.ok(message.length > 0, body);
    }
  });

  it('StreamName and StreamARN naming different streams', async () => {
    const body = { StreamName: STREAM, StreamARN: otherArn, FragmentSelector: GOOD_SELECTOR };
    const message = assertWireError(await rawList(kvsd.url, body), 400, 'InvalidArgumentException');
    assert.match(message, /StreamName/);
    assert.match(message, /StreamARN/);
    await assert.rejects(am.send(new ListFragmentsCommand(toSdkInput(body))), InvalidArgumentException);
    // The same pair naming one stream is fine (semantics.test.ts checks the content).
    const ok = await rawList(kvsd.url, { ...body, StreamARN: arn });
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('ResourceNotFoundException (404)', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['unknown StreamName', { StreamName: 'no-such-stream', FragmentSelector: GOOD_SELECTOR }],
    [
      'unknown StreamARN',
      {
        StreamARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/no-such-stream/1700000000000',
        FragmentSelector: GOOD_SELECTOR,
      },
    ],
    ['deleted stream by name', { StreamName: 'validation-deleted', FragmentSelector: GOOD_SELECTOR }],
    ['deleted stream by ARN', { StreamARN: '<deleted>', FragmentSelector: GOOD_SELECTOR }],
    ['ARN of another account', { StreamARN: '<other-account>', FragmentSelector: GOOD_SELECTOR }],
    [
      'unknown stream, no selector (the stream is looked up first)',
      { StreamName: 'no-such-stream', NextToken: 'QUJD' },
    ],
  ];
  const fill = (body: Record<string, unknown>) => ({
    ...body,
    ...(body.StreamARN === '<deleted>' && { StreamARN: deletedArn }),
    ...(body.StreamARN === '<other-account>' && { StreamARN: arn.replace(':000000000000:', ':111111111111:') }),
  });

  it('on the wire and through the JS SDK', async () => {
    for (const [name, body] of cases) {
      const r = await rawList(kvsd.url, fill(body));
      const message = assertWireError(r, 404, 'ResourceNotFoundException');
      assert.equal(message, NOT_FOUND, name);
      await assert.rejects(am.send(new ListFragmentsCommand(toSdkInput(fill(body)))), (err: any) => {
        assert.ok(err instanceof ResourceNotFoundException, `${name}: ${err?.name}`);
        assert.equal(err.$metadata.httpStatusCode, 404);
        assert.equal(err.message, NOT_FOUND);
        assert.ok(err.$metadata.requestId);
        return true;
      });
    }
  });

  it('boto3 and the CLI map the codes to their modelled exceptions', async () => {
    const [py, cli, cliBad] = await Promise.all([
      boto(kvsd.url, [
        { params: { StreamName: 'no-such-stream', FragmentSelector: GOOD_SELECTOR } },
        { params: { StreamName: 'validation-deleted', FragmentSelector: GOOD_SELECTOR } },
        // botocore checks only minimums: these reach the server.
        { params: { StreamName: STREAM, MaxResults: 1001, FragmentSelector: GOOD_SELECTOR } },
        { params: { StreamName: 'a b', FragmentSelector: GOOD_SELECTOR } },
        {
          params: {
            StreamName: STREAM,
            FragmentSelector: {
              FragmentSelectorType: 'CLIENT_TIMESTAMP',
              TimestampRange: GOOD_SELECTOR.TimestampRange,
            },
          },
        },
        { params: { StreamName: STREAM, FragmentSelector: range(T0 / 1000 + 5, T0 / 1000) } },
        { params: { StreamName: STREAM, NextToken: 'bm90LWEtdG9rZW4=' } },
      ]),
      awsListFragments(kvsd.url, [
        '--stream-name',
        'no-such-stream',
        '--fragment-selector',
        cliSelector('PRODUCER_TIMESTAMP', 1, 2),
      ]),
      awsListFragments(kvsd.url, [
        '--stream-name',
        STREAM,
        '--fragment-selector',
        cliSelector('PRODUCER_TIMESTAMP', 2, 1),
      ]),
    ]);
    const expected = [
      'ResourceNotFoundException',
      'ResourceNotFoundException',
      'InvalidArgumentException',
      'InvalidArgumentException',
      'InvalidArgumentException',
      'InvalidArgumentException',
      'InvalidArgumentException',
    ];
    py.forEach((r, i) => {
      assert.ok('error' in r, `call ${i} must fail: ${JSON.stringify(r)}`);
      assert.equal(r.error.Code, expected[i], JSON.stringify(r));
      assert.equal(r.status, expected[i] === 'ResourceNotFoundException' ? 404 : 400);
      assert.ok(r.modelled, `call ${i}: boto3 raised its modelled exception class`);
      assert.ok(r.requestId, `call ${i}: RequestId`);
      assert.ok(r.error.Message.length > 0);
    });
    assert.equal((py[0] as any).error.Message, NOT_FOUND);
    assert.equal(cli.code, 254, cli.stderr);
    assert.match(
      cli.stderr,
      /An error occurred \(ResourceNotFoundException\) when calling the ListFragments operation: The requested stream is not found or not active\./,
    );
    assert.equal(cliBad.code, 254, cliBad.stderr);
    assert.match(
      cliBad.stderr,
      /An error occurred \(InvalidArgumentException\) when calling the ListFragments operation: .*StartTimestamp/,
    );
  });
});
