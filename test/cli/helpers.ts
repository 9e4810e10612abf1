/**
 * Shared by the tests of the kvsd command line: the built CLI run as a process (its exit code, stdout and
 * stderr), the README's ffmpeg recipe, and ListFragments through the SDK with any selector.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import {
  KinesisVideoArchivedMediaClient,
  paginateListFragments,
  type Fragment,
  type FragmentSelectorType,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { clientConfig, run, type Run } from '../helpers/server.js';
import { cached } from '../helpers/media.js';

export const CLI = resolve(import.meta.dirname, '../../dist/src/cli.js');

export const CREDENTIALS_ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'kvsd-test-secret' };

/** `kvsd ARGS` to completion. */
export function kvsd(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...CREDENTIALS_ENV, ...env },
    timeoutMs: 60_000,
  });
}

/** A running `kvsd ARGS` whose stdin the test writes; `done` resolves when it exits. */
export function spawnKvsd(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...CREDENTIALS_ENV },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.on('error', () => undefined); // the command may stop reading before the test stops writing
  const done = new Promise<Run>((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

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
