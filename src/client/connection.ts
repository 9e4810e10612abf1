/** What `kvsd put` and `kvsd seed --endpoint` share to reach a KVS endpoint: options, credentials, --create. */
import { callJson, KvsServiceError, type ClientOptions } from './putMediaClient.js';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4568';

/** The endpoint and signing region given (or their defaults), credentials from the AWS_* variables (kvsd without --auth accepts any). */
export function clientOptions(endpoint: string | undefined, region: string | undefined): ClientOptions {
  return {
    endpoint: endpoint ?? DEFAULT_ENDPOINT,
    region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'kvsd',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'kvsd',
      ...(process.env.AWS_SESSION_TOKEN && { sessionToken: process.env.AWS_SESSION_TOKEN }),
    },
  };
}

/** --create: CreateStream with 24 h retention; a stream of that name that already exists is used as it is. */
export async function createStreamIfMissing(opts: ClientOptions, streamName: string): Promise<void> {
  try {
    await callJson(opts, '/createStream', { StreamName: streamName, DataRetentionInHours: 24 });
  } catch (err) {
    if (!(err instanceof KvsServiceError && err.code === 'ResourceInUseException')) throw err;
  }
}
