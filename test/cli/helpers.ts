/**
 * Shared by the tests of the kvsd command line (which run it with test/helpers/cli.ts): the README's ffmpeg
 * recipe, ListFragments through the SDK with any selector, and the acks `kvsd put` prints.
 */
// needs: ffmpeg
import {
  KinesisVideoArchivedMediaClient,
  paginateListFragments,
  type Fragment,
  type FragmentSelectorType,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { cached } from '../helpers/media.js';
import { clientConfig } from '../helpers/sdk.js';

/**
 * The README's "First steps" ffmpeg recipe (10 s of testsrc, a keyframe and so a fragment every 2 s), written
 * to a cached file: cluster timecodes start at 0. `audio` adds the 440 Hz AAC track; `extra` more ffmpeg options.
 */
export function readmeRecipeFile(opts: { seconds?: number; audio?: boolean; extra?: string[] } = {}): Promise<string> {
  const { seconds = 10, audio = false, extra = [] } = opts;
  return cached('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=640x360:rate=25',
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440'] : []),
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    ...extra,
    '-g',
    '50',
    '-keyint_min',
    '50',
    '-sc_threshold',
    '0',
    ...(audio ? ['-c:a', 'aac'] : []),
    '-f',
    'matroska',
    '-live',
    '1',
    '-cluster_time_limit',
    '10000',
    '-cluster_size_limit',
    '100000000',
    '-',
  ]);
}

/** Every fragment ListFragments returns for the selector and range, through the SDK's paginator. */
export async function listFragments(
  url: string,
  stream: string,
  type: FragmentSelectorType,
  start: Date,
  end: Date,
): Promise<Fragment[]> {
  const client = new KinesisVideoArchivedMediaClient(clientConfig(url));
  try {
    const out: Fragment[] = [];
    for await (const page of paginateListFragments(
      { client, pageSize: 1000 },
      {
        StreamName: stream,
        FragmentSelector: { FragmentSelectorType: type, TimestampRange: { StartTimestamp: start, EndTimestamp: end } },
      },
    ))
      out.push(...(page.Fragments ?? []));
    return out;
  } finally {
    client.destroy();
  }
}

/** The JSON acknowledgement lines `kvsd put` printed. */
export const acksOf = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { EventType: string; FragmentNumber?: string; ErrorId?: number });
