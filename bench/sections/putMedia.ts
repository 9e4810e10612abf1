/**
 * 3. PutMedia ingest with PERSISTED acknowledgements: N producers, each its own stream (retention 24 h)
 * and its own connection, replaying 250,000-byte 2-second fragments faster than real time.
 * Two ceilings, the lower counts:
 *  - HTTP: the same bytes POSTed by the same number of producers to a node:http sink that discards them;
 *  - disk: the same bytes written to one file by a single writer with an fsync after every 250,000 bytes
 *    (kvsd may batch the syncs of many streams into one fsync round, which is fair; skipping them is not).
 */
import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { closeIdleConnections, createStream, pool } from '../lib/api.js';
import type { Ctx } from '../lib/context.js';
import { CLUSTER_BODY, CLUSTER_BYTES, clusterPrefix } from '../lib/mkv.js';
import { pct, runProducers, type ProducerResult } from '../lib/producers.js';
import { startHelper, startKvsd, type KvsdOptions } from '../lib/proc.js';
import { fmt, mb, ratio } from '../lib/report.js';

export const WINDOW = 3;

/** MB/s of one writer appending 250,000-byte fragments to one file with a sync after each. */
export function fileCeiling(dir: string, seconds: number, maxBytes: number, sync: (fd: number) => void): number {
  const file = join(dir, `file-ceiling-${process.pid}.bin`);
  const fd = openSync(file, 'w');
  let bytes = 0;
  const t = performance.now();
  const until = t + seconds * 1000;
  try {
    for (let i = 0; performance.now() < until && bytes < maxBytes; i++) {
      writeSync(fd, clusterPrefix(i * 2000));
      writeSync(fd, CLUSTER_BODY);
      sync(fd);
      bytes += CLUSTER_BYTES;
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  return bytes / ((performance.now() - t) / 1000);
}

export interface IngestRun {
  result: ProducerResult;
  peakRss: number;
}

/** One ingest run against a fresh kvsd: create the streams, produce, stop. */
export async function ingestRun(
  ctx: Ctx,
  producers: number,
  seconds: number,
  warmupSeconds: number,
  kvsdOpts: KvsdOptions = {},
): Promise<IngestRun> {
  const dir = join(ctx.workDir, `put-${producers}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await startKvsd(dir, kvsdOpts);
  try {
    const streams = Array.from({ length: producers }, (_, i) => `put-${String(i).padStart(4, '0')}`);
    await pool(streams, 32, async (s) => {
      await createStream(server.url, s, 24);
    });
    closeIdleConnections();
    const result = await runProducers({
      base: server.url,
      streams,
      mode: 'kvsd',
      seconds,
      warmupSeconds,
      window: WINDOW,
      maxBytes: ctx.quick ? 1e9 : 4e9,
    });
    return { result, peakRss: server.peakRss() };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPutMedia(ctx: Ctx) {
  const levels = ctx.quick ? [1, 10, 100] : [1, 10, 100, 1000];
  const seconds = ctx.quick ? 3 : 12;
  const warmupSeconds = ctx.quick ? 1 : 3;
  // 1000 producers x 3 fragments in flight is 750 MB: the pipeline takes seconds to fill, so that level runs longer.
  const timing = (n: number) =>
    n >= 1000 && !ctx.quick ? { seconds: 20, warmupSeconds: 8 } : { seconds, warmupSeconds };
  const sinkSeconds = ctx.quick ? 2 : 6;
  const sinkWarmup = ctx.quick ? 0.5 : 2;
  const fileSeconds = ctx.quick ? 2 : 6;

  const fsyncCeiling = fileCeiling(ctx.workDir, fileSeconds, 2e9, fsyncSync);
  const fdatasyncCeiling = fileCeiling(ctx.workDir, fileSeconds / 2, 2e9, fdatasyncSync);
  ctx.log(
    `  file ceiling: ${fmt(mb(fsyncCeiling))} MB/s with fsync per 250 KB (${fmt(mb(fdatasyncCeiling))} MB/s with fdatasync)`,
  );

  const t = ctx.report.table(
    `3. PutMedia ingest, PERSISTED acks: 250,000-byte 2 s fragments, each producer its own stream and connection, ${seconds} s per level (first ${warmupSeconds} s not counted${ctx.quick ? '' : '; 1000 producers: 20 s, first 8 s not counted'})`,
    [
      'producers',
      'MB/s',
      'fragments/s',
      'ack p50 ms',
      'ack p99 ms',
      'HTTP sink MB/s',
      'file+fsync MB/s',
      'ratio to lower',
      'server peak RSS MB',
    ],
  );
  t.notes.push(
    `A producer keeps at most ${WINDOW} fragments sent but not PERSISTED (a producer's buffer); media is replayed faster than real time, so every level runs saturated and the ack latency at high producer counts is mostly queueing (Little's law: ${WINDOW} x producers fragments in flight / throughput).`,
    "Ack latency: from the moment the cluster's last byte was handed to the kernel (write callback) to the PERSISTED ack line, for acks inside the measurement window.",
    `HTTP sink ceiling: the same bytes, same number of producers, chunked POSTs to a node:http process that discards them (no acks, no window), ${sinkSeconds} s.`,
    `File ceiling: the same bytes written by ONE writer to ONE file with fsync() after every 250,000 bytes (writeSync + fsyncSync), ${fileSeconds} s: ${fmt(mb(fsyncCeiling))} MB/s; with fdatasync() instead: ${fmt(mb(fdatasyncCeiling))} MB/s. kvsd batches the syncs of many streams into one round (group commit), so it may exceed this ceiling with many producers.`,
  );

  for (const n of levels) {
    const { result, peakRss } = await ingestRun(ctx, n, timing(n).seconds, timing(n).warmupSeconds);
    const sink = await startHelper('sink.ts');
    let sinkResult: ProducerResult;
    try {
      sinkResult = await runProducers({
        base: sink.url,
        streams: Array.from({ length: n }, (_, i) => `sink-${i}`),
        mode: 'sink',
        seconds: sinkSeconds,
        warmupSeconds: sinkWarmup,
        window: Infinity,
        maxBytes: 3e10,
        sinkSamples: async () => {
          const res = await fetch(`${sink.url}/stats`);
          return ((await res.json()) as { samples: [number, number][] }).samples;
        },
      });
    } finally {
      await sink.stop();
    }
    const rate = result.windowBytes / result.windowSeconds;
    const sinkRate = (sinkResult.sinkWindowBytes ?? NaN) / sinkResult.windowSeconds;
    const lower = Math.min(sinkRate, fsyncCeiling);
    if (result.errors.length)
      t.notes.push(`${n} producers: ${result.errors.length} errors, first: ${result.errors[0]}`);
    if (sinkResult.errors.length)
      t.notes.push(`${n} producers, sink: ${sinkResult.errors.length} errors, first: ${sinkResult.errors[0]}`);
    if (result.persistedFragments < result.sentFragments) {
      t.notes.push(
        `${n} producers: ${result.sentFragments - result.persistedFragments} of ${result.sentFragments} fragments sent were not PERSISTED`,
      );
    }
    const row = [
      String(n),
      fmt(mb(rate)),
      fmt(result.windowFragments / result.windowSeconds),
      fmt(pct(result.latencies, 0.5)),
      fmt(pct(result.latencies, 0.99)),
      fmt(mb(sinkRate)),
      fmt(mb(fsyncCeiling)),
      ratio(rate, lower),
      fmt(peakRss / 2 ** 20, 0),
    ];
    t.rows.push(row);
    ctx.log(`  ${row.join('  ')}${result.diagnostics.length ? `  (${result.diagnostics.join('; ')})` : ''}`);
    if (n === 100) {
      ctx.report.target(
        'PutMedia MB/s at 100 producers vs the lower ceiling',
        `${ratio(rate, lower)} (${fmt(mb(rate))} / ${fmt(mb(lower))} MB/s)`,
        '>= 0.7',
        rate / lower >= 0.7,
      );
    }
  }
}
