/**
 * `kvsd seed --endpoint URL`: the synthetic fragments of `kvsd seed`, sent to a running server's PutMedia
 * instead of written into a data directory (which that server holds). Same MKV, ABSOLUTE timecodes, same
 * summary line; only the transport differs.
 */
import { Readable } from 'node:stream';
import { seedMkv, seedSummary, type SeedMkvOptions, type SeedResult } from '../archive/seed.js';
import { AckErrorReport } from './ackErrors.js';
import { clientOptions, createStreamIfMissing } from './connection.js';
import { PutMediaClient } from './putMediaClient.js';

export interface EndpointSeed extends SeedMkvOptions {
  stream: string;
  create: boolean;
  endpoint: string;
  /** Signing region. */
  region?: string;
}

/** Seeds through PutMedia; resolves with the exit status: 0 only if every fragment was persisted. */
export async function seedThroughEndpoint(plan: EndpointSeed): Promise<number> {
  const say = (line: string) => process.stderr.write(`kvsd seed: ${line}\n`);
  const opts = clientOptions(plan.endpoint, plan.region);
  if (plan.create) await createStreamIfMissing(opts, plan.stream);
  const result: SeedResult = { persisted: 0, errors: 0 };
  const errors = new AckErrorReport(say);
  const started = Date.now();
  const upload = new PutMediaClient(opts).putMedia({
    streamName: plan.stream,
    timecodeType: 'ABSOLUTE',
    body: Readable.from(seedMkv(plan)),
  });
  for await (const ack of upload) {
    if (ack.EventType === 'PERSISTED') {
      if (++result.persisted % 100_000 === 0) say(`seeded ${result.persisted}`);
    } else if (ack.EventType === 'ERROR') {
      result.errors++;
      errors.add(ack);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${seedSummary(plan.stream, result, seconds)}\n`);
  if (!upload.body.complete)
    say(
      `the server ended the upload after ${upload.body.bytesSent} bytes, before all ${plan.fragments} fragments were sent`,
    );
  if (result.persisted === 0 && result.errors === 0)
    say(`nothing was persisted: does stream ${plan.stream} retain data (DataRetentionInHours > 0)?`);
  return result.persisted === plan.fragments ? 0 : 1;
}
