/**
 * SigV4 authentication with --auth: every real client signing with a known key is accepted (JS SDK v3, AWS CLI
 * v2, boto3, curl --aws-sigv4, PutMediaClient), and every way of getting it wrong is refused with AWS's code,
 * status and wording: unknown key, wrong secret, a clock off by more than 5 minutes, a body altered after
 * signing or replayed under another body, no Authorization at all. Also: nothing secret reaches the log.
 */
// needs: aws, boto3, curl
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CreateStreamCommand, DescribeStreamCommand, ListStreamsCommand } from '@aws-sdk/client-kinesis-video';
import { ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { AWS, CLI, PYTHON } from '../helpers/cli.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';
import {
  ADMIN,
  ALL_SECRETS,
  archived,
  assertSdkError,
  authFile,
  awsEnvFor,
  CAMERA,
  controlPlane,
  createStream,
  curlJson,
  errorOf,
  type Key,
  mkv,
  putMedia,
  rawRequest,
  run,
  sha256Hex,
  signJson,
  writeTempFile,
} from './helpers.js';
import { KvsServiceError } from '../../src/client/putMediaClient.js';
import { tokenKeyOf } from '../helpers/storedState.js';

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const WRONG_SECRET: Key = { accessKeyId: ADMIN.accessKeyId, secretAccessKey: 'not-the-secret-at-all-0123456789' };
const UNKNOWN_KEY: Key = { accessKeyId: 'AKIDNOBODYKNOWS', secretAccessKey: ADMIN.secretAccessKey };

let kvsd: KvsdProcess;
let streamArn: string;
before(async () => {
  // Logging stays on: the last test reads the log for secrets.
  kvsd = await startKvsd({ args: ['--auth', authFile()] });
  streamArn = await createStream(kvsd.url, 'cam-1');
});
after(async () => {
  await kvsd?.dispose();
});

describe('JS SDK v3', () => {
  it('accepts the right key and refuses an unknown key and a wrong secret', async () => {
    const ok = controlPlane(kvsd.url, ADMIN);
    const described = await ok.send(new DescribeStreamCommand({ StreamName: 'cam-1' }));
    assert.equal(described.StreamInfo?.StreamARN, streamArn);
    await assertSdkError(
      controlPlane(kvsd.url, UNKNOWN_KEY).send(new DescribeStreamCommand({ StreamName: 'cam-1' })),
      'UnrecognizedClientException',
      403,
      INVALID_TOKEN,
      'unknown key',
    );
    await assertSdkError(
      controlPlane(kvsd.url, WRONG_SECRET).send(new DescribeStreamCommand({ StreamName: 'cam-1' })),
      'InvalidSignatureException',
      403,
      MISMATCH,
      'wrong secret',
    );
    // The archived-media client signs the same way (another service model, same signing name).
    const listed = await archived(kvsd.url, ADMIN).send(
      new ListFragmentsCommand({
        StreamName: 'cam-1',
        FragmentSelector: {
          FragmentSelectorType: 'SERVER_TIMESTAMP',
          TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date() },
        },
      }),
    );
    assert.deepEqual(listed.Fragments, []);
  });

  it('refuses a clock more than 5 minutes off, either way, and accepts one 4 minutes off', async () => {
    const past = await assertSdkError(
      controlPlane(kvsd.url, ADMIN, { systemClockOffset: -10 * 60_000 }).send(new ListStreamsCommand({})),
      'InvalidSignatureException',
      403,
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
      'clock 10 min behind',
    );
    // The times quoted are x-amz-date, now - 5 min and now.
    const [, signed, limit, now] = /expired: (\S+) is now earlier than (\S+) \((\S+) - 5 min/.exec(past.message)!;
    const ms = (t: string) =>
      Date.parse(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`);
    assert.equal(ms(now!) - ms(limit!), 5 * 60_000);
    assert.ok(Math.abs(ms(now!) - ms(signed!) - 10 * 60_000) < 5_000, past.message);

    await assertSdkError(
      controlPlane(kvsd.url, ADMIN, { systemClockOffset: 10 * 60_000 }).send(new ListStreamsCommand({})),
      'InvalidSignatureException',
      403,
      /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/,
      'clock 10 min ahead',
    );
    const fine = await controlPlane(kvsd.url, ADMIN, { systemClockOffset: -4 * 60_000 }).send(
      new ListStreamsCommand({}),
    );
    assert.equal(fine.StreamInfoList?.length, 1);
  });

  it('refuses a body altered after signing', async () => {
    const client = controlPlane(kvsd.url, ADMIN);
    // The deserialize step runs after signing (finalizeRequest): change one character of the signed body.
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = (args as { request: { body: string } }).request;
        request.body = request.body.replace('tamper-a', 'tamper-b');
        return next(args);
      },
      { step: 'deserialize', name: 'tamperAfterSigning' },
    );
    await assertSdkError(
      client.send(new CreateStreamCommand({ StreamName: 'tamper-a' })),
      'InvalidSignatureException',
      403,
      MISMATCH,
    );
    await assertSdkError(
      controlPlane(kvsd.url, ADMIN).send(new DescribeStreamCommand({ StreamName: 'tamper-b' })),
      'ResourceNotFoundException',
      404,
      undefined,
      'the tampered request created nothing',
    );
  });
});

describe('raw requests signed with @smithy/signature-v4', () => {
  const body = JSON.stringify({ StreamName: 'cam-1' });
  const other = JSON.stringify({ StreamName: 'cam-2' });

  it('accepts a request as signed, and refuses it replayed with another body (botocore style: hash signed, not sent)', async () => {
    const headers = await signJson(kvsd.url, '/describeStream', body, ADMIN);
    assert.equal(headers['x-amz-content-sha256'], undefined);
    const ok = await rawRequest(kvsd.url, '/describeStream', { headers, body });
    assert.equal(ok.status, 200, ok.body);
    const replay = await rawRequest(kvsd.url, '/describeStream', { headers, body: other });
    assert.equal(replay.status, 403);
    assert.deepEqual(errorOf(replay), { code: 'InvalidSignatureException', message: MISMATCH });
  });

  it('refuses a body that does not match its signed x-amz-content-sha256 (JS SDK style)', async () => {
    const headers = await signJson(kvsd.url, '/describeStream', body, ADMIN, { withContentSha: true });
    assert.equal(headers['x-amz-content-sha256'], sha256Hex(body));
    assert.equal((await rawRequest(kvsd.url, '/describeStream', { headers, body })).status, 200);
    const replay = await rawRequest(kvsd.url, '/describeStream', { headers, body: other });
    assert.equal(replay.status, 403);
    assert.deepEqual(errorOf(replay), { code: 'InvalidSignatureException', message: MISMATCH });
    // Declaring the hash of the new body does not help: the signature covers the declared hash.
    const redeclared = await rawRequest(kvsd.url, '/describeStream', {
      headers: { ...headers, 'x-amz-content-sha256': sha256Hex(other) },
      body: other,
    });
    assert.deepEqual(errorOf(redeclared), { code: 'InvalidSignatureException', message: MISMATCH });
  });

  it('refuses a request signed at a fixed old date', async () => {
    const headers = await signJson(kvsd.url, '/describeStream', body, ADMIN, {
      signingDate: new Date('2020-01-01T00:00:00Z'),
    });
    const res = await rawRequest(kvsd.url, '/describeStream', { headers, body });
    assert.equal(res.status, 403);
    const e = errorOf(res);
    assert.equal(e.code, 'InvalidSignatureException');
    assert.match(
      e.message,
      /^Signature expired: 20200101T000000Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
  });

  it('refuses a request without Authorization, a malformed one, and one scoped to another service', async () => {
    const none = await rawRequest(kvsd.url, '/describeStream', {
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(none.status, 403);
    assert.deepEqual(errorOf(none), {
      code: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    const bad = await rawRequest(kvsd.url, '/describeStream', {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'x-amz-date': '20240101T000000Z' },
      body,
    });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'IncompleteSignatureException');
    const headers = await signJson(kvsd.url, '/describeStream', body, ADMIN);
    headers.authorization = headers.authorization!.replace('/kinesisvideo/', '/s3/');
    const s3 = await rawRequest(kvsd.url, '/describeStream', { headers, body });
    assert.equal(s3.status, 403);
    assert.equal(errorOf(s3).code, 'InvalidSignatureException');
  });
});

describe('AWS CLI v2, boto3 and curl', () => {
  it('AWS CLI v2: right key accepted, unknown key and wrong secret refused', async () => {
    const cli = (key: Key) =>
      run(
        AWS,
        ['kinesisvideo', 'describe-stream', '--stream-name', 'cam-1', '--endpoint-url', kvsd.url, '--output', 'json'],
        awsEnvFor(key),
      );
    const [ok, unknown, wrong] = await Promise.all([cli(ADMIN), cli(UNKNOWN_KEY), cli(WRONG_SECRET)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).StreamInfo.StreamARN, streamArn);
    assert.equal(unknown.code, 254);
    assert.ok(
      unknown.stderr.includes(
        `An error occurred (UnrecognizedClientException) when calling the DescribeStream operation: ${INVALID_TOKEN}`,
      ),
      unknown.stderr,
    );
    assert.equal(wrong.code, 254);
    assert.ok(
      wrong.stderr.includes(
        `An error occurred (InvalidSignatureException) when calling the DescribeStream operation: ${MISMATCH}`,
      ),
      wrong.stderr,
    );
  });

  it('boto3: right key accepted (control plane and archived media), unknown key and wrong secret refused', async () => {
    const script = `
import json, sys, boto3, datetime
from botocore.exceptions import ClientError
url = sys.argv[1]
def client(service, key, secret):
    return boto3.client(service, endpoint_url=url, region_name='us-east-1', aws_access_key_id=key, aws_secret_access_key=secret)
out = {}
kv = client('kinesisvideo', sys.argv[2], sys.argv[3])
out['arn'] = kv.describe_stream(StreamName='cam-1')['StreamInfo']['StreamARN']
am = client('kinesis-video-archived-media', sys.argv[2], sys.argv[3])
out['fragments'] = am.list_fragments(StreamName='cam-1', FragmentSelector={'FragmentSelectorType': 'SERVER_TIMESTAMP',
    'TimestampRange': {'StartTimestamp': datetime.datetime(2020, 1, 1), 'EndTimestamp': datetime.datetime(2030, 1, 1)}})['Fragments']
for name, key, secret in [('unknown', sys.argv[4], sys.argv[3]), ('wrong', sys.argv[2], sys.argv[5])]:
    try:
        client('kinesisvideo', key, secret).describe_stream(StreamName='cam-1')
        out[name] = 'accepted'
    except ClientError as e:
        out[name] = [e.response['Error']['Code'], e.response['Error']['Message'], e.response['ResponseMetadata']['HTTPStatusCode']]
print(json.dumps(out))
`;
    const r = await run(
      PYTHON,
      [
        '-c',
        script,
        kvsd.url,
        ADMIN.accessKeyId,
        ADMIN.secretAccessKey,
        UNKNOWN_KEY.accessKeyId,
        WRONG_SECRET.secretAccessKey,
      ],
      { AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.arn, streamArn);
    assert.deepEqual(out.fragments, []);
    assert.deepEqual(out.unknown, ['UnrecognizedClientException', INVALID_TOKEN, 403]);
    assert.deepEqual(out.wrong, ['InvalidSignatureException', MISMATCH, 403]);
  });

  it('curl --aws-sigv4: right key accepted, wrong secret and unsigned refused', async () => {
    const body = JSON.stringify({ StreamName: 'cam-1' });
    const [ok, wrong, unsigned] = await Promise.all([
      curlJson(kvsd.url, '/describeStream', body, ADMIN),
      curlJson(kvsd.url, '/describeStream', body, WRONG_SECRET),
      curlJson(kvsd.url, '/describeStream', body),
    ]);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).StreamInfo.StreamARN, streamArn);
    assert.equal(wrong.status, 403);
    assert.equal(JSON.parse(wrong.body).__type, 'InvalidSignatureException');
    assert.equal(unsigned.status, 403);
    assert.equal(JSON.parse(unsigned.body).__type, 'MissingAuthenticationTokenException');
  });
});

describe('PutMedia', () => {
  it('PutMediaClient (empty-payload hash, like the C producer): right key ingests, wrong keys are refused before any ack', async () => {
    const acks = await putMedia(kvsd.url, CAMERA, 'cam-1', mkv(2, Date.now() - 10_000));
    assert.equal(acks.filter((a) => a.EventType === 'PERSISTED').length, 2, JSON.stringify(acks));
    for (const [key, code] of [
      [WRONG_SECRET, 'InvalidSignatureException'],
      [UNKNOWN_KEY, 'UnrecognizedClientException'],
    ] as const) {
      await assert.rejects(putMedia(kvsd.url, key, 'cam-1', mkv(1, Date.now())), (err: unknown) => {
        assert.ok(err instanceof KvsServiceError, String(err));
        assert.equal(err.code, code);
        assert.equal(err.statusCode, 403);
        return true;
      });
    }
  });

  it('curl --aws-sigv4 with x-amz-content-sha256: UNSIGNED-PAYLOAD ingests; a signed body hash kvsd cannot check is refused', async () => {
    const file = writeTempFile('media.mkv', mkv(1, Date.now() - 5_000));
    const curl = (key: Key, sha?: string) =>
      run('curl', [
        '-sS',
        '--aws-sigv4',
        'aws:amz:us-east-1:kinesisvideo',
        '--user',
        `${key.accessKeyId}:${key.secretAccessKey}`,
        '-H',
        'content-type: application/octet-stream',
        '-H',
        'x-amzn-stream-name: cam-1',
        '-H',
        'x-amzn-fragment-timecode-type: ABSOLUTE',
        ...(sha ? ['-H', `x-amz-content-sha256: ${sha}`] : []),
        '--data-binary',
        `@${file}`,
        `${kvsd.url}/putMedia`,
      ]);
    const ok = await curl(CAMERA, 'UNSIGNED-PAYLOAD');
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(
      ok.stdout.split('\n').some((l) => l.includes('"PERSISTED"')),
      ok.stdout,
    );
    const hashed = await curl(CAMERA, sha256Hex(readFileSync(file)));
    assert.equal(JSON.parse(hashed.stdout).__type, 'InvalidSignatureException', hashed.stdout);
  });
});

describe('secrets', () => {
  it('never appear in the log, nor does the token key; a broken auth file is reported without its content', async () => {
    // Some more traffic that fails in every way first.
    await assertSdkError(
      controlPlane(kvsd.url, WRONG_SECRET).send(new ListStreamsCommand({})),
      'InvalidSignatureException',
      403,
    );
    await assertSdkError(
      controlPlane(kvsd.url, CAMERA).send(new ListStreamsCommand({})),
      'NotAuthorizedException',
      401,
    );
    const log = kvsd.output();
    assert.ok(log.includes('"principal":"admin"'), 'the log names principals');
    for (const secret of [...ALL_SECRETS, WRONG_SECRET.secretAccessKey])
      assert.ok(!log.includes(secret), 'a secret key is in the log');
    const tokenKey = await tokenKeyOf(kvsd.dataDir);
    assert.ok(tokenKey.length >= 64);
    assert.ok(!log.includes(tokenKey), 'the token key is in the log');
    assert.ok(!/Signature=|authorization/i.test(log), 'no Authorization header in the log');

    // A file that is not valid JSON: the error says where, not what.
    const broken = writeTempFile(
      'broken.json',
      `{"principals":[{"name":"a","accessKeyId":"AKID","secretAccessKey":"${ADMIN.secretAccessKey}",}]}`,
    );
    const r = spawnSync(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--data-dir', join(kvsd.dataDir, 'other'), '--auth', broken],
      { encoding: 'utf8', timeout: 15_000 },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /not valid JSON/);
    assert.ok(!r.stderr.includes(ADMIN.secretAccessKey) && !r.stdout.includes(ADMIN.secretAccessKey), r.stderr);
  });
});
