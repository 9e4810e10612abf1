/**
 * The AWS SDK v3 clients pointed at a kvsd, and the control-plane and ListFragments calls that tests use to
 * set up and check: creating and deleting streams, listing every fragment of a stream.
 */
import { CreateStreamCommand, DeleteStreamCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import {
  KinesisVideoArchivedMediaClient,
  paginateListFragments,
  type Fragment,
} from '@aws-sdk/client-kinesis-video-archived-media';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What tests sign with when kvsd runs without --auth (it then takes any signature). */
export const TEST_CREDENTIALS: Credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'kvsd-test-secret' };

/** SDK client configuration for a kvsd URL. */
export function clientConfig(url: string) {
  return { endpoint: url, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 };
}

export function sdk(url: string) {
  return {
    kv: new KinesisVideoClient(clientConfig(url)),
    am: new KinesisVideoArchivedMediaClient(clientConfig(url)),
  };
}

/** CreateStream; `credentials` for a kvsd with --auth (a principal allowed to create it). Returns the ARN. */
export async function createStream(
  url: string,
  name: string,
  retentionHours = 24,
  credentials: Credentials = TEST_CREDENTIALS,
): Promise<string> {
  const kv = new KinesisVideoClient({ ...clientConfig(url), credentials });
  try {
    const input = { StreamName: name, DataRetentionInHours: retentionHours };
    const out = await kv.send(new CreateStreamCommand(input));
    return out.StreamARN!;
  } finally {
    kv.destroy();
  }
}

export async function deleteStream(url: string, arn: string): Promise<void> {
  const kv = new KinesisVideoClient(clientConfig(url));
  try {
    await kv.send(new DeleteStreamCommand({ StreamARN: arn }));
  } finally {
    kv.destroy();
  }
}

/**
 * Every fragment ListFragments lists for the stream (SERVER_TIMESTAMP over all time, through the SDK's
 * paginator, `pageSize` per page), in fragment-number order.
 */
export async function listAll(url: string, stream: string, opts: { pageSize?: number } = {}): Promise<Fragment[]> {
  const client = new KinesisVideoArchivedMediaClient(clientConfig(url));
  try {
    const out: Fragment[] = [];
    for await (const page of paginateListFragments(
      { client, pageSize: opts.pageSize ?? 100 },
      {
        StreamName: stream,
        FragmentSelector: {
          FragmentSelectorType: 'SERVER_TIMESTAMP',
          TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 3_600_000) },
        },
      },
    ))
      out.push(...(page.Fragments ?? []));
    return out.sort((a, b) => (a.FragmentNumber! < b.FragmentNumber! ? -1 : 1));
  } finally {
    client.destroy();
  }
}
