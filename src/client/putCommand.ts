/**
 * `kvsd put`: uploads an MKV file or stdin with PutMedia, prints each acknowledgement as a JSON line,
 * and exits non-zero unless every fragment was persisted.
 */
import { createReadStream, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import { callJson, KvsServiceError, PutMediaClient, type ClientOptions } from './putMediaClient.js';

export const PUT_USAGE = `Usage: kvsd put --stream NAME [options] FILE|-
  --stream NAME                    stream to write to
  --create                         create the stream (retention 24 h) if it does not exist
  --timecode-type ABSOLUTE|RELATIVE   how cluster timecodes are read (default ABSOLUTE)
  --producer-start-timestamp T     epoch seconds or ISO-8601; required with RELATIVE (default: now)
  --endpoint URL                   KVS endpoint (KVSD_ENDPOINT, default http://127.0.0.1:4568)
  --region R                       signing region (AWS_REGION, default us-east-1)
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (kvsd without
--auth accepts any). Acknowledgements go to stdout; progress for files to stderr.`;

function parseTimestamp(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`--producer-start-timestamp '${text}' is neither epoch seconds nor ISO-8601`);
  return ms;
}

function progress(total: number) {
  let sent = 0;
  let lastDraw = 0;
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    const ratio = total > 0 ? sent / total : 1;
    const width = 30;
    const done = Math.round(ratio * width);
    process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${(sent / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb) { sent += chunk.length; draw(); cb(null, chunk); },
    flush(cb) { draw(true); process.stderr.write('\n'); cb(); },
  });
}

export async function putCommand(args: string[]): Promise<number> {
  try {
    return await put(args);
  } catch (err) {
    // The service's error code is what scripts and people look for ("ResourceNotFoundException: ..."), so it
    // goes into the message the CLI prints; the service message alone does not name it.
    if (err instanceof KvsServiceError) throw new Error(`${err.code} (HTTP ${err.statusCode}): ${err.message}`);
    throw err;
  }
}

async function put(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      stream: { type: 'string' }, create: { type: 'boolean' }, 'timecode-type': { type: 'string' },
      'producer-start-timestamp': { type: 'string' }, endpoint: { type: 'string' }, region: { type: 'string' },
    },
  });
  const file = positionals[0];
  if (!values.stream || !file || positionals.length > 1) throw new Error(`stream and one FILE (or -) are required\n\n${PUT_USAGE}`);
  const timecodeType = (values['timecode-type'] ?? 'ABSOLUTE').toUpperCase();
  if (timecodeType !== 'ABSOLUTE' && timecodeType !== 'RELATIVE') throw new Error('--timecode-type is ABSOLUTE or RELATIVE');
  const opts: ClientOptions = {
    endpoint: values.endpoint ?? process.env.KVSD_ENDPOINT ?? 'http://127.0.0.1:4568',
    region: values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'kvsd',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'kvsd',
      ...(process.env.AWS_SESSION_TOKEN && { sessionToken: process.env.AWS_SESSION_TOKEN }),
    },
  };

  if (values.create) {
    try {
      await callJson(opts, '/createStream', { StreamName: values.stream, DataRetentionInHours: 24 });
    } catch (err) {
      if (!(err instanceof KvsServiceError && err.code === 'ResourceInUseException')) throw err;
    }
  }

  const body = file === '-' ? process.stdin : createReadStream(file).pipe(progress(statSync(file).size));
  const producerStart = values['producer-start-timestamp'] !== undefined
    ? parseTimestamp(values['producer-start-timestamp'])
    : (timecodeType === 'RELATIVE' ? Date.now() : undefined);

  const received = new Set<string>();
  const persisted = new Set<string>();
  let errors = 0;
  const client = new PutMediaClient(opts);
  for await (const ack of client.putMedia({
    streamName: values.stream, timecodeType, body, ...(producerStart !== undefined && { producerStartTimestamp: producerStart }),
  })) {
    process.stdout.write(`${JSON.stringify(ack)}\n`);
    if (ack.EventType === 'RECEIVED' && ack.FragmentNumber) received.add(ack.FragmentNumber);
    if (ack.EventType === 'PERSISTED' && ack.FragmentNumber) persisted.add(ack.FragmentNumber);
    if (ack.EventType === 'ERROR') errors++;
  }
  const notPersisted = [...received].filter((n) => !persisted.has(n)).length;
  process.stderr.write(`kvsd put: ${received.size} fragments received, ${persisted.size} persisted, ${errors} errors\n`);
  if (received.size === 0 && errors === 0) process.stderr.write('kvsd put: no fragment was sent\n');
  return errors === 0 && notPersisted === 0 && received.size > 0 ? 0 : 1;
}
