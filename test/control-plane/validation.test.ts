/**
 * Server-side validation, one test per class of problem: through raw HTTP (to send what no SDK would)
 * and through the JS SDK v3 where it passes the value through (it validates nothing itself). Every error
 * response is checked for the full AWS shape; no response may ever be a 500, and the server must stay
 * healthy after all of it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import {
  KinesisVideoClient,
  CreateStreamCommand,
  DescribeStreamCommand,
  ListStreamsCommand,
  DeleteStreamCommand,
  UpdateDataRetentionCommand,
  TagStreamCommand,
  UntagStreamCommand,
  GetDataEndpointCommand,
  InvalidArgumentException,
} from '@aws-sdk/client-kinesis-video';
import { clientConfig } from '../helpers/sdk.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import { sleep } from '../helpers/time.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PATTERN_MSG =
  "1 validation error detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+";

let kvsd: KvsdProcess;
let kv: KinesisVideoClient;
let arn: string;
let version: string;
/** Every status kvsd answered in this file. */
const statuses: number[] = [];

before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
  kv = new KinesisVideoClient(clientConfig(kvsd.url));
  arn = (await kv.send(new CreateStreamCommand({ StreamName: 'valid' }))).StreamARN!;
  version = (await kv.send(new DescribeStreamCommand({ StreamName: 'valid' }))).StreamInfo!.Version!;
});
after(async () => {
  kv?.destroy();
  await kvsd?.dispose();
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | undefined;
}

async function send(path: string, body?: string | Buffer | object, init: RequestInit = {}): Promise<Reply> {
  const payload =
    body === undefined || typeof body === 'string'
      ? body
      : Buffer.isBuffer(body)
        ? new Uint8Array(body)
        : JSON.stringify(body);
  const res = await fetch(kvsd.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(payload !== undefined && { body: payload }),
    ...init,
  });
  const text = await res.text();
  statuses.push(res.status);
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** One request on a connection of its own (so that a half-sent body cannot disturb fetch's pool). */
function rawRequest(path: string, headers: Record<string, string>, write: (req: ClientRequest) => void) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = httpRequest(`${kvsd.url}${path}`, { method: 'POST', agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => {
        resolve({ status: res.statusCode!, headers: res.headers, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    write(req);
  });
}

/** Checks the full AWS error shape; `mentions` must all appear in the message. */
function assertError(r: Reply, status: number, code: string, ...mentions: (string | RegExp)[]) {
  assert.equal(r.status, status, `status of ${r.text}`);
  assert.equal(r.headers.get('x-amzn-errortype'), code);
  assert.equal(r.headers.get('x-amz-errortype'), code);
  const id = r.headers.get('x-amzn-requestid');
  assert.match(id ?? '', UUID);
  assert.equal(r.headers.get('x-amz-requestid'), id);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.ok(r.json, `a JSON body: ${r.text}`);
  assert.equal(r.json.__type, code);
  assert.equal(typeof r.json.message, 'string');
  for (const m of mentions) {
    if (typeof m === 'string')
      assert.ok((r.json.message as string).includes(m), `message mentions ${m}: ${r.json.message}`);
    else assert.match(r.json.message as string, m);
  }
}
const invalid = (r: Reply, ...mentions: (string | RegExp)[]) =>
  assertError(r, 400, 'InvalidArgumentException', ...mentions);

/** The SDK call fails with InvalidArgumentException, its message matching. */
async function sdkInvalid(p: Promise<unknown>, message: string | RegExp) {
  const err = await p.then(
    () => assert.fail('expected InvalidArgumentException'),
    (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number; requestId?: string } },
  );
  assert.ok(err instanceof InvalidArgumentException, `got ${err.name}: ${err.message}`);
  assert.equal(err.name, 'InvalidArgumentException');
  assert.equal(err.$metadata.httpStatusCode, 400);
  assert.match(err.$metadata.requestId ?? '', UUID);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
}

describe('validation', () => {
  it('GET /health answers 200 {"status":"ok"}', async () => {
    const r = await fetch(`${kvsd.url}/health`);
    statuses.push(r.status);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: 'ok' });
  });

  it('success responses carry the request id headers too', async () => {
    const r = await send('/describeStream', { StreamName: 'valid' });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('x-amzn-requestid') ?? '', UUID);
    assert.equal(r.headers.get('x-amz-requestid'), r.headers.get('x-amzn-requestid'));
    assert.equal(r.headers.get('x-amzn-errortype'), null);
    // Each request gets its own id.
    const r2 = await send('/describeStream', { StreamName: 'valid' });
    assert.notEqual(r2.headers.get('x-amzn-requestid'), r.headers.get('x-amzn-requestid'));
  });

  it('malformed JSON', async () => {
    invalid(await send('/createStream', '{"StreamName":'), 'JSON');
    invalid(await send('/describeStream', "{'StreamName':'valid'}"), 'JSON');
    invalid(await send('/listStreams', '{"MaxResults": 1,}'), 'JSON');
  });

  it('non-JSON garbage bytes', async () => {
    const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x1a, 0x45, 0xdf, 0xa3, 0x80, 0x7b, 0x0a, 0xc3, 0x28]);
    invalid(await send('/createStream', garbage, { headers: { 'content-type': 'application/octet-stream' } }), 'JSON');
    invalid(await send('/describeStream', '\uFEFF\u0000{}'), 'JSON');
  });

  it('a JSON body that is not an object', async () => {
    for (const body of ['null', '[]', '"valid"', '42', 'true']) {
      invalid(await send('/describeStream', body), 'Member must be a structure');
    }
  });

  it('an empty body is {} (what the SDKs send for empty input), also without Content-Type', async () => {
    const r = await send('/listStreams', undefined, { headers: {} });
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.json?.StreamInfoList));
    invalid(await send('/describeStream', ''), 'Either StreamName or StreamARN must be specified');
  });

  it('wrong type (string for integer, number for string, string for structure)', async () => {
    invalid(
      await send('/createStream', { StreamName: 'typed', DataRetentionInHours: 'ten' }),
      "Value 'ten' at 'dataRetentionInHours' failed to satisfy constraint: Member must be an integer",
    );
    invalid(await send('/listStreams', { MaxResults: 'abc' }), "at 'maxResults'", 'Member must be an integer');
    invalid(await send('/listStreams', { MaxResults: 2.5 }), "at 'maxResults'", 'Member must be an integer');
    invalid(await send('/listStreams', { MaxResults: true }), "at 'maxResults'", 'Member must be an integer');
    invalid(
      await send('/describeStream', { StreamName: 5 }),
      "Value '5' at 'streamName' failed to satisfy constraint: Member must be a string",
    );
    invalid(
      await send('/listStreams', { StreamNameCondition: 'valid' }),
      "at 'streamNameCondition'",
      'Member must be a structure',
    );
    invalid(await send('/tagStream', { StreamName: 'valid', Tags: [['a', 'b']] }), "at 'tags'", 'Member must be a map');
    invalid(
      await send('/untagStream', { StreamName: 'valid', TagKeyList: 'a' }),
      "at 'tagKeyList'",
      'Member must be a list',
    );
    await sdkInvalid(
      kv.send(new CreateStreamCommand({ StreamName: 'typed', DataRetentionInHours: 'ten' as unknown as number })),
      "1 validation error detected: Value 'ten' at 'dataRetentionInHours' failed to satisfy constraint: Member must be an integer",
    );
    await sdkInvalid(
      kv.send(new ListStreamsCommand({ MaxResults: 'abc' as unknown as number })),
      /at 'maxResults'.*Member must be an integer/,
    );
    assert.equal((await send('/describeStream', { StreamName: 'typed' })).status, 404, 'nothing was created');
  });

  it('pattern failure, worded exactly as AWS words it', async () => {
    const r = await send('/describeStream', { StreamName: 'a b' });
    invalid(r);
    assert.equal(r.json?.message, PATTERN_MSG);
    invalid(await send('/createStream', { StreamName: 'a b' }), PATTERN_MSG);
    invalid(
      await send('/describeStream', { StreamARN: 'arn:aws:s3:::bucket/key' }),
      "at 'streamARN'",
      'regular expression pattern',
    );
    invalid(
      await send('/createStream', { StreamName: 'mt', MediaType: 'h264' }),
      "at 'mediaType'",
      'regular expression pattern',
    );
    invalid(
      await send('/createStream', { StreamName: 'dn', DeviceName: 'my device' }),
      "at 'deviceName'",
      'regular expression pattern',
    );
    invalid(
      await send('/updateStream', { StreamName: 'valid', CurrentVersion: 'not-alnum!' }),
      "at 'currentVersion'",
      'regular expression pattern',
    );
    await sdkInvalid(kv.send(new DescribeStreamCommand({ StreamName: 'a b' })), PATTERN_MSG);
    await sdkInvalid(kv.send(new CreateStreamCommand({ StreamName: 'a b' })), PATTERN_MSG);
  });

  it('too long (257 characters)', async () => {
    const long = 'n'.repeat(257);
    invalid(
      await send('/createStream', { StreamName: long }),
      "at 'streamName'",
      'Member must have length less than or equal to 256',
    );
    invalid(
      await send('/createStream', { StreamName: 'dl', DeviceName: 'd'.repeat(129) }),
      "at 'deviceName'",
      'less than or equal to 128',
    );
    invalid(
      await send('/createStream', { StreamName: 'kl', KmsKeyId: 'k'.repeat(2049) }),
      "at 'kmsKeyId'",
      'less than or equal to 2048',
    );
    await sdkInvalid(
      kv.send(new DescribeStreamCommand({ StreamName: long })),
      /at 'streamName'.*Member must have length less than or equal to 256$/,
    );
    // 256 is the limit, not beyond it.
    assert.equal((await send('/createStream', { StreamName: 'n'.repeat(256) })).status, 200);
  });

  it('too short (the empty string)', async () => {
    invalid(
      await send('/describeStream', { StreamName: '' }),
      /^2 validation errors detected: /,
      "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    invalid(
      await send('/updateStream', { StreamName: 'valid', CurrentVersion: '' }),
      "at 'currentVersion'",
      'greater than or equal to 1',
    );
    await sdkInvalid(
      kv.send(new DescribeStreamCommand({ StreamName: '' })),
      /Member must have length greater than or equal to 1/,
    );
  });

  it('enum failure', async () => {
    const allowed =
      '[PUT_MEDIA, GET_MEDIA, LIST_FRAGMENTS, GET_MEDIA_FOR_FRAGMENT_LIST, GET_HLS_STREAMING_SESSION_URL, GET_DASH_STREAMING_SESSION_URL, GET_CLIP, GET_IMAGES]';
    invalid(
      await send('/getDataEndpoint', { StreamName: 'valid', APIName: 'NOPE' }),
      `1 validation error detected: Value 'NOPE' at 'aPIName' failed to satisfy constraint: Member must satisfy enum value set: ${allowed}`,
    );
    invalid(await send('/getDataEndpoint', { StreamName: 'valid', APIName: 'get_media' }), "at 'aPIName'");
    invalid(
      await send('/updateDataRetention', {
        StreamName: 'valid',
        CurrentVersion: version,
        Operation: 'DOUBLE',
        DataRetentionChangeInHours: 1,
      }),
      "at 'operation'",
      'INCREASE_DATA_RETENTION, DECREASE_DATA_RETENTION',
    );
    invalid(
      await send('/listStreams', { StreamNameCondition: { ComparisonOperator: 'ENDS_WITH', ComparisonValue: 'x' } }),
      "at 'streamNameCondition.comparisonOperator'",
      '[BEGINS_WITH]',
    );
    invalid(
      await send('/createStream', { StreamName: 'tier', StreamStorageConfiguration: { DefaultStorageTier: 'COLD' } }),
      "at 'streamStorageConfiguration.defaultStorageTier'",
    );
    await sdkInvalid(
      kv.send(new GetDataEndpointCommand({ StreamName: 'valid', APIName: 'NOPE' as 'GET_MEDIA' })),
      /at 'aPIName'.*enum value set/,
    );
  });

  it('range: DataRetentionInHours, DataRetentionChangeInHours, MaxResults', async () => {
    invalid(
      await send('/createStream', { StreamName: 'r1', DataRetentionInHours: -1 }),
      "Value '-1' at 'dataRetentionInHours' failed to satisfy constraint: Member must have value greater than or equal to 0",
    );
    invalid(
      await send('/createStream', { StreamName: 'r2', DataRetentionInHours: 87601 }),
      "Value '87601' at 'dataRetentionInHours' failed to satisfy constraint: Member must have value less than or equal to 87600",
    );
    invalid(await send('/listStreams', { MaxResults: 0 }), "Value '0' at 'maxResults'", 'greater than or equal to 1');
    invalid(
      await send('/listStreams', { MaxResults: 10001 }),
      "Value '10001' at 'maxResults'",
      'less than or equal to 10000',
    );
    const change = (h: number) => ({
      StreamName: 'valid',
      CurrentVersion: version,
      Operation: 'INCREASE_DATA_RETENTION',
      DataRetentionChangeInHours: h,
    });
    invalid(
      await send('/updateDataRetention', change(0)),
      "at 'dataRetentionChangeInHours'",
      'greater than or equal to 1',
    );
    invalid(
      await send('/updateDataRetention', change(87601)),
      "at 'dataRetentionChangeInHours'",
      'less than or equal to 87600',
    );
    await sdkInvalid(
      kv.send(new CreateStreamCommand({ StreamName: 'r3', DataRetentionInHours: -1 })),
      /at 'dataRetentionInHours'.*greater than or equal to 0$/,
    );
    await sdkInvalid(
      kv.send(new CreateStreamCommand({ StreamName: 'r4', DataRetentionInHours: 87601 })),
      /at 'dataRetentionInHours'.*less than or equal to 87600$/,
    );
    await sdkInvalid(
      kv.send(new ListStreamsCommand({ MaxResults: 0 })),
      /at 'maxResults'.*greater than or equal to 1$/,
    );
    await sdkInvalid(
      kv.send(new ListStreamsCommand({ MaxResults: 10001 })),
      /at 'maxResults'.*less than or equal to 10000$/,
    );
    await sdkInvalid(
      kv.send(
        new UpdateDataRetentionCommand({
          StreamName: 'valid',
          CurrentVersion: version,
          Operation: 'INCREASE_DATA_RETENTION',
          DataRetentionChangeInHours: 0,
        }),
      ),
      /at 'dataRetentionChangeInHours'/,
    );
    // The bounds themselves are fine.
    assert.equal((await send('/createStream', { StreamName: 'r5', DataRetentionInHours: 87600 })).status, 200);
    assert.equal((await send('/listStreams', { MaxResults: 10000 })).status, 200);
    assert.equal((await send('/listStreams', { MaxResults: 1 })).status, 200);
  });

  it('missing required members', async () => {
    invalid(
      await send('/deleteStream', {}),
      "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null",
    );
    invalid(
      await send('/deleteStream', { StreamName: 'valid' }),
      "Value null at 'streamARN'",
      'Member must not be null',
    );
    invalid(await send('/createStream', {}), "Value null at 'streamName'");
    invalid(await send('/updateStream', { StreamName: 'valid' }), "Value null at 'currentVersion'");
    invalid(await send('/getDataEndpoint', { StreamName: 'valid' }), "Value null at 'aPIName'");
    invalid(await send('/tagStream', { StreamName: 'valid' }), "Value null at 'tags'");
    invalid(await send('/untagStream', { StreamName: 'valid' }), "Value null at 'tagKeyList'");
    const r = await send('/updateDataRetention', { StreamName: 'valid' });
    invalid(r, /^3 validation errors detected: /, "'currentVersion'", "'operation'", "'dataRetentionChangeInHours'");
    await sdkInvalid(
      kv.send(new DeleteStreamCommand({} as { StreamARN: string })),
      "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null",
    );
    assert.equal(
      (await send('/describeStream', { StreamName: 'valid' })).status,
      200,
      'DeleteStream by name did nothing',
    );
  });

  it('neither StreamName nor StreamARN', async () => {
    for (const path of [
      '/describeStream',
      '/updateStream',
      '/updateDataRetention',
      '/tagStream',
      '/untagStream',
      '/listTagsForStream',
      '/getDataEndpoint',
    ]) {
      invalid(await send(path, {}), 'StreamName', 'StreamARN');
    }
    invalid(
      await send('/describeStream', { StreamName: null, StreamARN: null }),
      'Either StreamName or StreamARN must be specified',
    );
    await sdkInvalid(
      kv.send(new DescribeStreamCommand({})),
      '1 validation error detected: Either StreamName or StreamARN must be specified',
    );
  });

  it('tag key and value limits', async () => {
    const tag = (Tags: unknown) => send('/tagStream', { StreamARN: arn, Tags });
    invalid(await tag({ ['k'.repeat(129)]: 'v' }), 'Member must have length less than or equal to 128', '.key');
    invalid(await tag({ '': 'v' }), 'Member must have length greater than or equal to 1', '.key');
    invalid(
      await tag({ k: 'v'.repeat(257) }),
      "at 'tags.k.value'",
      'Member must have length less than or equal to 256',
    );
    invalid(await tag({ 'bad*key': 'v' }), "at 'tags.bad*key.key'", 'regular expression pattern');
    invalid(await tag({ k: 'bad#value' }), "at 'tags.k.value'", 'regular expression pattern');
    invalid(await tag({}), "at 'tags'", 'greater than or equal to 1');
    invalid(
      await send('/untagStream', { StreamARN: arn, TagKeyList: [] }),
      "at 'tagKeyList'",
      'greater than or equal to 1',
    );
    invalid(
      await send('/untagStream', { StreamARN: arn, TagKeyList: ['k'.repeat(129)] }),
      "at 'tagKeyList.1.member'",
      'less than or equal to 128',
    );
    await sdkInvalid(
      kv.send(new TagStreamCommand({ StreamARN: arn, Tags: { k: 'v'.repeat(257) } })),
      /at 'tags\.k\.value'/,
    );
    await sdkInvalid(kv.send(new UntagStreamCommand({ StreamARN: arn, TagKeyList: [] })), /at 'tagKeyList'/);
    // At the limits: accepted.
    assert.equal((await tag({ ['k'.repeat(128)]: 'v'.repeat(256), empty: '' })).status, 200);
    const back = await send('/listTagsForStream', { StreamARN: arn });
    assert.deepEqual(
      back.json?.Tags,
      { ['k'.repeat(128)]: 'v'.repeat(256), empty: '' },
      'refused requests stored nothing',
    );
  });

  it('too many tags in one request (51)', async () => {
    const tags51 = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
    invalid(
      await send('/tagStream', { StreamName: 'valid', Tags: tags51 }),
      "at 'tags'",
      'Member must have length less than or equal to 50',
    );
    invalid(
      await send('/createStream', { StreamName: 'many-tags', Tags: tags51 }),
      "at 'tags'",
      'less than or equal to 50',
    );
    invalid(
      await send('/untagStream', { StreamName: 'valid', TagKeyList: Object.keys(tags51) }),
      "at 'tagKeyList'",
      'less than or equal to 50',
    );
    await sdkInvalid(
      kv.send(new CreateStreamCommand({ StreamName: 'many-tags', Tags: tags51 })),
      /at 'tags'.*less than or equal to 50$/,
    );
    assert.equal((await send('/describeStream', { StreamName: 'many-tags' })).status, 404);
  });

  it('validation comes before the stream lookup (an invalid request about an unknown stream is a 400)', async () => {
    invalid(
      await send('/updateStream', { StreamName: 'no-such-stream', CurrentVersion: 'v', MediaType: 'nope' }),
      "at 'mediaType'",
    );
  });

  it('an oversized body (> 1 MiB) is an error, not a crash, with or without Content-Length', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20); // valid JSON whitespace, just too much of it
    assertError(await send('/createStream', big), 413, 'InvalidArgumentException', '1048576');
    // Chunked (no Content-Length), on a connection of its own.
    const chunked = await rawRequest('/createStream', { 'transfer-encoding': 'chunked' }, (req) => {
      for (let i = 0; i < 24; i++) req.write(Buffer.alloc(64 * 1024, 0x20));
      req.end();
    });
    statuses.push(chunked.status);
    assert.equal(chunked.status, 413);
    assert.equal(chunked.headers['x-amzn-errortype'], 'InvalidArgumentException');
    assert.equal(JSON.parse(chunked.body).__type, 'InvalidArgumentException');
    // A declared length over the limit is refused before the body is read.
    const declared = await rawRequest('/createStream', { 'content-length': String(50 * 1024 * 1024) }, (req) => {
      req.write('{"StreamName":'); // and never the remaining 50 MiB
    });
    statuses.push(declared.status);
    assert.equal(declared.status, 413);
    assert.equal(declared.headers['x-amzn-errortype'], 'InvalidArgumentException');
    assert.equal(JSON.parse(declared.body).__type, 'InvalidArgumentException');
    // Just under the limit is parsed (and is a normal validation error here).
    invalid(await send('/describeStream', `{"StreamName":"${'a'.repeat(1024 * 1024 - 20)}"}`), "at 'streamName'");
  });

  it('a 413 on a chunked body leaves the keep-alive connection usable (the next request is answered)', async () => {
    const { port, hostname } = new URL(kvsd.url);
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
    });
    let closed = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
    });
    socket.write('POST /describeStream HTTP/1.1\r\nHost: kvsd\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 24; i++) socket.write(`10000\r\n${' '.repeat(0x10000)}\r\n`);
    socket.write('0\r\n\r\n');
    socket.write(
      'POST /describeStream HTTP/1.1\r\nHost: kvsd\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{"StreamName":"valid"}',
    );
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !closed && (received.match(/HTTP\/1\.1 /g) ?? []).length < 2) await sleep(20);
    const closedByServer = closed;
    socket.destroy();
    const heads = received.match(/HTTP\/1\.1 \d+/g) ?? [];
    for (const h of heads) statuses.push(Number(h.slice(9)));
    assert.equal(heads[0], 'HTTP/1.1 413');
    // Either kvsd drains the rest of the body and answers the next request, or it closes the connection
    // (the client then retries on a new one). Leaving it open and deaf makes the next request hang.
    assert.ok(
      heads[1] === 'HTTP/1.1 200' || (heads.length === 1 && closedByServer),
      `after refusing an oversized chunked body kvsd must drain it or close the connection; got ${JSON.stringify(heads)}, closed=${closedByServer}`,
    );
  });

  it('an unknown path is a 404 JSON error', async () => {
    for (const path of ['/nope', '/', '/CreateStream', '/createStream/extra', '/getMediaForFragmentListX']) {
      assertError(await send(path, {}), 404, 'UnknownOperationException', path);
    }
    // A query string does not change the operation (restJson1 clients never send one here, but it is harmless).
    assert.equal((await send('/describeStream?x=1', { StreamName: 'valid' })).status, 200);
  });

  it('GET (or another method) on an operation path is a 404 JSON error', async () => {
    assertError(
      await send('/createStream', undefined, { method: 'GET' }),
      404,
      'UnknownOperationException',
      'GET /createStream',
    );
    assertError(
      await send('/describeStream', undefined, { method: 'PUT', body: '{}' }),
      404,
      'UnknownOperationException',
      'PUT',
    );
    assertError(await send('/health', '{}'), 404, 'UnknownOperationException', 'POST /health');
  });

  it('odd inputs on every path never produce a 500', async () => {
    const paths = [
      '/createStream',
      '/describeStream',
      '/listStreams',
      '/deleteStream',
      '/updateStream',
      '/updateDataRetention',
      '/tagStream',
      '/untagStream',
      '/listTagsForStream',
      '/getDataEndpoint',
    ];
    const bodies: (string | object)[] = [
      '{}',
      '[]',
      'null',
      '{"StreamName":{}}',
      '{"StreamARN":[]}',
      '{"StreamName":"valid","StreamARN":"arn:aws:kinesisvideo:us-east-1:000000000000:stream/x/1"}',
      '{"__proto__":{"StreamName":"valid"}}',
      '{"StreamName":"constructor"}',
      '{"StreamName":"__proto__"}',
      '{"MaxResults":1e308}',
      '{"MaxResults":-0}',
      '{"Tags":{"__proto__":"x"},"StreamName":"valid"}',
      `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      '{"StreamName":"\\ud800"}',
      {
        StreamName: 'valid',
        CurrentVersion: 'AAAAAAAAAAAAAAAAAAAA',
        TagKeyList: ['x'],
        Tags: { x: 'y' },
        APIName: 'GET_MEDIA',
      },
    ];
    for (const path of paths) {
      for (const body of bodies) {
        const r = await send(path, body);
        assert.ok(r.status < 500, `${path} ${JSON.stringify(body).slice(0, 80)} -> ${r.status} ${r.text}`);
        assert.ok(r.json, `${path}: a JSON body`);
        if (r.status >= 400) assertError(r, r.status, r.headers.get('x-amzn-errortype')!);
      }
    }
  });

  it('answered no 500 in this whole file, and the server is still healthy and working', async () => {
    assert.ok(statuses.length > 100, `sanity: ${statuses.length} responses recorded`);
    assert.deepEqual(
      statuses.filter((s) => s >= 500),
      [],
    );
    const health = await fetch(`${kvsd.url}/health`);
    assert.equal(health.status, 200);
    const created = await kv.send(new CreateStreamCommand({ StreamName: 'after-all-that' }));
    assert.match(created.StreamARN!, /stream\/after-all-that\//);
    assert.equal(
      (await kv.send(new DescribeStreamCommand({ StreamName: 'valid' }))).StreamInfo?.Version,
      version,
      'the stream the test poked at is unchanged',
    );
    assert.ok(!kvsd.output().includes('unhandled error'), 'no internal error was logged');
  });
});
