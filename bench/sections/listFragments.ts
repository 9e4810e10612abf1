/**
 * 1. ListFragments throughput and latency: 50 keep-alive connections, each cycling through signed requests
 * for random PRODUCER_TIMESTAMP ranges inside the stream, every range holding more than MaxResults
 * fragments (full pages, with a NextToken). Ceiling: a bare node:http process answering a real page of
 * the same size without doing anything else (bench/servers/jsonCeiling.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callRaw, producerRange, sha256Hex, signedHeaders } from '../lib/api.js';
import type { Ctx } from '../lib/context.js';
import { INTERVAL_MS, START_MS, type StreamSpec } from '../lib/dataset.js';
import { runLoad, type LoadResult, type LoadSpec } from '../lib/load.js';
import { startHelper, type Proc } from '../lib/proc.js';
import { fmt, ratio } from '../lib/report.js';

export const CONNECTIONS = 50;
const DISTINCT_REQUESTS = 500;

/** A request body for a random full page of `pageSize` fragments. */
export function randomPageBody(s: StreamSpec, pageSize: number, rand: () => number) {
  const k = Math.floor(rand() * (s.fragments - pageSize - 1));
  const end = Math.min(s.fragments - 1, k + 2 * pageSize);
  return {
    StreamName: s.name,
    MaxResults: pageSize,
    FragmentSelector: producerRange(START_MS + k * INTERVAL_MS, START_MS + end * INTERVAL_MS),
  };
}

/** Deterministic randomness, so that reruns ask for the same pages. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

export async function signedRequests(base: string, bodies: object[]) {
  return Promise.all(
    bodies.map(async (b) => {
      const body = Buffer.from(JSON.stringify(b));
      const headers = await signedHeaders(
        base,
        '/listFragments',
        { 'content-type': 'application/json', 'content-length': String(body.length) },
        await sha256Hex(body),
      );
      delete headers['content-length']; // autocannon writes its own Content-Length (same value)
      return { path: '/listFragments', body, headers };
    }),
  );
}

export interface ListResults {
  byStream: Map<string, Map<number, LoadResult>>;
  ceiling: Map<number, LoadResult>;
}

export async function benchListFragments(ctx: Ctx, server: Proc, streams: StreamSpec[]): Promise<ListResults> {
  const seconds = ctx.quick ? 2 : 8;
  const warmupSeconds = ctx.quick ? 1 : 2;
  const pageSizes = [100, 1000];
  const biggest = streams[streams.length - 1]!;
  const smallest = streams[0]!;
  const t = ctx.report.table(
    `1. ListFragments: ${CONNECTIONS} keep-alive connections, random full pages (PRODUCER_TIMESTAMP), ${seconds} s per row after ${warmupSeconds} s warm-up`,
    [
      'stream',
      'MaxResults',
      'req/s',
      'fragments/s',
      'p50 ms',
      'p99 ms',
      'ceiling req/s',
      'ceiling p50/p99 ms',
      'ratio',
    ],
  );
  t.notes.push(
    'Ceiling: a bare node:http process that reads and JSON-parses the request and answers a fixed, real page of the same size (same MaxResults).',
    'Latency: exact percentiles of every response time measured by the load generator (autocannon, same machine, sharing the 2 cores).',
  );
  const out: ListResults = { byStream: new Map(), ceiling: new Map() };
  const spec = (url: string, requests: LoadSpec['requests']): LoadSpec => ({
    url,
    requests,
    connections: CONNECTIONS,
    seconds,
    warmupSeconds,
  });

  for (const size of pageSizes) {
    // The ceiling answers a real page of the biggest stream, so its body has exactly a real page's size.
    const r = rng(size);
    const sample = await callRaw(server.url, 'listFragments', randomPageBody(biggest, size, r));
    const parsed = JSON.parse(sample.toString('utf8')) as { Fragments: unknown[]; NextToken?: string };
    if (parsed.Fragments.length !== size || !parsed.NextToken)
      throw new Error(`page of ${biggest.name} is not full: ${parsed.Fragments.length}`);
    const pageFile = join(ctx.workDir, `page-${size}.json`);
    writeFileSync(pageFile, sample);

    const ceilingServer = await startHelper('jsonCeiling.ts', [pageFile]);
    let ceiling: LoadResult;
    try {
      const bodies = Array.from({ length: DISTINCT_REQUESTS }, () => randomPageBody(biggest, size, r));
      ceiling = await runLoad(spec(ceilingServer.url, await signedRequests(ceilingServer.url, bodies)));
    } finally {
      await ceilingServer.stop();
    }
    out.ceiling.set(size, ceiling);
    ctx.log(
      `  ceiling MaxResults=${size}: ${fmt(ceiling.rps)} req/s, p50 ${fmt(ceiling.p50)} ms, p99 ${fmt(ceiling.p99)} ms (page ${sample.length} bytes)`,
    );

    for (const s of streams) {
      const rs = rng(size * 7919 + s.fragments);
      const bodies = Array.from({ length: DISTINCT_REQUESTS }, () => randomPageBody(s, size, rs));
      const check = JSON.parse((await callRaw(server.url, 'listFragments', bodies[0])).toString('utf8')) as {
        Fragments: unknown[];
      };
      if (check.Fragments.length !== size)
        throw new Error(`page of ${s.name} holds ${check.Fragments.length}, not ${size}`);
      const res = await runLoad(spec(server.url, await signedRequests(server.url, bodies)));
      if (res.failed > 0) t.notes.push(`${s.name} MaxResults ${size}: ${res.failed} failed requests`);
      let m = out.byStream.get(s.name);
      if (!m) out.byStream.set(s.name, (m = new Map()));
      m.set(size, res);
      const row = [
        s.name,
        String(size),
        fmt(res.rps),
        fmt(res.rps * size),
        fmt(res.p50),
        fmt(res.p99),
        fmt(ceiling.rps),
        `${fmt(ceiling.p50)} / ${fmt(ceiling.p99)}`,
        ratio(res.rps, ceiling.rps),
      ];
      t.rows.push(row);
      ctx.log(`  ${row.join('  ')}`);
    }
  }

  const big100 = out.byStream.get(biggest.name)!.get(100)!;
  const small100 = out.byStream.get(smallest.name)!.get(100)!;
  const c100 = out.ceiling.get(100)!;
  ctx.report.target(
    `ListFragments MaxResults 100 on ${biggest.name} vs ceiling`,
    `${ratio(big100.rps, c100.rps)} (${fmt(big100.rps)} / ${fmt(c100.rps)} req/s)`,
    '>= 0.5',
    big100.rps / c100.rps >= 0.5,
  );
  const worst = Math.max(
    ...pageSizes.map(
      (size) => out.byStream.get(biggest.name)!.get(size)!.p50 / out.byStream.get(smallest.name)!.get(size)!.p50,
    ),
  );
  ctx.report.target(
    `ListFragments p50 on ${biggest.name} vs ${smallest.name}`,
    `${fmt(worst, 2)}x (MaxResults 100: ${fmt(big100.p50)} vs ${fmt(small100.p50)} ms; worst of both page sizes)`,
    '<= 1.2x',
    worst <= 1.2,
  );
  return out;
}
