/**
 * `kvsd put`: uploads an MKV file or stdin with PutMedia, prints each acknowledgement as a JSON line, and
 * exits 0 only if all the input was sent and every fragment was persisted.
 */
import { createReadStream, statSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { AckErrorReport } from './ackErrors.js';
import { formatOptions, optionText, parseCommandLine, switchOn, UsageError, type OptionSpec } from './commandLine.js';
import { clientOptions, createStreamIfMissing, DEFAULT_ENDPOINT } from './connection.js';
import { KvsServiceError, PutMediaClient, type BodyProgress, type ClientOptions } from './putMediaClient.js';
import { EPOCH_THRESHOLD_MS, readInputStart } from './timecodeDetection.js';

const OPTION = {
  stream: { name: 'stream', value: 'NAME', description: 'stream to write to (required)' },
  create: { name: 'create', description: 'create the stream (retention 24 h) if it does not exist' },
  timecodeType: {
    name: 'timecode-type',
    value: 'ABSOLUTE|RELATIVE',
    default: 'read from the input, see Timecodes',
    description: 'cluster timecodes are epoch times (ABSOLUTE) or offsets from --producer-start-timestamp (RELATIVE)',
  },
  producerStart: {
    name: 'producer-start-timestamp',
    value: 'T',
    default: 'now',
    description: 'RELATIVE only (implies it): producer timestamp of cluster timecode 0, epoch seconds or ISO-8601',
  },
  endpoint: {
    name: 'endpoint',
    value: 'URL',
    env: 'KVSD_ENDPOINT',
    default: DEFAULT_ENDPOINT,
    description: 'KVS endpoint',
  },
  region: { name: 'region', value: 'R', env: 'AWS_REGION', default: 'us-east-1', description: 'signing region' },
} satisfies Record<string, OptionSpec>;

export const PUT_OPTIONS: readonly OptionSpec[] = Object.values(OPTION);

export const PUT_USAGE = `Usage: kvsd put --stream NAME [options] FILE|-
Uploads an MKV file, or stdin (-), with PutMedia; each Cluster becomes one fragment.

${formatOptions(PUT_OPTIONS)}

Timecodes: without --timecode-type (and --producer-start-timestamp), kvsd put reads the first Cluster's
timecode. Before 2000-01-01 it is media time, not an epoch time (ffmpeg and GStreamer start at 0): the
upload is RELATIVE with the producer start timestamp now, and a line on stderr says so. Otherwise it is
ABSOLUTE: the cluster timecodes are the producer timestamps. --timecode-type always wins.

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (kvsd without --auth
accepts any). Acknowledgements go to stdout as JSON lines; to stderr go progress for files, what each
ERROR code means (once per code) and a summary.

Exit status:
  0  all the input was sent and every fragment was persisted
  1  a fragment was not persisted (an ERROR acknowledgement, or a stream that retains nothing), no
     fragment was sent, or the upload was cut off (the server ended it) with input left unsent
  2  a usage error, a refused request (e.g. ResourceNotFoundException), or a failed or lost connection`;

function parseTimestamp(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new UsageError('put', `--producer-start-timestamp '${text}' is neither epoch seconds nor ISO-8601`);
  return ms;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const say = (line: string) => process.stderr.write(`kvsd put: ${line}\n`);

/** A progress bar on stderr for a file of `total` bytes; end() finishes its line if the input did not. */
function progressBar(total: number) {
  let sent = 0;
  let lastDraw = 0;
  let open = false;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    open = true;
    const ratio = total > 0 ? sent / total : 1;
    const width = 30;
    const done = Math.round(ratio * width);
    process.stderr.write(
      `\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${(sent / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`,
    );
  };
  const end = () => {
    if (open) process.stderr.write('\n');
    open = false;
  };
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      draw();
      cb(null, chunk);
    },
    flush(cb) {
      draw(true);
      end();
      cb();
    },
  });
  return { stream, end };
}

interface Timecodes {
  timecodeType: 'ABSOLUTE' | 'RELATIVE';
  producerStartMs?: number;
}

/** The timecode type the flags ask for, or undefined: read it from the input. */
function timecodesFromFlags(type: string | undefined, producerStart: string | undefined): Timecodes | undefined {
  const upper = type?.toUpperCase();
  if (upper !== undefined && upper !== 'ABSOLUTE' && upper !== 'RELATIVE') {
    throw new UsageError('put', `--timecode-type must be ABSOLUTE or RELATIVE, got '${type}'`);
  }
  if (producerStart !== undefined) {
    if (upper === 'ABSOLUTE')
      throw new UsageError(
        'put',
        '--producer-start-timestamp is for RELATIVE timecodes (ABSOLUTE ones are the producer timestamps)',
      );
    return { timecodeType: 'RELATIVE', producerStartMs: parseTimestamp(producerStart) };
  }
  if (upper === 'RELATIVE') return { timecodeType: 'RELATIVE', producerStartMs: Date.now() };
  if (upper === 'ABSOLUTE') return { timecodeType: 'ABSOLUTE' };
  return undefined;
}

/** ABSOLUTE unless the first cluster's timecode is clearly media time (see PUT_USAGE, Timecodes). */
function timecodesFromInput(firstClusterMs: number | undefined): Timecodes {
  if (firstClusterMs === undefined || firstClusterMs >= EPOCH_THRESHOLD_MS) return { timecodeType: 'ABSOLUTE' };
  const now = Date.now();
  say(
    `the first cluster's timecode (${firstClusterMs} ms) is not an epoch time (it is before 2000): uploading with RELATIVE ` +
      `timecodes from now (${new Date(now).toISOString()}); pass --timecode-type ABSOLUTE to keep them as they are`,
  );
  return { timecodeType: 'RELATIVE', producerStartMs: now };
}

/** The line that says an upload ended before all of its input was sent, or undefined if it was all sent. */
function unsentInput(body: Readonly<BodyProgress>, input: string, fileBytes: number | undefined): string | undefined {
  if (body.complete) return undefined;
  return fileBytes !== undefined
    ? `the upload was cut off: ${megabytes(body.bytesSent)} of ${megabytes(fileBytes)} sent, the rest of ${input} was not`
    : `the upload was cut off after ${megabytes(body.bytesSent)}: input from ${input} was left unsent`;
}

function statOf(file: string) {
  try {
    return statSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export async function putCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine('put', PUT_OPTIONS, args, { positionals: true });
  if (parsed.help) {
    process.stdout.write(`${PUT_USAGE}\n`);
    return 0;
  }
  const stream = optionText(parsed, OPTION.stream);
  const file = parsed.positionals[0];
  if (!stream) throw new UsageError('put', '--stream is required');
  if (!file || parsed.positionals.length > 1) throw new UsageError('put', 'give one FILE, or - for stdin');
  const flagged = timecodesFromFlags(optionText(parsed, OPTION.timecodeType), optionText(parsed, OPTION.producerStart));
  const opts = clientOptions(optionText(parsed, OPTION.endpoint), optionText(parsed, OPTION.region));

  if (switchOn(parsed, OPTION.create)) await createStreamIfMissing(opts, stream);

  const stat = file === '-' ? undefined : statOf(file);
  const fileBytes = stat?.isFile() ? stat.size : undefined; // a pipe or device has no size to show progress against
  const source: Readable = file === '-' ? process.stdin : createReadStream(file);
  try {
    return await upload(stream, source, file === '-' ? 'stdin' : file, fileBytes, flagged, opts);
  } finally {
    source.destroy(); // stdin left unread would keep the process alive
  }
}

async function upload(
  stream: string,
  source: Readable,
  inputName: string,
  fileBytes: number | undefined,
  flagged: Timecodes | undefined,
  opts: ClientOptions,
): Promise<number> {
  const start = flagged ? undefined : await readInputStart(source);
  const timecodes = flagged ?? timecodesFromInput(start?.firstClusterMs);
  const input = start?.body ?? source;
  const bar = fileBytes !== undefined ? progressBar(fileBytes) : undefined;
  const body = bar ? Readable.from(input).pipe(bar.stream) : input;

  const received = new Set<string>();
  const persisted = new Set<string>();
  const errors = new AckErrorReport((line) => {
    bar?.end();
    say(line);
  });
  const session = new PutMediaClient(opts).putMedia({
    streamName: stream,
    body,
    timecodeType: timecodes.timecodeType,
    ...(timecodes.producerStartMs !== undefined && { producerStartTimestamp: timecodes.producerStartMs }),
  });
  let lost: string | undefined;
  try {
    for await (const ack of session) {
      process.stdout.write(`${JSON.stringify(ack)}\n`);
      if (ack.EventType === 'RECEIVED' && ack.FragmentNumber) received.add(ack.FragmentNumber);
      if (ack.EventType === 'PERSISTED' && ack.FragmentNumber) persisted.add(ack.FragmentNumber);
      if (ack.EventType === 'ERROR') errors.add(ack);
    }
  } catch (err) {
    bar?.end();
    // A refused request is the caller's to report; a failed or lost connection is reported here, with what got through.
    if (err instanceof KvsServiceError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    if (session.body.bytesSent === 0 && received.size === 0 && errors.total === 0)
      throw new Error(`cannot reach ${opts.endpoint}: ${reason}`);
    lost = reason;
  }
  bar?.end();
  const notPersisted = [...received].filter((n) => !persisted.has(n)).length;
  const counts = errors.summary();
  say(
    `${received.size} fragments received, ${persisted.size} persisted, ${errors.total} errors${counts ? ` (${counts})` : ''}`,
  );
  const unsent = unsentInput(session.body, inputName, fileBytes);
  if (lost !== undefined) {
    say(`the connection was lost: ${lost}`);
    if (unsent) say(unsent);
    return 2;
  }
  if (unsent) {
    say(unsent);
    return 1;
  }
  if (received.size === 0 && errors.total === 0) say('no fragment was sent');
  return errors.total === 0 && notPersisted === 0 && received.size > 0 ? 0 : 1;
}
