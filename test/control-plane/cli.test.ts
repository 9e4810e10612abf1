/**
 * The control plane through the Python clients: the AWS CLI v2 (/usr/bin/aws) and boto3 (/usr/bin/python3),
 * both botocore underneath, with --endpoint-url / endpoint_url pointing at kvsd. A CLI call costs ~0.7 s
 * of CPU, so the CLI covers each operation once (independent calls in parallel) and the finer error and
 * pagination checks run through boto3, as one script.
 */
// needs: aws, boto3
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AWS, PYTHON, awsEnv, run as runTool, type Run } from '../helpers/cli.js';
import { startKvsd, type KvsdProcess } from '../helpers/server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NOT_FOUND = 'The requested stream is not found or not active.';

let kvsd: KvsdProcess;
before(async () => {
  kvsd = await startKvsd({ args: ['--quiet'] });
});
after(async () => {
  await kvsd?.dispose();
});

/** The shared tool runner, with the AWS CLI's environment pointed at kvsd. */
const run = (file: string, args: string[], stdin?: string): Promise<Run> =>
  runTool(file, args, { stdin, env: awsEnv(), timeoutMs: 60_000 });

/** `aws kinesisvideo <args> --endpoint-url <kvsd> --output json`. */
const aws = (...args: string[]) => run(AWS, ['kinesisvideo', ...args, '--endpoint-url', kvsd.url, '--output', 'json']);

/** Runs the CLI and parses its JSON output, failing with the CLI's stderr if it did not succeed. */
async function awsJson<T = Record<string, any>>(...args: string[]): Promise<T> {
  const r = await aws(...args);
  assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
}

/** A service error as the CLI reports it: exit code 254 and the code and message on stderr. */
function assertCliError(r: Run, code: string, operation: string, message?: string) {
  assert.equal(r.code, 254, `exit code for a service error; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.includes(`An error occurred (${code}) when calling the ${operation} operation`), r.stderr);
  if (message) assert.ok(r.stderr.includes(message), r.stderr);
}

/** ISO-8601 with microseconds, as CLI v2 prints timestamps, to epoch ms. */
const isoMs = (iso: string) => Date.parse(iso);

describe('AWS CLI v2 (aws kinesisvideo)', () => {
  it('runs the control plane end to end, errors included', async () => {
    // 1. Create two streams; an unknown stream is an error (exit code 254, code and message on stderr).
    const [createdA, createdB, unknown] = await Promise.all([
      awsJson(
        'create-stream',
        '--stream-name',
        'cli-a',
        '--device-name',
        'cli-device',
        '--media-type',
        'video/h264',
        '--data-retention-in-hours',
        '2',
        '--tags',
        'team=video,env=test',
      ),
      awsJson('create-stream', '--stream-name', 'cli-b'),
      aws('describe-stream', '--stream-name', 'cli-nope'),
    ]);
    assert.match(createdA.StreamARN, /^arn:aws:kinesisvideo:us-east-1:000000000000:stream\/cli-a\/\d{13}$/);
    assert.match(createdB.StreamARN, /^arn:aws:kinesisvideo:us-east-1:000000000000:stream\/cli-b\/\d{13}$/);
    assertCliError(unknown, 'ResourceNotFoundException', 'DescribeStream', NOT_FOUND);

    // 2. Read back: describe, list (the CLI paginates: one stream per page), endpoint, tags; tag the other.
    const [described, listed, endpoint, tagsA, tagged] = await Promise.all([
      awsJson('describe-stream', '--stream-arn', createdA.StreamARN),
      awsJson(
        'list-streams',
        '--stream-name-condition',
        'ComparisonOperator=BEGINS_WITH,ComparisonValue=cli-',
        '--page-size',
        '1',
      ),
      awsJson('get-data-endpoint', '--stream-name', 'cli-a', '--api-name', 'GET_MEDIA'),
      awsJson('list-tags-for-stream', '--stream-name', 'cli-a'),
      aws('tag-stream', '--stream-arn', createdB.StreamARN, '--tags', 'owner=cli,colour=blue'),
    ]);
    const a = described.StreamInfo;
    assert.equal(a.StreamName, 'cli-a');
    assert.equal(a.StreamARN, createdA.StreamARN);
    assert.equal(a.DeviceName, 'cli-device');
    assert.equal(a.MediaType, 'video/h264');
    assert.equal(a.DataRetentionInHours, 2);
    assert.equal(a.Status, 'ACTIVE');
    assert.equal(a.KmsKeyId, 'arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo');
    assert.match(a.Version, /^[a-zA-Z0-9]{20}$/);
    assert.equal(
      isoMs(a.CreationTime),
      Number(createdA.StreamARN.split('/').pop()),
      'CreationTime keeps its milliseconds',
    );
    assert.deepEqual(
      listed.StreamInfoList.map((s: { StreamName: string }) => s.StreamName),
      ['cli-a', 'cli-b'],
      'the CLI followed NextToken across pages of one',
    );
    assert.equal(listed.NextToken, undefined);
    assert.deepEqual(listed.StreamInfoList[0], a);
    assert.equal(endpoint.DataEndpoint, kvsd.url);
    assert.deepEqual(tagsA.Tags, { team: 'video', env: 'test' });
    assert.equal(tagged.code, 0, tagged.stderr);
    const versionA = a.Version as string;
    const versionB = listed.StreamInfoList[1].Version as string;

    // 3. Change: update-stream, update-data-retention; read the tags set in step 2.
    const [updated, retained, tagsB] = await Promise.all([
      aws('update-stream', '--stream-name', 'cli-a', '--current-version', versionA, '--media-type', 'video/h265'),
      aws(
        'update-data-retention',
        '--stream-name',
        'cli-b',
        '--current-version',
        versionB,
        '--operation',
        'INCREASE_DATA_RETENTION',
        '--data-retention-change-in-hours',
        '5',
      ),
      awsJson('list-tags-for-stream', '--stream-arn', createdB.StreamARN),
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout.trim(), '', 'update-stream prints nothing (empty output)');
    assert.equal(retained.code, 0, retained.stderr);
    assert.deepEqual(tagsB.Tags, { owner: 'cli', colour: 'blue' });

    // 4. The changes are visible (new versions); a stale version is refused.
    const [afterUpdate, stale] = await Promise.all([
      awsJson('list-streams', '--stream-name-condition', 'ComparisonOperator=BEGINS_WITH,ComparisonValue=cli-'),
      aws('update-stream', '--stream-name', 'cli-a', '--current-version', versionA, '--device-name', 'stale'),
    ]);
    const [a2, b2] = afterUpdate.StreamInfoList;
    assert.equal(a2.MediaType, 'video/h265');
    assert.equal(a2.DeviceName, 'cli-device');
    assert.notEqual(a2.Version, versionA);
    assert.equal(b2.DataRetentionInHours, 5);
    assert.notEqual(b2.Version, versionB);
    assertCliError(stale, 'VersionMismatchException', 'UpdateStream');

    // 5. Delete: one with its current version, one without.
    const [delA, delB] = await Promise.all([
      aws('delete-stream', '--stream-arn', createdA.StreamARN, '--current-version', a2.Version),
      aws('delete-stream', '--stream-arn', createdB.StreamARN),
    ]);
    assert.equal(delA.code, 0, delA.stderr);
    assert.equal(delB.code, 0, delB.stderr);

    // 6. Gone: not described, not listed.
    const [goneA, none] = await Promise.all([
      aws('describe-stream', '--stream-arn', createdA.StreamARN),
      awsJson('list-streams', '--stream-name-condition', 'ComparisonOperator=BEGINS_WITH,ComparisonValue=cli-'),
    ]);
    assertCliError(goneA, 'ResourceNotFoundException', 'DescribeStream', NOT_FOUND);
    assert.deepEqual(none.StreamInfoList, []);
  });
});

const BOTO3_SCRIPT = String.raw`
import json, sys
import boto3, botocore
from botocore.config import Config

c = boto3.client('kinesisvideo', endpoint_url=sys.argv[1], region_name='us-east-1',
                 config=Config(retries={'max_attempts': 1, 'mode': 'standard'}))
out = {}

def err(fn, **kw):
    try:
        fn(**kw)
        return None
    except botocore.exceptions.ClientError as e:
        return {'code': e.response['Error']['Code'], 'message': e.response['Error'].get('Message'),
                'status': e.response['ResponseMetadata']['HTTPStatusCode'],
                'requestId': e.response['ResponseMetadata'].get('RequestId')}

created = c.create_stream(StreamName='py-a', DataRetentionInHours=3, MediaType='video/h264', Tags={'k': 'v'})
out['arn'] = created['StreamARN']
out['createRequestId'] = created['ResponseMetadata']['RequestId']
for name in ['py-b', 'py-c', 'py-d', 'py-e']:
    c.create_stream(StreamName=name)

info = c.describe_stream(StreamName='py-a')['StreamInfo']
out['describe'] = {k: (v.timestamp() if k == 'CreationTime' else v) for k, v in info.items()}
out['describeByArn'] = c.describe_stream(StreamARN=out['arn'])['StreamInfo']['StreamName']

pages = c.get_paginator('list_streams').paginate(
    StreamNameCondition={'ComparisonOperator': 'BEGINS_WITH', 'ComparisonValue': 'py-'},
    PaginationConfig={'PageSize': 2})
out['pages'] = [[s['StreamName'] for s in p['StreamInfoList']] for p in pages]

out['endpoints'] = sorted({c.get_data_endpoint(StreamName='py-a', APIName=api)['DataEndpoint']
                           for api in ['PUT_MEDIA', 'GET_MEDIA', 'LIST_FRAGMENTS', 'GET_MEDIA_FOR_FRAGMENT_LIST']})

c.tag_stream(StreamARN=out['arn'], Tags={'k2': 'v2'})
out['tags'] = c.list_tags_for_stream(StreamName='py-a')['Tags']

version = info['Version']
c.update_stream(StreamName='py-a', CurrentVersion=version, DeviceName='py-device')
out['stale'] = err(c.update_stream, StreamName='py-a', CurrentVersion=version, DeviceName='again')
after = c.describe_stream(StreamName='py-a')['StreamInfo']
c.update_data_retention(StreamARN=out['arn'], CurrentVersion=after['Version'],
                        Operation='DECREASE_DATA_RETENTION', DataRetentionChangeInHours=1)
out['afterUpdate'] = {k: after[k] for k in ('DeviceName', 'Version')}
out['retention'] = c.describe_stream(StreamName='py-a')['StreamInfo']['DataRetentionInHours']

out['dup'] = err(c.create_stream, StreamName='py-b')
out['pattern'] = err(c.describe_stream, StreamName='a b')
out['tooMany'] = err(c.list_streams, MaxResults=10001)

c.delete_stream(StreamARN=out['arn'])
out['deletedByName'] = err(c.describe_stream, StreamName='py-a')
out['deletedByArn'] = err(c.describe_stream, StreamARN=out['arn'])
try:
    c.describe_stream(StreamName='py-a')
    out['modeledClass'] = False
except c.exceptions.ResourceNotFoundException:
    out['modeledClass'] = True
out['remaining'] = [s['StreamName'] for s in c.list_streams()['StreamInfoList']]
print(json.dumps(out))
`;

describe('boto3', () => {
  it('creates, describes, lists with the paginator, updates, deletes, and reports error codes', async () => {
    const r = await run(PYTHON, ['-c', BOTO3_SCRIPT, kvsd.url]);
    assert.equal(r.code, 0, `python failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout);

    assert.match(out.arn, /^arn:aws:kinesisvideo:us-east-1:000000000000:stream\/py-a\/(\d{13})$/);
    assert.match(out.createRequestId, UUID);
    const d = out.describe;
    assert.equal(d.StreamName, 'py-a');
    assert.equal(d.StreamARN, out.arn);
    assert.equal(d.MediaType, 'video/h264');
    assert.equal(d.DataRetentionInHours, 3);
    assert.equal(d.Status, 'ACTIVE');
    assert.equal(d.KmsKeyId, 'arn:aws:kms:us-east-1:000000000000:alias/aws/kinesisvideo');
    assert.match(d.Version, /^[a-zA-Z0-9]{20}$/);
    assert.equal(
      Math.round(d.CreationTime * 1000),
      Number(out.arn.split('/').pop()),
      'CreationTime parsed with its milliseconds',
    );
    assert.equal(out.describeByArn, 'py-a');

    assert.deepEqual(out.pages, [['py-a', 'py-b'], ['py-c', 'py-d'], ['py-e']], 'the paginator followed NextToken');
    assert.deepEqual(out.endpoints, [kvsd.url]);
    assert.deepEqual(out.tags, { k: 'v', k2: 'v2' });

    assert.deepEqual(
      { ...out.stale, requestId: undefined },
      { code: 'VersionMismatchException', message: out.stale.message, status: 400, requestId: undefined },
    );
    assert.match(out.stale.requestId, UUID);
    assert.equal(out.afterUpdate.DeviceName, 'py-device');
    assert.notEqual(out.afterUpdate.Version, d.Version);
    assert.equal(out.retention, 2);

    assert.equal(out.dup.code, 'ResourceInUseException');
    assert.equal(out.dup.status, 400);
    assert.equal(out.pattern.code, 'InvalidArgumentException');
    assert.equal(
      out.pattern.message,
      "1 validation error detected: Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
    assert.equal(out.tooMany.code, 'InvalidArgumentException');
    assert.match(out.tooMany.message, /maxResults/);

    for (const e of [out.deletedByName, out.deletedByArn]) {
      assert.equal(e.code, 'ResourceNotFoundException');
      assert.equal(e.message, NOT_FOUND);
      assert.equal(e.status, 404);
      assert.match(e.requestId, UUID);
    }
    assert.equal(
      out.modeledClass,
      true,
      "boto3's modeled exception class c.exceptions.ResourceNotFoundException is raised",
    );
    assert.deepEqual(out.remaining, ['py-b', 'py-c', 'py-d', 'py-e']);
  });
});
