/**
 * 2. A full listing of a long range through the JS SDK v3 paginator (paginateListFragments, pageSize
 * 1000): one client, pages one after another, as an application would walk an archive. Ceiling: the same
 * paginator against the bare JSON server answering a real 1000-fragment page (with a NextToken), for the
 * same number of pages: what SDK, HTTP and JSON cost without kvsd's work.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KinesisVideoArchivedMediaClient, paginateListFragments } from '@aws-sdk/client-kinesis-video-archived-media';
import { CREDENTIALS, REGION, callRaw } from '../lib/api.js';
import type { Ctx } from '../lib/context.js';
import { INTERVAL_MS, START_MS, type StreamSpec } from '../lib/dataset.js';
import { startHelper, type Proc } from '../lib/proc.js';
import { fmt, ratio } from '../lib/report.js';
import { randomPageBody, rng } from './listFragments.js';

const PAGE = 1000;

async function walk(
  url: string,
  stream: string,
  fromIndex: number,
  count: number,
  maxPages: number,
): Promise<{ fragments: number; pages: number; seconds: number }> {
  const client = new KinesisVideoArchivedMediaClient({
    endpoint: url,
    region: REGION,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  const t = performance.now();
  let fragments = 0;
  let pages = 0;
  try {
    const pager = paginateListFragments(
      { client, pageSize: PAGE },
      {
        StreamName: stream,
        FragmentSelector: {
          FragmentSelectorType: 'PRODUCER_TIMESTAMP',
          TimestampRange: {
            StartTimestamp: new Date(START_MS + fromIndex * INTERVAL_MS),
            EndTimestamp: new Date(START_MS + (fromIndex + count - 1) * INTERVAL_MS),
          },
        },
      },
    );
    for await (const page of pager) {
      fragments += page.Fragments?.length ?? 0;
      if (++pages >= maxPages) break;
    }
  } finally {
    client.destroy();
  }
  return { fragments, pages, seconds: (performance.now() - t) / 1000 };
}

export async function benchPaginator(ctx: Ctx, server: Proc, stream: StreamSpec) {
  const count = Math.min(1_000_000, stream.fragments);
  const from = Math.floor((stream.fragments - count) / 2);
  const t = ctx.report.table(
    `2. Full listing of a ${count.toLocaleString('en-US')}-fragment range with the JS SDK paginator (paginateListFragments, pageSize ${PAGE}, one client)`,
    ['stream', 'fragments', 'pages', 'seconds', 'fragments/s', 'ceiling fragments/s', 'ratio'],
  );
  t.notes.push(
    `Ceiling: the same SDK paginator against the bare node:http server answering a real ${PAGE}-fragment page with a NextToken, stopped after the same number of pages.`,
  );

  // Warm the client path (SDK module loading, first connection) on a short walk.
  await walk(server.url, stream.name, from, 10 * PAGE, 10);
  const kvsd = await walk(server.url, stream.name, from, count, Infinity);
  if (kvsd.fragments !== count) throw new Error(`paginator listed ${kvsd.fragments} fragments, expected ${count}`);

  const sample = await callRaw(server.url, 'listFragments', randomPageBody(stream, PAGE, rng(42)));
  const pageFile = join(ctx.workDir, 'page-paginator.json');
  writeFileSync(pageFile, sample);
  const ceilingServer = await startHelper('jsonCeiling.ts', [pageFile]);
  let ceiling: Awaited<ReturnType<typeof walk>>;
  try {
    await walk(ceilingServer.url, stream.name, from, 10 * PAGE, 10);
    ceiling = await walk(ceilingServer.url, stream.name, from, count, kvsd.pages);
  } finally {
    await ceilingServer.stop();
  }
  const rate = kvsd.fragments / kvsd.seconds;
  const ceilingRate = ceiling.fragments / ceiling.seconds;
  t.rows.push([
    stream.name,
    fmt(kvsd.fragments, 0),
    fmt(kvsd.pages, 0),
    fmt(kvsd.seconds, 2),
    fmt(rate),
    fmt(ceilingRate),
    ratio(rate, ceilingRate),
  ]);
  ctx.log(`  ${t.rows[t.rows.length - 1]!.join('  ')}`);
}
